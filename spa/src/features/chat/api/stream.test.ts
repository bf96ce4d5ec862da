import { describe, expect, it } from "vitest";
import type { ServerFrame } from "@/features/chat/api/frames";
import { applyFrame, emptyStream, resumeFrames, type StreamState } from "@/features/chat/api/stream";

const E = "e1";
const d = (seq: number, text: string): ServerFrame => ({ type: "delta", execution_id: E, seq, text });

function run(frames: ServerFrame[], start: StreamState = emptyStream) {
  const resumes: { execution_id: string; after_seq: number }[] = [];
  const state = frames.reduce((s, f) => {
    const out = applyFrame(s, f);
    if (out.resume) resumes.push(out.resume);
    return out.state;
  }, start);
  return { state, reply: state.replies[E]!, resumes };
}

describe("stream reassembly", () => {
  it("shows the place in the queue until the reply starts", () => {
    const q = (position: number): ServerFrame => ({ type: "execution.queued", execution_id: E, message_id: "m", position });
    const waiting = run([q(3), q(2)]);
    expect(waiting.reply.status).toBe("queued");
    expect(waiting.reply.position).toBe(2);
    const { reply } = run([q(1), { type: "execution.started", execution_id: E, message_id: "m" }, d(1, "hi")], waiting.state);
    expect(reply.status).toBe("running");
    expect(reply.position).toBeUndefined();
    expect(reply.text).toBe("hi");
  });

  it("a queued message refused after waiting too long fails with its code", () => {
    const failed: ServerFrame = { type: "execution.failed", execution_id: E, error: { code: "queue_wait_exceeded", message: "m" } };
    const { reply } = run([{ type: "execution.queued", execution_id: E, message_id: null, position: 1 }, failed]);
    expect(reply.status).toBe("failed");
    expect(reply.error?.code).toBe("queue_wait_exceeded");
  });

  it("records tool calls with their results and keeps the completed frame's citations", () => {
    const citation = { document_id: "d1", filename: "faq.md", chunk_index: 2 };
    const { reply } = run([
      { type: "tool.call", execution_id: E, name: "knowledge_search", arguments: { query: "refunds" } },
      { type: "tool.result", execution_id: E, name: "knowledge_search", summary: "1 passage(s) from faq.md" },
      d(1, "Thirty days."),
      { type: "execution.completed", execution_id: E, text: "Thirty days.", usage: { input_tokens: 5, output_tokens: 3 }, citations: [citation] },
    ]);
    expect(reply.tools).toEqual([{ name: "knowledge_search", summary: "1 passage(s) from faq.md" }]);
    expect(reply.citations).toEqual([citation]);
    expect(reply.text).toBe("Thirty days.");
  });

  it("joins deltas in order", () => {
    const { reply } = run([{ type: "execution.started", execution_id: E, message_id: null }, d(1, "Hel"), d(2, "lo")]);
    expect(reply.text).toBe("Hello");
    expect(reply.lastSeq).toBe(2);
    expect(reply.status).toBe("running");
  });

  it("drops deltas seen before a reconnect (resume replays from after_seq)", () => {
    const { reply } = run([d(1, "a"), d(2, "b"), d(3, "c"), d(2, "b"), d(3, "c"), d(4, "d")]);
    expect(reply.text).toBe("abcd");
  });

  it("holds deltas after a gap, asks to resume once, and fills in when the gap closes", () => {
    const { reply, resumes } = run([d(1, "a"), d(4, "d"), d(5, "e"), d(2, "b"), d(3, "c")]);
    expect(resumes).toEqual([{ execution_id: E, after_seq: 1 }]);
    expect(reply.text).toBe("abcde");
    expect(reply.lastSeq).toBe(5);
    expect(reply.held).toEqual({});
  });

  it("a resumed snapshot overlapping held deltas shows each seq once", () => {
    const { reply } = run([d(1, "a"), d(3, "c"), d(2, "b"), d(3, "c"), d(4, "d")]);
    expect(reply.text).toBe("abcd");
  });

  it("the completed frame's full text is authoritative and carries usage", () => {
    const { reply } = run([
      d(1, "Hi"),
      d(3, " there"),
      { type: "execution.completed", execution_id: E, text: "Hi you there", usage: { input_tokens: 3, output_tokens: 4 } },
      d(2, " you"),
    ]);
    expect(reply.text).toBe("Hi you there");
    expect(reply.status).toBe("completed");
    expect(reply.usage).toEqual({ input_tokens: 3, output_tokens: 4 });
  });

  it("a restart drops the partial text and seq starts again at 1", () => {
    const { reply } = run([d(1, "old"), d(2, " text"), { type: "execution.restarted", execution_id: E, attempt: 2, reason: "worker lost" }, d(1, "new")]);
    expect(reply.text).toBe("new");
    expect(reply.restarts).toBe(1);
  });

  it("cancel keeps the text streamed so far; late deltas are ignored", () => {
    const { reply } = run([d(1, "part"), { type: "execution.cancelled", execution_id: E }, d(2, "late")]);
    expect(reply.text).toBe("part");
    expect(reply.status).toBe("cancelled");
  });

  it("after a reconnect only running replies are resumed, from their last seq", () => {
    const { state } = run([d(1, "a"), d(2, "b"), { type: "delta", execution_id: "e2", seq: 1, text: "x" }, { type: "execution.cancelled", execution_id: "e2" }]);
    expect(resumeFrames(state)).toEqual([{ type: "resume", execution_id: E, after_seq: 2 }]);
  });

  it("ignores frames without an execution", () => {
    const { state } = run([{ type: "ready", session_id: "s" }, { type: "error", code: "bad_json", message: "x" }]);
    expect(state.order).toEqual([]);
  });

  it("follows a workflow's nodes: their text in seq order, then the output", () => {
    const n = (type: "node.started" | "node.completed", node_id: string): ServerFrame =>
      type === "node.started"
        ? { type, execution_id: E, node_id, attempt: 1 }
        : { type, execution_id: E, node_id, output: { text: "x" }, branch: null };
    const nd = (node_id: string, seq: number, text: string): ServerFrame => ({ type: "node.delta", execution_id: E, node_id, seq, text });
    const { reply } = run([
      { type: "execution.started", execution_id: E, message_id: "m" },
      n("node.started", "a"), nd("a", 1, "he"), nd("a", 1, "he"), nd("a", 2, "llo"),
      n("node.completed", "a"), n("node.started", "b"), nd("b", 1, "w"),
    ]);
    expect(reply.nodes.map((x) => [x.id, x.status, x.text])).toEqual([["a", "completed", "hello"], ["b", "running", "w"]]);
    const done = applyFrame({ replies: { [E]: reply }, order: [E] }, {
      type: "execution.completed", execution_id: E, text: '{"t":"hello"}', usage: { input_tokens: 1, output_tokens: 2 }, output: { t: "hello" },
    }).state.replies[E]!;
    expect(done.status).toBe("completed");
    expect(done.output).toEqual({ t: "hello" });
    expect(done.nodes).toHaveLength(2);
  });
});
