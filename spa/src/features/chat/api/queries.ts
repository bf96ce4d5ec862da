import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap } from "@/lib/api/client";

export function useAgents() {
  return useQuery({ queryKey: ["agents"], queryFn: async () => unwrap(await api.GET("/api/v1/agents")) });
}

/** The workspace's workflows (a conversation can run one instead of an agent). */
export function useWorkflows() {
  return useQuery({ queryKey: ["workflows"], queryFn: async () => unwrap(await api.GET("/api/v1/workflows")) });
}

export function useSessions() {
  return useQuery({ queryKey: ["sessions"], queryFn: async () => unwrap(await api.GET("/api/v1/sessions")) });
}

export function useMessages(sessionId: string | undefined) {
  return useQuery({
    queryKey: ["sessions", sessionId, "messages"],
    enabled: !!sessionId,
    staleTime: Infinity, // live replies are kept by the socket; history is read once per open
    queryFn: async () =>
      unwrap(await api.GET("/api/v1/sessions/{session_id}/messages", { params: { path: { session_id: sessionId! } } })),
  });
}

export function useCreateSession() {
  const qc = useQueryClient();
  return useMutation({
    /** A conversation with an agent, or on a workflow (each message runs it). */
    mutationFn: async (target: { agent_id: string } | { workflow_id: string }) =>
      unwrap(await api.POST("/api/v1/sessions", { body: { ...target, title: null } })),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["sessions"] }),
  });
}
