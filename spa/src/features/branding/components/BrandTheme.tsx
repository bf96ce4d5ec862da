import { useEffect } from "react";
import type { Brand } from "@/features/branding/api/brand";

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
