// The partner admin's own brand (/partner/brand); the console's is lib/brand.ts.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "@/lib/api/client";

export type Brand = Schemas["BrandOut"];
export type BrandIn = Schemas["BrandIn"];

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
