import { useState } from "react";
import { Alert, QueryError } from "@/components/ui/Alert";
import { Badge } from "@/components/ui/Badge";
import { Button } from "@/components/ui/Button";
import { Card } from "@/components/ui/Card";
import { PageHeader } from "@/components/ui/PageHeader";
import { Table } from "@/components/ui/Table";
import { formatDate } from "@/lib/format";
import { useDeadLetters, useRetryDeadLetter, type DeadLetter } from "@/features/admin/api/admin";

const origin = (d: DeadLetter) => `${d.source_exchange || "(default exchange)"} → ${d.routing_key || "—"}`;

function Preview({ d }: { d: DeadLetter }) {
  return (
    <details>
      <summary>Body</summary>
      <pre className="result-text">{d.body_preview || "(empty)"}</pre>
      {d.correlation_id ? <p className="muted">Correlation id <code>{d.correlation_id}</code></p> : null}
    </details>
  );
}

export function DeadLettersPage() {
  const q = useDeadLetters();
  const retry = useRetryDeadLetter();
  const [done, setDone] = useState<string | null>(null);
  const redrive = (d: DeadLetter) => {
    setDone(null);
    retry.mutate(d.id, { onSuccess: (r) => setDone(`Sent again to ${origin(r)} (retry ${r.retry_count}).`) });
  };
  return (
    <>
      <PageHeader title="Dead letters" subtitle="Messages no consumer could process, with the reason. Fix the cause, then retry: it is published again where it first went." />
      {retry.error ? <Alert tone="error">{retry.error.message}</Alert> : null}
      {done ? <Alert tone="success">{done}</Alert> : null}
      <Card>
        {q.error ? <QueryError error={q.error} /> : null}
        {q.data ? (
          <Table caption="Dead letters" rows={q.data} rowKey={(d) => d.id} empty="Nothing was dead-lettered." columns={[
            { key: "at", header: "When", render: (d) => formatDate(d.created_at) },
            { key: "origin", header: "Origin", render: (d) => <code>{origin(d)}</code> },
            { key: "reason", header: "Reason", render: (d) => d.reason },
            { key: "body", header: "Message", render: (d) => <Preview d={d} /> },
            { key: "retries", header: "Retried", render: (d) => (d.retry_count ? <Badge tone="warn">{`${d.retry_count}× · ${formatDate(d.retried_at)}`}</Badge> : "never") },
            { key: "act", header: <span className="sr-only">Actions</span>, render: (d) => (
              <Button onClick={() => redrive(d)} busy={retry.isPending && retry.variables === d.id} aria-label={`Retry dead letter ${d.id.slice(0, 8)}`}>Retry</Button>
            ) },
          ]} />
        ) : null}
      </Card>
    </>
  );
}
