import { useMemo, useState, type FormEvent } from "react";
import { Alert, QueryError } from "@/components/ui/Alert";
import { Badge, StatusBadge } from "@/components/ui/Badge";
import { Button } from "@/components/ui/Button";
import { Card } from "@/components/ui/Card";
import { SelectField, TextField } from "@/components/ui/Field";
import { PageHeader } from "@/components/ui/PageHeader";
import { Table } from "@/components/ui/Table";
import { TimeChart } from "@/components/ui/TimeChart";
import { formatDate, formatMoney } from "@/lib/format";
import {
  monthPoint,
  monthsRange,
  useAdminPlans,
  useCreatePlan,
  useDunning,
  useMailbox,
  useRevenue,
  useUpdatePlan,
  useVoidInvoice,
  type CaughtMail,
  type Dunning,
  type Plan,
  type RevenueMonth,
} from "@/features/billing/api/billing";

const MONEY = /^\d{1,9}(\.\d{1,2})?$/;

export function PlansPage() {
  const plans = useAdminPlans();
  const create = useCreatePlan();
  const update = useUpdatePlan();
  const [form, setForm] = useState({ name: "", tier: "pro", monthly_price: "49", annual_price: "490", included_credit: "10", max_concurrency: "8" });
  const set = (k: keyof typeof form) => (e: { target: { value: string } }) => setForm({ ...form, [k]: e.target.value });
  const bad = !/^[a-z0-9][a-z0-9_-]*$/.test(form.name) || ![form.monthly_price, form.annual_price, form.included_credit].every((v) => MONEY.test(v));
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (bad) return;
    create.mutate(
      { ...form, tier: form.tier as "free" | "pro" | "enterprise", max_concurrency: Number(form.max_concurrency) },
      { onSuccess: () => setForm({ ...form, name: "" }) },
    );
  };
  return (
    <>
      <PageHeader title="Plans" subtitle="What tenants can subscribe to: the tier (queue lane and limits) and the credit included each month." />
      <Card title="New plan">
        {create.error ? <Alert tone="error">{create.error.message}</Alert> : null}
        <form className="inline-form" onSubmit={submit}>
          <TextField label="Name" value={form.name} onChange={set("name")} placeholder="pro" hint="Lowercase letters, digits, - and _." />
          <SelectField label="Tier" value={form.tier} onChange={set("tier")}>
            <option value="free">free</option>
            <option value="pro">pro</option>
            <option value="enterprise">enterprise</option>
          </SelectField>
          <TextField label="Monthly price" inputMode="decimal" value={form.monthly_price} onChange={set("monthly_price")} />
          <TextField label="Annual price" inputMode="decimal" value={form.annual_price} onChange={set("annual_price")} />
          <TextField label="Included credit / month" inputMode="decimal" value={form.included_credit} onChange={set("included_credit")} />
          <TextField label="Concurrency" inputMode="numeric" value={form.max_concurrency} onChange={set("max_concurrency")} />
          <Button type="submit" variant="primary" busy={create.isPending} disabled={bad}>Create plan</Button>
        </form>
      </Card>
      <Card title="Catalog">
        {plans.error ? <QueryError error={plans.error} /> : null}
        {update.error ? <Alert tone="error">{update.error.message}</Alert> : null}
        <Table<Plan>
          caption="Plans"
          rows={plans.data ?? []}
          rowKey={(p) => p.id}
          empty="No plan yet."
          columns={[
            { key: "name", header: "Plan", render: (p) => p.name },
            { key: "tier", header: "Tier", render: (p) => p.tier },
            { key: "m", header: "Monthly", numeric: true, render: (p) => formatMoney(p.monthly_price, 2) },
            { key: "y", header: "Annual", numeric: true, render: (p) => formatMoney(p.annual_price, 2) },
            { key: "c", header: "Credit / month", numeric: true, render: (p) => formatMoney(p.included_credit, 2) },
            { key: "state", header: "", render: (p) => (p.is_active ? <Badge tone="good">active</Badge> : <Badge>retired</Badge>) },
            { key: "act", header: "", render: (p) => (
              <Button onClick={() => update.mutate({ id: p.id, body: { is_active: !p.is_active } })}>{p.is_active ? "Retire" : "Offer again"}</Button>
            ) },
          ]}
        />
      </Card>
    </>
  );
}

