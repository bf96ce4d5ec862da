import { useState, type FormEvent } from "react";
import { Alert, QueryError } from "@/components/ui/Alert";
import { StatusBadge } from "@/components/ui/Badge";
import { Button } from "@/components/ui/Button";
import { Card } from "@/components/ui/Card";
import { CopyButton } from "@/components/ui/CopyButton";
import { TextField } from "@/components/ui/Field";
import { PageHeader } from "@/components/ui/PageHeader";
import { Table } from "@/components/ui/Table";
import { formatDate } from "@/lib/format";
import { useApiKeys, useCreateApiKey, useRevokeApiKey, type ApiKeyCreated } from "@/features/tenant/api/tenant";

export function ApiKeysPage() {
  const keys = useApiKeys();
  const create = useCreateApiKey();
  const revoke = useRevokeApiKey();
  const [name, setName] = useState("");
  const [fresh, setFresh] = useState<ApiKeyCreated | null>(null);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate(name, {
      onSuccess: (k) => {
        setFresh(k);
        setName("");
      },
    });
  };
  return (
    <>
      <PageHeader title="API keys" subtitle="For external systems that submit jobs over AMQP or REST." />
      <Card title="Create a key">
        <form className="inline-form" onSubmit={submit}>
          <TextField label="Key name" name="key_name" required value={name} onChange={(e) => setName(e.target.value)} placeholder="e.g. ATS integration" />
          <Button type="submit" variant="primary" busy={create.isPending} disabled={!name.trim()}>Create key</Button>
        </form>
        {create.error ? <Alert tone="error">{create.error.message}</Alert> : null}
        {fresh ? (
          <div className="alert alert-warning" role="status" data-testid="new-key">
            <strong>Copy this key now: it is shown only once.</strong>
            <div className="secret">
              <code aria-label="New API key">{fresh.key}</code>
              <CopyButton value={fresh.key} />
              <Button onClick={() => setFresh(null)}>Done</Button>
            </div>
          </div>
        ) : null}
      </Card>
      <Card title="Keys">
        {keys.error ? <QueryError error={keys.error} /> : null}
        {keys.data ? (
          <Table
            caption="API keys"
            rows={keys.data}
            rowKey={(k) => k.id}
            empty="No keys yet."
            columns={[
              { key: "name", header: "Name", render: (k) => k.name },
              { key: "prefix", header: "Key", render: (k) => <code>{k.prefix}…</code> },
              { key: "created", header: "Created", render: (k) => formatDate(k.created_at) },
              { key: "used", header: "Last used", render: (k) => formatDate(k.last_used_at) },
              { key: "status", header: "Status", render: (k) => <StatusBadge status={k.revoked_at ? "revoked" : "active"} /> },
              {
                key: "act",
                header: <span className="sr-only">Actions</span>,
                render: (k) =>
                  k.revoked_at ? null : (
                    <Button variant="danger" onClick={() => confirm(`Revoke key ${k.name}? Systems using it stop working.`) && revoke.mutate(k.id)}>
                      Revoke
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
