// The audit trail, for the app admin (every tenant) and a tenant admin (own tenant).
import { useInfiniteQuery } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "@/lib/api/client";

export type AuditEntry = Schemas["AuditEntryOut"];
export type AuditScope = "platform" | "tenant";
export interface AuditFilters { action: string; from: string; to: string }

const PAGE_SIZE = 50;
/** `YYYY-MM-DD` from a date input as the start of that day in UTC, or no bound. */
const day = (value: string) => (value ? `${value}T00:00:00Z` : null);

async function page(scope: AuditScope, f: AuditFilters, cursor: string | null) {
  const query = { action: f.action.trim() || null, from: day(f.from), to: day(f.to), cursor, limit: PAGE_SIZE };
  return scope === "platform"
    ? unwrap(await api.GET("/api/v1/admin/audit", { params: { query } }))
    : unwrap(await api.GET("/api/v1/tenant/audit", { params: { query } }));
}

export function useAudit(scope: AuditScope, filters: AuditFilters) {
  return useInfiniteQuery({
    queryKey: ["audit", scope, filters],
    initialPageParam: null as string | null,
    getNextPageParam: (last: Schemas["AuditPage"]) => last.next_cursor,
    queryFn: ({ pageParam }) => page(scope, filters, pageParam),
  });
}
