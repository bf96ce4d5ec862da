import { useEffect, useRef, useState, type FormEvent, type KeyboardEvent, type ReactNode } from "react";
import { Link } from "react-router";
import { Alert } from "@/components/ui/Alert";
import { StatusBadge } from "@/components/ui/Badge";
import { Button } from "@/components/ui/Button";
import { formatNumber } from "@/lib/format";
import { describeChatError } from "@/features/chat/api/frames";
import { useMessages } from "@/features/chat/api/queries";
import { useChat, type Holder, type PersonMessage } from "@/features/chat/api/useChat";
import type { LocalMessage } from "@/features/chat/api/sent";
import type { Reply } from "@/features/chat/api/stream";
import { Markdown } from "@/features/chat/components/Markdown";

const STATUS_WORDS = {
  connecting: "Connecting…",
  open: "Live",
  reconnecting: "Connection lost — reconnecting…",
  closed: "Disconnected",
  refused: "This conversation cannot be opened (it may have been deleted).",
} as const;

/** The document chunks a reply cites, as links to them on the Knowledge page. */
function Citations({ reply }: { reply: Reply }) {
  if (!reply.citations.length) return null;
  return (
    <nav className="citations" aria-label="Sources">
      {reply.citations.map((c) => (
        <Link key={`${c.document_id}-${c.chunk_index}`} to={`/console/knowledge?document=${c.document_id}&chunk=${c.chunk_index}`}>
          {c.filename} #{c.chunk_index}
        </Link>
      ))}
    </nav>
  );
}

/** A workflow run's final output: a lone text shown as text, anything else as JSON. */
function outputText(output: unknown): string {
  if (typeof output === "string") return output;
  if (output && typeof output === "object" && !Array.isArray(output)) {
    const values = Object.values(output);
    if (values.length === 1 && typeof values[0] === "string") return values[0];
  }
  return JSON.stringify(output, null, 2);
}

/** A workflow run answering a message: each node as it runs, its text streaming, then the output. */
function WorkflowReply({ reply }: { reply: Reply }) {
  return (
    <>
      <ol className="chat-steps" aria-label="Workflow steps">
        {reply.nodes.map((n) => (
          <li key={n.id} className="chat-step" data-node={n.id} data-status={n.status}>
            <div className="chat-step-head">
              <span className="chat-step-id">{n.id}</span>
              <StatusBadge status={n.status} />
            </div>
            {n.text ? <p className="chat-step-text">{n.text}</p> : null}
          </li>
        ))}
      </ol>
      {reply.status === "completed" ? (
        <div className="chat-output" data-testid="workflow-output">
          <div className="msg-author">Output</div>
          <p style={{ margin: 0, whiteSpace: "pre-wrap" }}>{outputText(reply.output ?? reply.text)}</p>
        </div>
      ) : null}
    </>
  );
}

function ReplyBubble({ reply }: { reply: Reply }) {
  const workflow = reply.nodes.length > 0 || reply.output !== undefined;
  return (
    <article className="msg msg-assistant" aria-busy={reply.status === "running" || reply.status === "queued"} data-status={reply.status}>
      {reply.status === "queued" ? (
        <span className="muted" role="status" data-position={reply.position}>
          Your workspace is busy: waiting for a free slot, number {reply.position} in line…
        </span>
      ) : null}
      {reply.tools.map((t, i) => (
        <p key={i} className="tool-activity">
          {t.name === "knowledge_search" ? "Searched the documents" : `Used ${t.name}`}
          {t.summary ? `: ${t.summary}` : "…"}
        </p>
      ))}
      {workflow ? <WorkflowReply reply={reply} /> : reply.text ? <Markdown source={reply.text} /> : reply.status === "running" ? <span className="muted">Thinking…</span> : null}
      {reply.status === "running" ? <span className="caret" aria-hidden="true" /> : null}
      <div className="msg-meta">
        {reply.status === "cancelled" ? <span>Stopped</span> : null}
        {reply.status === "failed" ? <span className="msg-error" role="alert">{describeChatError(reply.error?.code ?? "failed")}</span> : null}
        {reply.restarts > 0 ? <span>Restarted {reply.restarts}×</span> : null}
        <Citations reply={reply} />
        {reply.usage ? (
          <span className="usage" title="Tokens used by this reply">
            {formatNumber(reply.usage.input_tokens)} in · {formatNumber(reply.usage.output_tokens)} out tokens
          </span>
        ) : null}
      </div>
    </article>
  );
}

/** How the person answering sees the window (the Inbox's conversation view). */
export interface SupportView {
  meId: string;
  /** Take over / hand back, shown in the header. */
  actions: (holdingNow: boolean, heldByOther: boolean) => ReactNode;
}

