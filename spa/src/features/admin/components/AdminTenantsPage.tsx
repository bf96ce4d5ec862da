import { useState, type FormEvent } from "react";
import { Alert, QueryError } from "@/components/ui/Alert";
import { StatusBadge } from "@/components/ui/Badge";
import { Button } from "@/components/ui/Button";
import { Card } from "@/components/ui/Card";
import { SelectField, TextField } from "@/components/ui/Field";
import { PageHeader } from "@/components/ui/PageHeader";
import { Table } from "@/components/ui/Table";
import { formatMoney } from "@/lib/format";
import { useAddCredit, useAllTenants, useDeleteTenant, usePatchTenant } from "@/features/admin/api/admin";

const MONEY = /^\d{1,12}(\.\d{1,6})?$/;

function CreditTopUp({ tenants }: { tenants: { id: string; name: string }[] }) {
  const add = useAddCredit();
  const [f, setF] = useState({ tenantId: "", amount: "", note: "" });
  const [done, setDone] = useState<string | null>(null);
  const bad = f.amount !== "" && (!MONEY.test(f.amount) || Number(f.amount) <= 0);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const name = tenants.find((t) => t.id === f.tenantId)?.name ?? "the tenant";
    add.mutate(
      { tenantId: f.tenantId, body: { amount: f.amount, note: f.note } },
      { onSuccess: (r) => { setDone(`Added ${formatMoney(f.amount)} to ${name}: balance ${formatMoney(r.credit_balance)}.`); setF({ ...f, amount: "", note: "" }); } },
    );
  };
  return (
    <Card title="Top up prepaid credit">
      <form onSubmit={submit}>
        <div className="form-row">
          <SelectField label="Tenant" required value={f.tenantId} onChange={(e) => setF({ ...f, tenantId: e.target.value })}>
            <option value="">Choose a tenant…</option>
            {tenants.map((t) => <option key={t.id} value={t.id}>{t.name}</option>)}
          </SelectField>
          <TextField label="Amount (USD)" name="credit_amount" inputMode="decimal" required value={f.amount} onChange={(e) => setF({ ...f, amount: e.target.value.trim() })} error={bad ? "A positive amount, up to 6 decimals." : null} />
          <TextField label="Note" name="credit_note" maxLength={500} value={f.note} onChange={(e) => setF({ ...f, note: e.target.value })} hint="Kept in the audit log." />
        </div>
        {add.error ? <Alert tone="error">{add.error.message}</Alert> : null}
        {done ? <Alert tone="success">{done}</Alert> : null}
        <Button type="submit" variant="primary" busy={add.isPending} disabled={!f.tenantId || !f.amount || bad}>Add credit</Button>
      </form>
    </Card>
  );
}

/** GDPR erasure, confirmed by typing the workspace's name (docs/gdpr.md). */
function EraseTenant({ tenant, onDone }: { tenant: { id: string; name: string }; onDone: (message: string | null) => void }) {
  const erase = useDeleteTenant();
  const [typed, setTyped] = useState("");
  const submit = (e: FormEvent) => {
    e.preventDefault();
    erase.mutate({ id: tenant.id, confirm: typed }, { onSuccess: () => onDone(`Deleted ${tenant.name}. Its ledger entries and invoices are kept, anonymised.`) });
  };
  return (
    <Card title={`Delete ${tenant.name}`}>
      <form onSubmit={submit}>
        <Alert tone="warning" title="This cannot be undone">
          Every user, agent, conversation, execution and key of this workspace is deleted. Ledger entries, invoices and the audit trail are kept (the law requires it); nothing left in them names a person.
        </Alert>
        <TextField label="Type the workspace's name to confirm" name="confirm_name" autoComplete="off" value={typed} onChange={(e) => setTyped(e.target.value)} />
        {erase.error ? <Alert tone="error">{erase.error.message}</Alert> : null}
        <Button type="submit" variant="danger" busy={erase.isPending} disabled={typed !== tenant.name}>Delete workspace</Button>{" "}
        <Button onClick={() => onDone(null)}>Keep it</Button>
      </form>
    </Card>
  );
}

export function AdminTenantsPage() {
  const tenants = useAllTenants();
  const patch = usePatchTenant();
  const [erasing, setErasing] = useState<{ id: string; name: string } | null>(null);
  const [erased, setErased] = useState<string | null>(null);
  return (
    <>
      <PageHeader title="All tenants" subtitle="Every workspace on the platform." />
      {tenants.data ? <CreditTopUp tenants={tenants.data} /> : null}
      {erasing ? <EraseTenant key={erasing.id} tenant={erasing} onDone={(message) => { setErasing(null); setErased(message); }} /> : null}
      {erased ? <Alert tone="success">{erased}</Alert> : null}
      <Card>
        {tenants.error ? <QueryError error={tenants.error} /> : null}
        {patch.error ? <Alert tone="error">{patch.error.message}</Alert> : null}
        {tenants.data ? (
          <Table caption="Tenants" rows={tenants.data} rowKey={(t) => t.id} columns={[
            { key: "name", header: "Name", render: (t) => t.name },
            { key: "tier", header: "Tier", render: (t) => t.tier },
            { key: "conc", header: "Max concurrency", numeric: true, render: (t) => (t.max_concurrency === null ? "tier's" : String(t.max_concurrency)) },
            { key: "status", header: "Status", render: (t) => <StatusBadge status={t.status} /> },
            { key: "act", header: <span className="sr-only">Actions</span>, render: (t) => t.status === "deleted" ? null : (
              <>
                <Button variant={t.status === "active" ? "danger" : "ghost"} onClick={() => patch.mutate({ id: t.id, body: { status: t.status === "active" ? "suspended" : "active" } })}>
                  {t.status === "active" ? "Suspend" : "Resume"}
                </Button>
                <Button variant="ghost" onClick={() => setErasing(t)}>Delete…</Button>
              </>
            ) },
          ]} />
        ) : null}
      </Card>
    </>
  );
}
