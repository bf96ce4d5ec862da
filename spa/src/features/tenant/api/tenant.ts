import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "@/lib/api/client";

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
