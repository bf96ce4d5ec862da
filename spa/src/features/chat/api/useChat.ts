// One chat session over its WebSocket: sends messages, cancels, and after every reconnect
// resumes each running reply from the last seq it has, so no text is lost or doubled.
import { useCallback, useEffect, useRef, useState } from "react";
import { AuthSocket, type SocketStatus } from "@/lib/ws";
import { describeChatError, REFUSALS, type ServerFrame } from "@/features/chat/api/frames";
import { markRefused, markStarted, type LocalMessage } from "@/features/chat/api/sent";
import { applyFrame, emptyStream, resumeFrames, type StreamState } from "@/features/chat/api/stream";

export function useChat(sessionId: string) {
  const [stream, setStream] = useState<StreamState>(emptyStream);
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
          const words = describeChatError(frame.code);
          if (!REFUSALS.has(frame.code)) return setError(words);
          const marked = markRefused(sentRef.current, words);
          if (marked) setSent((sentRef.current = marked));
          else setError(words);
          return;
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
  }, [sessionId]);

  const send = useCallback((content: string): boolean => {
    const clientId = crypto.randomUUID();
    const ok = socketRef.current?.send({ type: "message", content, client_id: clientId }) ?? false;
    if (!ok) {
      setError("Not connected right now; reconnecting. Your message was not sent.");
      return false;
    }
    setError(null);
    setSent((sentRef.current = [...sentRef.current, { clientId, content }]));
    return true;
  }, []);

  const cancel = useCallback((executionId: string) => {
    socketRef.current?.send({ type: "cancel", execution_id: executionId });
  }, []);

  const running = stream.order.map((id) => stream.replies[id]).find((r) => r?.status === "running" || r?.status === "queued");
  return { stream, sent, status, error, send, cancel, running, dismissError: () => setError(null) };
}
