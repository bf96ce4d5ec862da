// Who is signed in (GET /me), shared by every feature through the query cache.
import { useQuery } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "@/lib/api/client";

export type Me = Schemas["MeOut"];
export type Role = "app_admin" | "partner_admin" | "tenant_admin" | "support" | "user";

export const meKey = ["me"] as const;

export function useMe() {
  return useQuery({ queryKey: meKey, queryFn: async () => unwrap(await api.GET("/api/v1/me")), staleTime: 60_000 });
}

/** Where each role starts after signing in. */
export function homeFor(role: string | undefined): string {
  if (role === "app_admin") return "/admin/partners";
  if (role === "partner_admin") return "/partner/tenants";
  return "/chat";
}
