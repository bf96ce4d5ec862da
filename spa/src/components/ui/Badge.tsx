export function Badge({ children, tone = "neutral" }: { children: string; tone?: "neutral" | "good" | "bad" | "warn" }) {
  return <span className={`badge badge-${tone}`}>{children}</span>;
}

export function StatusBadge({ status }: { status: string }) {
  const tone = ["active", "completed", "ok", "open"].includes(status)
    ? "good"
    : ["suspended", "failed", "revoked", "cancelled"].includes(status)
      ? "bad"
      : ["pending", "running", "processing"].includes(status)
        ? "warn"
        : "neutral";
  return <Badge tone={tone}>{status}</Badge>;
}
