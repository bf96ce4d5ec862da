import { useState, type FormEvent } from "react";
import { QueryError } from "@/components/ui/Alert";
import { Button } from "@/components/ui/Button";
import { Card } from "@/components/ui/Card";
import { TextField } from "@/components/ui/Field";
import { PageHeader } from "@/components/ui/PageHeader";
import { Table } from "@/components/ui/Table";
import { formatDate } from "@/lib/format";
import { useAudit, type AuditEntry, type AuditFilters, type AuditScope } from "@/features/audit/api/audit";

const EMPTY: AuditFilters = { action: "", from: "", to: "" };
const target = (e: AuditEntry) => (e.target_type ? `${e.target_type} ${(e.target_id ?? "").slice(0, 8)}` : "—");
const details = (e: AuditEntry) => (Object.keys(e.details).length ? JSON.stringify(e.details) : "");

function Trail({ scope, subtitle, title }: { scope: AuditScope; title: string; subtitle: string }) {
  const [draft, setDraft] = useState(EMPTY);
  const [filters, setFilters] = useState(EMPTY);
  const q = useAudit(scope, filters);
  const rows = q.data?.pages.flatMap((p) => p.items) ?? [];
  const apply = (e: FormEvent) => {
    e.preventDefault();
    setFilters(draft);
  };
  const set = (key: keyof AuditFilters) => (e: { target: { value: string } }) => setDraft({ ...draft, [key]: e.target.value });
  return (
    <>
      <PageHeader title={title} subtitle={subtitle} />
      <Card>
        <form className="inline-form" onSubmit={apply} aria-label="Filter the audit log">
          <TextField label="Action" name="action" value={draft.action} onChange={set("action")} placeholder="e.g. tenant. or model.create" />
          <TextField label="From" name="from" type="date" value={draft.from} onChange={set("from")} />
          <TextField label="To" name="to" type="date" value={draft.to} onChange={set("to")} />
          <Button type="submit" variant="primary">Filter</Button>
        </form>
      </Card>
      <Card>
        {q.error ? <QueryError error={q.error} /> : null}
        <Table caption="Audit log" rows={rows} rowKey={(e) => e.id} empty="No recorded action matches." columns={[
          { key: "at", header: "When", render: (e) => formatDate(e.created_at) },
          { key: "who", header: "Who", render: (e) => e.actor_email ?? (e.actor_user_id ? <code>{e.actor_user_id.slice(0, 8)}</code> : "system") },
          { key: "action", header: "Action", render: (e) => <code>{e.action}</code> },
          { key: "target", header: "Target", render: (e) => target(e) },
          { key: "details", header: "Details", render: (e) => <span className="muted">{details(e)}</span> },
        ]} />
        <div className="pager">
          <span className="muted" data-testid="audit-shown">{rows.length} shown</span>
          {q.hasNextPage ? (
            <Button onClick={() => void q.fetchNextPage()} busy={q.isFetchingNextPage}>Show older actions</Button>
          ) : rows.length > 0 ? <span className="muted">That is all.</span> : null}
        </div>
      </Card>
    </>
  );
}

export function AdminAuditPage() {
  return <Trail scope="platform" title="Audit log" subtitle="Every admin action on the platform and in every workspace, newest first. Entries are never edited or deleted." />;
}

export function TenantAuditPage() {
  return <Trail scope="tenant" title="Audit log" subtitle="Admin actions on this workspace, by its admins and by the platform, newest first." />;
}
