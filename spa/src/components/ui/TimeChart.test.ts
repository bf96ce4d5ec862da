import { describe, expect, it } from "vitest";
import { xDomain, yDomain } from "@/components/ui/TimeChart";

const DAY = 86_400;
const dec1 = Date.parse("2026-12-01T12:00:00Z") / 1000;

describe("chart domains", () => {
  it("puts a single point inside a padded axis, never years away", () => {
    const [lo, hi] = xDomain([dec1]);
    expect(lo).toBeLessThan(dec1);
    expect(hi).toBeGreaterThan(dec1);
    expect(hi - lo).toBeLessThanOrEqual(2 * DAY);
  });

  it("keeps the asked period when given one", () => {
    const from = Date.parse("2026-11-02T00:00:00Z") / 1000;
    const to = Date.parse("2026-12-02T00:00:00Z") / 1000;
    expect(xDomain([dec1], [from, to])).toEqual([from, to]);
  });

  it("spans a month and a year of points with a little room", () => {
    const month = Array.from({ length: 30 }, (_, i) => dec1 + i * DAY);
    const [lo, hi] = xDomain(month);
    expect(lo).toBeLessThan(month[0]!);
    expect(hi).toBeGreaterThan(month[29]!);
    expect(hi - lo).toBeLessThan(40 * DAY);
    const year = Array.from({ length: 12 }, (_, i) => dec1 + i * 30 * DAY);
    const [ylo, yhi] = xDomain(year);
    expect(yhi - ylo).toBeLessThan(400 * DAY);
  });

  it("draws values from zero", () => {
    expect(yDomain([5])).toEqual([0, 5.5]);
    expect(yDomain([])).toEqual([0, 1]);
  });
});
