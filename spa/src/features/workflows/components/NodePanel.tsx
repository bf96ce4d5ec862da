// The side panel: one node's (or edge's) settings, edited in place.
import { useState } from "react";
import type { Edge } from "@xyflow/react";
import { Button } from "@/components/ui/Button";
import { SelectField, TextArea, TextField } from "@/components/ui/Field";
import type { DagNode } from "@/features/workflows/api/workflows";
import { BRANCHES, type StepNode } from "@/features/workflows/components/graph";

type Kind = "text" | "area" | "json" | "number" | "model" | "select";
interface Setting {
  key: string;
  label: string;
  kind: Kind;
  options?: string[];
  hint?: string;
}

const SETTINGS: Record<string, Setting[]> = {
  input: [{ key: "fields", label: "Fields (JSON)", kind: "json", hint: '[{"name": "jd", "type": "string"}]' }],
  llm: [
    { key: "model", label: "Model", kind: "model" },
    { key: "agent_id", label: "Or an agent (id)", kind: "text", hint: "Leave the model empty to use an agent." },
    { key: "prompt_template", label: "Prompt template", kind: "area", hint: "Upstream values as {node.field}." },
    { key: "system", label: "System prompt", kind: "area" },
    { key: "output_schema", label: "Output schema (JSON, optional)", kind: "json" },
  ],
  condition: [
    { key: "field", label: "Field", kind: "text", hint: "node.field of an upstream node" },
    { key: "op", label: "Operator", kind: "select", options: ["==", "!=", ">", ">=", "<", "<=", "contains", "exists"] },
    { key: "value", label: "Value (JSON)", kind: "json" },
  ],
  map: [
    { key: "items", label: "Items", kind: "text", hint: "A list, as {node.field}" },
    { key: "concurrency", label: "Concurrency", kind: "number" },
    { key: "max_items", label: "Max items", kind: "number" },
    { key: "step", label: "Step per item (JSON)", kind: "json", hint: '{"model": "demo-1", "prompt_template": "… {item.name}"}' },
  ],
  sort: [
    { key: "items", label: "Items", kind: "text" },
    { key: "by", label: "Sort by field", kind: "text" },
    { key: "order", label: "Order", kind: "select", options: ["asc", "desc"] },
  ],
  tool: [
    { key: "url", label: "URL", kind: "text", hint: "Its host must be on the workspace's tool hosts." },
    { key: "method", label: "Method", kind: "select", options: ["POST", "GET"] },
    { key: "body_template", label: "Body template", kind: "area" },
    { key: "builtin", label: "Or a built-in tool", kind: "select", options: ["", "knowledge_search"], hint: "Instead of the URL." },
    { key: "agent_id", label: "Agent whose documents are searched (id)", kind: "text" },
    { key: "query_template", label: "Search query", kind: "area", hint: "Upstream values as {node.field}." },
    { key: "limit", label: "Passages (1-20)", kind: "number" },
  ],
  human: [
    { key: "prompt", label: "Prompt for the person", kind: "area" },
    { key: "timeout_s", label: "Timeout (s)", kind: "number" },
  ],
  output: [{ key: "value", label: "Output (JSON of templates)", kind: "json", hint: '{"summary": "{write.text}"}' }],
};

function JsonSetting({ s, value, onChange }: { s: Setting; value: unknown; onChange: (v: unknown) => void }) {
  const [text, setText] = useState(value === undefined ? "" : JSON.stringify(value, null, 2));
  const [error, setError] = useState<string | null>(null);
  return (
    <TextArea
      label={s.label}
      hint={s.hint}
      rows={4}
      value={text}
      error={error}
      onChange={(e) => {
        setText(e.target.value);
        if (!e.target.value.trim()) {
          setError(null);
          onChange(undefined);
          return;
        }
        try {
          onChange(JSON.parse(e.target.value));
          setError(null);
        } catch (err) {
          setError(`Not valid JSON: ${(err as Error).message}`);
        }
      }}
    />
  );
}

export function NodePanel({
  node,
  models,
  onChange,
  onDelete,
}: {
  node: StepNode;
  models: string[];
  onChange: (dag: DagNode, oldId: string) => void;
  onDelete: () => void;
}) {
  const dag = node.data.dag;
  const [id, setId] = useState(dag.id);
  const set = (key: string, value: unknown) => {
    const next: DagNode = { ...dag };
    if (value === undefined || value === "") delete next[key];
    else next[key] = value;
    onChange(next, dag.id);
  };
  return (
    <div>
      <h2 className="card-title">{dag.type} node</h2>
      <TextField
        label="Node id"
        value={id}
        hint="Lowercase letters, digits and _; other nodes read it as {id.field}."
        pattern="[a-z][a-z0-9_]*"
        onChange={(e) => setId(e.target.value)}
        onBlur={() => id && id !== dag.id && onChange({ ...dag, id }, dag.id)}
      />
      {(SETTINGS[dag.type] ?? []).map((s) => {
        const value = dag[s.key];
        if (s.kind === "json") return <JsonSetting key={s.key} s={s} value={value} onChange={(v) => set(s.key, v)} />;
        if (s.kind === "area")
          return <TextArea key={s.key} label={s.label} hint={s.hint} rows={4} value={String(value ?? "")} onChange={(e) => set(s.key, e.target.value)} />;
        if (s.kind === "model" || s.kind === "select")
          return (
            <SelectField key={s.key} label={s.label} value={String(value ?? "")} onChange={(e) => set(s.key, e.target.value)}>
              {s.kind === "model" ? <option value="">(use an agent)</option> : null}
              {(s.kind === "model" ? models : (s.options ?? [])).map((o) => (
                <option key={o} value={o}>{o || "(none)"}</option>
              ))}
            </SelectField>
          );
        if (s.kind === "number")
          return (
            <TextField
              key={s.key}
              label={s.label}
              type="number"
              value={value === undefined ? "" : String(value)}
              onChange={(e) => set(s.key, e.target.value === "" ? undefined : Number(e.target.value))}
            />
          );
        return <TextField key={s.key} label={s.label} hint={s.hint} value={String(value ?? "")} onChange={(e) => set(s.key, e.target.value)} />;
      })}
      <Button variant="danger" onClick={onDelete}>Delete node</Button>
    </div>
  );
}

export function EdgePanel({ edge, onChange, onDelete }: { edge: Edge; onChange: (condition: string) => void; onDelete: () => void }) {
  const condition = (edge.data as { condition?: string } | undefined)?.condition ?? "";
  return (
    <div>
      <h2 className="card-title">{edge.source} → {edge.target}</h2>
      <SelectField
        label="Follow when"
        value={condition}
        hint="true/false leave a condition node, timeout a human node, error any node (its error branch)."
        onChange={(e) => onChange(e.target.value)}
      >
        {BRANCHES.map((b) => (
          <option key={b} value={b}>{b || "the source completes"}</option>
        ))}
      </SelectField>
      <Button variant="danger" onClick={onDelete}>Delete edge</Button>
    </div>
  );
}
