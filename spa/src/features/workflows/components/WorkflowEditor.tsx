import {
  Background,
  Controls,
  ReactFlow,
  ReactFlowProvider,
  addEdge,
  applyEdgeChanges,
  applyNodeChanges,
  useReactFlow,
  type Connection,
  type Edge,
  type EdgeChange,
  type NodeChange,
} from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import { useMemo, useRef, useState, type DragEvent } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { Alert, QueryError } from "@/components/ui/Alert";
import { Button } from "@/components/ui/Button";
import { Card } from "@/components/ui/Card";
import { TextArea, TextField } from "@/components/ui/Field";
import { PageHeader } from "@/components/ui/PageHeader";
import {
  InvalidWorkflow,
  useChatModels,
  useSaveWorkflow,
  useStartRun,
  useWorkflow,
  type Dag,
  type Problem,
  type Workflow,
} from "@/features/workflows/api/workflows";
import { NODE_TYPES, nodeTypes, starter, toDag, toFlow, type StepNode } from "@/features/workflows/components/graph";
import { NodePanel, EdgePanel } from "@/features/workflows/components/NodePanel";
import { RunHistory } from "@/features/workflows/components/RunHistory";

const EMPTY: Dag = {
  nodes: [
    { id: "input", type: "input", fields: [{ name: "text", type: "string" }], position: { x: 40, y: 120 } },
    { id: "output", type: "output", value: { result: "{input.text}" }, position: { x: 560, y: 120 } },
  ],
  edges: [{ source: "input", target: "output" }],
};

function sampleInput(dag: Dag): string {
  const input = dag.nodes.find((n) => n.type === "input");
  const fields = (input?.fields as { name: string; type?: string }[] | undefined) ?? [];
  const sample: Record<string, unknown> = {};
  for (const f of fields) {
    sample[f.name] = f.type === "array" ? [] : f.type === "number" || f.type === "integer" ? 0 : f.type === "boolean" ? false : f.type === "object" ? {} : "";
  }
  return JSON.stringify(sample, null, 2);
}

