import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "@/lib/api/client";

const invalidate = (qc: ReturnType<typeof useQueryClient>, key: string) => () => qc.invalidateQueries({ queryKey: ["admin", key] });

export function usePartners() {
  return useQuery({ queryKey: ["admin", "partners"], queryFn: async () => unwrap(await api.GET("/api/v1/admin/partners")) });
}
export function useCreatePartner() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async (body: Schemas["PartnerCreate"]) => unwrap(await api.POST("/api/v1/admin/partners", { body })),
    onSuccess: invalidate(qc, "partners"),
  });
}

export function useAllTenants() {
  return useQuery({ queryKey: ["admin", "tenants"], queryFn: async () => unwrap(await api.GET("/api/v1/admin/tenants")) });
}
export function usePatchTenant() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async ({ id, body }: { id: string; body: Schemas["AdminTenantPatch"] }) =>
      unwrap(await api.PATCH("/api/v1/admin/tenants/{tenant_id}", { params: { path: { tenant_id: id } }, body })),
    onSuccess: invalidate(qc, "tenants"),
  });
}

export function useRates() {
  return useQuery({ queryKey: ["admin", "rates"], queryFn: async () => unwrap(await api.GET("/api/v1/admin/rates")) });
}
export function useCreateRate() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async (body: Schemas["RateCreate"]) => unwrap(await api.POST("/api/v1/admin/rates", { body })),
    onSuccess: invalidate(qc, "rates"),
  });
}

export function useModels() {
  return useQuery({ queryKey: ["admin", "models"], queryFn: async () => unwrap(await api.GET("/api/v1/admin/models")) });
}
export function useCreateModel() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async (body: Schemas["ModelCreate"]) => unwrap(await api.POST("/api/v1/admin/models", { body })),
    onSuccess: invalidate(qc, "models"),
  });
}

export function usePatchModel() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async ({ id, body }: { id: string; body: Schemas["ModelPatch"] }) =>
      unwrap(await api.PATCH("/api/v1/admin/models/{model_id}", { params: { path: { model_id: id } }, body })),
    onSuccess: invalidate(qc, "models"),
  });
}

export function useProviders() {
  return useQuery({ queryKey: ["admin", "providers"], queryFn: async () => unwrap(await api.GET("/api/v1/admin/providers")) });
}
export function usePutProvider() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async ({ name, body }: { name: string; body: Schemas["ProviderPut"] }) =>
      unwrap(await api.PUT("/api/v1/admin/providers/{name}", { params: { path: { name } }, body })),
    onSuccess: invalidate(qc, "providers"),
  });
}

export function useDeleteProvider() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async (name: string) => unwrap(await api.DELETE("/api/v1/admin/providers/{name}", { params: { path: { name } } })),
    onSuccess: invalidate(qc, "providers"),
  });
}
export function useTestProvider() {
  return useMutation({
    mutationFn: async (name: string) => unwrap(await api.POST("/api/v1/admin/providers/{name}/test", { params: { path: { name } } })),
  });
}

export type DeadLetter = Schemas["DeadLetterOut"];
export function useDeadLetters() {
  return useQuery({ queryKey: ["admin", "dead-letters"], queryFn: async () => unwrap(await api.GET("/api/v1/admin/dead-letters")) });
}
export function useRetryDeadLetter() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async (id: string) =>
      unwrap(await api.POST("/api/v1/admin/dead-letters/{dead_letter_id}/retry", { params: { path: { dead_letter_id: id } } })),
    onSuccess: invalidate(qc, "dead-letters"),
  });
}

export function useAddCredit() {
  return useMutation({
    mutationFn: async ({ tenantId, body }: { tenantId: string; body: Schemas["CreditIn"] }) =>
      unwrap(await api.POST("/api/v1/admin/tenants/{tenant_id}/credit", { params: { path: { tenant_id: tenantId } }, body })),
  });
}

export function useHealth() {
  return useQuery({
    queryKey: ["admin", "health"],
    refetchInterval: 5000,
    queryFn: async () => {
      const r = await fetch("/health/ready");
      const body = (await r.json().catch(() => ({}))) as Record<string, unknown>;
      return { ok: r.ok, status: r.status, body };
    },
  });
}

/** GDPR erasure of a tenant, confirmed with its exact name (docs/gdpr.md). */
export function useDeleteTenant() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async ({ id, confirm }: { id: string; confirm: string }) =>
      unwrap(await api.DELETE("/api/v1/admin/tenants/{tenant_id}", { params: { path: { tenant_id: id }, query: { confirm } } })),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["admin", "tenants"] }),
  });
}
