import { useState, type FormEvent } from "react";
import { Alert } from "@/components/ui/Alert";
import { Button } from "@/components/ui/Button";
import { CopyButton } from "@/components/ui/CopyButton";
import { TextField } from "@/components/ui/Field";
import { ApiError } from "@/lib/api/client";
import { QrCode } from "@/features/auth/components/QrCode";
import {
  useMfaLoginConfirm,
  useMfaLoginSetup,
  useMfaVerify,
  usePasskeyLogin,
  usePasskeyLoginSetup,
  type Challenge,
  type LoginOut,
} from "@/features/auth/api/identity";
import { passkeyProblem, passkeysSupported } from "@/features/auth/lib/webauthn";

const codeProblem = (e: Error) => (e instanceof ApiError && e.status === 401 ? "That code is wrong, expired or already used." : e.message);

/** The recovery codes, shown once. */
export function RecoveryCodes({ codes, onDone }: { codes: string[]; onDone: () => void }) {
  return (
    <div className="alert alert-warning" role="status" data-testid="recovery-codes">
      <strong>Save these recovery codes now: each works once, and they are shown only here.</strong>
      <ul className="codes">
        {codes.map((c) => (
          <li key={c}><code>{c}</code></li>
        ))}
      </ul>
      <div className="secret">
        <CopyButton value={codes.join("\n")} label="Copy codes" />
        <Button variant="primary" onClick={onDone}>I saved them</Button>
      </div>
    </div>
  );
}

/** Enrolment: the QR code and its secret, then the first code. */
export function Enrol({ secret, uri, busy, error, onCode }: { secret: string; uri: string; busy: boolean; error: Error | null; onCode: (code: string) => void }) {
  const [code, setCode] = useState("");
  const submit = (e: FormEvent) => {
    e.preventDefault();
    onCode(code.trim());
  };
  return (
    <form onSubmit={submit} className="stack">
      <p>Scan this with an authenticator app (or type the key), then enter the code it shows.</p>
      <QrCode value={uri} label="QR code for your authenticator app" />
      <div className="secret">
        <code aria-label="Authenticator key" data-testid="mfa-secret">{secret}</code>
        <CopyButton value={secret} />
      </div>
      <TextField label="Code from the app" name="code" inputMode="numeric" autoComplete="one-time-code" required value={code} onChange={(e) => setCode(e.target.value)} />
      {error ? <Alert tone="error">{codeProblem(error)}</Alert> : null}
      <Button type="submit" variant="primary" busy={busy} disabled={!code.trim()}>Turn on</Button>
    </form>
  );
}

/** The second step of a sign-in: a code, or setting up the factor the workspace requires. */
export function MfaStep({ challenge, onSession }: { challenge: Challenge; onSession: (out: LoginOut) => void }) {
  const setup = useMfaLoginSetup();
  const confirm = useMfaLoginConfirm();
  const addPasskey = usePasskeyLoginSetup();
  const [codes, setCodes] = useState<{ list: string[]; session: LoginOut } | null>(null);
  const mfa_token = challenge.mfa_token;

  if (codes) return <RecoveryCodes codes={codes.list} onDone={() => onSession(codes.session)} />;
  if (challenge.kind === "setup") {
    if (!setup.data) {
      return (
        <div className="stack">
          <Alert tone="info" title="Your workspace requires a second factor">
            Set up an authenticator app{passkeysSupported() ? " or add a passkey" : ""} to continue.
          </Alert>
          {setup.error ? <Alert tone="error">{setup.error.message}</Alert> : null}
          <Button variant="primary" className="wide" busy={setup.isPending} onClick={() => setup.mutate(mfa_token)}>Set up an authenticator app</Button>
          {passkeysSupported() ? (
            <>
              {addPasskey.error ? <Alert tone="error">{passkeyProblem(addPasskey.error)}</Alert> : null}
              <Button
                variant="ghost"
                className="wide"
                busy={addPasskey.isPending}
                onClick={() => addPasskey.mutate({ mfa_token, name: "Passkey" }, { onSuccess: onSession })}
              >
                Add a passkey instead
              </Button>
            </>
          ) : null}
        </div>
      );
    }
    return (
      <Enrol
        secret={setup.data.secret}
        uri={setup.data.provisioning_uri}
        busy={confirm.isPending}
        error={confirm.error}
        onCode={(c) =>
          confirm.mutate({ mfa_token, code: c }, { onSuccess: (out) => out.session && setCodes({ list: out.recovery_codes, session: out.session }) })
        }
      />
    );
  }
  return <Verify challenge={challenge} onSession={onSession} />;
}

/** A code, or (when the account has one) a passkey. */
function Verify({ challenge, onSession }: { challenge: Challenge; onSession: (out: LoginOut) => void }) {
  const verify = useMfaVerify();
  const passkey = usePasskeyLogin();
  const [code, setCode] = useState("");
  const mfa_token = challenge.mfa_token;
  const factors = challenge.factors ?? ["totp"];
  const canPasskey = factors.includes("passkey") && passkeysSupported();
  const hasTotp = factors.includes("totp");
  const submit = (e: FormEvent) => {
    e.preventDefault();
    verify.mutate({ mfa_token, code: code.trim() }, { onSuccess: onSession });
  };
  return (
    <div className="stack">
      {canPasskey ? (
        <div className="stack">
          <p>Use the passkey you added to this account.</p>
          {passkey.error ? <Alert tone="error">{passkeyProblem(passkey.error)}</Alert> : null}
          <Button variant="primary" className="wide" busy={passkey.isPending} onClick={() => passkey.mutate(mfa_token, { onSuccess: onSession })}>
            Use a passkey
          </Button>
        </div>
      ) : null}
      {hasTotp || !canPasskey ? (
        <form onSubmit={submit} noValidate>
          <p>{canPasskey ? "Or enter" : "Enter"} the code from your authenticator app, or one of your recovery codes.</p>
          <TextField label="Authentication code" name="code" autoComplete="one-time-code" required value={code} onChange={(e) => setCode(e.target.value)} />
          {verify.error ? <Alert tone="error">{codeProblem(verify.error)}</Alert> : null}
          <Button type="submit" variant={canPasskey ? "ghost" : "primary"} busy={verify.isPending} className="wide" disabled={!code.trim()}>Verify</Button>
        </form>
      ) : null}
    </div>
  );
}