export function ChatWindow({ sessionId, title, holder = null, support }: {
  sessionId: string; title: string; holder?: Holder | null; support?: SupportView;
}) {
  const history = useMessages(sessionId);
  const chat = useChat(sessionId, holder, support?.meId);
  const [draft, setDraft] = useState("");
  const holding = !!support && chat.holder?.userId === support.meId;
  const heldByOther = !!chat.holder && !holding;
  const end = useRef<HTMLDivElement>(null);
  const shownIds = new Set((history.data ?? []).map((m) => m.execution_id).filter(Boolean));

  useEffect(() => {
    end.current?.scrollIntoView({ block: "end" });
  }, [chat.stream, chat.sent.length, chat.people.length, chat.draft, history.data]);

  const submit = (e?: FormEvent) => {
    e?.preventDefault();
    const text = draft.trim();
    if (text && chat.send(text)) setDraft("");
  };
  const onKey = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === "Enter" && !e.shiftKey) {
      e.preventDefault();
      submit();
    }
  };
  const repliesFor = (executionId?: string) => (executionId ? chat.stream.replies[executionId] : undefined);
  const unmatched = chat.stream.order.filter((id) => !chat.sent.some((m) => m.executionId === id) && !shownIds.has(id));
  const timeline = [
    ...chat.sent.map((m) => ({ at: m.at ?? 0, key: m.clientId, sent: m as LocalMessage | undefined, person: undefined as PersonMessage | undefined })),
    ...chat.people.map((m) => ({ at: m.at, key: m.id, sent: undefined, person: m })),
  ].sort((a, b) => a.at - b.at);

  return (
    <section className="glass card chat-main" aria-label={`Chat: ${title}`}>
      <header className="chat-head">
        <h2 className="card-title">{title}</h2>
        <span className="status-line" role="status" data-socket={chat.status}>{STATUS_WORDS[chat.status]}</span>
        {support ? <div className="chat-actions">{support.actions(holding, heldByOther)}</div> : null}
      </header>
      {chat.holder ? (
        <div className="person-banner" role="status" data-testid="person-banner">
          <span className="person-dot" aria-hidden="true" />
          {!support
            ? <span><strong>A person has joined:</strong> {chat.holder.name} is answering you now.</span>
            : holding
              ? <span><strong>You are answering.</strong> The agent is paused until you hand back.</span>
              : <span><strong>{chat.holder.name}</strong> is answering this conversation.</span>}
        </div>
      ) : support && chat.escalated ? (
        <div className="person-banner escalated" role="status">Escalated: {chat.escalated}</div>
      ) : null}
      <div className="messages" aria-live="polite" aria-relevant="additions text">
        {history.error ? <Alert tone="error">Could not load earlier messages.</Alert> : null}
        {(history.data ?? []).map((m) => (
          <article key={m.id} className={`msg msg-${m.role === "user" ? "user" : m.role === "human" ? "human" : "assistant"}`}>
            {m.role === "human" ? <div className="msg-author">Support</div> : null}
            {m.role === "assistant" ? <Markdown source={m.content} /> : <p style={{ margin: 0, whiteSpace: "pre-wrap" }}>{m.content}</p>}
          </article>
        ))}
        {timeline.map((item) => {
          if (item.person) {
            const m = item.person;
            return (
              <article key={item.key} className={`msg msg-${m.author === "human" ? "human" : "user"}`}>
                {m.author === "human" ? <div className="msg-author">{m.name ?? "Support"}</div> : null}
                <p style={{ margin: 0, whiteSpace: "pre-wrap" }}>{m.content}</p>
              </article>
            );
          }
          const m = item.sent!;
          const reply = repliesFor(m.executionId);
          const mine = support && holding ? "human" : "user";
          return (
            <div key={item.key} className="stack" style={{ display: "contents" }}>
              <article className={`msg msg-${mine}`} data-refused={m.refused ? true : undefined}>
                {mine === "human" ? <div className="msg-author">You</div> : null}
                <p style={{ margin: 0, whiteSpace: "pre-wrap" }}>{m.content}</p>
              </article>
              {m.refused ? <Alert tone="warning" title="Not sent">{m.refused}</Alert> : null}
              {reply ? <ReplyBubble reply={reply} /> : null}
            </div>
          );
        })}
        {unmatched.map((id) => (chat.stream.replies[id] ? <ReplyBubble key={id} reply={chat.stream.replies[id]} /> : null))}
        <div ref={end} />
      </div>
      {chat.error ? (
        <div style={{ padding: "0 0.75rem" }}>
          <Alert tone="error">{chat.error}</Alert>
        </div>
      ) : null}
      {holding && chat.draft ? (
        <div className="draft-card" aria-label="Suggested reply" role="region" aria-busy={chat.draft.status === "running"}>
          <div className="msg-author">Suggested reply{chat.draft.status === "running" ? " (writing…)" : ""}</div>
          {chat.draft.error ? <Alert tone="error">{chat.draft.error}</Alert> : <p style={{ margin: 0, whiteSpace: "pre-wrap" }}>{chat.draft.text}</p>}
          <div className="draft-actions">
            <Button variant="primary" disabled={chat.draft.status !== "completed"} onClick={() => { if (chat.send(chat.draft!.text)) chat.discardDraft(); }}>Send</Button>
            <Button disabled={chat.draft.status !== "completed"} onClick={() => { setDraft(chat.draft!.text); chat.discardDraft(); }}>Edit</Button>
            <Button onClick={chat.discardDraft}>Discard</Button>
          </div>
        </div>
      ) : null}
      <form className="composer" onSubmit={submit}>
        <label htmlFor="composer" className="sr-only">Message</label>
        <textarea id="composer" placeholder="Write a message… (Enter sends, Shift+Enter for a new line)" value={draft} onChange={(e) => setDraft(e.target.value)} onKeyDown={onKey} rows={2} />
        {holding ? <Button onClick={chat.requestDraft} disabled={chat.draft?.status === "running"}>Suggest</Button> : null}
        {chat.running && !holding ? (
          <Button variant="danger" onClick={() => chat.cancel(chat.running!.executionId)}>Stop</Button>
        ) : (
          <Button type="submit" variant="primary" disabled={!draft.trim() || chat.status !== "open"}>Send</Button>
        )}
      </form>
    </section>
  );
}
