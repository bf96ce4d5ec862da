import { QueryError } from "@/components/ui/Alert";
import { StatusBadge } from "@/components/ui/Badge";
import { Button } from "@/components/ui/Button";
import { Card } from "@/components/ui/Card";
import { PageHeader } from "@/components/ui/PageHeader";
import { Table } from "@/components/ui/Table";
import { formatDate } from "@/lib/format";
import { readEntries } from "@/features/tenant/api/normalize";
import { useCancelExecution, useExecutions, type Execution } from "@/features/tenant/api/tenant";

const LIVE = new Set(["pending", "running", "queued"]);

export function ExecutionsPage() {
  const q = useExecutions();
  const cancel = useCancelExecution();
  const rows = readEntries<Execution>(q.data);
  const live = rows.filter((r) => LIVE.has(r.status));
  const recent = rows.filter((r) => !LIVE.has(r.status)).slice(0, 25);
  const columns = (withCancel: boolean) => [
    { key: "id", header: "Execution", render: (e: Execution) => <code>{e.id.slice(0, 8)}</code> },
    { key: "status", header: "Status", render: (e: Execution) => <StatusBadge status={e.status} /> },
    { key: "started", header: "Started", render: (e: Execution) => formatDate(e.started_at ?? e.created_at) },
    { key: "tokens", header: "Tokens", numeric: true, render: (e: Execution) => (e.usage ? String((e.usage.input_tokens ?? 0) + (e.usage.output_tokens ?? 0)) : "—") },
    ...(withCancel
      ? [{ key: "act", header: <span className="sr-only">Actions</span>, render: (e: Execution) => <Button variant="danger" onClick={() => cancel.mutate(e.id)}>Cancel</Button> }]
      : [{ key: "err", header: "Error", render: (e: Execution) => e.error_message ?? "" }]),
  ];
  return (
    <>
      <PageHeader title="Live executions" subtitle="Replies and jobs running right now (refreshes every 2 s)." />
      {q.error ? <QueryError error={q.error} /> : null}
      <Card title={`Running (${live.length})`}>
        <Table caption="Running executions" rows={live} rowKey={(e) => e.id} empty="Nothing is running." columns={columns(true)} />
      </Card>
      <Card title="Recently finished">
        <Table caption="Finished executions" rows={recent} rowKey={(e) => e.id} empty="Nothing yet." columns={columns(false)} />
      </Card>
    </>
  );
}
