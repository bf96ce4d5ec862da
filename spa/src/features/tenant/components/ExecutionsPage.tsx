import { useState } from "react";
import { Alert, QueryError } from "@/components/ui/Alert";
import { StatusBadge } from "@/components/ui/Badge";
import { Button } from "@/components/ui/Button";
import { Card } from "@/components/ui/Card";
import { PageHeader } from "@/components/ui/PageHeader";
import { Table, type Column } from "@/components/ui/Table";
import { formatDate, formatNumber } from "@/lib/format";
import { LIVE_STATUSES, tokensOf, useCancelExecution, useExecution, useExecutions, type Execution } from "@/features/tenant/api/executions";

function Details({ id, onClose }: { id: string; onClose: () => void }) {
  const q = useExecution(id);
  const e = q.data;
  return (
    <Card title={`Execution ${id.slice(0, 8)}`} actions={<Button onClick={onClose}>Close</Button>}>
      {q.error ? <QueryError error={q.error} /> : null}
      {e ? (
        <>
          <p className="muted">
            <StatusBadge status={e.status} /> · {e.source} · attempt {e.attempt} · started {formatDate(e.started_at)} · ended {formatDate(e.completed_at)}
          </p>
          {e.error_message ? <Alert tone="error">{e.error_message}</Alert> : null}
          {typeof e.result_data?.text === "string" ? <pre className="result-text">{e.result_data.text}</pre> : null}
          <h3>Webhook deliveries</h3>
          <Table
            caption="Webhook deliveries"
            rows={e.webhooks ?? []}
            rowKey={(w) => String(w.attempt)}
            empty="No webhook for this execution."
            columns={[
              { key: "n", header: "Attempt", numeric: true, render: (w) => String(w.attempt) },
              { key: "url", header: "URL", render: (w) => <code>{w.url}</code> },
              { key: "code", header: "Answer", render: (w) => (w.status_code ? String(w.status_code) : w.error ?? "—") },
              { key: "at", header: "When", render: (w) => formatDate(w.created_at) },
            ]}
          />
        </>
      ) : null}
    </Card>
  );
}

export function ExecutionsPage() {
  const q = useExecutions();
  const cancel = useCancelExecution();
  const [open, setOpen] = useState<string | null>(null);
  const rows = q.data ?? [];
  const live = rows.filter((r) => LIVE_STATUSES.has(r.status));
  const recent = rows.filter((r) => !LIVE_STATUSES.has(r.status)).slice(0, 25);
  const columns = (running: boolean): Column<Execution>[] => [
    { key: "id", header: "Execution", render: (e) => <Button className="link-button" onClick={() => setOpen(e.id)}>{e.id.slice(0, 8)}</Button> },
    { key: "status", header: "Status", render: (e) => <StatusBadge status={e.status} /> },
    { key: "source", header: "From", render: (e) => e.source },
    { key: "started", header: running ? "Started" : "Ended", render: (e) => formatDate(running ? (e.started_at ?? e.created_at) : (e.completed_at ?? e.created_at)) },
    { key: "tokens", header: "Tokens", numeric: true, render: (e) => formatNumber(tokensOf(e)) },
    running
      ? { key: "act", header: <span className="sr-only">Actions</span>, render: (e) => (
          <Button variant="danger" disabled={e.status === "cancelling"} onClick={() => cancel.mutate(e.id)}>Cancel</Button>
        ) }
      : { key: "err", header: "Error", render: (e) => e.error_message ?? "" },
  ];
  return (
    <>
      <PageHeader title="Live executions" subtitle="Replies and jobs running right now (refreshes every 2 s)." />
      {q.error ? <QueryError error={q.error} /> : null}
      {cancel.error ? <Alert tone="error">{cancel.error.message}</Alert> : null}
      {open ? <Details id={open} onClose={() => setOpen(null)} /> : null}
      <Card title={`Running (${live.length})`}>
        <Table caption="Running executions" rows={live} rowKey={(e) => e.id} empty="Nothing is running." columns={columns(true)} />
      </Card>
      <Card title="Recently finished">
        <Table caption="Finished executions" rows={recent} rowKey={(e) => e.id} empty="Nothing yet." columns={columns(false)} />
      </Card>
    </>
  );
}
