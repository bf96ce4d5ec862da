import { useState, type FormEvent } from "react";
import { Link, useNavigate } from "react-router";
import { Alert } from "@/components/ui/Alert";
import { Button } from "@/components/ui/Button";
import { Card } from "@/components/ui/Card";
import { TextField } from "@/components/ui/Field";
import { ApiError } from "@/lib/api/client";
import { homeFor } from "@/lib/auth/me";
import { useBrandTheme, useHostBrand } from "@/lib/brand";
import { useDocumentTitle } from "@/lib/useDocumentTitle";
import { useLogin } from "@/features/auth/api/auth";
import { isChallenge, useStartSession, type Challenge, type LoginOut } from "@/features/auth/api/identity";
import { MfaStep } from "@/features/auth/components/MfaStep";
import { OidcButtons } from "@/features/auth/components/OidcButtons";

function loginProblem(error: Error): string {
  const status = error instanceof ApiError ? error.status : 0;
  return status === 401 || status === 400 ? "Wrong email or password." : error.message;
}

/** A challenge handed over in the address by an OIDC sign-in (`#mfa_token=…&kind=…`). */
function challengeFromHash(): Challenge | null {
  const hash = new URLSearchParams(window.location.hash.slice(1));
  const token = hash.get("mfa_token");
  const kind = hash.get("kind");
  if (!token || (kind !== "verify" && kind !== "setup")) return null;
  window.history.replaceState(null, "", window.location.pathname);
  const factors = (hash.get("factors") ?? "totp").split(",").filter(Boolean);
  return { mfa_required: true, kind, mfa_token: token, expires_in: 300, factors };
}

export function LoginPage() {
  useDocumentTitle("Sign in");
  const brand = useHostBrand();
  useBrandTheme(brand.data);
  const login = useLogin();
  const start = useStartSession();
  const navigate = useNavigate();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [challenge, setChallenge] = useState<Challenge | null>(challengeFromHash);
  const signedIn = (out: LoginOut) => {
    start(out);
    navigate(homeFor(out.user.role), { replace: true });
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    login.mutate({ email, password }, { onSuccess: (out) => (isChallenge(out) ? setChallenge(out) : signedIn(out)) });
  };
  return (
    <main className="auth" id="main">
      <Card as="div">
        <h1 className="rose-text">{brand.data?.product_name ?? "Hirebuddha"}</h1>
        <p className="muted">{challenge ? "One more step." : "Sign in to your console."}</p>
        <hr className="rose-rule" />
        {challenge ? (
          <MfaStep challenge={challenge} onSession={signedIn} />
        ) : (
          <>
            <OidcButtons />
            <form onSubmit={submit} noValidate>
              <TextField label="Email" type="email" name="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} />
              <TextField label="Password" type="password" name="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
              {login.error ? <Alert tone="error">{loginProblem(login.error)}</Alert> : null}
              <Button type="submit" variant="primary" busy={login.isPending} className="wide">Sign in</Button>
            </form>
            <p className="muted"><Link to="/forgot-password">Forgot your password?</Link></p>
            <p className="muted">New here? <Link to="/register">Create a workspace</Link></p>
          </>
        )}
      </Card>
    </main>
  );
}
