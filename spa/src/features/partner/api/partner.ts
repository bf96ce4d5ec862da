import { useMutation, useQueries, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "@/lib/api/client";

export function usePartnerTenants() {
  return useQuery({ queryKey: ["partner", "tenants"], queryFn: async () => unwrap(await api.GET("/api/v1/partner/tenants")) });
}

export function useCreateTenant() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async (body: Schemas["TenantCreate"]) => unwrap(await api.POST("/api/v1/partner/tenants", { body })),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["partner", "tenants"] }),
  });
}

export function useSetTenantStatus() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async ({ id, status }: { id: string; status: "active" | "suspended" }) =>
      unwrap(await api.PATCH("/api/v1/partner/tenants/{tenant_id}", { params: { path: { tenant_id: id } }, body: { status } })),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["partner", "tenants"] }),
  });
}

export function usePartnerRates() {
  return useQuery({ queryKey: ["partner", "rates"], queryFn: async () => unwrap(await api.GET("/api/v1/partner/rates")) });
}

export function useSavePartnerRates() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async (body: Schemas["PartnerRateIn"][]) => unwrap(await api.PUT("/api/v1/partner/rates", { body })),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["partner", "rates"] }),
  });
}

async function earnings(from: string, to: string) {
  return unwrap(await api.GET("/api/v1/partner/earnings", { params: { query: { from, to } } }));
}

export function useEarnings(from: string, to: string) {
  return useQuery({ queryKey: ["partner", "earnings", from, to], queryFn: () => earnings(from, to) });
}

/** Commission per day for the last `days` days: one small earnings query per day, cached. */
export function useDailyEarnings(days: number) {
  const now = new Date();
  now.setUTCHours(0, 0, 0, 0);
  const starts = Array.from({ length: days }, (_, i) => new Date(now.getTime() - (days - 1 - i) * 86400_000));
  return useQueries({
    queries: starts.map((d) => {
      const from = d.toISOString();
      const to = new Date(d.getTime() + 86400_000).toISOString();
      return { queryKey: ["partner", "earnings", from, to], queryFn: () => earnings(from, to), staleTime: 60_000 };
    }),
    combine: (results) => ({
      x: starts.map((d) => d.getTime() / 1000 + 43_200), // each day's point at its noon
      range: [starts[0]!.getTime() / 1000, now.getTime() / 1000 + 86_400] as [number, number],
      values: results.map((r) => Number(r.data?.total_commission ?? 0)),
      pending: results.some((r) => r.isPending),
      error: results.find((r) => r.error)?.error ?? null,
    }),
  });
}
