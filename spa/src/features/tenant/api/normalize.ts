// The usage and ledger routes are specified by CONTRACT.md only loosely ("group_by=day|agent|
// model", "paged"); these readers accept the likely shapes so the screens survive small changes.

export interface UsagePoint {
  label: string;
  tokens: number;
  cost: string;
}

const asList = (body: unknown): Record<string, unknown>[] => {
  if (Array.isArray(body)) return body as Record<string, unknown>[];
  const o = (body ?? {}) as Record<string, unknown>;
  for (const k of ["items", "rows", "groups", "data", "entries", "usage"]) if (Array.isArray(o[k])) return o[k] as Record<string, unknown>[];
  return [];
};

export function readUsage(body: unknown): UsagePoint[] {
  return asList(body).map((r) => {
    const label = String(r.key ?? r.day ?? r.date ?? r.agent_name ?? r.model ?? r.agent_id ?? "—");
    const tokens = Number(r.tokens ?? r.quantity ?? 0) || Number(r.input_tokens ?? 0) + Number(r.output_tokens ?? 0);
    const cost = String(r.tenant_cost ?? r.cost ?? r.amount ?? "0");
    return { label, tokens, cost };
  });
}

export function readEntries<T>(body: unknown): T[] {
  return asList(body) as T[];
}
