// Brands (docs/channels.md "White-label"): the caller's (/me/brand), the hostname's before
// sign-in (/brand), and the partner admin's own (/partner/brand).
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "@/lib/api/client";

export type Brand = Schemas["BrandOut"];
export type BrandIn = Schemas["BrandIn"];

export function useMyBrand(enabled = true) {
  return useQuery({
    queryKey: ["brand", "me"],
    enabled,
    staleTime: 300_000,
    queryFn: async () => unwrap(await api.GET("/api/v1/me/brand")),
  });
}

export function useHostBrand() {
  return useQuery({ queryKey: ["brand", "host"], staleTime: 300_000, queryFn: async () => unwrap(await api.GET("/api/v1/brand")) });
}

export function usePartnerBrand() {
  return useQuery({ queryKey: ["brand", "partner"], queryFn: async () => unwrap(await api.GET("/api/v1/partner/brand")) });
}

export function useSaveBrand() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async (body: BrandIn) => unwrap(await api.PUT("/api/v1/partner/brand", { body })),
    onSuccess: (brand) => {
      qc.setQueryData(["brand", "partner"], brand);
      void qc.invalidateQueries({ queryKey: ["brand", "me"] });
    },
  });
}

export function usePreviewMail() {
  return useMutation({ mutationFn: async () => unwrap(await api.POST("/api/v1/partner/brand/preview-mail")) });
}
