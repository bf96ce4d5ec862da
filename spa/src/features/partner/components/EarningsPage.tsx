import { useMemo, useState } from "react";
import { QueryError } from "@/components/ui/Alert";
import { Card } from "@/components/ui/Card";
import { PageHeader } from "@/components/ui/PageHeader";
import { Table } from "@/components/ui/Table";
import { TimeChart } from "@/components/ui/TimeChart";
import { formatMoney } from "@/lib/format";
import { useDailyEarnings, useEarnings } from "@/features/partner/api/partner";

const lastDays = () => ({
  from: new Date(Date.now() - 30 * 86400_000).toISOString(),
  to: new Date(Date.now() + 86400_000).toISOString(),
});

export function EarningsPage() {
  const [{ from, to }] = useState(lastDays);
  const total = useEarnings(from, to);
  const daily = useDailyEarnings(14);
  const series = useMemo(() => [{ name: "Commission", values: daily.values }], [daily.values]);
  return (
    <>
      <PageHeader title="Earnings" subtitle="Your commission over the last 30 days." />
      <div className="grid">
        <Card title="Commission, 30 days">
          {total.error ? <QueryError error={total.error} /> : <p className="big-number">{formatMoney(total.data?.total_commission, 2)}</p>}
        </Card>
        <Card title="Per day, last 14 days">
          {daily.error ? <QueryError error={daily.error} /> : daily.pending ? <p className="muted">Loading…</p> : <TimeChart x={daily.x} series={series} label="Commission per day" height={180} range={daily.range} />}
        </Card>
      </div>
      <Card title="By tenant">
        {total.data ? (
          <Table
            caption="Earnings by tenant"
            rows={total.data.tenants}
            rowKey={(t) => t.tenant_id}
            empty="No billed usage yet."
            columns={[
              { key: "name", header: "Tenant", render: (t) => t.name },
              { key: "cost", header: "Tenant billed", numeric: true, render: (t) => formatMoney(t.tenant_cost) },
              { key: "comm", header: "Your commission", numeric: true, render: (t) => formatMoney(t.partner_commission) },
            ]}
          />
        ) : null}
      </Card>
    </>
  );
}
