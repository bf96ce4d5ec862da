import { useState, type FormEvent } from "react";
import { Alert, QueryError } from "@/components/ui/Alert";
import { StatusBadge } from "@/components/ui/Badge";
import { Button } from "@/components/ui/Button";
import { Card } from "@/components/ui/Card";
import { TextField } from "@/components/ui/Field";
import { PageHeader } from "@/components/ui/PageHeader";
import { Table } from "@/components/ui/Table";
import { useCreateTenant, usePartnerTenants, useSetTenantStatus } from "@/features/partner/api/partner";

export function TenantsPage() {
  const tenants = usePartnerTenants();
  const create = useCreateTenant();
  const setStatus = useSetTenantStatus();
  const blank = { name: "", admin_full_name: "", admin_email: "", admin_password: "" };
  const [f, setF] = useState(blank);
  const [done, setDone] = useState<string | null>(null);
  const set = (k: keyof typeof f) => (e: { target: { value: string } }) => setF({ ...f, [k]: e.target.value });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate(f, {
      onSuccess: (t) => {
        setDone(`Tenant ${t.name} created. Its admin signs in as ${f.admin_email}.`);
        setF(blank);
      },
    });
  };
  return (
    <>
      <PageHeader title="Tenants" subtitle="Workspaces you resell, and their status." />
      <Card title="Create a tenant">
        <form onSubmit={submit}>
          <div className="form-row">
            <TextField label="Tenant name" name="tenant_name" required value={f.name} onChange={set("name")} />
            <TextField label="Admin full name" name="admin_full_name" required value={f.admin_full_name} onChange={set("admin_full_name")} />
            <TextField label="Admin email" name="admin_email" type="email" required value={f.admin_email} onChange={set("admin_email")} />
            <TextField label="Admin password" name="admin_password" type="password" autoComplete="new-password" required value={f.admin_password} onChange={set("admin_password")} />
          </div>
          {create.error ? <Alert tone="error">{create.error.message}</Alert> : null}
          {done ? <Alert tone="success">{done}</Alert> : null}
          <Button type="submit" variant="primary" busy={create.isPending}>Create tenant</Button>
        </form>
      </Card>
      <Card title="Your tenants">
        {tenants.error ? <QueryError error={tenants.error} /> : null}
        {setStatus.error ? <Alert tone="error">{setStatus.error.message}</Alert> : null}
        {tenants.data ? (
          <Table
            caption="Tenants"
            rows={tenants.data}
            rowKey={(t) => t.id}
            empty="No tenants yet."
            columns={[
              { key: "name", header: "Name", render: (t) => t.name },
              { key: "tier", header: "Tier", render: (t) => t.tier },
              { key: "status", header: "Status", render: (t) => <StatusBadge status={t.status} /> },
              {
                key: "act",
                header: <span className="sr-only">Actions</span>,
                render: (t) =>
                  t.status === "active" ? (
                    <Button variant="danger" onClick={() => setStatus.mutate({ id: t.id, status: "suspended" })}>Suspend</Button>
                  ) : (
                    <Button onClick={() => setStatus.mutate({ id: t.id, status: "active" })}>Resume</Button>
                  ),
              },
            ]}
          />
        ) : null}
      </Card>
    </>
  );
}
