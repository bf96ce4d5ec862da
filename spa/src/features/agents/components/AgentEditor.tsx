import { useState, type FormEvent } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { Alert, QueryError } from "@/components/ui/Alert";
import { Button } from "@/components/ui/Button";
import { Card } from "@/components/ui/Card";
import { SelectField, TextArea, TextField } from "@/components/ui/Field";
import { PageHeader } from "@/components/ui/PageHeader";
import { DocumentPicker } from "@/features/agents/components/DocumentPicker";
import { useAgent, useCatalog, useDeleteAgent, useSaveAgent, type Agent, type CatalogModel } from "@/features/agents/api/agents";

const POLICIES = {
  enqueue: "Queue it: answer after the current reply",
  reject: "Reject it: tell the user to wait",
  interrupt: "Interrupt: stop the current reply and answer the new message",
  merge: "Merge: stop the current reply and answer both messages together",
};

function parseSchema(text: string): { value: Record<string, unknown> | null; error: string | null } {
  if (!text.trim()) return { value: null, error: null };
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v !== "object" || v === null || Array.isArray(v)) return { value: null, error: "The output schema must be a JSON object." };
    return { value: v as Record<string, unknown>, error: null };
  } catch (e) {
    return { value: null, error: `Not valid JSON: ${(e as Error).message}` };
  }
}

/** "GPT-4o mini — openai · 128,000 ctx · in 0.15 / out 0.60 per 1m_tokens" */
export function describeModel(m: CatalogModel): string {
  const price = (type: string) => m.prices.find((p) => p.resource_type === type);
  const input = price("input_tokens");
  const output = price("output_tokens");
  const cost = input && output ? ` · in ${input.rate} / out ${output.rate} per ${input.unit.replace("_tokens", " tokens")}` : "";
  return `${m.model_name} — ${m.provider} · ${m.context_window.toLocaleString()} ctx${cost}`;
}

function ModelOptions({ models, current }: { models: CatalogModel[]; current: string }) {
  return (
    <>
      {models.map((m) => <option key={m.model_key} value={m.model_key}>{describeModel(m)}</option>)}
      {current && !models.some((m) => m.model_key === current) ? <option value={current}>{`${current} (not in the catalog)`}</option> : null}
    </>
  );
}

