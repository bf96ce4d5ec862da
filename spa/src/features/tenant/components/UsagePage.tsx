import { useMemo, useState } from "react";
import { QueryError } from "@/components/ui/Alert";
import { BarList } from "@/components/ui/BarList";
import { Button } from "@/components/ui/Button";
import { Card } from "@/components/ui/Card";
import { TextField } from "@/components/ui/Field";
import { PageHeader } from "@/components/ui/PageHeader";
import { Table } from "@/components/ui/Table";
import { TimeChart } from "@/components/ui/TimeChart";
import { formatDate, formatMoney, formatNumber } from "@/lib/format";
import { useLedgerEntries, useUsage, type LedgerEntry, type UsageGroup } from "@/features/tenant/api/usage";

const day = (d: Date) => d.toISOString().slice(0, 10);
const seconds = (date: string) => Date.parse(`${date}T00:00:00Z`) / 1000;
const tokens = (g: UsageGroup) => Number(g.quantity);

function ByDay({ from, to }: { from: string; to: string }) {
  const q = useUsage("day", from, to);
  const chart = useMemo(() => {
    const groups = (q.data?.groups ?? []).filter((g) => g.key);
    return {
      x: groups.map((g) => seconds(g.key!) + 43_200), // each day's point at its noon
      series: [{ name: "Tokens", values: groups.map(tokens) }],
    };
  }, [q.data]);
  if (q.error) return <QueryError error={q.error} />;
  if (!q.data) return <p className="muted" role="status">Loading…</p>;
  return (
    <>
      <p className="muted" data-testid="usage-total">
        <strong>{formatNumber(Number(q.data.quantity))}</strong> tokens · cost <strong>{formatMoney(q.data.tenant_cost)}</strong>
      </p>
      {chart.x.length > 0 ? (
        <TimeChart x={chart.x} series={chart.series} label="Tokens per day" range={[seconds(from), seconds(to)]} />
      ) : (
        <p className="empty">No usage in this period.</p>
      )}
    </>
  );
}

function ByGroup({ group, from, to }: { group: "agent" | "model"; from: string; to: string }) {
  const q = useUsage(group, from, to);
  if (q.error) return <QueryError error={q.error} />;
  if (!q.data) return <p className="muted" role="status">Loading…</p>;
  const items = q.data.groups.map((g) => ({
    label: g.label ?? g.key ?? (group === "agent" ? "(deleted agent)" : "(unknown model)"),
    value: tokens(g),
  }));
  return <BarList items={items} format={(v) => `${formatNumber(v)} tok`} />;
}

function Entries({ from, to }: { from: string; to: string }) {
  const q = useLedgerEntries(from, to);
  const rows = useMemo(() => q.data?.pages.flatMap((p) => p.entries) ?? [], [q.data]);
  if (q.error) return <QueryError error={q.error} />;
  if (!q.data) return <p className="muted" role="status">Loading…</p>;
  return (
    <>
      <Table<LedgerEntry>
        caption="Ledger entries"
        rows={rows}
        rowKey={(e) => e.id}
        empty="No entries in this period."
        columns={[
          { key: "at", header: "When", render: (e) => formatDate(e.created_at) },
          { key: "model", header: "Model", render: (e) => e.model ?? "—" },
          { key: "type", header: "Resource", render: (e) => e.resource_type.replace("_", " ") },
          { key: "qty", header: "Quantity", numeric: true, render: (e) => formatNumber(Number(e.quantity)) },
          { key: "cost", header: "Cost", numeric: true, render: (e) => formatMoney(e.tenant_cost) },
          { key: "exec", header: "Execution", render: (e) => <code>{e.execution_id?.slice(0, 8) ?? "—"}</code> },
        ]}
      />
      <div className="pager">
        <span className="muted" data-testid="entries-shown">{rows.length} shown</span>
        {q.hasNextPage ? (
          <Button onClick={() => void q.fetchNextPage()} busy={q.isFetchingNextPage}>Show older entries</Button>
        ) : rows.length > 0 ? (
          <span className="muted">That is all.</span>
        ) : null}
      </div>
    </>
  );
}

export function UsagePage() {
  const [from, setFrom] = useState(() => day(new Date(Date.now() - 29 * 86400_000)));
  const [to, setTo] = useState(() => day(new Date(Date.now() + 86400_000)));
  return (
    <>
      <PageHeader title="Usage" subtitle="What this workspace used and what it costs." />
      <Card>
        <div className="inline-form">
          <TextField label="From" type="date" value={from} onChange={(e) => e.target.value && setFrom(e.target.value)} />
          <TextField label="To (exclusive)" type="date" value={to} onChange={(e) => e.target.value && setTo(e.target.value)} />
        </div>
      </Card>
      <Card title="By day">
        <ByDay from={from} to={to} />
      </Card>
      <div className="grid" style={{ marginTop: "1rem" }}>
        <Card title="By agent"><ByGroup group="agent" from={from} to={to} /></Card>
        <Card title="By model"><ByGroup group="model" from={from} to={to} /></Card>
      </div>
      <Card title="Ledger entries">
        <Entries from={from} to={to} />
      </Card>
    </>
  );
}
