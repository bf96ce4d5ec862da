import { Alert, QueryError } from "@/components/ui/Alert";
import { Button } from "@/components/ui/Button";
import { Card } from "@/components/ui/Card";
import { PageHeader } from "@/components/ui/PageHeader";
import { Table } from "@/components/ui/Table";
import { formatNumber } from "@/lib/format";
import { useExport, useLimits } from "@/features/limits/api/limits";

const perHour = (used: number, limit: number | null) =>
  limit === null ? `${formatNumber(used)} used · unlimited` : `${formatNumber(used)} of ${formatNumber(limit)} used`;

/** The workspace's plan limits and this hour's use, and the GDPR download of all its data. */
export function LimitsPage() {
  const limits = useLimits();
  const exporting = useExport();
  const l = limits.data;
  const download = () => {
    if (!window.confirm("Download everything this workspace holds (users, agents, conversations, usage) as one JSON file?")) return;
    exporting.mutate();
  };
  return (
    <>
      <PageHeader title="Plan & data" subtitle="What your plan allows, how much of it this hour has used, and a copy of all your data." />
      <Card title="Limits">
        {limits.error ? <QueryError error={limits.error} /> : null}
        {l ? (
          <Table caption="Plan limits" rowKey={(r) => r.what} rows={[
            { what: "Plan", value: l.tier },
            { what: "Replies at once", value: `${formatNumber(l.concurrent_executions)} (${l.running} running, ${l.queued} waiting)` },
            { what: "Requests this hour", value: perHour(l.requests_used, l.requests_per_hour) },
            { what: "API calls this hour", value: perHour(l.api_calls_used, l.api_calls_per_hour) },
          ]} columns={[
            { key: "what", header: "Limit", render: (r) => r.what },
            { key: "value", header: "Now", render: (r) => r.value },
          ]} />
        ) : null}
        {l ? <p className="muted">Counters start again in {Math.ceil(l.reset_s / 60)} min. Messages over the limit of replies at once wait their turn.</p> : null}
      </Card>
      <Card title="Your data">
        <p className="muted">A JSON archive of every record of this workspace. Passwords, API keys and signing secrets are left out.</p>
        {exporting.error ? <Alert tone="error">{exporting.error.message}</Alert> : null}
        {exporting.data ? <Alert tone="success">Downloaded {exporting.data.name} ({formatNumber(exporting.data.bytes)} bytes).</Alert> : null}
        <Button variant="primary" onClick={download} busy={exporting.isPending}>Download all data</Button>
      </Card>
    </>
  );
}
