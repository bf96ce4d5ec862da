import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "@/lib/api/client";

export type Agent = Schemas["AgentOut"];
export type AgentCreate = Schemas["AgentCreate"];

export function useAgentList() {
  return useQuery({ queryKey: ["agents"], queryFn: async () => unwrap(await api.GET("/api/v1/agents")) });
}

export type CatalogModel = Schemas["TenantModelOut"];

/** Models the tenant's agents may use, with limits and the tenant's prices. */
export function useCatalog() {
  return useQuery({ queryKey: ["models"], queryFn: async () => unwrap(await api.GET("/api/v1/models")), staleTime: 60_000 });
}

export function useAgent(id: string | undefined) {
  return useQuery({
    queryKey: ["agents", id],
    enabled: !!id,
    queryFn: async () => unwrap(await api.GET("/api/v1/agents/{agent_id}", { params: { path: { agent_id: id! } } })),
  });
}

export function useSaveAgent(id: string | undefined) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async (body: AgentCreate) =>
      id
        ? unwrap(await api.PATCH("/api/v1/agents/{agent_id}", { params: { path: { agent_id: id } }, body: body as Schemas["AgentPatch"] }))
        : unwrap(await api.POST("/api/v1/agents", { body })),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["agents"] }),
  });
}

export function useDeleteAgent() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async (id: string) => unwrap(await api.DELETE("/api/v1/agents/{agent_id}", { params: { path: { agent_id: id } } })),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["agents"] }),
  });
}

/** The workspace's documents, for the agent's document picker (the Knowledge page uploads them). */
export function useWorkspaceDocuments() {
  return useQuery({ queryKey: ["documents"], queryFn: async () => unwrap(await api.GET("/api/v1/documents")) });
}

export function useAgentDocuments(agentId: string) {
  return useQuery({
    queryKey: ["agent-documents", agentId],
    queryFn: async () => unwrap(await api.GET("/api/v1/agents/{agent_id}/documents", { params: { path: { agent_id: agentId } } })),
  });
}

export function useSetAgentDocuments(agentId: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async (ids: string[]) =>
      unwrap(await api.PUT("/api/v1/agents/{agent_id}/documents", { params: { path: { agent_id: agentId } }, body: { document_ids: ids } })),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["agent-documents", agentId] }),
  });
}
