import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef, useState, type FormEvent } from "react";
import { Link } from "react-router";
import { Alert, QueryError } from "@/components/ui/Alert";
import { Badge, StatusBadge } from "@/components/ui/Badge";
import { Button } from "@/components/ui/Button";
import { Card } from "@/components/ui/Card";
import { SelectField, TextField } from "@/components/ui/Field";
import { PageHeader } from "@/components/ui/PageHeader";
import { Table } from "@/components/ui/Table";
import { formatDate, formatMoney } from "@/lib/format";
import {
  openDocument,
  startCardSetup,
  useBillingOverview,
  useBuyCredit,
  useCancelPlan,
  useChangePlan,
  useCredit,
  usePlans,
  useRemoveCard,
  useSetDefaultCard,
  useSubscription,
  type CreditPurchase,
  type Invoice,
  type PaymentMethod,
} from "@/features/billing/api/billing";

const day = (iso: string) => iso.slice(0, 10);
const MONEY = /^\d{1,6}(\.\d{1,2})?$/;

function PlanCard() {
  const sub = useSubscription();
  const plans = usePlans();
  const change = useChangePlan();
  const cancel = useCancelPlan();
  const [plan, setPlan] = useState("");
  const [cycle, setCycle] = useState<"monthly" | "annual">("monthly");
  const current = sub.data;
  const onPlan = current && current.status === "active" && current.tier ? current : null;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (plan) change.mutate({ plan_name: plan, billing_cycle: cycle });
  };
  return (
    <Card title="Plan">
      {sub.error ? <QueryError error={sub.error} /> : null}
      {change.error ? <Alert tone="error">{change.error.message}</Alert> : null}
      {cancel.error ? <Alert tone="error">{cancel.error.message}</Alert> : null}
      <p data-testid="current-plan">
        {onPlan ? (
          <>
            <strong>{onPlan.plan_name}</strong> ({onPlan.tier}, {onPlan.billing_cycle}) ·{" "}
            {formatMoney(onPlan.billing_cycle === "annual" ? onPlan.annual_price : onPlan.monthly_price, 2)} per{" "}
            {onPlan.billing_cycle === "annual" ? "year" : "month"} · includes {formatMoney(onPlan.included_credit, 2)} credit a month
          </>
        ) : (
          <span className="muted">No plan: pay as you go on the free tier.</span>
        )}
      </p>
      <form className="inline-form" onSubmit={submit}>
        <SelectField label="Plan" value={plan} onChange={(e) => setPlan(e.target.value)}>
          <option value="">Choose a plan…</option>
          {(plans.data ?? []).map((p) => (
            <option key={p.id} value={p.name}>
              {p.name} · {p.tier} · {formatMoney(p.monthly_price, 2)}/month
            </option>
          ))}
        </SelectField>
        <SelectField label="Billed" value={cycle} onChange={(e) => setCycle(e.target.value as "monthly" | "annual")}>
          <option value="monthly">Monthly</option>
          <option value="annual">Annually</option>
        </SelectField>
        <Button type="submit" variant="primary" busy={change.isPending} disabled={!plan}>
          {onPlan ? "Change plan" : "Subscribe"}
        </Button>
        {onPlan ? <Button onClick={() => cancel.mutate()} busy={cancel.isPending}>Cancel plan</Button> : null}
      </form>
    </Card>
  );
}

function AddCard({ onDone }: { onDone: () => void }) {
  const host = useRef<HTMLDivElement>(null);
  const [setup, setSetup] = useState<Awaited<ReturnType<typeof startCardSetup>> | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    let live = true;
    let started: Awaited<ReturnType<typeof startCardSetup>> | null = null;
    if (host.current) {
      startCardSetup(host.current).then(
        (s) => (live ? setSetup((started = s)) : s.card.destroy()),
        (e: unknown) => live && setError(e instanceof Error ? e.message : String(e)),
      );
    }
    return () => {
      live = false;
      started?.card.destroy();
    };
  }, []);
  const save = async () => {
    if (!setup) return;
    setBusy(true);
    setError(null);
    try {
      await setup.confirm();
      onDone();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="card-setup">
      {error ? <Alert tone="error">{error}</Alert> : null}
      <div ref={host} className="stripe-card" data-testid="stripe-card" aria-label="Card details" />
      <Button variant="primary" onClick={() => void save()} busy={busy} disabled={!setup}>Save card</Button>
    </div>
  );
}

