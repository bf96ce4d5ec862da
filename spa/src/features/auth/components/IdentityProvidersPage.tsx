import { useState, type FormEvent } from "react";
import { Alert, QueryError } from "@/components/ui/Alert";
import { Badge } from "@/components/ui/Badge";
import { Button } from "@/components/ui/Button";
import { Card } from "@/components/ui/Card";
import { CopyButton } from "@/components/ui/CopyButton";
import { SelectField, TextField } from "@/components/ui/Field";
import { PageHeader } from "@/components/ui/PageHeader";
import { Table } from "@/components/ui/Table";
import {
  useCreateIdentityProvider,
  useDeleteIdentityProvider,
  useIdentityProviders,
  useUpdateIdentityProvider,
} from "@/features/auth/api/identity";

type Kind = "google" | "microsoft" | "oidc";
const PRESETS: Record<Kind, { slug: string; display_name: string; issuer: string }> = {
  google: { slug: "google", display_name: "Google", issuer: "https://accounts.google.com" },
  microsoft: { slug: "microsoft", display_name: "Microsoft", issuer: "https://login.microsoftonline.com/common/v2.0" },
  oidc: { slug: "", display_name: "", issuer: "" },
};

export function IdentityProvidersPage() {
  const list = useIdentityProviders();
  const create = useCreateIdentityProvider();
  const update = useUpdateIdentityProvider();
  const remove = useDeleteIdentityProvider();
  const [form, setForm] = useState({ kind: "google" as Kind, ...PRESETS.google, client_id: "", client_secret: "" });
  const set = (k: keyof typeof form) => (e: { target: { value: string } }) => setForm({ ...form, [k]: e.target.value });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate({ ...form, enabled: true }, { onSuccess: () => setForm({ ...form, client_id: "", client_secret: "" }) });
  };
  return (
    <>
      <PageHeader title="Identity providers" subtitle="Sign-in with Google, Microsoft or another OpenID provider." />
      <Card title="Add a provider">
        <form onSubmit={submit} noValidate>
          <SelectField label="Kind" name="kind" value={form.kind} onChange={(e) => setForm({ ...form, kind: e.target.value as Kind, ...PRESETS[e.target.value as Kind] })}>
            <option value="google">Google</option>
            <option value="microsoft">Microsoft</option>
            <option value="oidc">Other OpenID provider</option>
          </SelectField>
          <TextField label="Button label" name="display_name" required value={form.display_name} onChange={set("display_name")} />
          <TextField label="Slug" name="slug" required hint="In the callback URL: /api/v1/auth/oidc/<slug>/callback" value={form.slug} onChange={set("slug")} />
          <TextField label="Issuer URL" name="issuer" type="url" required value={form.issuer} onChange={set("issuer")} />
          <TextField label="Client ID" name="client_id" required value={form.client_id} onChange={set("client_id")} />
          <TextField label="Client secret" name="client_secret" type="password" autoComplete="off" required hint="Stored encrypted; never shown again." value={form.client_secret} onChange={set("client_secret")} />
          {create.error ? <Alert tone="error">{create.error.message}</Alert> : null}
          <Button type="submit" variant="primary" busy={create.isPending} disabled={!form.slug || !form.issuer || !form.client_id || !form.client_secret}>Add provider</Button>
        </form>
      </Card>
      <Card title="Providers">
        {list.error ? <QueryError error={list.error} /> : null}
        {list.data ? (
          <Table
            caption="Identity providers"
            rows={list.data}
            rowKey={(p) => p.id}
            empty="None yet: people sign in with a password only."
            columns={[
              { key: "name", header: "Provider", render: (p) => <strong>{p.display_name}</strong> },
              { key: "issuer", header: "Issuer", render: (p) => <code>{p.issuer}</code> },
              { key: "client", header: "Client", render: (p) => <code>{p.client_id}</code> },
              { key: "secret", header: "Secret", render: (p) => <code>{p.secret_hint}</code> },
              { key: "callback", header: "Callback to register", render: (p) => <span className="secret"><code>{p.redirect_uri}</code><CopyButton value={p.redirect_uri} /></span> },
              { key: "status", header: "Status", render: (p) => <Badge tone={p.enabled ? "good" : "neutral"}>{p.enabled ? "enabled" : "disabled"}</Badge> },
              {
                key: "act",
                header: <span className="sr-only">Actions</span>,
                render: (p) => (
                  <span className="secret">
                    <Button onClick={() => update.mutate({ id: p.id, patch: { enabled: !p.enabled } })}>{p.enabled ? "Disable" : "Enable"}</Button>
                    <Button variant="danger" onClick={() => confirm(`Remove ${p.display_name}? Its sign-ins stop working.`) && remove.mutate(p.id)}>Remove</Button>
                  </span>
                ),
              },
            ]}
          />
        ) : null}
      </Card>
    </>
  );
}
