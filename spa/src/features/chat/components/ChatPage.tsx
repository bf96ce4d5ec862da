import { useState } from "react";
import { NavLink, useNavigate, useParams, useSearchParams } from "react-router";
import { QueryError } from "@/components/ui/Alert";
import { Button } from "@/components/ui/Button";
import { Card } from "@/components/ui/Card";
import { SelectField } from "@/components/ui/Field";
import { useDocumentTitle } from "@/lib/useDocumentTitle";
import { useAgents, useCreateSession, useSessions, useWorkflows } from "@/features/chat/api/queries";
import { ChatWindow } from "@/features/chat/components/ChatWindow";

export function ChatPage() {
  useDocumentTitle("Chat");
  const { sessionId } = useParams();
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const agents = useAgents();
  const sessions = useSessions();
  const create = useCreateSession();
  const workflows = useWorkflows();
  const active = (agents.data ?? []).filter((a) => a.is_active);
  const activeWorkflows = (workflows.data ?? []).filter((w) => w.is_active);
  // What a new conversation talks to: `agent:<id>` or `workflow:<id>`.
  const initial = params.get("workflow") ? `workflow:${params.get("workflow")}` : params.get("agent") ? `agent:${params.get("agent")}` : "";
  const [picked, setPicked] = useState(initial);
  const target = picked || (active[0] ? `agent:${active[0].id}` : activeWorkflows[0] ? `workflow:${activeWorkflows[0].id}` : "");
  const name = (s: { agent_id?: string | null; workflow_id?: string | null }) =>
    s.workflow_id
      ? workflows.data?.find((w) => w.id === s.workflow_id)?.name ?? "Workflow"
      : agents.data?.find((a) => a.id === s.agent_id)?.name ?? "Agent";
  const current = sessions.data?.find((s) => s.id === sessionId);

  const start = () => {
    const [kind, id] = target.split(":") as [string, string];
    create.mutate(kind === "workflow" ? { workflow_id: id } : { agent_id: id }, { onSuccess: (s) => navigate(`/chat/${s.id}`) });
  };

  return (
    <div className="chat">
      <h1 className="sr-only">Chat</h1>
      <div className="chat-side">
        <Card title="New conversation">
          {agents.error ? <QueryError error={agents.error} /> : null}
          {agents.data && active.length === 0 && activeWorkflows.length === 0 ? (
            <p className="empty">No agents yet. An admin creates them under Agents.</p>
          ) : null}
          {active.length > 0 || activeWorkflows.length > 0 ? (
            <>
              <SelectField label="Agent or workflow" value={target} onChange={(e) => setPicked(e.target.value)}>
                {active.length > 0 ? (
                  <optgroup label="Agents">
                    {active.map((a) => (
                      <option key={a.id} value={`agent:${a.id}`}>{a.name}</option>
                    ))}
                  </optgroup>
                ) : null}
                {activeWorkflows.length > 0 ? (
                  <optgroup label="Workflows">
                    {activeWorkflows.map((w) => (
                      <option key={w.id} value={`workflow:${w.id}`}>{w.name}</option>
                    ))}
                  </optgroup>
                ) : null}
              </SelectField>
              <Button variant="primary" onClick={start} busy={create.isPending} disabled={!target}>Start chat</Button>
            </>
          ) : null}
          {create.error ? <QueryError error={create.error} /> : null}
        </Card>
        <Card title="Conversations">
          {sessions.error ? <QueryError error={sessions.error} /> : null}
          {sessions.data?.length === 0 ? <p className="empty">No conversations yet.</p> : null}
          <ul className="session-list">
            {[...(sessions.data ?? [])].sort((a, b) => b.created_at.localeCompare(a.created_at)).map((s) => (
              <li key={s.id}>
                <NavLink to={`/chat/${s.id}`}>
                  {s.title || name(s)} <span className="muted">· {new Date(s.created_at).toLocaleDateString()}</span>
                </NavLink>
              </li>
            ))}
          </ul>
        </Card>
      </div>
      {sessionId && sessions.isPending ? (
        // Not before the list: the window's key names the session's hand, and a window
        // mounted before the list loaded was replaced once it did, with its socket and any
        // message sent meanwhile (its answer went to the closed socket).
        <Card className="chat-main">
          <p className="muted" style={{ padding: "2rem" }}>Opening the conversation…</p>
        </Card>
      ) : sessionId ? (
        <ChatWindow
          key={`${sessionId}-${current?.hand ?? ""}`}
          sessionId={sessionId}
          title={current ? current.title || name(current) : "Conversation"}
          holder={current?.hand === "human" ? { userId: null, name: "A person from support" } : null}
        />
      ) : (
        <Card className="chat-main">
          <div style={{ padding: "2rem" }}>
            <h2 className="rose-text" style={{ fontSize: "1.6rem" }}>Pick an agent or a workflow and start a conversation</h2>
            <p className="muted">Replies stream in as they are written; you can stop one at any time.</p>
          </div>
        </Card>
      )}
    </div>
  );
}