export function RevenuePage() {
  const [months, setMonths] = useState(12);
  const revenue = useRevenue(months);
  const chart = useMemo(() => {
    const rows = revenue.data ?? [];
    return {
      x: rows.map((m) => monthPoint(m.month)),
      series: [
        { name: "Tenant revenue", values: rows.map((m) => Number(m.tenant_revenue)) },
        { name: "Platform cost", values: rows.map((m) => Number(m.platform_cost)) },
        { name: "Partner commission", values: rows.map((m) => Number(m.partner_commission)) },
      ],
      range: monthsRange(rows.map((m) => m.month)),
    };
  }, [revenue.data]);
  const byPartner = (revenue.data ?? []).flatMap((m) => m.partners.map((p) => ({ ...p, month: m.month })));
  return (
    <>
      <PageHeader title="Revenue" subtitle="What tenants were billed, what the models cost and what partners earned, by month." />
      <Card>
        <SelectField label="Period" value={String(months)} onChange={(e) => setMonths(Number(e.target.value))}>
          <option value="1">This month</option>
          <option value="3">3 months</option>
          <option value="12">12 months</option>
          <option value="36">3 years</option>
        </SelectField>
      </Card>
      {revenue.error ? <QueryError error={revenue.error} /> : null}
      <Card title="By month">
        {chart.x.length > 0 ? <TimeChart x={chart.x} series={chart.series} label="Revenue by month" range={chart.range} /> : <p className="empty">No revenue in this period.</p>}
        <Table<RevenueMonth>
          caption="Revenue by month"
          rows={revenue.data ?? []}
          rowKey={(m) => m.month}
          columns={[
            { key: "month", header: "Month", render: (m) => m.month },
            { key: "rev", header: "Tenant revenue", numeric: true, render: (m) => formatMoney(m.tenant_revenue, 2) },
            { key: "cost", header: "Platform cost", numeric: true, render: (m) => formatMoney(m.platform_cost, 2) },
            { key: "comm", header: "Partner commission", numeric: true, render: (m) => formatMoney(m.partner_commission, 2) },
          ]}
        />
      </Card>
      <Card title="By partner">
        <Table
          caption="Revenue by partner"
          rows={byPartner}
          rowKey={(p) => `${p.month}-${p.partner_id ?? "direct"}`}
          columns={[
            { key: "month", header: "Month", render: (p) => p.month },
            { key: "partner", header: "Partner", render: (p) => p.partner_name },
            { key: "rev", header: "Tenant revenue", numeric: true, render: (p) => formatMoney(p.tenant_revenue, 2) },
            { key: "comm", header: "Commission", numeric: true, render: (p) => formatMoney(p.partner_commission, 2) },
          ]}
        />
      </Card>
    </>
  );
}

export function DunningPage() {
  const dunning = useDunning();
  const voiding = useVoidInvoice();
  const [target, setTarget] = useState<Dunning | null>(null);
  const [reason, setReason] = useState("");
  const [done, setDone] = useState<string | null>(null);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!target || reason.trim().length < 3) return;
    voiding.mutate(
      { id: target.invoice_id, reason: reason.trim() },
      {
        onSuccess: (invoice) => {
          setDone(`Invoice ${invoice.invoice_number ?? ""} voided: nothing more is charged for it.`);
          setTarget(null);
          setReason("");
        },
      },
    );
  };
  return (
    <>
      <PageHeader title="Dunning" subtitle="Invoices whose charge failed: retries, the last error, and suspensions for non-payment." />
      {dunning.error ? <QueryError error={dunning.error} /> : null}
      {done ? <Alert tone="success">{done}</Alert> : null}
      {target ? (
        <Card title={`Void invoice ${target.invoice_number ?? ""}`}>
          <p className="muted">
            Forgives {formatMoney(target.total_amount, 2)} of {target.tenant_name}: no more charges or reminders, and a
            workspace suspended only for this invoice is restored. The reason goes to the audit log.
          </p>
          {voiding.error ? <Alert tone="error">{voiding.error.message}</Alert> : null}
          <form className="inline-form" onSubmit={submit}>
            <TextField label="Reason" value={reason} onChange={(e) => setReason(e.target.value)} hint="At least 3 characters." />
            <Button type="submit" variant="danger" busy={voiding.isPending} disabled={reason.trim().length < 3}>Void invoice</Button>
            <Button type="button" onClick={() => setTarget(null)}>Keep it</Button>
          </form>
        </Card>
      ) : null}
      <Card>
        <Table<Dunning>
          caption="Dunning"
          rows={dunning.data ?? []}
          rowKey={(d) => d.invoice_id}
          empty="Every charge went through."
          columns={[
            { key: "tenant", header: "Tenant", render: (d) => <>{d.tenant_name} <StatusBadge status={d.tenant_status} /></> },
            { key: "invoice", header: "Invoice", render: (d) => <>{d.invoice_number} <StatusBadge status={d.status} /></> },
            { key: "total", header: "Total", numeric: true, render: (d) => formatMoney(d.total_amount, 2) },
            { key: "tries", header: "Failed charges", numeric: true, render: (d) => d.charge_attempts },
            { key: "since", header: "Since", render: (d) => formatDate(d.dunning_started_at) },
            { key: "err", header: "Last error", render: (d) => d.last_charge_error ?? "—" },
            { key: "act", header: "", render: (d) => (
              <Button onClick={() => { setTarget(d); setDone(null); voiding.reset(); }}>Void…</Button>
            ) },
          ]}
        />
      </Card>
    </>
  );
}

export function MailboxPage() {
  const mail = useMailbox();
  return (
    <>
      <PageHeader title="Mailbox" subtitle="Development only: the mail the platform sent, caught before it left this machine." />
      {mail.error ? <QueryError error={mail.error} /> : null}
      <Card>
        <Table<CaughtMail>
          caption="Caught mail"
          rows={mail.data ?? []}
          rowKey={(m) => m.id}
          empty="No mail caught (in production mail goes to the SMTP server and none is kept here)."
          columns={[
            { key: "at", header: "When", render: (m) => formatDate(m.received_at) },
            { key: "to", header: "To", render: (m) => m.rcpt_to },
            { key: "subject", header: "Message", render: (m) => (
              <details>
                <summary>{m.subject}</summary>
                <p className="mail-body">{m.body}</p>
              </details>
            ) },
          ]}
        />
      </Card>
    </>
  );
}
