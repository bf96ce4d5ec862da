// One chat session over its WebSocket: sends messages, cancels, and after every reconnect
// resumes each running reply from the last seq it has, so no text is lost or doubled.
import { useCallback, useEffect, useRef, useState } from "react";
import { AuthSocket, type SocketStatus } from "@/lib/ws";
import { describeChatError, type ServerFrame } from "@/features/chat/api/frames";
import { applyFrame, emptyStream, resumeFrames, type StreamState } from "@/features/chat/api/stream";

export interface LocalMessage {
  clientId: string;
  content: string;
  executionId?: string;
}

export function useChat(sessionId: string) {
  const [stream, setStream] = useState<StreamState>(emptyStream);
  const [sent, setSent] = useState<LocalMessage[]>([]);
  const [status, setStatus] = useState<SocketStatus>("connecting");
  const [error, setError] = useState<string | null>(null);
  const streamRef = useRef(stream);
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
          setError(describeChatError(frame.code, frame.message));
          return;
        }
        if (frame.type === "execution.started") {
          setSent((list) => {
            if (list.some((m) => m.executionId === frame.execution_id)) return list;
            const i = list.findIndex((m) => !m.executionId);
            return i < 0 ? list : list.map((m, j) => (j === i ? { ...m, executionId: frame.execution_id } : m));
          });
        }
        if (frame.type === "execution.failed") setError(describeChatError(frame.error.code, frame.error.message));
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
    setSent((list) => [...list, { clientId, content }]);
    return true;
  }, []);

  const cancel = useCallback((executionId: string) => {
    socketRef.current?.send({ type: "cancel", execution_id: executionId });
  }, []);

  const running = stream.order.map((id) => stream.replies[id]).find((r) => r?.status === "running");
  return { stream, sent, status, error, send, cancel, running, dismissError: () => setError(null) };
}