function Canvas({ workflow }: { workflow?: Workflow }) {
  const navigate = useNavigate();
  const flow = useReactFlow();
  const models = useChatModels();
  const model = models.data?.[0] ?? "demo-1";
  const initial = useMemo(() => toFlow((workflow?.dag_structure as unknown as Dag) ?? EMPTY), [workflow]);
  const [nodes, setNodes] = useState<StepNode[]>(initial.nodes);
  const [edges, setEdges] = useState<Edge[]>(initial.edges);
  const [name, setName] = useState(workflow?.name ?? "");
  const [selected, setSelected] = useState<{ kind: "node" | "edge"; id: string } | null>(null);
  const [problems, setProblems] = useState<Problem[]>([]);
  const [input, setInput] = useState(() => sampleInput((workflow?.dag_structure as unknown as Dag) ?? EMPTY));
  const canvas = useRef<HTMLDivElement>(null);
  const save = useSaveWorkflow(workflow?.id);
  const run = useStartRun(workflow?.id);

  const onNodesChange = (c: NodeChange<StepNode>[]) => setNodes((ns) => applyNodeChanges(c, ns));
  const onEdgesChange = (c: EdgeChange[]) => setEdges((es) => applyEdgeChanges(c, es));
  const onConnect = (c: Connection) =>
    setEdges((es) => addEdge({ ...c, id: `${c.source}->${c.target}`, data: { condition: "" } }, es));

  const addNode = (type: string, position?: { x: number; y: number }) => {
    const taken = new Set(nodes.map((n) => n.id));
    let id = type;
    for (let i = 2; taken.has(id); i++) id = `${type}_${i}`;
    // A clicked palette item lands in the middle of what the canvas shows now.
    const box = canvas.current?.getBoundingClientRect();
    const at =
      position ??
      (box
        ? flow.screenToFlowPosition({ x: box.left + box.width / 2 - 60 + (nodes.length % 3) * 20, y: box.top + box.height / 2 + (nodes.length % 3) * 20 })
        : { x: 80 + nodes.length * 40, y: 260 });
    setNodes((ns) => [...ns, { id, type: "step", position: at, data: { dag: starter(type, id, model) } }]);
    setSelected({ kind: "node", id });
  };
  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    const type = e.dataTransfer.getData("application/x-hb-node");
    if (type) addNode(type, flow.screenToFlowPosition({ x: e.clientX, y: e.clientY }));
  };

  const shown = nodes.map((n) => {
    const mine = problems.filter((p) => p.node === n.id).map((p) => `${p.field}: ${p.message}`);
    return mine.length || n.data.error ? { ...n, data: { ...n.data, error: mine.join("; ") || undefined } } : n;
  });
  const general = problems.filter((p) => !p.node || !nodes.some((n) => n.id === p.node));

  const onSave = () => {
    setProblems([]);
    save.mutate(
      { name, dag_structure: toDag(nodes, edges), is_active: workflow?.is_active ?? true },
      {
        onError: (e) => setProblems(e instanceof InvalidWorkflow ? e.problems : []),
        onSuccess: (w) => {
          if (!workflow) navigate(`/console/workflows/${w.id}`, { replace: true });
        },
      },
    );
  };
  let parsed: Record<string, unknown> | null = null;
  let inputError: string | null = null;
  try {
    const v: unknown = JSON.parse(input);
    if (typeof v === "object" && v !== null && !Array.isArray(v)) parsed = v as Record<string, unknown>;
    else inputError = "The input is a JSON object.";
  } catch (e) {
    inputError = `Not valid JSON: ${(e as Error).message}`;
  }
  const selectedNode = selected?.kind === "node" ? nodes.find((n) => n.id === selected.id) : undefined;
  const selectedEdge = selected?.kind === "edge" ? edges.find((e) => e.id === selected.id) : undefined;

  return (
    <>
      <PageHeader
        title={workflow ? workflow.name : "New workflow"}
        subtitle={workflow ? `Version ${workflow.version}. Drag nodes, connect them, click one to edit its settings.` : "Drag nodes onto the canvas and connect them."}
        actions={<Link className="btn btn-ghost" to="/console/workflows">All workflows</Link>}
      />
      <Card>
        <div className="inline-form">
          <TextField label="Name" value={name} onChange={(e) => setName(e.target.value)} required maxLength={200} />
          <Button variant="primary" onClick={onSave} busy={save.isPending} disabled={!name.trim()}>
            Save
          </Button>
        </div>
        {save.isSuccess && !problems.length ? <Alert tone="success">Saved as version {save.data.version}.</Alert> : null}
        {save.error && !(save.error instanceof InvalidWorkflow) ? <QueryError error={save.error} /> : null}
        {problems.length ? (
          <Alert tone="error" title="The workflow cannot be saved yet">
            <ul className="wf-problems">
              {(general.length ? general : problems).map((p, i) => (
                <li key={i}>{p.node ? `${p.node} · ${p.field}: ` : `${p.field}: `}{p.message}</li>
              ))}
            </ul>
          </Alert>
        ) : null}
        <div className="wf-palette" aria-label="Add a node">
          {NODE_TYPES.map((t) => (
            <button
              key={t}
              type="button"
              className="btn btn-ghost wf-palette-item"
              draggable
              onDragStart={(e) => e.dataTransfer.setData("application/x-hb-node", t)}
              onClick={() => addNode(t)}
            >
              + {t}
            </button>
          ))}
        </div>
        <div className="wf-layout">
          <div className="wf-canvas" ref={canvas} onDragOver={(e) => e.preventDefault()} onDrop={onDrop}>
            <ReactFlow
              nodes={shown}
              edges={edges}
              nodeTypes={nodeTypes}
              onNodesChange={onNodesChange}
              onEdgesChange={onEdgesChange}
              onConnect={onConnect}
              onNodeClick={(_, n) => setSelected({ kind: "node", id: n.id })}
              onEdgeClick={(_, e) => setSelected({ kind: "edge", id: e.id })}
              onPaneClick={() => setSelected(null)}
              fitView
            >
              <Background />
              <Controls />
            </ReactFlow>
          </div>
          <aside className="wf-panel glass" aria-label="Settings">
            {selectedNode ? (
              <NodePanel
                key={selectedNode.id}
                node={selectedNode}
                models={models.data ?? []}
                onChange={(dag, oldId) => {
                  setNodes((ns) => ns.map((n) => (n.id === oldId ? { ...n, id: dag.id, data: { ...n.data, dag } } : n)));
                  if (dag.id !== oldId) {
                    setEdges((es) =>
                      es.map((e) => {
                        const source = e.source === oldId ? dag.id : e.source;
                        const target = e.target === oldId ? dag.id : e.target;
                        return { ...e, source, target, id: `${source}->${target}` };
                      }),
                    );
                    setSelected({ kind: "node", id: dag.id });
                  }
                }}
                onDelete={() => {
                  setNodes((ns) => ns.filter((n) => n.id !== selectedNode.id));
                  setEdges((es) => es.filter((e) => e.source !== selectedNode.id && e.target !== selectedNode.id));
                  setSelected(null);
                }}
              />
            ) : selectedEdge ? (
              <EdgePanel
                edge={selectedEdge}
                onChange={(condition) =>
                  setEdges((es) => es.map((e) => (e.id === selectedEdge.id ? { ...e, label: condition || undefined, data: { condition } } : e)))
                }
                onDelete={() => {
                  setEdges((es) => es.filter((e) => e.id !== selectedEdge.id));
                  setSelected(null);
                }}
              />
            ) : (
              <p className="muted">Select a node or an edge to edit it. Placeholders read upstream outputs: {"{node.field}"}.</p>
            )}
          </aside>
        </div>
      </Card>
      {workflow ? (
        <Card title="Run">
          <TextArea label="Input (JSON)" rows={5} value={input} onChange={(e) => setInput(e.target.value)} error={inputError} />
          <Button
            variant="primary"
            busy={run.isPending}
            disabled={!parsed}
            onClick={() =>
              parsed && run.mutate(parsed, { onSuccess: (r) => navigate(`/console/workflows/${workflow.id}/runs/${r.id}`) })
            }
          >
            Run
          </Button>
          {run.error ? <QueryError error={run.error} /> : null}
        </Card>
      ) : null}
      {workflow ? <RunHistory workflowId={workflow.id} /> : null}
    </>
  );
}

export function WorkflowEditor() {
  const { workflowId } = useParams();
  const isNew = !workflowId || workflowId === "new";
  const workflow = useWorkflow(isNew ? undefined : workflowId);
  if (!isNew && workflow.error) return <QueryError error={workflow.error} />;
  if (!isNew && !workflow.data) return <p className="muted">Loading…</p>;
  return (
    <ReactFlowProvider>
      <Canvas key={workflow.data?.id ?? "new"} workflow={isNew ? undefined : workflow.data} />
    </ReactFlowProvider>
  );
}
