import { useState, type FormEvent } from "react";
import { Alert, QueryError } from "@/components/ui/Alert";
import { Button } from "@/components/ui/Button";
import { Card } from "@/components/ui/Card";
import { TextField } from "@/components/ui/Field";
import { PageHeader } from "@/components/ui/PageHeader";
import { usePatchTier, useTiers, type TierLimits } from "@/features/limits/api/limits";

const WHOLE = /^\d{1,9}$/;
const text = (n: number | null) => (n === null ? "" : String(n));
const parse = (s: string) => (s.trim() === "" ? null : Number(s.trim()));

/** One tier's limits as an editable form; an empty per-hour field means unlimited. */
function TierForm({ tier }: { tier: TierLimits }) {
  const patch = usePatchTier();
  const [f, setF] = useState({ conc: text(tier.concurrent_executions), req: text(tier.requests_per_hour), api: text(tier.api_calls_per_hour) });
  const bad = (s: string, optional: boolean) => (s.trim() === "" ? !optional : !WHOLE.test(s.trim()));
  const invalid = bad(f.conc, false) || bad(f.req, true) || bad(f.api, true);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    patch.mutate({
      tier: tier.tier,
      body: { concurrent_executions: Number(f.conc), requests_per_hour: parse(f.req), api_calls_per_hour: parse(f.api) },
    });
  };
  return (
    <Card title={tier.tier} as="article">
      <form onSubmit={submit} aria-label={`Limits of ${tier.tier}`}>
        <div className="form-row">
          <TextField label="Replies at once" name={`${tier.tier}_concurrent`} inputMode="numeric" required value={f.conc} onChange={(e) => setF({ ...f, conc: e.target.value })} error={bad(f.conc, false) ? "A whole number." : null} />
          <TextField label="Requests per hour" name={`${tier.tier}_requests`} inputMode="numeric" value={f.req} onChange={(e) => setF({ ...f, req: e.target.value })} hint="Empty: unlimited." error={bad(f.req, true) ? "A whole number, or empty." : null} />
          <TextField label="API calls per hour" name={`${tier.tier}_api`} inputMode="numeric" value={f.api} onChange={(e) => setF({ ...f, api: e.target.value })} hint="Empty: unlimited." error={bad(f.api, true) ? "A whole number, or empty." : null} />
        </div>
        {patch.error ? <Alert tone="error">{patch.error.message}</Alert> : null}
        {patch.isSuccess ? <Alert tone="success">Saved. Tenants on {tier.tier} get these limits from their next request.</Alert> : null}
        <Button type="submit" variant="primary" busy={patch.isPending} disabled={invalid}>Save {tier.tier}</Button>
      </form>
    </Card>
  );
}

export function TiersPage() {
  const tiers = useTiers();
  return (
    <>
      <PageHeader title="Tiers" subtitle="The limits of each plan: replies running at once, requests and API calls per hour." />
      {tiers.error ? <QueryError error={tiers.error} /> : null}
      {(tiers.data ?? []).map((t) => <TierForm key={t.tier} tier={t} />)}
    </>
  );
}
