import { useQuery } from "@tanstack/react-query";
import { api, unwrap } from "@/lib/api/client";

// Partner support access (docs/identity.md): every read below is audited in the tenant's trail.

export function useSupportGrants() {
  return useQuery({ queryKey: ["partner", "support", "grants"], queryFn: async () => unwrap(await api.GET("/api/v1/partner/support/grants")) });
}

export function useSupportAgents(tenantId: string | null) {
  return useQuery({
    queryKey: ["partner", "support", tenantId, "agents"],
    enabled: tenantId !== null,
    queryFn: async () => unwrap(await api.GET("/api/v1/partner/support/{tenant_id}/agents", { params: { path: { tenant_id: tenantId! } } })),
  });
}

export function useSupportSessions(tenantId: string | null) {
  return useQuery({
    queryKey: ["partner", "support", tenantId, "sessions"],
    enabled: tenantId !== null,
    queryFn: async () => unwrap(await api.GET("/api/v1/partner/support/{tenant_id}/sessions", { params: { path: { tenant_id: tenantId! } } })),
  });
}

export function useSupportMessages(tenantId: string | null, sessionId: string | null) {
  return useQuery({
    queryKey: ["partner", "support", tenantId, "messages", sessionId],
    enabled: tenantId !== null && sessionId !== null,
    queryFn: async () =>
      unwrap(
        await api.GET("/api/v1/partner/support/{tenant_id}/sessions/{session_id}/messages", {
          params: { path: { tenant_id: tenantId!, session_id: sessionId! } },
        }),
      ),
  });
}
