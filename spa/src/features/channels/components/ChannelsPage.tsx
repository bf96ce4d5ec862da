import { useState, type FormEvent } from "react";
import { Alert, QueryError } from "@/components/ui/Alert";
import { Button } from "@/components/ui/Button";
import { Card } from "@/components/ui/Card";
import { CopyButton } from "@/components/ui/CopyButton";
import { SelectField, TextField } from "@/components/ui/Field";
import { PageHeader } from "@/components/ui/PageHeader";
import { Table } from "@/components/ui/Table";
import { useAgentChoices, useChannels, useCreateChannel, useDeleteChannel, type ChannelCreated } from "@/features/channels/api/channels";

type Kind = "telegram" | "whatsapp";
const blank = { agent_id: "", name: "", bot_token: "", phone_number_id: "", access_token: "", app_secret: "" };

function Secret({ label, value }: { label: string; value: string }) {
  return (
    <div className="secret">
      <code aria-label={label}>{value}</code>
      <CopyButton value={value} />
    </div>
  );
}

function Connect({ kind }: { kind: Kind }) {
  const agents = useAgentChoices();
  const create = useCreateChannel();
  const [form, setForm] = useState(blank);
  const [fresh, setFresh] = useState<ChannelCreated | null>(null);
  const set = (key: keyof typeof blank) => (e: { target: { value: string } }) => setForm({ ...form, [key]: e.target.value });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const common = { kind, agent_id: form.agent_id, name: form.name };
    const body =
      kind === "telegram"
        ? { ...common, bot_token: form.bot_token }
        : { ...common, phone_number_id: form.phone_number_id, access_token: form.access_token, app_secret: form.app_secret };
    create.mutate(body, { onSuccess: (c) => { setFresh(c); setForm(blank); } });
  };
  const url = fresh ? `${window.location.origin}${fresh.webhook_path}` : "";
  const title = kind === "telegram" ? "Connect Telegram" : "Connect WhatsApp";
  return (
    <Card title={title}>
      <form onSubmit={submit} aria-label={title}>
        <SelectField label="Agent" required value={form.agent_id} onChange={set("agent_id")}>
          <option value="">Choose an agent</option>
          {agents.data?.map((a) => <option key={a.id} value={a.id}>{a.name}</option>)}
        </SelectField>
        <TextField label="Channel name" required value={form.name} onChange={set("name")} />
        {kind === "telegram" ? (
          <TextField label="Bot token" type="password" autoComplete="off" required value={form.bot_token} onChange={set("bot_token")} hint="From @BotFather; stored encrypted, never shown again." />
        ) : (
          <>
            <TextField label="Phone number ID" required inputMode="numeric" value={form.phone_number_id} onChange={set("phone_number_id")} />
            <TextField label="Access token" type="password" autoComplete="off" required value={form.access_token} onChange={set("access_token")} />
            <TextField label="App secret" type="password" autoComplete="off" required value={form.app_secret} onChange={set("app_secret")} hint="Signs the webhooks Meta sends (X-Hub-Signature-256)." />
          </>
        )}
        <Button type="submit" variant="primary" busy={create.isPending}>Connect</Button>
      </form>
      {create.error ? <Alert tone="error">{create.error.message}</Alert> : null}
      {fresh ? (
        <div className="alert alert-warning" role="status">
          <strong>Paste these into {kind === "telegram" ? "Telegram" : "Meta's app dashboard"} now: the token is shown only once.</strong>
          <p>Webhook URL</p>
          <Secret label="Webhook URL" value={url} />
          {fresh.secret_token ? (
            <>
              <p>Secret token (setWebhook's <code>secret_token</code>)</p>
              <Secret label="Secret token" value={fresh.secret_token} />
            </>
          ) : null}
          {fresh.verify_token ? (
            <>
              <p>Verify token</p>
              <Secret label="Verify token" value={fresh.verify_token} />
            </>
          ) : null}
          <Button onClick={() => setFresh(null)}>Done</Button>
        </div>
      ) : null}
    </Card>
  );
}

export function ChannelsPage() {
  const channels = useChannels();
  const remove = useDeleteChannel();
  return (
    <>
      <PageHeader title="Channels" subtitle="Your agents on Telegram and WhatsApp: each chat is a conversation in your history." />
      <div className="grid">
        <Connect kind="telegram" />
        <Connect kind="whatsapp" />
      </div>
      <Card title="Connected channels">
        {channels.error ? <QueryError error={channels.error} /> : null}
        {channels.data ? (
          <Table
            caption="Channels"
            rows={channels.data}
            rowKey={(c) => c.id}
            empty="No channels yet."
            columns={[
              { key: "name", header: "Name", render: (c) => c.name },
              { key: "kind", header: "Channel", render: (c) => (c.kind === "telegram" ? "Telegram" : "WhatsApp") },
              { key: "url", header: "Webhook URL", render: (c) => <CopyButton value={`${window.location.origin}${c.webhook_path}`} label="Copy URL" /> },
              {
                key: "act",
                header: <span className="sr-only">Actions</span>,
                render: (c) => (
                  <Button variant="danger" onClick={() => confirm(`Disconnect ${c.name}?`) && remove.mutate(c.id)}>Disconnect</Button>
                ),
              },
            ]}
          />
        ) : null}
      </Card>
    </>
  );
}
