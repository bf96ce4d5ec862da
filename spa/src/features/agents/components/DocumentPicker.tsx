import { useState } from "react";
import { Link } from "react-router";
import { Alert, QueryError } from "@/components/ui/Alert";
import { StatusBadge } from "@/components/ui/Badge";
import { Button } from "@/components/ui/Button";
import { Card } from "@/components/ui/Card";
import { useAgentDocuments, useSetAgentDocuments, useWorkspaceDocuments } from "@/features/agents/api/agents";

function Picker({ agentId, attached }: { agentId: string; attached: string[] }) {
  const docs = useWorkspaceDocuments();
  const save = useSetAgentDocuments(agentId);
  const [chosen, setChosen] = useState(new Set(attached));
  const toggle = (id: string) => {
    const next = new Set(chosen);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setChosen(next);
  };
  const rows = docs.data ?? [];
  return (
    <>
      {docs.error ? <QueryError error={docs.error} /> : null}
      {rows.length === 0 ? (
        <p className="empty">No documents yet. <Link to="/console/knowledge">Upload some</Link> first.</p>
      ) : (
        <ul className="doc-picker" aria-label="Documents this agent may search">
          {rows.map((d) => (
            <li key={d.id}>
              <label>
                <input type="checkbox" style={{ width: "auto" }} checked={chosen.has(d.id)} onChange={() => toggle(d.id)} />
                {d.filename} <StatusBadge status={d.upload_status} />
              </label>
            </li>
          ))}
        </ul>
      )}
      {save.error ? <Alert tone="error">{save.error.message}</Alert> : null}
      {save.isSuccess ? <Alert tone="success">Documents saved.</Alert> : null}
      <div className="page-actions" style={{ marginTop: "0.75rem" }}>
        <Button variant="primary" busy={save.isPending} onClick={() => save.mutate([...chosen])}>Save documents</Button>
      </div>
    </>
  );
}

/** Which documents an agent may search with its knowledge_search tool (it gets the tool once it has one). */
export function DocumentPicker({ agentId }: { agentId: string }) {
  const attached = useAgentDocuments(agentId);
  return (
    <Card title="Knowledge">
      <p className="muted">The agent searches these documents when a question needs them, and cites what it used.</p>
      {attached.error ? <QueryError error={attached.error} /> : null}
      {attached.data ? <Picker agentId={agentId} attached={attached.data.document_ids} /> : null}
    </Card>
  );
}
