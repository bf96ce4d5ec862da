// The canvas pieces shared by the editor and the run view: a node card, DAG <-> React Flow.
import { Handle, Position, type Edge, type Node, type NodeProps } from "@xyflow/react";
import type { Dag, DagNode } from "@/features/workflows/api/workflows";

export const NODE_TYPES = ["input", "llm", "condition", "map", "sort", "tool", "human", "output"] as const;
export const BRANCHES = ["", "true", "false", "error", "timeout"] as const;

export interface StepData extends Record<string, unknown> {
  dag: DagNode;
  /** Validation problems the server named for this node. */
  error?: string;
  /** Run view: pending | running | completed | failed | skipped | waiting. */
  status?: string;
  /** Run view: the node's streamed text so far (or a summary of its map items). */
  text?: string;
}
export type StepNode = Node<StepData, "step">;

/** One node on the canvas: its type, id, a hint of its settings, and its state. */
export function StepCard({ data, selected }: NodeProps<StepNode>) {
  const { dag, error, status, text } = data;
  const hint = String(dag.prompt_template ?? dag.items ?? dag.field ?? dag.url ?? dag.prompt ?? "");
  return (
    <div
      className={`wf-node wf-${dag.type} ${status ? `wf-status-${status}` : ""} ${error ? "wf-invalid" : ""} ${selected ? "wf-selected" : ""}`}
      data-testid={`wf-node-${dag.id}`}
      data-status={status ?? ""}
    >
      {dag.type !== "input" ? <Handle type="target" position={Position.Left} /> : null}
      <div className="wf-node-head">
        <span className="wf-type">{dag.type}</span>
        <strong>{dag.id}</strong>
        {status ? <span className="wf-status">{status}</span> : null}
      </div>
      {hint ? <div className="wf-hint">{hint.slice(0, 60)}</div> : null}
      {text ? <div className="wf-text" data-testid={`wf-text-${dag.id}`}>{text.slice(-240)}</div> : null}
      {error ? <div className="wf-error" role="alert">{error}</div> : null}
      {dag.type !== "output" ? <Handle type="source" position={Position.Right} /> : null}
    </div>
  );
}

export const nodeTypes = { step: StepCard };

export function toFlow(dag: Dag): { nodes: StepNode[]; edges: Edge[] } {
  const nodes: StepNode[] = dag.nodes.map((n, i) => ({
    id: n.id,
    type: "step",
    position: n.position ?? { x: 40 + 240 * i, y: 80 + (i % 2) * 90 },
    data: { dag: n },
  }));
  const edges: Edge[] = dag.edges.map((e) => ({
    id: `${e.source}->${e.target}`,
    source: e.source,
    target: e.target,
    label: e.condition,
    data: { condition: e.condition ?? "" },
  }));
  return { nodes, edges };
}

export function toDag(nodes: StepNode[], edges: Edge[]): Dag {
  return {
    nodes: nodes.map((n) => ({ ...n.data.dag, id: n.id, position: { x: Math.round(n.position.x), y: Math.round(n.position.y) } })),
    edges: edges.map((e) => {
      const condition = (e.data as { condition?: string } | undefined)?.condition;
      return condition ? { source: e.source, target: e.target, condition } : { source: e.source, target: e.target };
    }),
  };
}

/** Settings a new node of `type` starts with (enough to be valid once connected). */
export function starter(type: string, id: string, model: string): DagNode {
  switch (type) {
    case "input":
      return { id, type, fields: [{ name: "text", type: "string" }] };
    case "llm":
      return { id, type, model, prompt_template: "Answer: {input.text}" };
    case "condition":
      return { id, type, field: "input.text", op: "exists", value: null };
    case "map":
      return { id, type, items: "{input.items}", concurrency: 4, step: { model, prompt_template: "Handle {item}" } };
    case "sort":
      return { id, type, items: "{map.items}", by: "score", order: "desc" };
    case "tool":
      return { id, type, url: "https://example.com/hook", method: "POST", body_template: "{}" };
    case "human":
      return { id, type, prompt: "Approve?", timeout_s: 3600 };
    default:
      return { id, type: "output", value: { result: "{input.text}" } };
  }
}
