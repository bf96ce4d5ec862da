// One chat session over its WebSocket: sends messages, cancels, and after every reconnect
// resumes each running reply from the last seq it has, so no text is lost or doubled.
import { useCallback, useEffect, useRef, useState } from "react";
import { AuthSocket, type SocketStatus } from "@/lib/ws";
import { describeChatError, REFUSALS, type ServerFrame } from "@/features/chat/api/frames";
import { markRefused, markStarted, markToPerson, type LocalMessage } from "@/features/chat/api/sent";
import { applyFrame, emptyStream, resumeFrames, type StreamState } from "@/features/chat/api/stream";

/** A message no agent answers: the person's, or the end user's while a person holds the session. */
export interface PersonMessage { id: string; author: "user" | "human"; name: string | null; content: string; clientId: string | null; at: number }
/** The person holding the session (from `human.joined`), if any. */
export interface Holder { userId: string | null; name: string }
/** A co-pilot draft streamed to the person holding the session. */
export interface Draft { id: string; text: string; status: "running" | "completed" | "failed"; error?: string }

/** `coPilotFor`: the signed-in person's id on the support side; while they hold the session,
 * every end-user message asks the agent for a draft reply (co-pilot mode). */
export function useChat(sessionId: string, initialHolder: Holder | null = null, coPilotFor?: string) {
  const [stream, setStream] = useState<StreamState>(emptyStream);
  const [holder, setHolderState] = useState<Holder | null>(initialHolder);
  const holderRef = useRef(initialHolder);
  const setHolder = (h: Holder | null) => setHolderState((holderRef.current = h));
  const [people, setPeople] = useState<PersonMessage[]>([]);
  const [escalated, setEscalated] = useState<string | null>(null);
  const [draft, setDraft] = useState<Draft | null>(null);
  const [sent, setSent] = useState<LocalMessage[]>([]);
  const [status, setStatus] = useState<SocketStatus>("connecting");
  const [error, setError] = useState<string | null>(null);
  const streamRef = useRef(stream);
  const sentRef = useRef(sent);
  const socketRef = useRef<AuthSocket<ServerFrame> | null>(null);

  useEffect(() => {
    // The owner remounts this hook per session (key={sessionId}), so state starts empty.
    const socket = new AuthSocket<ServerFrame>({
      path: `/api/v1/sessions/${sessionId}/ws`,
      readyType: "ready",
      onStatus: setStatus,
      onReady: (reconnected) => {
        if (reconnected) resumeFrames(streamRef.current).forEach((f) => socket.send(f));
      },
      onFrame: (frame) => {
        if (frame.type === "error") {
          const words = describeChatError(frame.code, frame.message);
          if (!REFUSALS.has(frame.code)) return setError(words);
          const marked = markRefused(sentRef.current, words);
          if (marked) setSent((sentRef.current = marked));
          else setError(words);
          return;
        }
        switch (frame.type) {
          case "human.joined":
            return setHolder({ userId: frame.user_id, name: frame.name });
          case "human.left":
            return setHolder(null);
          case "session.escalated":
            return setEscalated(frame.reason);
          case "message": {
            const clientId = frame.client_id;
            if (clientId !== null && sentRef.current.some((m) => m.clientId === clientId)) {
              setSent((sentRef.current = markToPerson(sentRef.current, clientId)));
              return; // our own message, already shown
            }
            const m: PersonMessage = {
              id: frame.message_id, author: frame.author, name: frame.name, content: frame.content, clientId, at: Date.now(),
            };
            if (m.author === "user" && coPilotFor && holderRef.current?.userId === coPilotFor) socket.send({ type: "draft" });
            return setPeople((all) => (all.some((x) => x.id === m.id) ? all : [...all, m]));
          }
          case "draft.started":
            return setDraft({ id: frame.draft_id, text: "", status: "running" });
          case "draft.delta":
            return setDraft((d) => (d && d.id === frame.draft_id ? { ...d, text: d.text + frame.text } : d));
          case "draft.completed":
            return setDraft((d) => (d && d.id === frame.draft_id ? { ...d, text: frame.text, status: "completed" } : d));
          case "draft.failed":
            return setDraft((d) => (d && d.id === frame.draft_id ? { ...d, status: "failed", error: describeChatError(frame.error.code) } : d));
        }
        if (frame.type === "execution.started" || frame.type === "execution.queued") {
          setSent((sentRef.current = markStarted(sentRef.current, frame.execution_id)));
        }
        const out = applyFrame(streamRef.current, frame);
        streamRef.current = out.state;
        setStream(out.state);
        if (out.resume) socket.send({ type: "resume", ...out.resume });
      },
    });
    socketRef.current = socket;
    const ping = setInterval(() => socket.send({ type: "ping" }), 25_000);
    return () => {
      clearInterval(ping);
      socket.close();
    };
  }, [sessionId, coPilotFor]);

  const send = useCallback((content: string): boolean => {
    const clientId = crypto.randomUUID();
    const ok = socketRef.current?.send({ type: "message", content, client_id: clientId }) ?? false;
    if (!ok) {
      setError("Not connected right now; reconnecting. Your message was not sent.");
      return false;
    }
    setError(null);
    setSent((sentRef.current = [...sentRef.current, { clientId, content, at: Date.now() }]));
    return true;
  }, []);

  const cancel = useCallback((executionId: string) => {
    socketRef.current?.send({ type: "cancel", execution_id: executionId });
  }, []);

  const requestDraft = useCallback(() => {
    if (!socketRef.current?.send({ type: "draft" })) setError("Not connected right now; reconnecting.");
  }, []);

  const running = stream.order.map((id) => stream.replies[id]).find((r) => r?.status === "running" || r?.status === "queued");
  return {
    stream, sent, status, error, send, cancel, running, dismissError: () => setError(null),
    holder, people, escalated, draft, requestDraft, discardDraft: () => setDraft(null),
  };
}
