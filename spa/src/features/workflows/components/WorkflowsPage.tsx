import { Link } from "react-router";
import { QueryError } from "@/components/ui/Alert";
import { StatusBadge } from "@/components/ui/Badge";
import { Card } from "@/components/ui/Card";
import { PageHeader } from "@/components/ui/PageHeader";
import { Table } from "@/components/ui/Table";
import { useWorkflowList } from "@/features/workflows/api/workflows";

export function WorkflowsPage() {
  const workflows = useWorkflowList();
  return (
    <>
      <PageHeader
        title="Workflows"
        subtitle="Multi-step agents: a graph of model calls, conditions, maps, tools and people."
        actions={<Link className="btn btn-primary" to="/console/workflows/new">New workflow</Link>}
      />
      <Card>
        {workflows.error ? <QueryError error={workflows.error} /> : null}
        {workflows.data ? (
          <Table
            caption="Workflows"
            rows={workflows.data}
            rowKey={(w) => w.id}
            empty="No workflows yet. Create the first one."
            columns={[
              { key: "name", header: "Name", render: (w) => <Link to={`/console/workflows/${w.id}`}>{w.name}</Link> },
              { key: "nodes", header: "Nodes", render: (w) => String((w.dag_structure.nodes as unknown[] | undefined)?.length ?? 0) },
              { key: "version", header: "Version", render: (w) => w.version },
              { key: "status", header: "Status", render: (w) => <StatusBadge status={w.is_active ? "active" : "inactive"} /> },
            ]}
          />
        ) : null}
      </Card>
    </>
  );
}
