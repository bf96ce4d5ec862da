import { useMemo, useState } from "react";
import { Alert, QueryError } from "@/components/ui/Alert";
import { Button } from "@/components/ui/Button";
import { Card } from "@/components/ui/Card";
import { PageHeader } from "@/components/ui/PageHeader";
import { Table } from "@/components/ui/Table";
import { TimeChart } from "@/components/ui/TimeChart";
import { formatMoney } from "@/lib/format";
import { monthPoint, monthsRange, openDocument, useStatement, useStatementMonths, type StatementLine } from "@/features/billing/api/billing";

export function StatementsPage() {
  const months = useStatementMonths();
  const [picked, setPicked] = useState<string | null>(null);
  const month = picked ?? months.data?.[0]?.month ?? null;
  const statement = useStatement(month);
  const [error, setError] = useState<string | null>(null);
  const chart = useMemo(() => {
    const rows = [...(months.data ?? [])].reverse();
    return {
      x: rows.map((m) => monthPoint(m.month)),
      series: [{ name: "Commission", values: rows.map((m) => Number(m.total)) }],
      range: monthsRange(rows.map((m) => m.month)),
    };
  }, [months.data]);
  const download = (kind: "csv" | "pdf") =>
    month && openDocument(`/api/v1/partner/statements/${month}/${kind}`, `statement-${month}.${kind}`).catch((e: unknown) => setError(String(e)));
  return (
    <>
      <PageHeader title="Statements" subtitle="Your commission per month and tenant: the sums Earnings shows, to the cent." />
      {months.error ? <QueryError error={months.error} /> : null}
      <Card title="Commission by month">
        {chart.x.length > 0 ? (
          <TimeChart x={chart.x} series={chart.series} label="Commission by month" height={180} range={chart.range} />
        ) : (
          <p className="empty">No commission yet.</p>
        )}
        <Table
          caption="Months"
          rows={months.data ?? []}
          rowKey={(m) => m.month}
          empty="No statement yet."
          columns={[
            { key: "month", header: "Month", render: (m) => m.month },
            { key: "total", header: "Commission", numeric: true, render: (m) => formatMoney(m.total, 2) },
            { key: "open", header: "", render: (m) => <Button onClick={() => setPicked(m.month)} disabled={m.month === month}>Open</Button> },
          ]}
        />
      </Card>
      {month ? (
        <Card
          title={`Statement ${month}`}
          actions={
            <span className="row-actions">
              <Button onClick={() => void download("csv")}>CSV</Button>
              <Button onClick={() => void download("pdf")}>PDF</Button>
            </span>
          }
        >
          {error ? <Alert tone="error">{error}</Alert> : null}
          {statement.error ? <QueryError error={statement.error} /> : null}
          {statement.data ? (
            <>
              <p className="big-number" data-testid="statement-total">{formatMoney(statement.data.total, 2)}</p>
              <Table<StatementLine>
                caption={`Statement ${month}`}
                rows={statement.data.lines}
                rowKey={(l) => l.tenant_id}
                columns={[
                  { key: "tenant", header: "Tenant", render: (l) => l.tenant_name },
                  { key: "spend", header: "Tenant spend", numeric: true, render: (l) => formatMoney(l.tenant_cost, 2) },
                  { key: "comm", header: "Commission", numeric: true, render: (l) => formatMoney(l.commission_cents, 2) },
                ]}
              />
            </>
          ) : null}
        </Card>
      ) : null}
    </>
  );
}
