import { useState, type FormEvent } from "react";
import { Alert, QueryError } from "@/components/ui/Alert";
import { Badge } from "@/components/ui/Badge";
import { Button } from "@/components/ui/Button";
import { Card } from "@/components/ui/Card";
import { TextField } from "@/components/ui/Field";
import { PageHeader } from "@/components/ui/PageHeader";
import { ApiError } from "@/lib/api/client";
import { useMe } from "@/lib/auth/me";
import {
  useChangeEmail,
  useChangePassword,
  useMfaConfirm,
  useMfaDisable,
  useMfaSetup,
  useMfaStatus,
  useAddPasskey,
  usePasskeys,
  useRemovePasskey,
  useRename,
  useResendVerification,
} from "@/features/auth/api/identity";
import { Enrol, RecoveryCodes } from "@/features/auth/components/MfaStep";
import { passkeyProblem, passkeysSupported } from "@/features/auth/lib/webauthn";
import { formatDate } from "@/lib/format";

const wrongPassword = (e: Error) => (e instanceof ApiError && e.status === 401 ? "The current password is not correct." : e.message);

function NameCard({ name }: { name: string }) {
  const rename = useRename();
  const [value, setValue] = useState(name);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    rename.mutate(value.trim());
  };
  return (
    <Card title="Name">
      <form className="inline-form" onSubmit={submit}>
        <TextField label="Full name" name="full_name" autoComplete="name" required value={value} onChange={(e) => setValue(e.target.value)} />
        <Button type="submit" variant="primary" busy={rename.isPending} disabled={!value.trim() || value.trim() === name}>Save</Button>
      </form>
      {rename.isSuccess ? <Alert tone="success">Saved.</Alert> : null}
      {rename.error ? <Alert tone="error">{rename.error.message}</Alert> : null}
    </Card>
  );
}

function EmailCard({ email, verified }: { email: string; verified: boolean }) {
  const change = useChangeEmail();
  const resend = useResendVerification();
  const [form, setForm] = useState({ email: "", password: "" });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    change.mutate(form, { onSuccess: () => setForm({ email: "", password: "" }) });
  };
  return (
    <Card title="Email" actions={<Badge tone={verified ? "good" : "warn"}>{verified ? "verified" : "not verified"}</Badge>}>
      <p>Signed in as <strong>{email}</strong>.</p>
      {!verified ? (
        <p>
          <Button busy={resend.isPending} onClick={() => resend.mutate()}>Send the confirmation link again</Button>
          {resend.isSuccess ? <span className="muted"> Sent.</span> : null}
        </p>
      ) : null}
      <form onSubmit={submit} noValidate>
        <TextField label="New email" type="email" name="new_email" autoComplete="email" required value={form.email} onChange={(e) => setForm({ ...form, email: e.target.value })} />
        <TextField label="Current password" type="password" name="email_password" autoComplete="current-password" required value={form.password} onChange={(e) => setForm({ ...form, password: e.target.value })} />
        {change.isSuccess ? <Alert tone="success" title="Check the new address">It changes when you open the link we sent to {change.data.email}.</Alert> : null}
        {change.error ? <Alert tone="error">{wrongPassword(change.error)}</Alert> : null}
        <Button type="submit" variant="primary" busy={change.isPending} disabled={!form.email || !form.password}>Change email</Button>
      </form>
    </Card>
  );
}

function PasswordCard() {
  const change = useChangePassword();
  const [form, setForm] = useState({ old_password: "", new_password: "" });
  const tooShort = form.new_password.length > 0 && form.new_password.length < 8;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    change.mutate(form, { onSuccess: () => setForm({ old_password: "", new_password: "" }) });
  };
  return (
    <Card title="Password">
      <form onSubmit={submit} noValidate>
        <TextField label="Current password" type="password" name="old_password" autoComplete="current-password" required value={form.old_password} onChange={(e) => setForm({ ...form, old_password: e.target.value })} />
        <TextField label="New password" type="password" name="new_password" autoComplete="new-password" required value={form.new_password} onChange={(e) => setForm({ ...form, new_password: e.target.value })} error={tooShort ? "Use at least 8 characters." : null} />
        {change.isSuccess ? <Alert tone="success">Password changed. Your other devices are signed out.</Alert> : null}
        {change.error ? <Alert tone="error">{wrongPassword(change.error)}</Alert> : null}
        <Button type="submit" variant="primary" busy={change.isPending} disabled={!form.old_password || form.new_password.length < 8}>Change password</Button>
      </form>
    </Card>
  );
}

