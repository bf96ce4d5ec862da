import { useState, type FormEvent } from "react";
import { Alert, QueryError } from "@/components/ui/Alert";
import { Badge, StatusBadge } from "@/components/ui/Badge";
import { Button } from "@/components/ui/Button";
import { Card } from "@/components/ui/Card";
import { SelectField, TextField } from "@/components/ui/Field";
import { PageHeader } from "@/components/ui/PageHeader";
import { Table } from "@/components/ui/Table";
import { formatDate, formatMoney } from "@/lib/format";
import type { Schemas } from "@/lib/api/client";
import {
  useCreateModel, useCreateRate, useDeleteProvider, useHealth, useModels, usePatchModel, useProviders, usePutProvider,
  useRates, useTestProvider,
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
              <option value="embedding_tokens">embedding tokens</option>
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
  const providers = useProviders();
  const create = useCreateModel();
  const patch = usePatchModel();
  const blank = { model_key: "", model_name: "", provider: "demo", model_type: "chat" as "chat" | "embedding", context_window: "8192", max_output_tokens: "4096", is_active: true };
  const [f, setF] = useState(blank);
  const set = (k: keyof typeof f) => (e: { target: { value: string } }) => setF({ ...f, [k]: e.target.value });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate(
      { ...f, context_window: Number(f.context_window), max_output_tokens: Number(f.max_output_tokens) },
      { onSuccess: () => setF(blank) },
    );
  };
  return (
    <>
      <PageHeader title="Models" subtitle="The catalog: the only models agents may use. A model needs its rates before it can be active." />
      <Card title="Add a model">
        <form onSubmit={submit}>
          <div className="form-row">
            <TextField label="Key" name="model_key" required value={f.model_key} onChange={set("model_key")} hint="As sent to the provider, e.g. gpt-4o-mini; rates use it too" />
            <TextField label="Display name" name="model_name" required value={f.model_name} onChange={set("model_name")} />
            <SelectField label="Provider" value={f.provider} onChange={set("provider")}>
              {(providers.data ?? [{ name: "demo" }]).map((p) => <option key={p.name} value={p.name}>{p.name}</option>)}
            </SelectField>
            <SelectField label="Type" value={f.model_type} onChange={set("model_type")}>
              <option value="chat">chat</option>
              <option value="embedding">embedding</option>
            </SelectField>
            <TextField label="Context window" name="context_window" type="number" min={1} required value={f.context_window} onChange={set("context_window")} />
            <TextField label="Max output tokens" name="max_output_tokens" type="number" min={1} required value={f.max_output_tokens} onChange={set("max_output_tokens")} />
          </div>
          <label className="check">
            <input type="checkbox" checked={f.is_active} onChange={(e) => setF({ ...f, is_active: e.target.checked })} style={{ width: "auto" }} /> Active
          </label>
          {create.error ? <Alert tone="error">{create.error.message}</Alert> : null}
          <Button type="submit" variant="primary" busy={create.isPending}>Add model</Button>
        </form>
      </Card>
      <Card title="Catalog">
        {models.error ? <QueryError error={models.error} /> : null}
        {patch.error ? <Alert tone="error">{patch.error.message}</Alert> : null}
        {models.data ? (
          <Table caption="Models" rows={models.data} rowKey={(m) => m.id} empty="No models yet." columns={[
            { key: "key", header: "Key", render: (m) => <code>{m.model_key}</code> },
            { key: "name", header: "Name", render: (m) => m.model_name },
            { key: "prov", header: "Provider", render: (m) => m.provider },
            { key: "type", header: "Type", render: (m) => m.model_type },
            { key: "ctx", header: "Context", numeric: true, render: (m) => m.context_window.toLocaleString() },
            { key: "out", header: "Max output", numeric: true, render: (m) => m.max_output_tokens.toLocaleString() },
            { key: "status", header: "Status", render: (m) => <StatusBadge status={m.is_active ? "active" : "inactive"} /> },
            { key: "act", header: "", render: (m) => (
              <Button onClick={() => patch.mutate({ id: m.id, body: { is_active: !m.is_active } })}>
                {m.is_active ? "Deactivate" : "Activate"}
              </Button>
            ) },
          ]} />
        ) : null}
      </Card>
    </>
  );
}

type Provider = Schemas["ProviderOut"];

function breakerTone(state: string): "good" | "bad" | "warn" {
  return state === "closed" ? "good" : state === "open" ? "bad" : "warn";
}

