import { describe, expect, it } from "vitest";
import { applyUsage, emptyLive, sparkValues, type UsageFrame } from "@/features/partner/api/live";

const frame = (over: Partial<UsageFrame> = {}): UsageFrame => ({
  type: "usage", tenant_id: "t1", execution_id: "e1", model: "demo-1", resource_type: "output_tokens",
  quantity: "10", tenant_cost: "0.000100", partner_commission: "0.000020", at: "2025-01-01T00:00:00Z", ...over,
});

describe("live usage", () => {
  it("sums money exactly and per tenant", () => {
    let s = applyUsage(emptyLive, frame(), 0);
    s = applyUsage(s, frame({ tenant_id: "t2", execution_id: "e2", tenant_cost: "0.200000" }), 0);
    s = applyUsage(s, frame({ execution_id: "e3", tenant_cost: "0.100000" }), 0);
    expect(s.total).toBe("0.300100");
    expect(s.tenants.t1!.cost).toBe("0.100100");
    expect(s.tenants.t2!.events).toBe(1);
    expect(s.tokens).toBe(30);
  });

  it("ignores the same frame twice", () => {
    const s = applyUsage(applyUsage(emptyLive, frame(), 0), frame(), 0);
    expect(s.total).toBe("0.000100");
  });

  it("fills the sparkline by time bucket", () => {
    const s = applyUsage(applyUsage(emptyLive, frame(), 0), frame({ execution_id: "e9" }), 6000);
    const v = sparkValues(s, 6000);
    expect(v.at(-1)).toBeCloseTo(0.0001);
    expect(v.at(-2)).toBeCloseTo(0.0001);
  });

  it("shows an entry newer than the page's coarse clock", () => {
    const s = applyUsage(emptyLive, frame(), 60_000);
    expect(sparkValues(s, 55_000).at(-1)).toBeCloseTo(0.0001);
  });
});
