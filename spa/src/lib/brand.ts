// The brand the console wears (docs/channels.md "White-label"): the signed-in caller's
// partner's (/me/brand), or before sign-in the hostname's (/brand); Rose Gold otherwise.
import { useQuery } from "@tanstack/react-query";
import { useEffect } from "react";
import { api, unwrap, type Schemas } from "@/lib/api/client";

export type Brand = Schemas["BrandOut"];

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

/** Puts a partner's colours on the console (CSS custom properties on <html>, which the
 * console's CSP allows: CSSOM, not inline style); the platform's Rose Gold otherwise. */
export function useBrandTheme(brand: Brand | undefined) {
  useEffect(() => {
    const root = document.documentElement;
    if (!brand?.partner_id) return;
    const vars: Record<string, string> = {
      "--brand-primary": brand.primary_color,
      "--rose-3": brand.primary_color,
      "--accent-ink": brand.accent_color,
      "--rose-ink": `linear-gradient(100deg, ${brand.accent_color} 0%, ${brand.accent_color} 100%)`,
      "--rose-gold": `linear-gradient(120deg, ${brand.primary_color} 0%, ${brand.accent_color} 100%)`,
    };
    for (const [name, value] of Object.entries(vars)) root.style.setProperty(name, value);
    root.dataset.brand = "partner";
    return () => {
      for (const name of Object.keys(vars)) root.style.removeProperty(name);
      delete root.dataset.brand;
    };
  }, [brand]);
}
