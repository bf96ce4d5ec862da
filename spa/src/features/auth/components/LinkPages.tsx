// The pages the links in our mails open, and the stops of an OIDC sign-in (docs/identity.md).
import { useEffect, useRef, useState, type FormEvent, type ReactNode } from "react";
import { Link, useNavigate, useSearchParams } from "react-router";
import { Alert } from "@/components/ui/Alert";
import { Button } from "@/components/ui/Button";
import { Card } from "@/components/ui/Card";
import { TextField } from "@/components/ui/Field";
import { ApiError } from "@/lib/api/client";
import { homeFor } from "@/lib/auth/me";
import { refreshToken } from "@/lib/auth/session";
import { useDocumentTitle } from "@/lib/useDocumentTitle";
import {
  isChallenge,
  useAcceptInvitation,
  useForgotPassword,
  useLinkAccount,
  useResetPassword,
  useStartSession,
  useVerifyEmail,
  type Challenge,
  type LoginOut,
} from "@/features/auth/api/identity";
import { MfaStep } from "@/features/auth/components/MfaStep";

function AuthCard({ title, lead, children }: { title: string; lead?: ReactNode; children: ReactNode }) {
  useDocumentTitle(title);
  return (
    <main className="auth" id="main">
      <Card as="div">
        <h1 className="rose-text">{title}</h1>
        {lead ? <p className="muted">{lead}</p> : null}
        <hr className="rose-rule" />
        {children}
      </Card>
    </main>
  );
}

const linkProblem = (e: Error) =>
  e instanceof ApiError && e.status === 400 ? "This link is unknown, expired or already used. Ask for a new one." : e.message;

/** The token of a link: in the query (mailed links) or the fragment (OIDC hand-overs). */
function useLinkToken(): string {
  const [params] = useSearchParams();
  const [fromHash] = useState(() => new URLSearchParams(window.location.hash.slice(1)).get("token"));
  return params.get("token") ?? fromHash ?? "";
}

function useSignedIn() {
  const start = useStartSession();
  const navigate = useNavigate();
  return (out: LoginOut) => {
    start(out);
    navigate(homeFor(out.user.role), { replace: true });
  };
}

export function ForgotPasswordPage() {
  const forgot = useForgotPassword();
  const [email, setEmail] = useState("");
  const submit = (e: FormEvent) => {
    e.preventDefault();
    forgot.mutate(email);
  };
  return (
    <AuthCard title="Forgot your password?" lead="We mail you a link to choose a new one.">
      {forgot.isSuccess ? (
        <Alert tone="success" title="Check your email">If {email} has an account, a link is on its way. It works once, for 15 minutes.</Alert>
      ) : (
        <form onSubmit={submit} noValidate>
          <TextField label="Email" type="email" name="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} />
          {forgot.error ? <Alert tone="error">{forgot.error.message}</Alert> : null}
          <Button type="submit" variant="primary" busy={forgot.isPending} className="wide">Send the link</Button>
        </form>
      )}
      <p className="muted"><Link to="/login">Back to sign in</Link></p>
    </AuthCard>
  );
}

export function ResetPasswordPage() {
  const token = useLinkToken();
  const reset = useResetPassword();
  const [password, setPassword] = useState("");
  const tooShort = password.length > 0 && password.length < 8;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    reset.mutate({ token, password });
  };
  return (
    <AuthCard title="Choose a new password" lead="Every device signed in to your account is signed out.">
      {reset.isSuccess ? (
        <Alert tone="success" title="Password changed">
          <Link to="/login">Sign in</Link> with your new password.
        </Alert>
      ) : (
        <form onSubmit={submit} noValidate>
          <TextField label="New password" type="password" name="password" autoComplete="new-password" required value={password} onChange={(e) => setPassword(e.target.value)} error={tooShort ? "Use at least 8 characters." : null} />
          {reset.error ? <Alert tone="error">{linkProblem(reset.error)}</Alert> : null}
          <Button type="submit" variant="primary" busy={reset.isPending} disabled={password.length < 8 || !token} className="wide">Set password</Button>
        </form>
      )}
    </AuthCard>
  );
}

