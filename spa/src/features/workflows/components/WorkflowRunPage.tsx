import { Background, Controls, ReactFlow, ReactFlowProvider } from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import { useEffect, useMemo, useState } from "react";
import { Link, useParams } from "react-router";
import { Alert, QueryError } from "@/components/ui/Alert";
import { StatusBadge } from "@/components/ui/Badge";
import { Button } from "@/components/ui/Button";
import { Card } from "@/components/ui/Card";
import { TextField } from "@/components/ui/Field";
import { PageHeader } from "@/components/ui/PageHeader";
import { useCancelRun, useGiveInput, useRun, useWorkflow, type Dag, type Run } from "@/features/workflows/api/workflows";
import { nodeTypes, toFlow } from "@/features/workflows/components/graph";
import { AuthSocket, type SocketStatus } from "@/lib/ws";

interface RunFrame {
  type: string;
  node_id?: string;
  seq?: number;
  text?: string;
  output?: unknown;
  status?: string;
  prompt?: string;
  error?: { code: string; message: string };
}

interface NodeState {
  status: string;
  text: string;
  seq: number;
  output?: unknown;
  prompt?: string;
}

const STATUS_OF: Record<string, string> = {
  "node.started": "running",
  "node.completed": "completed",
  "node.failed": "failed",
  "node.skipped": "skipped",
  "node.waiting": "waiting",
};

/** Apply one frame to the node states; deltas must arrive in seq order (a gap resets nothing: it is skipped). */
export function reduce(states: Record<string, NodeState>, frame: RunFrame): Record<string, NodeState> {
  if (!frame.node_id) return states;
  const cur = states[frame.node_id] ?? { status: "pending", text: "", seq: 0 };
  if (frame.type === "node.delta" && frame.seq !== undefined) {
    if (frame.seq !== cur.seq + 1) return states;
    return { ...states, [frame.node_id]: { ...cur, status: "running", seq: frame.seq, text: cur.text + (frame.text ?? "") } };
  }
  const status = STATUS_OF[frame.type];
  if (!status) return states;
  const restart = frame.type === "node.started";
  return {
    ...states,
    [frame.node_id]: {
      ...cur,
      status,
      text: restart ? "" : cur.text,
      seq: restart ? 0 : cur.seq,
      output: frame.output ?? cur.output,
      prompt: frame.prompt ?? cur.prompt,
    },
  };
}

function fromStored(run: Run): Record<string, NodeState> {
  const out: Record<string, NodeState> = {};
  for (const n of run.nodes ?? []) {
    const key = n.item < 0 ? n.node_id : `${n.node_id}[${n.item}]`;
    out[key] = { status: n.status, text: n.text, seq: 0, output: n.output };
  }
  return out;
}

function Live({ run, dag }: { run: Run; dag: Dag }) {
  const [states, setStates] = useState<Record<string, NodeState>>(() => fromStored(run));
  const [final, setFinal] = useState<RunFrame | null>(run.status === "running" || run.status === "pending" ? null : { type: `execution.${run.status}`, output: run.result_data?.output });
  const [socket, setSocket] = useState<SocketStatus>("connecting");
  const cancel = useCancelRun();
  const give = useGiveInput(run.id);
  const [answer, setAnswer] = useState("");
  useEffect(() => {
    if (final) return;
    const s = new AuthSocket<RunFrame>({
      path: `/api/v1/workflow-runs/${run.id}/ws`,
      readyType: "ready",
      onStatus: setSocket,
      onFrame: (f) => {
        if (f.type.startsWith("execution.") && f.type !== "execution.restarted") {
          setFinal(f);
          s.close();
        } else setStates((st) => reduce(st, f));
      },
    });
    return () => s.close();
    // eslint-disable-next-line react-hooks/exhaustive-deps -- one socket per run
  }, [run.id]);
  const flow = useMemo(() => toFlow(dag), [dag]);
  const nodes = flow.nodes.map((n) => {
    const mine = states[n.id];
    const items = Object.entries(states).filter(([k]) => k.startsWith(`${n.id}[`));
    const text = items.length ? `${items.filter(([, s]) => s.status === "completed").length}/${items.length} items done` : mine?.text;
    return { ...n, data: { ...n.data, status: mine?.status ?? (final ? "skipped" : "pending"), text } };
  });
  const waiting = Object.entries(states).filter(([, s]) => s.status === "waiting");
  const status = final ? final.type.replace("execution.", "") : "running";
  return (
    <>
      <Card
        title={<>Run <StatusBadge status={status} /></>}
        actions={!final ? <Button variant="danger" busy={cancel.isPending} onClick={() => cancel.mutate(run.id)}>Cancel run</Button> : null}
      >
        {!final && socket !== "open" ? <p className="muted">Live connection: {socket}</p> : null}
        {final?.error ? <Alert tone="error" title={final.error.code}>{final.error.message}</Alert> : null}
        <div className="wf-canvas wf-canvas-run">
          <ReactFlowProvider>
            <ReactFlow nodes={nodes} edges={flow.edges} nodeTypes={nodeTypes} nodesDraggable={false} nodesConnectable={false} fitView>
              <Background />
              <Controls showInteractive={false} />
            </ReactFlow>
          </ReactFlowProvider>
        </div>
        {waiting.map(([node, s]) => (
          <form
            key={node}
            className="inline-form"
            onSubmit={(e) => {
              e.preventDefault();
              give.mutate({ node, input: answer });
            }}
          >
            <TextField label={s.prompt || `${node} waits for your input`} value={answer} onChange={(e) => setAnswer(e.target.value)} />
            <Button type="submit" variant="primary" busy={give.isPending}>Send</Button>
          </form>
        ))}
      </Card>
      <Card title="Nodes">
        <ul className="wf-stream" aria-live="polite">
          {Object.entries(states).map(([node, s]) => (
            <li key={node} data-testid={`wf-stream-${node}`}>
              <strong>{node}</strong> <StatusBadge status={s.status} />
              {s.text ? <pre>{s.text}</pre> : s.output !== undefined && s.output !== null ? <pre>{JSON.stringify(s.output, null, 2)}</pre> : null}
            </li>
          ))}
        </ul>
      </Card>
      {final && final.output !== undefined ? (
        <Card title="Output">
          <pre className="wf-output" data-testid="wf-output">{JSON.stringify(final.output, null, 2)}</pre>
        </Card>
      ) : null}
    </>
  );
}

export function WorkflowRunPage() {
  const { workflowId, runId } = useParams();
  const run = useRun(runId);
  const workflow = useWorkflow(workflowId);
  const err = run.error ?? workflow.error;
  return (
    <>
      <PageHeader
        title={workflow.data ? `${workflow.data.name}: run` : "Run"}
        subtitle={run.data ? `Version ${run.data.workflow_version ?? "?"} · started ${new Date(run.data.created_at).toLocaleString()}` : undefined}
        actions={<Link className="btn btn-ghost" to={`/console/workflows/${workflowId ?? ""}`}>Back to the workflow</Link>}
      />
      {err ? <QueryError error={err} /> : null}
      {run.data && workflow.data ? <Live run={run.data} dag={workflow.data.dag_structure as unknown as Dag} /> : null}
    </>
  );
}
