import { useEffect, useRef, useState, type FormEvent } from "react";
import { Alert, QueryError } from "@/components/ui/Alert";
import { Button } from "@/components/ui/Button";
import { Card } from "@/components/ui/Card";
import { CopyButton } from "@/components/ui/CopyButton";
import { SelectField, TextArea, TextField } from "@/components/ui/Field";
import { PageHeader } from "@/components/ui/PageHeader";
import { Table } from "@/components/ui/Table";
import { previewLive, snippet, useAgentChoices, useCreateWidget, useDeleteWidget, useWidgets, type Widget } from "@/features/channels/api/channels";

const blank = { agent_id: "", name: "", origins: "", greeting: "Hi! How can I help?", title: "", primary_color: "#97534c", text_color: "#ffffff", rate: "10" };

/** What the bubble and its panel will look like on the customer's page, as you type. */
function WidgetPreview({ title, greeting, primary, text }: { title: string; greeting: string; primary: string; text: string }) {
  return (
    <div className="widget-preview" aria-label="Widget preview" role="img">
      <div className="widget-preview-panel">
        <div className="widget-preview-head" ref={(el) => { el?.style.setProperty("background", primary); el?.style.setProperty("color", text); }}>
          {title || "Chat"}
        </div>
        <p className="widget-preview-msg">{greeting || "…"}</p>
      </div>
      <span className="widget-preview-bubble" ref={(el) => { el?.style.setProperty("background", primary); el?.style.setProperty("color", text); }}>
        Chat
      </span>
    </div>
  );
}

export function WidgetsPage() {
  const widgets = useWidgets();
  const agents = useAgentChoices();
  const create = useCreateWidget();
  const remove = useDeleteWidget();
  const [form, setForm] = useState(blank);
  const [fresh, setFresh] = useState<Widget | null>(null);
  const live = useRef<(() => void) | null>(null);
  useEffect(() => () => live.current?.(), []); // leaving the page removes a live preview
  const set = (key: keyof typeof blank) => (e: { target: { value: string } }) => setForm({ ...form, [key]: e.target.value });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate(
      {
        agent_id: form.agent_id,
        name: form.name,
        allowed_origins: form.origins.split(/[\s,]+/).filter(Boolean),
        greeting: form.greeting,
        title: form.title,
        primary_color: form.primary_color,
        text_color: form.text_color,
        visitor_rate_per_min: Number(form.rate) || 10,
        key_rate_per_min: 120,
        is_active: true,
      },
      { onSuccess: (w) => { setFresh(w); setForm(blank); } },
    );
  };
  const agentName = (id: string) => agents.data?.find((a) => a.id === id)?.name ?? "—";
  return (
    <>
      <PageHeader title="Widgets" subtitle="A chat bubble for your website: one script tag, answered by one of your agents." />
      <div className="grid">
        <Card title="Create a widget">
          <form onSubmit={submit}>
            <SelectField label="Agent" required value={form.agent_id} onChange={set("agent_id")}>
              <option value="">Choose an agent</option>
              {agents.data?.map((a) => <option key={a.id} value={a.id}>{a.name}</option>)}
            </SelectField>
            <TextField label="Widget name" required value={form.name} onChange={set("name")} placeholder="e.g. Careers page" />
            <TextArea
              label="Allowed origins"
              required
              rows={2}
              value={form.origins}
              onChange={set("origins")}
              placeholder="https://www.example.com"
              hint="The sites it may run on, one per line (scheme://host[:port]). Anywhere else it is refused."
            />
            <TextField label="Title" value={form.title} onChange={set("title")} placeholder="Shown in the panel's header" />
            <TextField label="Greeting" value={form.greeting} onChange={set("greeting")} />
            <div className="inline-form">
              <TextField label="Primary colour" type="color" value={form.primary_color} onChange={set("primary_color")} />
              <TextField label="Text colour" type="color" value={form.text_color} onChange={set("text_color")} />
            </div>
            <TextField label="Messages per visitor per minute" type="number" min={1} max={10000} value={form.rate} onChange={set("rate")} />
            <Button type="submit" variant="primary" busy={create.isPending}>Create widget</Button>
          </form>
          {create.error ? <Alert tone="error">{create.error.message}</Alert> : null}
        </Card>
        <Card title="Preview">
          <WidgetPreview title={form.title || form.name} greeting={form.greeting} primary={form.primary_color} text={form.text_color} />
        </Card>
      </div>
      {fresh ? (
        <Card title={`Add “${fresh.name}” to your site`}>
          <p className="muted">Paste this before <code>&lt;/body&gt;</code> on each page of the allowed origins.</p>
          <div className="secret">
            <code aria-label="Widget snippet">{snippet(fresh.public_key)}</code>
            <CopyButton value={snippet(fresh.public_key)} />
          </div>
        </Card>
      ) : null}
      <Card title="Your widgets">
        {widgets.error ? <QueryError error={widgets.error} /> : null}
        {widgets.data ? (
          <Table
            caption="Widgets"
            rows={widgets.data}
            rowKey={(w) => w.id}
            empty="No widgets yet."
            columns={[
              { key: "name", header: "Name", render: (w) => w.name },
              { key: "agent", header: "Agent", render: (w) => agentName(w.agent_id) },
              { key: "origins", header: "Allowed origins", render: (w) => w.allowed_origins.join(", ") },
              { key: "snippet", header: "Snippet", render: (w) => <CopyButton value={snippet(w.public_key)} label="Copy snippet" /> },
              {
                key: "try",
                header: <span className="sr-only">Preview</span>,
                render: (w) => (
                  <Button onClick={() => { live.current = previewLive(w.public_key); }} aria-label={`Try ${w.name} live`}>
                    Try it live
                  </Button>
                ),
              },
              {
                key: "act",
                header: <span className="sr-only">Actions</span>,
                render: (w) => (
                  <Button variant="danger" onClick={() => confirm(`Delete widget ${w.name}? It stops loading on your site.`) && remove.mutate(w.id)}>
                    Delete
                  </Button>
                ),
              },
            ]}
          />
        ) : null}
      </Card>
    </>
  );
}
