// Usage totals (GET /usage) and the paged ledger (GET /ledger/entries) of this tenant.
import { keepPreviousData, useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "@/lib/api/client";

export type UsageGroup = Schemas["UsageGroup"];
export type LedgerEntry = Schemas["LedgerEntryOut"];
export type GroupBy = "day" | "agent" | "model";

/** A date input's YYYY-MM-DD as the start of that UTC day (the API takes date-times). */
export const startOfDay = (day: string) => `${day}T00:00:00Z`;

export function useUsage(groupBy: GroupBy, from: string, to: string) {
  return useQuery({
    queryKey: ["usage", groupBy, from, to],
    placeholderData: keepPreviousData,
    queryFn: async () =>
      unwrap(await api.GET("/api/v1/usage", { params: { query: { group_by: groupBy, from: startOfDay(from), to: startOfDay(to) } } })),
  });
}

export const PAGE_SIZE = 25;

/** Ledger entries newest first, one page per `fetchNextPage` (keyset cursor). */
export function useLedgerEntries(from: string, to: string) {
  return useInfiniteQuery({
    queryKey: ["ledger-entries", from, to],
    initialPageParam: null as string | null,
    getNextPageParam: (last: Schemas["LedgerPage"]) => last.next_cursor,
    queryFn: async ({ pageParam }) =>
      unwrap(
        await api.GET("/api/v1/ledger/entries", {
          params: { query: { from: startOfDay(from), to: startOfDay(to), cursor: pageParam, limit: PAGE_SIZE } },
        }),
      ),
  });
}
