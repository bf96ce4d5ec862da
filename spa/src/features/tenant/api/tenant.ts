import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, getJson, sendJson, unwrap, type Schemas } from "@/lib/api/client";

export type ApiKeyCreated = Schemas["ApiKeyCreated"];

export function useApiKeys() {
  return useQuery({ queryKey: ["api-keys"], queryFn: async () => unwrap(await api.GET("/api/v1/tenant/api-keys")) });
}

export function useCreateApiKey() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async (name: string) => unwrap(await api.POST("/api/v1/tenant/api-keys", { body: { name } })),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["api-keys"] }),
  });
}

export function useRevokeApiKey() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async (id: string) => unwrap(await api.DELETE("/api/v1/tenant/api-keys/{key_id}", { params: { path: { key_id: id } } })),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["api-keys"] }),
  });
}

export function useUsers() {
  return useQuery({ queryKey: ["users"], queryFn: async () => unwrap(await api.GET("/api/v1/tenant/users")) });
}

export function useInviteUser() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async (body: Schemas["UserCreate"]) => unwrap(await api.POST("/api/v1/tenant/users", { body })),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["users"] }),
  });
}

export function usePatchUser() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async ({ id, body }: { id: string; body: Schemas["UserPatch"] }) =>
      unwrap(await api.PATCH("/api/v1/tenant/users/{user_id}", { params: { path: { user_id: id } }, body })),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["users"] }),
  });
}

// Usage, ledger entries and executions are built against CONTRACT.md: the routes may not be
// in this server's OpenAPI yet, and a 404 shows "not available yet".
export interface UsageRow {
  key: string;
  input_tokens?: number;
  output_tokens?: number;
  quantity?: number;
  tenant_cost?: string;
  cost?: string;
  [k: string]: unknown;
}

export function useUsage(groupBy: "day" | "agent" | "model", from: string, to: string) {
  return useQuery({
    queryKey: ["usage", groupBy, from, to],
    retry: false,
    placeholderData: keepPreviousData,
    queryFn: () => getJson<unknown>(`/api/v1/usage?group_by=${groupBy}&from=${from}&to=${to}`),
  });
}

export interface LedgerEntry {
  id: string;
  tenant_id: string;
  execution_id: string | null;
  resource_type: string;
  quantity: number | string;
  unit: string;
  tenant_cost: string;
  model?: string;
  created_at: string;
}

export function useLedgerEntries() {
  return useQuery({
    queryKey: ["ledger-entries"],
    retry: false,
    queryFn: () => getJson<{ items?: LedgerEntry[]; entries?: LedgerEntry[]; next_cursor?: string | null } | LedgerEntry[]>("/api/v1/ledger/entries"),
  });
}

export interface Execution {
  id: string;
  status: string;
  agent_id?: string;
  session_id?: string | null;
  error_message?: string | null;
  started_at?: string | null;
  completed_at?: string | null;
  created_at?: string;
  usage?: { input_tokens?: number; output_tokens?: number } | null;
}

export function useExecutions() {
  return useQuery({
    queryKey: ["executions"],
    retry: false,
    refetchInterval: (q) => (q.state.error ? false : 2000),
    queryFn: () => getJson<Execution[] | { items: Execution[] }>("/api/v1/executions"),
  });
}

export function useCancelExecution() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => sendJson<unknown>("POST", `/api/v1/executions/${id}/cancel`),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["executions"] }),
  });
}
