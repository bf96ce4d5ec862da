// The support inbox (docs/human-in-the-loop.md): sessions needing or having a person, kept
// fresh by the inbox socket (every `inbox.changed` refetches the list), take over, hand back.
import { useEffect } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "@/lib/api/client";
import { AuthSocket } from "@/lib/ws";

export type InboxItem = Schemas["InboxItem"];
export interface InboxFilters { state: "" | "escalated" | "human"; assignee: "" | "me" | "none" }

export function useInbox(f: InboxFilters) {
  return useQuery({
    queryKey: ["inbox", f],
    queryFn: async () =>
      unwrap(await api.GET("/api/v1/inbox", {
        params: { query: { state: f.state || null, assignee: f.assignee || null } },
      })),
  });
}

/** Refetch the inbox whenever the tenant's inbox changes (pushed over RabbitMQ, never polled). */
export function useInboxLive() {
  const qc = useQueryClient();
  useEffect(() => {
    const socket = new AuthSocket<{ type: string }>({
      path: "/api/v1/inbox/ws",
      readyType: "ready",
      onReady: () => void qc.invalidateQueries({ queryKey: ["inbox"] }),
      onFrame: (frame) => {
        if (frame.type === "inbox.changed") void qc.invalidateQueries({ queryKey: ["inbox"] });
      },
    });
    const ping = setInterval(() => socket.send({ type: "ping" }), 25_000);
    return () => {
      clearInterval(ping);
      socket.close();
    };
  }, [qc]);
}

export function useTakeover() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async (sessionId: string) =>
      unwrap(await api.POST("/api/v1/sessions/{session_id}/takeover", {
        params: { path: { session_id: sessionId } }, body: { on_running: "cancel" },
      })),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["inbox"] }),
  });
}

export function useHandback() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async (sessionId: string) =>
      unwrap(await api.POST("/api/v1/sessions/{session_id}/handback", { params: { path: { session_id: sessionId } } })),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["inbox"] }),
  });
}
