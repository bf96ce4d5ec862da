import { Link } from "react-router";
import { QueryError } from "@/components/ui/Alert";
import { StatusBadge } from "@/components/ui/Badge";
import { Card } from "@/components/ui/Card";
import { PageHeader } from "@/components/ui/PageHeader";
import { Table } from "@/components/ui/Table";
import { useAgentList } from "@/features/agents/api/agents";

export function AgentsPage() {
  const agents = useAgentList();
  return (
    <>
      <PageHeader
        title="Agents"
        subtitle="What each agent is, which model it uses, and how it answers."
        actions={<Link className="btn btn-primary" to="/console/agents/new">New agent</Link>}
      />
      <Card>
        {agents.error ? <QueryError error={agents.error} /> : null}
        {agents.data ? (
          <Table
            caption="Agents"
            rows={agents.data}
            rowKey={(a) => a.id}
            empty="No agents yet. Create the first one."
            columns={[
              { key: "name", header: "Name", render: (a) => <Link to={`/console/agents/${a.id}`}>{a.name}</Link> },
              { key: "model", header: "Model", render: (a) => `${a.llm_config.provider ?? "default"} / ${a.llm_config.model}` },
              { key: "dt", header: "Double texting", render: (a) => a.double_texting },
              { key: "status", header: "Status", render: (a) => <StatusBadge status={a.is_active ? "active" : "inactive"} /> },
              { key: "chat", header: <span className="sr-only">Test</span>, render: (a) => <Link to={`/chat?agent=${a.id}`}>Test chat</Link> },
            ]}
          />
        ) : null}
      </Card>
    </>
  );
}