function MfaCard() {
  const status = useMfaStatus();
  const setup = useMfaSetup();
  const confirm = useMfaConfirm();
  const disable = useMfaDisable();
  const [codes, setCodes] = useState<string[] | null>(null);
  const [password, setPassword] = useState("");
  const on = status.data?.enabled;
  return (
    <Card title="Two-step sign-in" actions={status.data ? <Badge tone={on ? "good" : "neutral"}>{on ? "on" : "off"}</Badge> : undefined}>
      {status.error ? <QueryError error={status.error} /> : null}
      {codes ? (
        <RecoveryCodes codes={codes} onDone={() => setCodes(null)} />
      ) : on ? (
        <>
          <p>An authenticator app code is asked at every sign-in. Recovery codes left: <strong>{status.data?.recovery_codes_left}</strong>.</p>
          {status.data?.required_by_tenant ? (
            <Alert tone="info">Your workspace requires it, so it cannot be turned off.</Alert>
          ) : (
            <form
              className="inline-form"
              onSubmit={(e) => {
                e.preventDefault();
                disable.mutate(password, { onSuccess: () => setPassword("") });
              }}
            >
              <TextField label="Current password" type="password" name="mfa_password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
              <Button type="submit" variant="danger" busy={disable.isPending} disabled={!password}>Turn off</Button>
            </form>
          )}
          {disable.error ? <Alert tone="error">{wrongPassword(disable.error)}</Alert> : null}
        </>
      ) : setup.data ? (
        <Enrol
          secret={setup.data.secret}
          uri={setup.data.provisioning_uri}
          busy={confirm.isPending}
          error={confirm.error}
          onCode={(code) => confirm.mutate(code, { onSuccess: (out) => setCodes(out.recovery_codes) })}
        />
      ) : (
        <>
          <p>Protect your account with a code from an authenticator app at every sign-in.</p>
          {setup.error ? <Alert tone="error">{setup.error.message}</Alert> : null}
          <Button variant="primary" busy={setup.isPending} onClick={() => setup.mutate()}>Set up</Button>
        </>
      )}
    </Card>
  );
}

/** Passkeys: a second factor beside (or instead of) the authenticator app. */
function PasskeysCard() {
  const list = usePasskeys();
  const add = useAddPasskey();
  const remove = useRemovePasskey();
  const [name, setName] = useState("");
  const supported = passkeysSupported();
  const count = list.data?.length ?? 0;
  return (
    <Card title="Passkeys" actions={list.data ? <Badge tone={count ? "good" : "neutral"}>{count ? `${count} added` : "none"}</Badge> : undefined}>
      {list.error ? <QueryError error={list.error} /> : null}
      <p>A passkey (your device's fingerprint, face or PIN, or a security key) can be used instead of an app code at sign-in.</p>
      {list.data && list.data.length ? (
        <ul className="passkeys" aria-label="Your passkeys">
          {list.data.map((p) => (
            <li key={p.id}>
              <span>
                <strong>{p.name}</strong>
                <br />
                <span className="meta">Added {formatDate(p.created_at)} · {p.last_used_at ? `last used ${formatDate(p.last_used_at)}` : "not used yet"}</span>
              </span>
              <Button variant="danger" busy={remove.isPending && remove.variables === p.id} onClick={() => remove.mutate(p.id)} aria-label={`Remove passkey ${p.name}`}>
                Remove
              </Button>
            </li>
          ))}
        </ul>
      ) : null}
      {remove.error ? <Alert tone="error">{remove.error.message}</Alert> : null}
      {supported ? (
        <form
          className="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            add.mutate(name.trim(), { onSuccess: () => setName("") });
          }}
        >
          <TextField label="Passkey name" name="passkey_name" placeholder="e.g. My laptop" maxLength={100} required value={name} onChange={(e) => setName(e.target.value)} />
          <Button type="submit" variant="primary" busy={add.isPending} disabled={!name.trim()}>Add a passkey</Button>
        </form>
      ) : (
        <Alert tone="info">This browser cannot create passkeys.</Alert>
      )}
      {add.error ? <Alert tone="error">{passkeyProblem(add.error)}</Alert> : null}
    </Card>
  );
}

export function ProfilePage() {
  const me = useMe();
  if (me.error) return <QueryError error={me.error} />;
  if (!me.data) return null;
  const user = me.data.user;
  return (
    <>
      <PageHeader title="Profile and security" subtitle="Your name, email, password and second factor." />
      <div className="stack">
        <NameCard key={user.full_name} name={user.full_name} />
        <EmailCard email={user.email} verified={user.is_verified} />
        <PasswordCard />
        <MfaCard />
        <PasskeysCard />
      </div>
    </>
  );
}
