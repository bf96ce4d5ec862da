import { Link } from "react-router";
import { QueryError } from "@/components/ui/Alert";
import { StatusBadge } from "@/components/ui/Badge";
import { Card } from "@/components/ui/Card";
import { Table } from "@/components/ui/Table";
import { useRuns } from "@/features/workflows/api/workflows";

/** A workflow's runs, newest first, each linking to its run view. */
export function RunHistory({ workflowId }: { workflowId: string }) {
  const runs = useRuns(workflowId);
  return (
    <Card title="Run history">
      {runs.error ? <QueryError error={runs.error} /> : null}
      {runs.data ? (
        <Table
          caption="Runs"
          rows={runs.data}
          rowKey={(r) => r.id}
          empty="No runs yet."
          columns={[
            { key: "when", header: "Started", render: (r) => <Link to={`/console/workflows/${workflowId}/runs/${r.id}`}>{new Date(r.created_at).toLocaleString()}</Link> },
            { key: "version", header: "Version", render: (r) => r.workflow_version ?? "" },
            { key: "status", header: "Status", render: (r) => <StatusBadge status={r.status} /> },
            { key: "tokens", header: "Tokens", render: (r) => (r.usage ? `${String(r.usage.input_tokens)} in / ${String(r.usage.output_tokens)} out` : "") },
          ]}
        />
      ) : null}
    </Card>
  );
}
