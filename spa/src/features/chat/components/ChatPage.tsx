import { useState } from "react";
import { NavLink, useNavigate, useParams, useSearchParams } from "react-router";
import { QueryError } from "@/components/ui/Alert";
import { Button } from "@/components/ui/Button";
import { Card } from "@/components/ui/Card";
import { SelectField } from "@/components/ui/Field";
import { useDocumentTitle } from "@/lib/useDocumentTitle";
import { useAgents, useCreateSession, useSessions } from "@/features/chat/api/queries";
import { ChatWindow } from "@/features/chat/components/ChatWindow";

export function ChatPage() {
  useDocumentTitle("Chat");
  const { sessionId } = useParams();
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const agents = useAgents();
  const sessions = useSessions();
  const create = useCreateSession();
  const active = (agents.data ?? []).filter((a) => a.is_active);
  const [picked, setPicked] = useState(params.get("agent") ?? "");
  const agentId = picked || active[0]?.id || "";
  const agentName = (id: string) => agents.data?.find((a) => a.id === id)?.name ?? "Agent";
  const current = sessions.data?.find((s) => s.id === sessionId);

  const start = () =>
    create.mutate(agentId, { onSuccess: (s) => navigate(`/chat/${s.id}`) });

  return (
    <div className="chat">
      <h1 className="sr-only">Chat</h1>
      <div className="chat-side">
        <Card title="New conversation">
          {agents.error ? <QueryError error={agents.error} /> : null}
          {agents.data && active.length === 0 ? <p className="empty">No agents yet. An admin creates them under Agents.</p> : null}
          {active.length > 0 ? (
            <>
              <SelectField label="Agent" value={agentId} onChange={(e) => setPicked(e.target.value)}>
                {active.map((a) => (
                  <option key={a.id} value={a.id}>{a.name}</option>
                ))}
              </SelectField>
              <Button variant="primary" onClick={start} busy={create.isPending} disabled={!agentId}>Start chat</Button>
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
                  {s.title || agentName(s.agent_id)} <span className="muted">· {new Date(s.created_at).toLocaleDateString()}</span>
                </NavLink>
              </li>
            ))}
          </ul>
        </Card>
      </div>
      {sessionId ? (
        <ChatWindow
          key={`${sessionId}-${current?.hand ?? ""}`}
          sessionId={sessionId}
          title={current ? current.title || agentName(current.agent_id) : "Conversation"}
          holder={current?.hand === "human" ? { userId: null, name: "A person from support" } : null}
        />
      ) : (
        <Card className="chat-main">
          <div style={{ padding: "2rem" }}>
            <h2 className="rose-text" style={{ fontSize: "1.6rem" }}>Pick an agent and start a conversation</h2>
            <p className="muted">Replies stream in as they are written; you can stop one at any time.</p>
          </div>
        </Card>
      )}
    </div>
  );
}
