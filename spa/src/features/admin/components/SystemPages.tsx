import { useState, type FormEvent } from "react";
import { Alert, QueryError } from "@/components/ui/Alert";
import { Badge, StatusBadge } from "@/components/ui/Badge";
import { Button } from "@/components/ui/Button";
import { Card } from "@/components/ui/Card";
import { SelectField, TextField } from "@/components/ui/Field";
import { PageHeader } from "@/components/ui/PageHeader";
import { Table } from "@/components/ui/Table";
import { formatDate, formatMoney } from "@/lib/format";
import {
  useCreateModel, useCreateRate, useHealth, useModels, useProviders, usePutProvider, useRates,
} from "@/features/admin/api/admin";

export function SystemRatesPage() {
  const rates = useRates();
  const create = useCreateRate();
  const blank = { model: "demo-1", resource_type: "output_tokens", unit: "1k_tokens", cost_rate: "", billing_rate: "" };
  const [f, setF] = useState(blank);
  const set = (k: keyof typeof f) => (e: { target: { value: string } }) => setF({ ...f, [k]: e.target.value });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate({ ...f, resource_type: f.resource_type as "input_tokens", unit: f.unit as "1k_tokens", valid_from: null }, { onSuccess: () => setF(blank) });
  };
  return (
    <>
      <PageHeader title="System rates" subtitle="Platform cost and list price per unit. A new rate replaces the old one from its start." />
      <Card title="Add a rate">
        <form onSubmit={submit}>
          <div className="form-row">
            <TextField label="Model" name="model" required value={f.model} onChange={set("model")} />
            <SelectField label="Resource" value={f.resource_type} onChange={set("resource_type")}>
              <option value="input_tokens">input tokens</option>
              <option value="output_tokens">output tokens</option>
            </SelectField>
            <SelectField label="Unit" value={f.unit} onChange={set("unit")}>
              <option value="1k_tokens">per 1k tokens</option>
              <option value="1m_tokens">per 1M tokens</option>
            </SelectField>
            <TextField label="Cost rate" name="cost_rate" inputMode="decimal" required value={f.cost_rate} onChange={set("cost_rate")} />
            <TextField label="Billing rate" name="billing_rate" inputMode="decimal" required value={f.billing_rate} onChange={set("billing_rate")} />
          </div>
          {create.error ? <Alert tone="error">{create.error.message}</Alert> : null}
          <Button type="submit" variant="primary" busy={create.isPending}>Add rate</Button>
        </form>
      </Card>
      <Card title="Rates">
        {rates.error ? <QueryError error={rates.error} /> : null}
        {rates.data ? (
          <Table caption="System rates" rows={rates.data} rowKey={(r) => r.id} empty="No rates yet." columns={[
            { key: "model", header: "Model", render: (r) => r.model },
            { key: "type", header: "Resource", render: (r) => `${r.resource_type} / ${r.unit}` },
            { key: "cost", header: "Cost", numeric: true, render: (r) => formatMoney(r.cost_rate) },
            { key: "bill", header: "Billing", numeric: true, render: (r) => formatMoney(r.billing_rate) },
            { key: "from", header: "Valid", render: (r) => `${formatDate(r.valid_from)}${r.valid_to ? ` → ${formatDate(r.valid_to)}` : ""}` },
          ]} />
        ) : null}
      </Card>
    </>
  );
}

