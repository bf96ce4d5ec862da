import { useState } from "react";
import { Alert, QueryError } from "@/components/ui/Alert";
import { Button } from "@/components/ui/Button";
import { Card } from "@/components/ui/Card";
import { PageHeader } from "@/components/ui/PageHeader";
import { Table } from "@/components/ui/Table";
import { formatMoney } from "@/lib/format";
import { usePartnerRates, useSavePartnerRates } from "@/features/partner/api/partner";

const DECIMAL = /^\d+(\.\d{1,6})?$/;

export function PartnerRatesPage() {
  const rates = usePartnerRates();
  const save = useSavePartnerRates();
  const [edits, setEdits] = useState<Record<string, string>>({});
  const invalid = Object.values(edits).some((v) => v !== "" && !DECIMAL.test(v));
  const submit = () =>
    save.mutate(
      Object.entries(edits).filter(([, v]) => v !== "").map(([system_rate_id, rate]) => ({ system_rate_id, rate })),
      { onSuccess: () => setEdits({}) },
    );
  return (
    <>
      <PageHeader title="Rates" subtitle="What your tenants pay per unit. Empty means the platform's billing rate." />
      <Card>
        {rates.error ? <QueryError error={rates.error} /> : null}
        {rates.data ? (
          <Table
            caption="Rates"
            rows={rates.data}
            rowKey={(r) => r.system_rate_id}
            empty="The platform has no rates yet."
            columns={[
              { key: "model", header: "Model", render: (r) => r.model },
              { key: "type", header: "Resource", render: (r) => `${r.resource_type} / ${r.unit}` },
              { key: "cost", header: "Platform cost", numeric: true, render: (r) => formatMoney(r.cost_rate) },
              { key: "billing", header: "List price", numeric: true, render: (r) => formatMoney(r.billing_rate) },
              {
                key: "rate",
                header: "Your rate",
                render: (r) => (
                  <input
                    aria-label={`Your rate for ${r.model} ${r.resource_type}`}
                    inputMode="decimal"
                    placeholder={r.billing_rate}
                    value={edits[r.system_rate_id] ?? r.rate ?? ""}
                    onChange={(e) => setEdits({ ...edits, [r.system_rate_id]: e.target.value })}
                    style={{ maxWidth: "9rem" }}
                  />
                ),
              },
            ]}
          />
        ) : null}
        {invalid ? <Alert tone="error">Rates are decimals with at most 6 places, e.g. 0.002500.</Alert> : null}
        {save.error ? <Alert tone="error">{save.error.message}</Alert> : null}
        {save.isSuccess ? <Alert tone="success">Rates saved.</Alert> : null}
        <Button variant="primary" onClick={submit} disabled={invalid || Object.keys(edits).length === 0} busy={save.isPending}>Save rates</Button>
      </Card>
    </>
  );
}