function CardsCard({ methods }: { methods: PaymentMethod[] }) {
  const qc = useQueryClient();
  const [adding, setAdding] = useState(false);
  const [added, setAdded] = useState(false);
  const setDefault = useSetDefaultCard();
  const remove = useRemoveCard();
  return (
    <Card title="Payment methods" actions={adding ? null : <Button onClick={() => setAdding(true)}>Add card</Button>}>
      {setDefault.error ? <Alert tone="error">{setDefault.error.message}</Alert> : null}
      {remove.error ? <Alert tone="error">{remove.error.message}</Alert> : null}
      {added ? <Alert tone="success">Card saved.</Alert> : null}
      {adding ? (
        <AddCard
          onDone={() => {
            setAdding(false);
            setAdded(true);
            void qc.invalidateQueries({ queryKey: ["billing"] });
          }}
        />
      ) : null}
      <Table<PaymentMethod>
        caption="Payment methods"
        rows={methods}
        rowKey={(m) => m.id}
        empty="No card yet: invoices cannot be charged and credit cannot be bought."
        columns={[
          { key: "card", header: "Card", render: (m) => <>{(m.brand ?? "card").toUpperCase()} •••• {m.last4}</> },
          { key: "exp", header: "Expires", render: (m) => `${String(m.exp_month ?? "").padStart(2, "0")}/${m.exp_year ?? ""}` },
          { key: "default", header: "", render: (m) => (m.is_default ? <Badge tone="good">default</Badge> : (
            <Button onClick={() => setDefault.mutate(m.id)} busy={setDefault.isPending && setDefault.variables === m.id}>Make default</Button>
          )) },
          { key: "remove", header: "", render: (m) => (
            <Button variant="danger" onClick={() => remove.mutate(m.id)} busy={remove.isPending && remove.variables === m.id}>Remove</Button>
          ) },
        ]}
      />
    </Card>
  );
}

function CreditCard() {
  const credit = useCredit();
  const buy = useBuyCredit();
  const [amount, setAmount] = useState("25");
  const error = MONEY.test(amount.trim()) && Number(amount) >= 1 ? null : "An amount of at least 1, like 25 or 12.50.";
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!error) buy.mutate(amount.trim());
  };
  return (
    <Card title="Prepaid credit">
      {credit.error ? <QueryError error={credit.error} /> : null}
      <p className="big-number" data-testid="credit-balance">{formatMoney(credit.data?.credit_balance, 2)}</p>
      {buy.error ? <Alert tone="error">{buy.error.message}</Alert> : null}
      {buy.isSuccess ? <Alert tone="success">{formatMoney(buy.data.amount, 2)} of credit added.</Alert> : null}
      <form className="inline-form" onSubmit={submit}>
        <TextField label="Amount (USD)" inputMode="decimal" value={amount} onChange={(e) => setAmount(e.target.value)} error={error} />
        <Button type="submit" variant="primary" busy={buy.isPending} disabled={!!error}>Buy credit</Button>
      </form>
      <p className="muted">
        Alerts: the workspace admins get an email at 80% and 100% of a top-up used and of the monthly cap (set it in{" "}
        <Link to="/console/budget">Budget</Link>).
      </p>
      <Table<CreditPurchase>
        caption="Credit added"
        rows={credit.data?.purchases ?? []}
        rowKey={(p) => p.id}
        empty="No credit added yet."
        columns={[
          { key: "at", header: "When", render: (p) => formatDate(p.created_at) },
          { key: "source", header: "From", render: (p) => (p.source === "plan" ? "Plan allowance" : "Purchase") },
          { key: "amount", header: "Amount", numeric: true, render: (p) => formatMoney(p.amount, 2) },
        ]}
      />
    </Card>
  );
}

function InvoicesCard({ invoices }: { invoices: Invoice[] }) {
  const [error, setError] = useState<string | null>(null);
  const open = (i: Invoice, kind: "html" | "pdf") =>
    openDocument(`/api/v1/tenant/billing/invoices/${i.id}/${kind}`, kind === "pdf" ? `${i.invoice_number ?? "invoice"}.pdf` : null).catch(
      (e: unknown) => setError(e instanceof Error ? e.message : String(e)),
    );
  return (
    <Card title="Invoices">
      {error ? <Alert tone="error">{error}</Alert> : null}
      <Table<Invoice>
        caption="Invoices"
        rows={invoices}
        rowKey={(i) => i.id}
        empty="No invoice yet: the first one comes after this month ends."
        columns={[
          { key: "number", header: "Number", render: (i) => i.invoice_number ?? "draft" },
          { key: "period", header: "Period", render: (i) => `${day(i.period_start)} – ${day(i.period_end)}` },
          { key: "status", header: "Status", render: (i) => <StatusBadge status={i.status} /> },
          { key: "total", header: "Total", numeric: true, render: (i) => formatMoney(i.total_amount, 2) },
          { key: "docs", header: "", render: (i) => (
            <span className="row-actions">
              <Button onClick={() => void open(i, "html")}>View</Button>
              <Button onClick={() => void open(i, "pdf")}>PDF</Button>
            </span>
          ) },
        ]}
      />
    </Card>
  );
}

export function BillingPage() {
  const overview = useBillingOverview();
  const o = overview.data;
  return (
    <>
      <PageHeader title="Billing" subtitle="Your plan, cards, credit and invoices." />
      {overview.error ? <QueryError error={overview.error} /> : null}
      {o?.suspended_for_payment ? (
        <Alert tone="error" title="Suspended for an unpaid invoice">Pay the open invoice to bring your agents back.</Alert>
      ) : null}
      <div className="grid">
        <PlanCard />
        <CreditCard />
      </div>
      {o ? (
        <>
          <CardsCard methods={o.payment_methods} />
          <InvoicesCard invoices={o.invoices} />
        </>
      ) : null}
    </>
  );
}
