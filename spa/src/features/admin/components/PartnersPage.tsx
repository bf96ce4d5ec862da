import { useState, type FormEvent } from "react";
import { Alert, QueryError } from "@/components/ui/Alert";
import { StatusBadge } from "@/components/ui/Badge";
import { Button } from "@/components/ui/Button";
import { Card } from "@/components/ui/Card";
import { SelectField, TextField } from "@/components/ui/Field";
import { PageHeader } from "@/components/ui/PageHeader";
import { Table } from "@/components/ui/Table";
import { formatDate } from "@/lib/format";
import { useCreatePartner, usePartners } from "@/features/admin/api/admin";

export function PartnersPage() {
  const partners = usePartners();
  const create = useCreatePartner();
  const blank = { name: "", admin_email: "", admin_password: "", commission_pct: "20", commission_basis: "margin" };
  const [f, setF] = useState(blank);
  const set = (k: keyof typeof f) => (e: { target: { value: string } }) => setF({ ...f, [k]: e.target.value });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate({ ...f, commission_basis: f.commission_basis as "margin" | "gross" }, { onSuccess: () => setF(blank) });
  };
  return (
    <>
      <PageHeader title="Partners" subtitle="Sales partners who resell the platform." />
      <Card title="Add a partner">
        <form onSubmit={submit}>
          <div className="form-row">
            <TextField label="Partner name" name="partner_name" required value={f.name} onChange={set("name")} />
            <TextField label="Admin email" name="admin_email" type="email" required value={f.admin_email} onChange={set("admin_email")} />
            <TextField label="Admin password" name="admin_password" type="password" autoComplete="new-password" required value={f.admin_password} onChange={set("admin_password")} />
            <TextField label="Commission %" name="commission_pct" inputMode="decimal" required value={f.commission_pct} onChange={set("commission_pct")} />
            <SelectField label="Commission on" value={f.commission_basis} onChange={set("commission_basis")}>
              <option value="margin">Margin (price − cost)</option>
              <option value="gross">Gross (price)</option>
            </SelectField>
          </div>
          {create.error ? <Alert tone="error">{create.error.message}</Alert> : null}
          {create.isSuccess ? <Alert tone="success">Partner created.</Alert> : null}
          <Button type="submit" variant="primary" busy={create.isPending}>Add partner</Button>
        </form>
      </Card>
      <Card title="Partners">
        {partners.error ? <QueryError error={partners.error} /> : null}
        {partners.data ? (
          <Table
            caption="Partners"
            rows={partners.data}
            rowKey={(p) => p.id}
            empty="No partners yet."
            columns={[
              { key: "name", header: "Name", render: (p) => p.name },
              { key: "comm", header: "Commission", render: (p) => `${p.commission_pct}% of ${p.commission_basis}` },
              { key: "status", header: "Status", render: (p) => <StatusBadge status={p.status} /> },
              { key: "created", header: "Since", render: (p) => formatDate(p.created_at) },
            ]}
          />
        ) : null}
      </Card>
    </>
  );
}
