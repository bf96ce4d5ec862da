import { useState, type FormEvent } from "react";
import { Alert, QueryError } from "@/components/ui/Alert";
import { Badge, StatusBadge } from "@/components/ui/Badge";
import { Button } from "@/components/ui/Button";
import { Card } from "@/components/ui/Card";
import { CopyButton } from "@/components/ui/CopyButton";
import { SelectField, TextField } from "@/components/ui/Field";
import { PageHeader } from "@/components/ui/PageHeader";
import { Table } from "@/components/ui/Table";
import { formatDate } from "@/lib/format";
import { useMe } from "@/lib/auth/me";
import {
  useClaimDomain,
  useDomains,
  useGrantSupport,
  useInvitations,
  useInvite,
  useRequireMfa,
  useRevokeInvitation,
  useRevokeSupport,
  useSupportGrants,
  useWithdrawDomain,
} from "@/features/auth/api/identity";

function Invitations() {
  const list = useInvitations();
  const invite = useInvite();
  const revoke = useRevokeInvitation();
  const [form, setForm] = useState<{ email: string; role: "user" | "tenant_admin" }>({ email: "", role: "user" });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    invite.mutate(form, { onSuccess: () => setForm({ ...form, email: "" }) });
  };
  return (
    <Card title="Invitations">
      <form className="inline-form" onSubmit={submit}>
        <TextField label="Email" type="email" name="invite_email" required value={form.email} onChange={(e) => setForm({ ...form, email: e.target.value })} />
        <SelectField label="Role" name="invite_role" value={form.role} onChange={(e) => setForm({ ...form, role: e.target.value as "user" | "tenant_admin" })}>
          <option value="user">User</option>
          <option value="tenant_admin">Tenant admin</option>
        </SelectField>
        <Button type="submit" variant="primary" busy={invite.isPending} disabled={!form.email}>Send invitation</Button>
      </form>
      {invite.isSuccess ? <Alert tone="success">Invitation mailed. The link works once, for 7 days.</Alert> : null}
      {invite.error ? <Alert tone="error">{invite.error.message}</Alert> : null}
      {list.error ? <QueryError error={list.error} /> : null}
      {list.data ? (
        <Table
          caption="Invitations"
          rows={list.data}
          rowKey={(i) => i.id}
          empty="No invitations yet."
          columns={[
            { key: "email", header: "Email", render: (i) => i.email },
            { key: "role", header: "Role", render: (i) => i.role.replace("_", " ") },
            { key: "status", header: "Status", render: (i) => <StatusBadge status={i.status} /> },
            { key: "expires", header: "Expires", render: (i) => formatDate(i.expires_at) },
            {
              key: "act",
              header: <span className="sr-only">Actions</span>,
              render: (i) => (i.status === "pending" ? <Button variant="danger" onClick={() => revoke.mutate(i.id)}>Withdraw</Button> : null),
            },
          ]}
        />
      ) : null}
    </Card>
  );
}

function Domains() {
  const list = useDomains();
  const claim = useClaimDomain();
  const withdraw = useWithdrawDomain();
  const [domain, setDomain] = useState("");
  const submit = (e: FormEvent) => {
    e.preventDefault();
    claim.mutate(domain.trim(), { onSuccess: () => setDomain("") });
  };
  return (
    <Card title="Email domains">
      <p className="muted">
        People who sign up with an address at a verified domain join this workspace as users. Publish the TXT record shown, then the platform verifies it.
      </p>
      <form className="inline-form" onSubmit={submit}>
        <TextField label="Domain" name="domain" placeholder="example.com" required value={domain} onChange={(e) => setDomain(e.target.value)} />
        <Button type="submit" variant="primary" busy={claim.isPending} disabled={!domain.trim()}>Claim</Button>
      </form>
      {claim.error ? <Alert tone="error">{claim.error.message}</Alert> : null}
      {list.error ? <QueryError error={list.error} /> : null}
      {list.data ? (
        <Table
          caption="Domain claims"
          rows={list.data}
          rowKey={(d) => d.id}
          empty="No domains claimed."
          columns={[
            { key: "domain", header: "Domain", render: (d) => d.domain },
            { key: "status", header: "Status", render: (d) => <Badge tone={d.verified_at ? "good" : "warn"}>{d.verified_at ? "verified" : "pending"}</Badge> },
            {
              key: "txt",
              header: "TXT record",
              render: (d) => (
                <span className="secret">
                  <code>{d.txt_name}</code> <code>{d.txt_value}</code> <CopyButton value={d.txt_value} />
                </span>
              ),
            },
            { key: "act", header: <span className="sr-only">Actions</span>, render: (d) => <Button variant="danger" onClick={() => withdraw.mutate(d.id)}>Remove</Button> },
          ]}
        />
      ) : null}
    </Card>
  );
}

function SignInRules() {
  const me = useMe();
  const set = useRequireMfa();
  const required = me.data?.tenant.require_mfa ?? false;
  return (
    <Card title="Sign-in rules">
      <label className="check">
        <input type="checkbox" name="require_mfa" checked={required} disabled={set.isPending || !me.data} onChange={(e) => set.mutate(e.target.checked)} />
        Require two-step sign-in for every member (they set it up at their next sign-in)
      </label>
      {set.error ? <Alert tone="error">{set.error.message}</Alert> : null}
    </Card>
  );
}

function SupportAccess() {
  const me = useMe();
  const list = useSupportGrants();
  const grant = useGrantSupport();
  const revoke = useRevokeSupport();
  const [hours, setHours] = useState("24");
  if (!me.data?.tenant.partner_id) return null;
  return (
    <Card title="Partner support access">
      <p className="muted">Let your partner read your agents and conversations for a while, to help you. Every read is in your audit log.</p>
      <form
        className="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          grant.mutate(Number(hours));
        }}
      >
        <SelectField label="For" name="support_hours" value={hours} onChange={(e) => setHours(e.target.value)}>
          <option value="1">1 hour</option>
          <option value="24">1 day</option>
          <option value="168">1 week</option>
        </SelectField>
        <Button type="submit" variant="primary" busy={grant.isPending}>Grant access</Button>
      </form>
      {grant.error ? <Alert tone="error">{grant.error.message}</Alert> : null}
      {list.data ? (
        <Table
          caption="Support grants"
          rows={list.data}
          rowKey={(g) => g.id}
          empty="No grants yet."
          columns={[
            { key: "created", header: "Granted", render: (g) => formatDate(g.created_at) },
            { key: "expires", header: "Until", render: (g) => formatDate(g.revoked_at ?? g.expires_at) },
            { key: "status", header: "Status", render: (g) => <StatusBadge status={g.active ? "active" : g.revoked_at ? "revoked" : "expired"} /> },
            { key: "act", header: <span className="sr-only">Actions</span>, render: (g) => (g.active ? <Button variant="danger" onClick={() => revoke.mutate(g.id)}>Revoke</Button> : null) },
          ]}
        />
      ) : null}
    </Card>
  );
}

export function AccessPage() {
  return (
    <>
      <PageHeader title="Access" subtitle="Who may join this workspace, and how they sign in." />
      <div className="stack">
        <Invitations />
        <Domains />
        <SignInRules />
        <SupportAccess />
      </div>
    </>
  );
}
