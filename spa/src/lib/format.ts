// Display helpers. Money arrives as decimal strings and is never turned into a float for sums.

export function formatMoney(value: string | null | undefined, digits = 6): string {
  if (value == null || value === "") return "—";
  const [whole = "0", frac = ""] = value.replace(/^-/, "").split(".");
  const sign = value.startsWith("-") ? "-" : "";
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${sign}$${grouped}.${(frac + "0".repeat(digits)).slice(0, digits)}`;
}

/** Exact sum of decimal strings, scaled to 6 places with BigInt (money is NUMERIC(18,6)). */
export function addDecimals(values: (string | null | undefined)[]): string {
  const SCALE = 6;
  let total = 0n;
  for (const v of values) {
    if (!v) continue;
    const neg = v.startsWith("-");
    const [w = "0", f = ""] = v.replace(/^[-+]/, "").split(".");
    const units = BigInt(w || "0") * 10n ** BigInt(SCALE) + BigInt((f + "000000").slice(0, SCALE) || "0");
    total += neg ? -units : units;
  }
  const neg = total < 0n;
  const abs = neg ? -total : total;
  const s = abs.toString().padStart(SCALE + 1, "0");
  return `${neg ? "-" : ""}${s.slice(0, -SCALE)}.${s.slice(-SCALE)}`;
}

export function formatDate(iso: string | null | undefined): string {
  if (!iso) return "—";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

export function formatNumber(n: number | null | undefined): string {
  return n == null ? "—" : new Intl.NumberFormat().format(n);
}