export function VerifyEmailPage() {
  const token = useLinkToken();
  const verify = useVerifyEmail();
  const sent = useRef(false);
  useEffect(() => {
    if (token && !sent.current) {
      sent.current = true; // a link works once: never send it twice (StrictMode runs effects twice)
      verify.mutate(token);
    }
  }, [token, verify]);
  return (
    <AuthCard title="Confirm your email">
      {verify.isSuccess ? (
        <Alert tone="success" title="Email confirmed">{verify.data.email} is confirmed. <Link to="/">Continue</Link></Alert>
      ) : verify.error ? (
        <Alert tone="error">{linkProblem(verify.error)}</Alert>
      ) : (
        <p className="muted" role="status">{token ? "Confirming…" : "This link has no token."}</p>
      )}
    </AuthCard>
  );
}

export function AcceptInvitationPage() {
  const token = useLinkToken();
  const accept = useAcceptInvitation();
  const signedIn = useSignedIn();
  const [form, setForm] = useState({ full_name: "", password: "" });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    accept.mutate({ token, ...form }, { onSuccess: signedIn });
  };
  return (
    <AuthCard title="Join your team" lead="Choose your name and a password to accept the invitation.">
      <form onSubmit={submit} noValidate>
        <TextField label="Full name" name="full_name" autoComplete="name" required value={form.full_name} onChange={(e) => setForm({ ...form, full_name: e.target.value })} />
        <TextField label="Password" type="password" name="password" autoComplete="new-password" required value={form.password} onChange={(e) => setForm({ ...form, password: e.target.value })} error={form.password && form.password.length < 8 ? "Use at least 8 characters." : null} />
        {accept.error ? <Alert tone="error">{linkProblem(accept.error)}</Alert> : null}
        <Button type="submit" variant="primary" busy={accept.isPending} disabled={!form.full_name.trim() || form.password.length < 8} className="wide">Accept and sign in</Button>
      </form>
    </AuthCard>
  );
}

export function LinkAccountPage() {
  const token = useLinkToken();
  const link = useLinkAccount();
  const signedIn = useSignedIn();
  const [password, setPassword] = useState("");
  const [challenge, setChallenge] = useState<Challenge | null>(null);
  useEffect(() => {
    if (window.location.hash) window.history.replaceState(null, "", window.location.pathname);
  }, []);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    link.mutate({ token, password }, { onSuccess: (out) => (isChallenge(out) ? setChallenge(out) : signedIn(out)) });
  };
  if (challenge) {
    return (
      <AuthCard title="One more step">
        <MfaStep challenge={challenge} onSession={signedIn} />
      </AuthCard>
    );
  }
  return (
    <AuthCard title="Link your account" lead="An account with this email exists. Enter its password once to sign in with your provider from now on.">
      <form onSubmit={submit} noValidate>
        <TextField label="Password" type="password" name="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
        {link.error ? (
          <Alert tone="error">{link.error instanceof ApiError && link.error.status === 401 ? "Wrong password." : linkProblem(link.error)}</Alert>
        ) : null}
        <Button type="submit" variant="primary" busy={link.isPending} disabled={!password || !token} className="wide">Link and sign in</Button>
      </form>
      <p className="muted"><Link to="/login">Cancel</Link></p>
    </AuthCard>
  );
}

/** The end of an OIDC sign-in: the callback set the refresh cookie; trade it for a token. */
export function OidcDonePage() {
  const navigate = useNavigate();
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    void refreshToken().then((token) => (token ? navigate("/", { replace: true }) : setFailed(true)));
  }, [navigate]);
  return (
    <AuthCard title="Signing you in">
      {failed ? <Alert tone="error">The sign-in did not complete. <Link to="/login">Try again</Link></Alert> : <p className="muted" role="status">One moment…</p>}
    </AuthCard>
  );
}
