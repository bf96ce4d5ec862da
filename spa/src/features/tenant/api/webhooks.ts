// The secret that signs the tenant's webhooks: GET /tenant/webhook-secret, POST .../rotate.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap } from "@/lib/api/client";

export function useWebhookSecret(enabled: boolean) {
  return useQuery({
    queryKey: ["webhook-secret"],
    enabled,
    staleTime: Infinity,
    queryFn: async () => unwrap(await api.GET("/api/v1/tenant/webhook-secret")),
  });
}

export function useRotateWebhookSecret() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async () => unwrap(await api.POST("/api/v1/tenant/webhook-secret/rotate")),
    onSuccess: (data) => qc.setQueryData(["webhook-secret"], data),
  });
}
