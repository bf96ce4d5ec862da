// Reassembling replies from chat frames. Pure functions, so the tricky cases are unit-tested:
// duplicates after a reconnect (seq <= last seen is dropped), gaps (held back until the missing
// deltas arrive; the caller asks the server to `resume`), restarts (text starts over), and the
// final frame whose full text is authoritative.
import type { Citation, ServerFrame, TokenUsage } from "@/features/chat/api/frames";

export type ReplyStatus = "queued" | "running" | "completed" | "failed" | "cancelled";

/** One node of a workflow run answering a message (sessions opened on a workflow). */
export interface NodeState {
  id: string;
  status: "running" | "completed" | "failed" | "skipped" | "waiting";
  text: string;
  lastSeq: number;
}

export interface Reply {
  executionId: string;
  text: string;
  lastSeq: number;
  status: ReplyStatus;
  /** Deltas that arrived ahead of a gap, by seq. */
  held: Record<number, string>;
  usage?: TokenUsage;
  error?: { code: string; message: string };
  restarts: number;
  /** While `queued`: the place in the workspace's queue for a free slot (1 is next). */
  position?: number;
  /** What the agent's tools did, in order (`tool.call` then its `tool.result` summary). */
  tools: { name: string; summary?: string }[];
  citations: Citation[];
  /** A workflow run's nodes in the order they started (empty for an agent's reply). */
  nodes: NodeState[];
  /** A workflow run's output, from `execution.completed`. */
  output?: unknown;
}

export interface StreamState {
  replies: Record<string, Reply>;
  order: string[];
}

export const emptyStream: StreamState = { replies: {}, order: [] };

export interface Applied {
  state: StreamState;
  /** Ask the server for everything after this seq (a gap was seen). */
  resume?: { execution_id: string; after_seq: number };
}

function newReply(executionId: string): Reply {
  return { executionId, text: "", lastSeq: 0, status: "running", held: {}, restarts: 0, tools: [], citations: [], nodes: [] };
}

function put(state: StreamState, reply: Reply): StreamState {
  const known = reply.executionId in state.replies;
  return {
    replies: { ...state.replies, [reply.executionId]: reply },
    order: known ? state.order : [...state.order, reply.executionId],
  };
}

/** Append in-order deltas, then drain any held ones that became contiguous. */
function appendDelta(reply: Reply, seq: number, text: string): { reply: Reply; gap: boolean } {
  if (seq <= reply.lastSeq || reply.status !== "running") return { reply, gap: false };
  if (seq > reply.lastSeq + 1) {
    const gap = Object.keys(reply.held).length === 0; // ask once per gap
    return { reply: { ...reply, held: { ...reply.held, [seq]: text } }, gap };
  }
  let out = reply.text + text;
  let last = seq;
  const held = { ...reply.held };
  while (held[last + 1] !== undefined) {
    out += held[last + 1];
    delete held[last + 1];
    last += 1;
  }
  for (const k of Object.keys(held)) if (Number(k) <= last) delete held[Number(k)];
  return { reply: { ...reply, text: out, lastSeq: last, held }, gap: false };
}

/** The reply with node `nodeId` changed by `change` (added, running, when new). */
function withNode(reply: Reply, nodeId: string, change: (n: NodeState) => NodeState): Reply {
  const at = reply.nodes.findIndex((n) => n.id === nodeId);
  const node = at >= 0 ? reply.nodes[at]! : { id: nodeId, status: "running" as const, text: "", lastSeq: 0 };
  const nodes = [...reply.nodes];
  if (at >= 0) nodes[at] = change(node);
  else nodes.push(change(node));
  return { ...reply, status: reply.status === "queued" ? "running" : reply.status, position: undefined, nodes };
}

export function applyFrame(state: StreamState, frame: ServerFrame): Applied {
  if (!("execution_id" in frame)) return { state };
  const id = frame.execution_id;
  const current = state.replies[id] ?? newReply(id);
  switch (frame.type) {
    case "execution.queued":
      if (current.status !== "queued" && current.status !== "running") return { state };
      return { state: put(state, { ...current, status: "queued", position: frame.position }) };
    case "execution.started":
      return { state: put(state, current.status === "queued" ? { ...current, status: "running", position: undefined } : current) };
    case "delta": {
      const live = current.status === "queued" ? { ...current, status: "running" as const, position: undefined } : current;
      const { reply, gap } = appendDelta(live, frame.seq, frame.text);
      const next = put(state, reply);
      return gap ? { state: next, resume: { execution_id: id, after_seq: reply.lastSeq } } : { state: next };
    }
    case "execution.restarted":
      return { state: put(state, { ...newReply(id), restarts: current.restarts + 1 }) };
    case "tool.call":
      return { state: put(state, { ...current, tools: [...current.tools, { name: frame.name }] }) };
    case "tool.result": {
      const tools = [...current.tools];
      const open = tools.findLastIndex((t) => t.name === frame.name && t.summary === undefined);
      if (open >= 0) tools[open] = { name: frame.name, summary: frame.summary };
      else tools.push({ name: frame.name, summary: frame.summary });
      return { state: put(state, { ...current, tools }) };
    }
    case "execution.completed":
      return {
        state: put(state, {
          ...current, text: frame.text, status: "completed", usage: frame.usage, held: {}, citations: frame.citations ?? [], output: frame.output,
        }),
      };
    case "node.started": // a new attempt of the node starts its text over
      return { state: put(state, withNode(current, frame.node_id, (n) => ({ ...n, status: "running", text: "", lastSeq: 0 }))) };
    case "node.delta": // seq per node is gap-free; an old or repeated one is dropped
      return {
        state: put(state, withNode(current, frame.node_id, (n) => (
          frame.seq === n.lastSeq + 1 ? { ...n, text: n.text + frame.text, lastSeq: frame.seq } : n
        ))),
      };
    case "node.completed":
      return { state: put(state, withNode(current, frame.node_id, (n) => ({ ...n, status: "completed" }))) };
    case "node.failed":
      return { state: put(state, withNode(current, frame.node_id, (n) => ({ ...n, status: "failed" }))) };
    case "node.skipped":
      return { state: put(state, withNode(current, frame.node_id, (n) => ({ ...n, status: "skipped" }))) };
    case "node.waiting":
      return { state: put(state, withNode(current, frame.node_id, (n) => ({ ...n, status: "waiting", text: frame.prompt }))) };
    case "execution.failed":
      return { state: put(state, { ...current, status: "failed", error: frame.error, held: {}, position: undefined }) };
    case "execution.cancelled":
      return { state: put(state, { ...current, status: "cancelled", held: {}, position: undefined }) };
  }
}

/** What to send after a reconnect: one `resume` per reply still running. */
export function resumeFrames(state: StreamState): { type: "resume"; execution_id: string; after_seq: number }[] {
  return state.order
    .map((id) => state.replies[id])
    .filter((r): r is Reply => r !== undefined && r.status === "running")
    .map((r) => ({ type: "resume", execution_id: r.executionId, after_seq: r.lastSeq }));
}

/** Seed running replies from history (e.g. a reload mid-reply) so resume can catch up. */
export function trackRunning(state: StreamState, executionIds: string[]): StreamState {
  return executionIds.reduce((s, id) => (s.replies[id] ? s : put(s, newReply(id))), state);
}
