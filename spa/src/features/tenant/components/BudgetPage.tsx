import { useState, type FormEvent } from "react";
import { Alert, QueryError } from "@/components/ui/Alert";
import { Button } from "@/components/ui/Button";
import { Card } from "@/components/ui/Card";
import { TextField } from "@/components/ui/Field";
import { PageHeader } from "@/components/ui/PageHeader";
import { Table } from "@/components/ui/Table";
import { addDecimals, formatDate, formatMoney } from "@/lib/format";
import { useBudget, useSetMonthlyCap, useSetUserCap } from "@/features/tenant/api/budget";
import { useUsers } from "@/features/tenant/api/tenant";

const MONEY = /^\d{1,12}(\.\d{1,6})?$/;
const asCap = (text: string): string | null => (text.trim() === "" ? null : text.trim());
const capError = (text: string) => (text.trim() === "" || MONEY.test(text.trim()) ? null : "An amount like 25 or 12.50 (up to 6 decimals).");

function CapForm({ label, current, busy, onSave }: { label: string; current: string | null; busy: boolean; onSave: (cap: string | null) => void }) {
  const [text, setText] = useState(current ?? "");
  const error = capError(text);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!error) onSave(asCap(text));
  };
  return (
    <form className="inline-form" onSubmit={submit}>
      <TextField label={label} inputMode="decimal" value={text} onChange={(e) => setText(e.target.value)} error={error} placeholder="No cap" hint="Leave empty for no cap." />
      <Button type="submit" variant="primary" busy={busy} disabled={!!error}>Save</Button>
    </form>
  );
}

function UserCaps() {
  const users = useUsers();
  const budget = useBudget();
  const setCap = useSetUserCap();
  const [saved, setSaved] = useState<string | null>(null);
  const capOf = (id: string) => budget.data?.user_caps.find((c) => c.user_id === id)?.monthly_cap ?? null;
  return (
    <Card title="Per-user monthly caps">
      {users.error ? <QueryError error={users.error} /> : null}
      {setCap.error ? <Alert tone="error">{setCap.error.message}</Alert> : null}
      {saved ? <Alert tone="success">{saved}</Alert> : null}
      {users.data && budget.data ? (
        <Table
          caption="Per-user caps"
          rows={users.data.filter((u) => u.is_active)}
          rowKey={(u) => u.id}
          columns={[
            { key: "name", header: "User", render: (u) => <>{u.full_name}<br /><span className="muted">{u.email}</span></> },
            { key: "cap", header: "Monthly cap", render: (u) => (
              <CapForm
                key={capOf(u.id) ?? "none"}
                label={`Cap for ${u.full_name}`}
                current={capOf(u.id)}
                busy={setCap.isPending && setCap.variables?.userId === u.id}
                onSave={(cap) => setCap.mutate({ userId: u.id, cap }, { onSuccess: () => setSaved(`Saved the cap of ${u.full_name}.`) })}
              />
            ) },
          ]}
        />
      ) : null}
    </Card>
  );
}

export function BudgetPage() {
  const budget = useBudget();
  const setCap = useSetMonthlyCap();
  const b = budget.data;
  return (
    <>
      <PageHeader title="Budget" subtitle="Monthly spending limits. A message that would go over a limit is refused before it runs." />
      {budget.error ? <QueryError error={budget.error} /> : null}
      {b ? (
        <div className="grid">
          <Card title="This month">
            <p className="big-number" data-testid="month-spent">{formatMoney(b.spent)}</p>
            <p className="muted">
              spent since {formatDate(b.month_start)} · {formatMoney(b.held)} reserved for replies in progress
              {b.monthly_cap ? <> · {formatMoney(addDecimals([b.monthly_cap, `-${b.spent}`, `-${b.held}`]))} left under the cap</> : null}
            </p>
            {b.prepaid ? <p className="muted">Prepaid credit: <strong>{formatMoney(b.credit_balance)}</strong></p> : null}
          </Card>
          <Card title="Workspace cap">
            {setCap.error ? <Alert tone="error">{setCap.error.message}</Alert> : null}
            {setCap.isSuccess ? <Alert tone="success">Saved.</Alert> : null}
            <CapForm key={b.monthly_cap ?? "none"} label="Monthly cap (USD)" current={b.monthly_cap} busy={setCap.isPending} onSave={(cap) => setCap.mutate(cap)} />
          </Card>
        </div>
      ) : null}
      <UserCaps />
    </>
  );
}