function ProviderCard({ provider }: { provider: Provider }) {
  const put = usePutProvider();
  const remove = useDeleteProvider();
  const test = useTestProvider();
  const [key, setKey] = useState("");
  const [url, setUrl] = useState(provider.base_url ?? "");
  const builtin = provider.source === "builtin";
  return (
    <Card title={provider.name} actions={<Badge tone={breakerTone(provider.breaker_state)}>{`breaker ${provider.breaker_state}`}</Badge>}>
      <p className="muted">
        {builtin ? "Built in, offline." : `${provider.has_api_key ? "Key set" : "No key"} · settings: ${provider.source}`}
        {provider.header_names.length ? ` · headers: ${provider.header_names.join(", ")}` : ""}
      </p>
      {provider.last_error ? <Alert tone="error">{`Last error${provider.last_error_at ? ` (${formatDate(provider.last_error_at)})` : ""}: ${provider.last_error}`}</Alert> : null}
      {builtin ? null : (
        <form onSubmit={(e) => { e.preventDefault(); put.mutate({ name: provider.name, body: { api_key: key || null, base_url: url || null, kind: "openai_compatible" } }, { onSuccess: () => setKey("") }); }}>
          <TextField label="Base URL" value={url} onChange={(e) => setUrl(e.target.value)} placeholder="https://api.openai.com/v1" />
          <TextField label="API key" type="password" autoComplete="off" value={key} onChange={(e) => setKey(e.target.value)} hint="Write-only: stored encrypted, never shown again. Leave empty to keep the current one; type a new one to rotate it." />
          {put.error ? <Alert tone="error">{put.error.message}</Alert> : null}
          {put.isSuccess ? <Alert tone="success">Saved.</Alert> : null}
          {remove.error ? <Alert tone="error">{remove.error.message}</Alert> : null}
          <div className="page-actions">
            <Button type="submit" variant="primary" busy={put.isPending}>Save</Button>
            <Button busy={test.isPending} onClick={() => test.mutate(provider.name)}>Test connection</Button>
            {provider.source === "stored" ? (
              <Button variant="danger" onClick={() => confirm(`Delete provider ${provider.name}?`) && remove.mutate(provider.name)}>Delete</Button>
            ) : null}
          </div>
        </form>
      )}
      {test.data ? (
        <Alert tone={test.data.ok ? "success" : "error"}>
          {test.data.ok ? `Connected: ${test.data.models.length} model(s) offered${test.data.models.length ? ` (${test.data.models.slice(0, 5).join(", ")})` : ""}.` : test.data.detail}
        </Alert>
      ) : null}
      {test.error ? <Alert tone="error">{test.error.message}</Alert> : null}
    </Card>
  );
}

function NewProvider() {
  const put = usePutProvider();
  const blank = { name: "", base_url: "", api_key: "" };
  const [f, setF] = useState(blank);
  const set = (k: keyof typeof f) => (e: { target: { value: string } }) => setF({ ...f, [k]: e.target.value.trim() });
  return (
    <Card title="Add a provider">
      <form onSubmit={(e) => { e.preventDefault(); put.mutate({ name: f.name, body: { base_url: f.base_url, api_key: f.api_key || null, kind: "openai_compatible" } }, { onSuccess: () => setF(blank) }); }}>
        <div className="form-row">
          <TextField label="Provider name" name="provider_name" required value={f.name} onChange={set("name")} hint="Lowercase, e.g. groq or local-vllm" />
          <TextField label="Provider base URL" name="provider_base_url" required value={f.base_url} onChange={set("base_url")} placeholder="https://api.groq.com/openai/v1" />
          <TextField label="Provider API key" name="provider_api_key" type="password" autoComplete="off" value={f.api_key} onChange={set("api_key")} />
        </div>
        {put.error ? <Alert tone="error">{put.error.message}</Alert> : null}
        <Button type="submit" variant="primary" busy={put.isPending}>Add provider</Button>
      </form>
    </Card>
  );
}

export function ProvidersPage() {
  const providers = useProviders();
  return (
    <>
      <PageHeader title="Providers" subtitle="OpenAI-compatible LLM vendors: endpoints, keys and circuit breakers." />
      {providers.error ? <QueryError error={providers.error} /> : null}
      <NewProvider />
      <div className="grid">
        {(providers.data ?? []).map((p) => <ProviderCard key={p.name} provider={p} />)}
      </div>
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
