// The live usage view: frames of /api/v1/usage/ws folded into a running total, per-tenant
// totals and a per-bucket series for the sparkline. Money is summed exactly (decimal strings).
import { addDecimals } from "@/lib/format";

/** A `usage` frame of /api/v1/usage/ws (web/usage/schemas.py UsageFrame; decimals as strings). */
export interface UsageFrame {
  type: "usage";
  tenant_id: string;
  execution_id: string | null;
  model: string | null;
  resource_type: string;
  quantity: string;
  tenant_cost: string;
  partner_commission?: string;
  platform_cost?: string;
  at: string;
}

export interface TenantLive {
  tenantId: string;
  tokens: number;
  cost: string;
  commission: string;
  events: number;
}

export interface LiveState {
  total: string;
  commission: string;
  tokens: number;
  tenants: Record<string, TenantLive>;
  /** Cost per bucket (BUCKET_MS wide), newest last, at most BUCKETS long. */
  buckets: { start: number; cost: string }[];
  seen: Record<string, true>;
}

export const BUCKET_MS = 5000;
export const BUCKETS = 36;

export const emptyLive: LiveState = { total: "0", commission: "0", tokens: 0, tenants: {}, buckets: [], seen: {} };

export function applyUsage(state: LiveState, f: UsageFrame, now = Date.now()): LiveState {
  const key = `${f.execution_id}:${f.resource_type}:${f.at}:${f.quantity}`;
  if (state.seen[key]) return state; // a frame re-sent after a reconnect
  const t = state.tenants[f.tenant_id] ?? { tenantId: f.tenant_id, tokens: 0, cost: "0", commission: "0", events: 0 };
  const start = Math.floor(now / BUCKET_MS) * BUCKET_MS;
  const last = state.buckets[state.buckets.length - 1];
  const buckets = last && last.start === start
    ? [...state.buckets.slice(0, -1), { start, cost: addDecimals([last.cost, f.tenant_cost]) }]
    : [...state.buckets, { start, cost: f.tenant_cost }].slice(-BUCKETS);
  return {
    total: addDecimals([state.total, f.tenant_cost]),
    commission: addDecimals([state.commission, f.partner_commission]),
    tokens: state.tokens + Number(f.quantity || 0),
    tenants: {
      ...state.tenants,
      [f.tenant_id]: {
        ...t,
        tokens: t.tokens + Number(f.quantity || 0),
        cost: addDecimals([t.cost, f.tenant_cost]),
        commission: addDecimals([t.commission, f.partner_commission]),
        events: t.events + 1,
      },
    },
    buckets,
    seen: { ...state.seen, [key]: true },
  };
}

/** Sparkline values: the last BUCKETS buckets including empty ones, oldest first. */
export function sparkValues(state: LiveState, now = Date.now()): number[] {
  // `now` comes from a coarse clock (the page ticks every 5 s): an entry newer than it must
  // still show, so the window ends at the newest bucket when that is later.
  const newest = state.buckets.at(-1)?.start ?? 0;
  const end = Math.max(Math.floor(now / BUCKET_MS) * BUCKET_MS, newest);
  const byStart = new Map(state.buckets.map((b) => [b.start, Number(b.cost)]));
  return Array.from({ length: BUCKETS }, (_, i) => byStart.get(end - (BUCKETS - 1 - i) * BUCKET_MS) ?? 0);
}