function Form({ agent }: { agent?: Agent }) {
  const navigate = useNavigate();
  const save = useSaveAgent(agent?.id);
  const remove = useDeleteAgent();
  const catalog = useCatalog();
  const chatModels = (catalog.data ?? []).filter((m) => m.model_type === "chat");
  const [f, setF] = useState({
    name: agent?.name ?? "",
    slug: agent?.slug ?? "",
    role: agent?.role ?? "",
    model: agent?.llm_config.model ?? "demo-1",
    fallback: agent?.llm_config.fallback?.model ?? "",
    temperature: agent?.llm_config.temperature?.toString() ?? "",
    max_tokens: agent?.llm_config.max_tokens?.toString() ?? "",
    schema: agent?.output_schema ? JSON.stringify(agent.output_schema, null, 2) : "",
    double_texting: agent?.double_texting ?? "enqueue",
    is_active: agent?.is_active ?? true,
  });
  const set = (k: keyof typeof f) => (e: { target: { value: string } }) => setF({ ...f, [k]: e.target.value });
  const schema = parseSchema(f.schema);
  const temp = f.temperature === "" ? null : Number(f.temperature);
  const tempError = temp !== null && (Number.isNaN(temp) || temp < 0 || temp > 2) ? "Between 0 and 2." : null;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (schema.error || tempError) return;
    const providerOf = (key: string) => chatModels.find((m) => m.model_key === key)?.provider ?? null;
    // The fallback is sent back as it is: a save never drops one set elsewhere (the API).
    const fallbackProvider = f.fallback ? (providerOf(f.fallback) ?? agent?.llm_config.fallback?.provider) : null;
    save.mutate(
      {
        name: f.name,
        slug: f.slug || null,
        role: f.role,
        llm_config: {
          provider: providerOf(f.model) ?? agent?.llm_config.provider ?? null,
          model: f.model,
          temperature: temp,
          max_tokens: f.max_tokens ? Number(f.max_tokens) : null,
          fallback: f.fallback && fallbackProvider ? { provider: fallbackProvider, model: f.fallback } : null,
        },
        output_schema: schema.value,
        double_texting: f.double_texting as "enqueue",
        is_active: f.is_active,
      },
      { onSuccess: (saved) => navigate(`/console/agents/${saved.id}`, { replace: true }) },
    );
  };
  return (
    <form onSubmit={submit} noValidate>
      <Card title="Identity">
        <TextField label="Name" name="name" required value={f.name} onChange={set("name")} />
        <TextField label="Slug" name="slug" value={f.slug} onChange={set("slug")} hint="Optional: the model name of this agent in the OpenAI-compatible API (/v1/chat/completions), e.g. screener" />
        <TextArea label="Role (system prompt)" name="role" required value={f.role} onChange={set("role")} hint="Who the agent is and how it should answer." />
      </Card>
      <Card title="Model">
        {catalog.error ? <QueryError error={catalog.error} /> : null}
        <SelectField label="Model" name="model" required value={f.model} onChange={set("model")} hint="From the catalog: provider, context window and your price per unit.">
          <ModelOptions models={chatModels} current={f.model} />
        </SelectField>
        <SelectField label="Fallback model" name="fallback" value={f.fallback} onChange={set("fallback")} hint="Answers when the model's provider is down or its breaker is open (priced at its own rates).">
          <option value="">No fallback</option>
          <ModelOptions models={chatModels} current={f.fallback} />
        </SelectField>
        <div className="form-row">
          <TextField label="Temperature" name="temperature" inputMode="decimal" value={f.temperature} onChange={set("temperature")} error={tempError} />
          <TextField label="Max tokens" name="max_tokens" type="number" min={1} value={f.max_tokens} onChange={set("max_tokens")} />
        </div>
      </Card>
      <Card title="Behaviour">
        <SelectField label="When a user sends another message while a reply runs" name="double_texting" value={f.double_texting} onChange={set("double_texting")}>
          {Object.entries(POLICIES).map(([k, v]) => (
            <option key={k} value={k}>{v}</option>
          ))}
        </SelectField>
        <TextArea label="Output schema (JSON Schema, optional)" name="output_schema" value={f.schema} onChange={set("schema")} error={schema.error} hint="When set, replies are structured JSON matching this schema." spellCheck={false} />
        <label className="check">
          <input type="checkbox" checked={f.is_active} onChange={(e) => setF({ ...f, is_active: e.target.checked })} style={{ width: "auto" }} /> Active
        </label>
      </Card>
      {save.error ? <Alert tone="error">{save.error.message}</Alert> : null}
      {save.isSuccess ? <Alert tone="success">Saved.</Alert> : null}
      <div className="page-actions" style={{ marginTop: "1rem" }}>
        <Button type="submit" variant="primary" busy={save.isPending}>{agent ? "Save changes" : "Create agent"}</Button>
        {agent ? <Link className="btn" to={`/chat?agent=${agent.id}`}>Test chat</Link> : null}
        {agent ? (
          <Button variant="danger" onClick={() => confirm(`Delete agent ${agent.name}?`) && remove.mutate(agent.id, { onSuccess: () => navigate("/console/agents") })}>
            Delete
          </Button>
        ) : null}
      </div>
    </form>
  );
}

export function AgentEditor() {
  const { agentId } = useParams();
  const isNew = !agentId || agentId === "new";
  const agent = useAgent(isNew ? undefined : agentId);
  return (
    <>
      <PageHeader title={isNew ? "New agent" : (agent.data?.name ?? "Agent")} subtitle={<Link to="/console/agents">← All agents</Link>} />
      {agent.error ? <QueryError error={agent.error} /> : null}
      {isNew ? <Form /> : agent.data ? <Form key={agent.data.id} agent={agent.data} /> : null}
      {!isNew && agent.data ? <DocumentPicker agentId={agent.data.id} /> : null}
    </>
  );
}
