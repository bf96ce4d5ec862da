import { useMemo, useState } from "react";
import { QueryError } from "@/components/ui/Alert";
import { BarList } from "@/components/ui/BarList";
import { Card } from "@/components/ui/Card";
import { TextField } from "@/components/ui/Field";
import { PageHeader } from "@/components/ui/PageHeader";
import { Table } from "@/components/ui/Table";
import { TimeChart } from "@/components/ui/TimeChart";
import { addDecimals, formatDate, formatMoney, formatNumber } from "@/lib/format";
import { readEntries, readUsage } from "@/features/tenant/api/normalize";
import { useLedgerEntries, useUsage, type LedgerEntry } from "@/features/tenant/api/tenant";

const day = (d: Date) => d.toISOString().slice(0, 10);

function ByDay({ from, to }: { from: string; to: string }) {
  const q = useUsage("day", from, to);
  const points = useMemo(() => readUsage(q.data), [q.data]);
  const chart = useMemo(
    () => ({
      x: points.map((p) => Date.parse(p.label) / 1000).filter((n) => !Number.isNaN(n)),
      series: [{ name: "Tokens", values: points.map((p) => p.tokens) }],
    }),
    [points],
  );
  if (q.error) return <QueryError error={q.error} />;
  return (
    <>
      <p className="muted">Total cost: <strong>{formatMoney(addDecimals(points.map((p) => p.cost)))}</strong></p>
      {chart.x.length > 0 ? <TimeChart x={chart.x} series={chart.series} label="Tokens per day" /> : <p className="empty">No usage in this period.</p>}
    </>
  );
}

function ByGroup({ group, from, to }: { group: "agent" | "model"; from: string; to: string }) {
  const q = useUsage(group, from, to);
  if (q.error) return <QueryError error={q.error} />;
  return <BarList items={readUsage(q.data).map((p) => ({ label: p.label, value: p.tokens }))} format={(v) => `${formatNumber(v)} tok`} />;
}

export function UsagePage() {
  const [from, setFrom] = useState(() => day(new Date(Date.now() - 29 * 86400_000)));
  const [to, setTo] = useState(() => day(new Date(Date.now() + 86400_000)));
  const entries = useLedgerEntries();
  return (
    <>
      <PageHeader title="Usage" subtitle="What this workspace used and what it costs." />
      <Card>
        <div className="inline-form">
          <TextField label="From" type="date" value={from} onChange={(e) => setFrom(e.target.value)} />
          <TextField label="To" type="date" value={to} onChange={(e) => setTo(e.target.value)} />
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
        {entries.error ? <QueryError error={entries.error} /> : null}
        {entries.data ? (
          <Table
            caption="Ledger entries"
            rows={readEntries<LedgerEntry>(entries.data)}
            rowKey={(e) => e.id}
            empty="No entries yet."
            columns={[
              { key: "at", header: "When", render: (e) => formatDate(e.created_at) },
              { key: "type", header: "Resource", render: (e) => e.resource_type },
              { key: "qty", header: "Quantity", numeric: true, render: (e) => String(e.quantity) },
              { key: "cost", header: "Cost", numeric: true, render: (e) => formatMoney(e.tenant_cost) },
              { key: "exec", header: "Execution", render: (e) => <code>{e.execution_id?.slice(0, 8) ?? "—"}</code> },
            ]}
          />
        ) : null}
      </Card>
    </>
  );
}
