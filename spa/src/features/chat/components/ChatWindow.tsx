import { useEffect, useRef, useState, type FormEvent, type KeyboardEvent } from "react";
import { Link } from "react-router";
import { Alert } from "@/components/ui/Alert";
import { Button } from "@/components/ui/Button";
import { formatNumber } from "@/lib/format";
import { describeChatError } from "@/features/chat/api/frames";
import { useMessages } from "@/features/chat/api/queries";
import { useChat } from "@/features/chat/api/useChat";
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

function ReplyBubble({ reply }: { reply: Reply }) {
  return (
    <article className="msg msg-assistant" aria-busy={reply.status === "running"} data-status={reply.status}>
      {reply.tools.map((t, i) => (
        <p key={i} className="tool-activity">
          {t.name === "knowledge_search" ? "Searched the documents" : `Used ${t.name}`}
          {t.summary ? `: ${t.summary}` : "…"}
        </p>
      ))}
      {reply.text ? <Markdown source={reply.text} /> : reply.status === "running" ? <span className="muted">Thinking…</span> : null}
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

export function ChatWindow({ sessionId, title }: { sessionId: string; title: string }) {
  const history = useMessages(sessionId);
  const chat = useChat(sessionId);
  const [draft, setDraft] = useState("");
  const end = useRef<HTMLDivElement>(null);
  const shownIds = new Set((history.data ?? []).map((m) => m.execution_id).filter(Boolean));

  useEffect(() => {
    end.current?.scrollIntoView({ block: "end" });
  }, [chat.stream, chat.sent.length, history.data]);

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

  return (
    <section className="glass card chat-main" aria-label={`Chat: ${title}`}>
      <header className="chat-head">
        <h2 className="card-title">{title}</h2>
        <span className="status-line" role="status" data-socket={chat.status}>{STATUS_WORDS[chat.status]}</span>
      </header>
      <div className="messages" aria-live="polite" aria-relevant="additions text">
        {history.error ? <Alert tone="error">Could not load earlier messages.</Alert> : null}
        {(history.data ?? []).map((m) => (
          <article key={m.id} className={`msg msg-${m.role === "user" ? "user" : "assistant"}`}>
            {m.role === "user" ? <p style={{ margin: 0, whiteSpace: "pre-wrap" }}>{m.content}</p> : <Markdown source={m.content} />}
          </article>
        ))}
        {chat.sent.map((m) => {
          const reply = repliesFor(m.executionId);
          return (
            <div key={m.clientId} className="stack" style={{ display: "contents" }}>
              <article className="msg msg-user" data-refused={m.refused ? true : undefined}><p style={{ margin: 0, whiteSpace: "pre-wrap" }}>{m.content}</p></article>
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
      <form className="composer" onSubmit={submit}>
        <label htmlFor="composer" className="sr-only">Message</label>
        <textarea id="composer" placeholder="Write a message… (Enter sends, Shift+Enter for a new line)" value={draft} onChange={(e) => setDraft(e.target.value)} onKeyDown={onKey} rows={2} />
        {chat.running ? (
          <Button variant="danger" onClick={() => chat.cancel(chat.running!.executionId)}>Stop</Button>
        ) : (
          <Button type="submit" variant="primary" disabled={!draft.trim() || chat.status !== "open"}>Send</Button>
        )}
      </form>
    </section>
  );
}
