import { useState } from "react";
import { QueryError } from "@/components/ui/Alert";
import { Button } from "@/components/ui/Button";
import { Card } from "@/components/ui/Card";
import { PageHeader } from "@/components/ui/PageHeader";
import { Table } from "@/components/ui/Table";
import { usePartnerTenants } from "@/features/partner/api/partner";
import { useSupportAgents, useSupportGrants, useSupportMessages, useSupportSessions } from "@/features/partner/api/support";

const when = (iso: string) => new Date(iso).toLocaleString();

/** Read-only support access: the grants in force, then a tenant's agents, sessions and messages. */
export function SupportPage() {
  const grants = useSupportGrants();
  const tenants = usePartnerTenants();
  const [tenantId, setTenantId] = useState<string | null>(null);
  const [sessionId, setSessionId] = useState<string | null>(null);
  const agents = useSupportAgents(tenantId);
  const sessions = useSupportSessions(tenantId);
  const messages = useSupportMessages(tenantId, sessionId);
  const name = (id: string) => tenants.data?.find((t) => t.id === id)?.name ?? id;
  const live = grants.data?.filter((g) => g.active) ?? [];
  const open = (id: string) => {
    setTenantId(id);
    setSessionId(null);
  };
  return (
    <>
      <PageHeader title="Support access" subtitle="Workspaces that let you read their agents and sessions. Every read is recorded in their audit trail." />
      <Card title="Grants in force">
        {grants.error ? <QueryError error={grants.error} /> : null}
        {grants.data ? (
          <Table
            caption="Support grants"
            rows={live}
            rowKey={(g) => g.id}
            empty="No workspace has granted you support access."
            columns={[
              { key: "tenant", header: "Tenant", render: (g) => name(g.tenant_id) },
              { key: "expires", header: "Expires", render: (g) => when(g.expires_at) },
              {
                key: "act",
                header: <span className="sr-only">Actions</span>,
                render: (g) => (
                  <Button variant={g.tenant_id === tenantId ? "primary" : "ghost"} onClick={() => open(g.tenant_id)} aria-label={`Open ${name(g.tenant_id)}`}>
                    Open
                  </Button>
                ),
              },
            ]}
          />
        ) : null}
      </Card>
      {tenantId ? (
        <>
          <Card title={`Agents of ${name(tenantId)}`}>
            {agents.error ? <QueryError error={agents.error} /> : null}
            {agents.data ? (
              <Table
                caption="Agents"
                rows={agents.data}
                rowKey={(a) => a.id}
                empty="No agents."
                columns={[
                  { key: "name", header: "Name", render: (a) => a.name },
                  { key: "model", header: "Model", render: (a) => a.llm_config.model },
                  { key: "active", header: "Active", render: (a) => (a.is_active ? "Yes" : "No") },
                ]}
              />
            ) : null}
          </Card>
          <Card title="Sessions">
            {sessions.error ? <QueryError error={sessions.error} /> : null}
            {sessions.data ? (
              <Table
                caption="Sessions"
                rows={sessions.data}
                rowKey={(s) => s.id}
                empty="No sessions."
                columns={[
                  { key: "title", header: "Title", render: (s) => s.title ?? "Untitled" },
                  { key: "created", header: "Started", render: (s) => when(s.created_at) },
                  {
                    key: "act",
                    header: <span className="sr-only">Actions</span>,
                    render: (s) => (
                      <Button variant={s.id === sessionId ? "primary" : "ghost"} onClick={() => setSessionId(s.id)} aria-label={`Read ${s.title ?? "Untitled"}`}>
                        Read
                      </Button>
                    ),
                  },
                ]}
              />
            ) : null}
          </Card>
        </>
      ) : null}
      {tenantId && sessionId ? (
        <Card title="Messages">
          {messages.error ? <QueryError error={messages.error} /> : null}
          {messages.data ? (
            <Table
              caption="Messages"
              rows={messages.data}
              rowKey={(m) => m.id}
              empty="No messages in this session."
              columns={[
                { key: "role", header: "From", render: (m) => m.role },
                { key: "content", header: "Message", render: (m) => <span style={{ whiteSpace: "pre-wrap", overflowWrap: "anywhere" }}>{m.content}</span> },
                { key: "at", header: "At", render: (m) => when(m.created_at) },
              ]}
            />
          ) : null}
        </Card>
      ) : null}
    </>
  );
}