export function ModelsPage() {
  const models = useModels();
  const create = useCreateModel();
  const blank = { model_key: "", model_name: "", provider: "openai" as "openai" | "demo", model_type: "text" as const, is_active: true };
  const [f, setF] = useState(blank);
  const set = (k: "model_key" | "model_name") => (e: { target: { value: string } }) => setF({ ...f, [k]: e.target.value });
  return (
    <>
      <PageHeader title="Models" subtitle="Models tenants may choose for their agents." />
      <Card title="Add a model">
        <form onSubmit={(e) => { e.preventDefault(); create.mutate(f, { onSuccess: () => setF(blank) }); }}>
          <div className="form-row">
            <TextField label="Key" name="model_key" required value={f.model_key} onChange={set("model_key")} hint="As sent to the provider, e.g. gpt-4o-mini" />
            <TextField label="Display name" name="model_name" required value={f.model_name} onChange={set("model_name")} />
            <SelectField label="Provider" value={f.provider} onChange={(e) => setF({ ...f, provider: e.target.value as "openai" | "demo" })}>
              <option value="openai">openai</option>
              <option value="demo">demo</option>
            </SelectField>
          </div>
          {create.error ? <Alert tone="error">{create.error.message}</Alert> : null}
          <Button type="submit" variant="primary" busy={create.isPending}>Add model</Button>
        </form>
      </Card>
      <Card title="Models">
        {models.error ? <QueryError error={models.error} /> : null}
        {models.data ? (
          <Table caption="Models" rows={models.data} rowKey={(m) => m.id} empty="No models yet." columns={[
            { key: "key", header: "Key", render: (m) => <code>{m.model_key}</code> },
            { key: "name", header: "Name", render: (m) => m.model_name },
            { key: "prov", header: "Provider", render: (m) => m.provider },
            { key: "status", header: "Status", render: (m) => <StatusBadge status={m.is_active ? "active" : "inactive"} /> },
          ]} />
        ) : null}
      </Card>
    </>
  );
}

function ProviderForm({ name, baseUrl, hasKey }: { name: string; baseUrl: string | null; hasKey: boolean }) {
  const put = usePutProvider();
  const [key, setKey] = useState("");
  const [url, setUrl] = useState(baseUrl ?? "");
  return (
    <Card title={name} actions={<Badge tone={hasKey ? "good" : "neutral"}>{hasKey ? "key set" : "no key"}</Badge>}>
      <form onSubmit={(e) => { e.preventDefault(); put.mutate({ name, body: { api_key: key || null, base_url: url || null } }, { onSuccess: () => setKey("") }); }}>
        <TextField label="Base URL" value={url} onChange={(e) => setUrl(e.target.value)} placeholder="https://api.openai.com/v1" />
        <TextField label="API key" type="password" autoComplete="off" value={key} onChange={(e) => setKey(e.target.value)} hint="Write-only: the key is stored encrypted and never shown again. Leave empty to keep the current one." />
        {put.error ? <Alert tone="error">{put.error.message}</Alert> : null}
        {put.isSuccess ? <Alert tone="success">Saved.</Alert> : null}
        <Button type="submit" variant="primary" busy={put.isPending}>Save</Button>
      </form>
    </Card>
  );
}

export function ProvidersPage() {
  const providers = useProviders();
  const [extra, setExtra] = useState("");
  return (
    <>
      <PageHeader title="Providers" subtitle="LLM provider endpoints and keys." />
      {providers.error ? <QueryError error={providers.error} /> : null}
      <div className="grid">
        {(providers.data ?? []).map((p) => <ProviderForm key={p.name} name={p.name} baseUrl={p.base_url} hasKey={p.has_api_key} />)}
        {providers.data && !providers.data.some((p) => p.name === "openai") ? <ProviderForm name="openai" baseUrl={null} hasKey={false} /> : null}
      </div>
      <Card title="Another provider">
        <TextField label="Provider name" value={extra} onChange={(e) => setExtra(e.target.value.trim())} hint="Any OpenAI-compatible endpoint." />
      </Card>
      {extra ? <ProviderForm key={extra} name={extra} baseUrl={null} hasKey={false} /> : null}
    </>
  );
}

export function HealthPage() {
  const q = useHealth();
  const checks = Object.entries(q.data?.body ?? {});
  return (
    <>
      <PageHeader title="Platform health" subtitle="Readiness of this web process and what it depends on (refreshes every 5 s)." />
      <Card title="Readiness" actions={q.data ? <StatusBadge status={q.data.ok ? "ok" : "failed"} /> : null}>
        {q.error ? <QueryError error={q.error} /> : null}
        <Table caption="Health checks" rows={checks} rowKey={([k]) => k} empty="No details." columns={[
          { key: "k", header: "Check", render: ([k]) => k },
          { key: "v", header: "Result", render: ([, v]) => (typeof v === "object" ? JSON.stringify(v) : String(v)) },
        ]} />
        <p className="muted">Prometheus metrics are at <a href="/metrics">/metrics</a>.</p>
      </Card>
    </>
  );
}
