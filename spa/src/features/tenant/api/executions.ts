// The tenant's executions (GET /executions, polled) and cancelling one.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "@/lib/api/client";

export type Execution = Schemas["ExecutionOut"];

/** Statuses of an execution that has not ended yet. */
export const LIVE_STATUSES = new Set(["queued", "pending", "running", "cancelling"]);

export function useExecutions() {
  return useQuery({
    queryKey: ["executions"],
    refetchInterval: (q) => (q.state.error ? 10_000 : 2000),
    queryFn: async () => unwrap(await api.GET("/api/v1/executions")),
  });
}

export function useExecution(id: string | null) {
  return useQuery({
    queryKey: ["executions", id],
    enabled: !!id,
    queryFn: async () => unwrap(await api.GET("/api/v1/executions/{execution_id}", { params: { path: { execution_id: id! } } })),
  });
}

export function useCancelExecution() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async (id: string) =>
      unwrap(await api.POST("/api/v1/executions/{execution_id}/cancel", { params: { path: { execution_id: id } } })),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["executions"] }),
  });
}

/** Input + output tokens of an execution's usage, when it has any. */
export function tokensOf(e: Execution): number | null {
  if (!e.usage) return null;
  return Number(e.usage.input_tokens ?? 0) + Number(e.usage.output_tokens ?? 0);
}
