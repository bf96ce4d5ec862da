import { useState, type FormEvent } from "react";
import { Link, useNavigate } from "react-router";
import { Alert } from "@/components/ui/Alert";
import { Button } from "@/components/ui/Button";
import { Card } from "@/components/ui/Card";
import { TextField } from "@/components/ui/Field";
import { useDocumentTitle } from "@/lib/useDocumentTitle";
import { useRegister } from "@/features/auth/api/auth";

export function RegisterPage() {
  useDocumentTitle("Create a workspace");
  const register = useRegister();
  const navigate = useNavigate();
  const [form, setForm] = useState({ full_name: "", email: "", password: "", workspace_name: "" });
  const set = (k: keyof typeof form) => (e: { target: { value: string } }) => setForm({ ...form, [k]: e.target.value });
  const [pending, setPending] = useState<string | null>(null);
  const tooShort = form.password.length > 0 && form.password.length < 8;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    register.mutate(
      { ...form, workspace_name: form.workspace_name || null },
      { onSuccess: (out) => ("access_token" in out ? navigate("/console/agents", { replace: true }) : setPending(out.email)) },
    );
  };
  return (
    <main className="auth" id="main">
      <Card as="div">
        <h1 className="rose-text">Create a workspace</h1>
        <p className="muted">You become its admin.</p>
        <hr className="rose-rule" />
        {pending ? (
          <Alert tone="success" title="Check your email">
            Your organisation already uses Hirebuddha. We sent a link to {pending}: open it to join its workspace.
          </Alert>
        ) : (
        <form onSubmit={submit} noValidate>
          <TextField label="Full name" name="full_name" autoComplete="name" required value={form.full_name} onChange={set("full_name")} />
          <TextField label="Email" type="email" name="email" autoComplete="email" required value={form.email} onChange={set("email")} />
          <TextField label="Password" type="password" name="password" autoComplete="new-password" required value={form.password} onChange={set("password")} error={tooShort ? "Use at least 8 characters." : null} />
          <TextField label="Workspace name" name="workspace_name" hint="Optional; you can rename it later." value={form.workspace_name} onChange={set("workspace_name")} />
          {register.error ? <Alert tone="error">{register.error.message}</Alert> : null}
          <Button type="submit" variant="primary" busy={register.isPending}>Create workspace</Button>
        </form>
        )}
        <p className="muted">Already have an account? <Link to="/login">Sign in</Link></p>
      </Card>
    </main>
  );
}
