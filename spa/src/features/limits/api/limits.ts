// Per-tier limits (docs/limits.md) and GDPR (docs/gdpr.md): the workspace's limits and its
// data export; the app admin's tier editor and tenant erasure.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { ApiError, api, authFetch, describeStatus, unwrap, type Schemas } from "@/lib/api/client";

export type TierLimits = Schemas["TierLimitsOut"];

export function useLimits() {
  return useQuery({ queryKey: ["tenant", "limits"], queryFn: async () => unwrap(await api.GET("/api/v1/tenant/limits")) });
}

export function useTiers() {
  return useQuery({ queryKey: ["admin", "tiers"], queryFn: async () => unwrap(await api.GET("/api/v1/admin/tiers")) });
}

export function usePatchTier() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async ({ tier, body }: { tier: string; body: Schemas["TierLimitsPatch"] }) =>
      unwrap(await api.PATCH("/api/v1/admin/tiers/{tier}", { params: { path: { tier } }, body })),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["admin", "tiers"] }),
  });
}

/** Download the workspace's archive: fetched with the bearer token, saved through a blob link. */
export function useExport() {
  return useMutation({
    mutationFn: async () => {
      const response = await authFetch(new Request("/api/v1/tenant/export"));
      if (!response.ok) throw new ApiError(response.status, describeStatus(response.status));
      const blob = await response.blob();
      const name = /filename="([^"]+)"/.exec(response.headers.get("content-disposition") ?? "")?.[1] ?? "hirebuddha-export.json";
      const url = URL.createObjectURL(blob);
      const link = document.createElement("a");
      link.href = url;
      link.download = name;
      document.body.append(link);
      link.click();
      link.remove();
      URL.revokeObjectURL(url);
      return { name, bytes: blob.size };
    },
  });
}
