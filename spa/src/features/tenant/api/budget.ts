// Monthly spend caps: GET/PUT /tenant/budget, PUT /tenant/users/{id}/budget.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap } from "@/lib/api/client";

export function useBudget() {
  return useQuery({ queryKey: ["budget"], queryFn: async () => unwrap(await api.GET("/api/v1/tenant/budget")) });
}

/** Set (a decimal string) or clear (null) the workspace's monthly cap. */
export function useSetMonthlyCap() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async (cap: string | null) => unwrap(await api.PUT("/api/v1/tenant/budget", { body: { monthly_cap: cap } })),
    onSuccess: (data) => qc.setQueryData(["budget"], data),
  });
}

export function useSetUserCap() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async ({ userId, cap }: { userId: string; cap: string | null }) =>
      unwrap(await api.PUT("/api/v1/tenant/users/{user_id}/budget", { params: { path: { user_id: userId } }, body: { monthly_cap: cap } })),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["budget"] }),
  });
}
