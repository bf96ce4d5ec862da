import { useState, type FormEvent } from "react";
import { Alert, QueryError } from "@/components/ui/Alert";
import { StatusBadge } from "@/components/ui/Badge";
import { Button } from "@/components/ui/Button";
import { Card } from "@/components/ui/Card";
import { SelectField, TextField } from "@/components/ui/Field";
import { PageHeader } from "@/components/ui/PageHeader";
import { Table } from "@/components/ui/Table";
import { useMe } from "@/lib/auth/me";
import { useInviteUser, usePatchUser, useUsers } from "@/features/tenant/api/tenant";

export function UsersPage() {
  const users = useUsers();
  const me = useMe();
  const invite = useInviteUser();
  const patch = usePatchUser();
  const blank = { email: "", full_name: "", password: "", role: "user" };
  const [f, setF] = useState(blank);
  const set = (k: keyof typeof f) => (e: { target: { value: string } }) => setF({ ...f, [k]: e.target.value });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    invite.mutate({ ...f, role: f.role as "user" | "support" | "tenant_admin" }, { onSuccess: () => setF(blank) });
  };
  return (
    <>
      <PageHeader title="Users" subtitle="People of this workspace and what they may do." />
      <Card title="Invite someone">
        <form onSubmit={submit}>
          <div className="form-row">
            <TextField label="Full name" required value={f.full_name} onChange={set("full_name")} />
            <TextField label="Email" type="email" required value={f.email} onChange={set("email")} />
            <TextField label="Initial password" type="password" autoComplete="new-password" required value={f.password} onChange={set("password")} hint="Share it privately; they can change it later." />
            <SelectField label="Role" value={f.role} onChange={set("role")}>
              <option value="user">User (chats)</option>
              <option value="support">Support (answers conversations)</option>
              <option value="tenant_admin">Admin (manages the workspace)</option>
            </SelectField>
          </div>
          {invite.error ? <Alert tone="error">{invite.error.message}</Alert> : null}
          <Button type="submit" variant="primary" busy={invite.isPending}>Invite</Button>
        </form>
      </Card>
      <Card title="Members">
        {users.error ? <QueryError error={users.error} /> : null}
        {patch.error ? <Alert tone="error">{patch.error.message}</Alert> : null}
        {users.data ? (
          <Table
            caption="Users"
            rows={users.data}
            rowKey={(u) => u.id}
            columns={[
              { key: "name", header: "Name", render: (u) => u.full_name },
              { key: "email", header: "Email", render: (u) => u.email },
              {
                key: "role",
                header: "Role",
                render: (u) =>
                  u.id === me.data?.user.id ? (
                    u.role
                  ) : (
                    <select aria-label={`Role of ${u.full_name}`} value={u.role} onChange={(e) => patch.mutate({ id: u.id, body: { role: e.target.value as "user" | "support" | "tenant_admin" } })}>
                      <option value="user">user</option>
                      <option value="support">support</option>
                      <option value="tenant_admin">tenant_admin</option>
                    </select>
                  ),
              },
              { key: "status", header: "Status", render: (u) => <StatusBadge status={u.is_active ? "active" : "inactive"} /> },
              {
                key: "act",
                header: <span className="sr-only">Actions</span>,
                render: (u) =>
                  u.id === me.data?.user.id ? <span className="muted">you</span> : (
                    <Button variant={u.is_active ? "danger" : "ghost"} onClick={() => patch.mutate({ id: u.id, body: { is_active: !u.is_active } })}>
                      {u.is_active ? "Deactivate" : "Reactivate"}
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
