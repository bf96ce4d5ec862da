import { useState } from "react";
import { Alert, QueryError } from "@/components/ui/Alert";
import { Button } from "@/components/ui/Button";
import { Card } from "@/components/ui/Card";
import { CopyButton } from "@/components/ui/CopyButton";
import { PageHeader } from "@/components/ui/PageHeader";
import { useRotateWebhookSecret, useWebhookSecret } from "@/features/tenant/api/webhooks";

export function WebhooksPage() {
  const [shown, setShown] = useState(false);
  const secret = useWebhookSecret(shown);
  const rotate = useRotateWebhookSecret();
  const value = secret.data?.secret;
  const doRotate = () => {
    if (!window.confirm("Rotate the signing secret? Webhooks from now on are signed with the new one; receivers must be updated.")) return;
    rotate.mutate(undefined, { onSuccess: () => setShown(true) });
  };
  return (
    <>
      <PageHeader title="Webhooks" subtitle="Results of executions are POSTed to the webhook URL given with each job, signed with this secret." />
      <Card title="Signing secret">
        <p className="muted">
          Each delivery carries <code>Hirebuddha-Signature: t=&lt;timestamp&gt;,v1=&lt;hex&gt;</code>: HMAC-SHA256 of{" "}
          <code>&lt;timestamp&gt;.&lt;body&gt;</code> with this secret.
        </p>
        {secret.error ? <QueryError error={secret.error} /> : null}
        {rotate.error ? <Alert tone="error">{rotate.error.message}</Alert> : null}
        {rotate.isSuccess ? <Alert tone="success">Rotated. Update your receivers with the new secret.</Alert> : null}
        {shown && value ? (
          <div className="secret">
            <code aria-label="Webhook signing secret">{value}</code>
            <CopyButton value={value} />
            <Button onClick={() => setShown(false)}>Hide</Button>
          </div>
        ) : (
          <Button onClick={() => setShown(true)} busy={shown && secret.isPending}>Show secret</Button>
        )}
        <p>
          <Button variant="danger" onClick={doRotate} busy={rotate.isPending}>Rotate secret</Button>
        </p>
      </Card>
      <Card title="Jobs over AMQP">
        <p className="muted">
          The message contract for external jobs (exchanges, routing keys, bodies) is published as AsyncAPI at{" "}
          <a href="/asyncapi">/asyncapi</a>.
        </p>
      </Card>
    </>
  );
}
