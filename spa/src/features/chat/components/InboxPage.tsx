import { useState } from "react";
import { NavLink, useParams } from "react-router";
import { QueryError } from "@/components/ui/Alert";
import { Badge } from "@/components/ui/Badge";
import { Button } from "@/components/ui/Button";
import { Card } from "@/components/ui/Card";
import { SelectField } from "@/components/ui/Field";
import { PageHeader } from "@/components/ui/PageHeader";
import { useMe } from "@/lib/auth/me";
import { ChatWindow } from "@/features/chat/components/ChatWindow";
import { useHandback, useInbox, useInboxLive, useTakeover, type InboxFilters, type InboxItem } from "@/features/chat/api/inbox";

const label = (i: InboxItem) => i.title || `${i.user_name ?? "A user"} · ${i.agent_name}`;

export function InboxPage() {
  const { sessionId } = useParams();
  const me = useMe();
  const [filters, setFilters] = useState<InboxFilters>({ state: "", assignee: "" });
  const inbox = useInbox(filters);
  useInboxLive();
  const takeover = useTakeover();
  const handback = useHandback();
  const current = inbox.data?.find((i) => i.session_id === sessionId);
  const meId = me.data?.user.id ?? "";
  const holder = current?.held_by ? { userId: current.held_by, name: current.holder_name ?? "Someone" } : null;
  const failed = takeover.error ?? handback.error;

  return (
    <>
      <PageHeader title="Inbox" subtitle="Conversations that asked for a person or that a person is answering. Updates live." />
      <div className="inbox">
        <Card title="Conversations">
          <div className="inline-form" role="group" aria-label="Filter the inbox">
            <SelectField label="State" value={filters.state} onChange={(e) => setFilters({ ...filters, state: e.target.value as InboxFilters["state"] })}>
              <option value="">All</option>
              <option value="escalated">Needs a person</option>
              <option value="human">Taken over</option>
            </SelectField>
            <SelectField label="Assignee" value={filters.assignee} onChange={(e) => setFilters({ ...filters, assignee: e.target.value as InboxFilters["assignee"] })}>
              <option value="">Anyone</option>
              <option value="me">Me</option>
              <option value="none">Nobody</option>
            </SelectField>
          </div>
          {inbox.error ? <QueryError error={inbox.error} /> : null}
          {inbox.data?.length === 0 ? <p className="empty">Nothing needs a person right now.</p> : null}
          <ul className="inbox-list" aria-label="Inbox">
            {(inbox.data ?? []).map((i) => (
              <li key={i.session_id}>
                <NavLink to={`/inbox/${i.session_id}`} className={({ isActive }) => (isActive ? "active" : "")}>
                  <Badge tone={i.hand === "escalated" ? "warn" : "good"}>{i.hand === "escalated" ? "needs a person" : `with ${i.holder_name ?? "someone"}`}</Badge>{" "}
                  {label(i)}
                  <span className="muted">{i.escalation_reason ?? i.last_message ?? ""}</span>
                </NavLink>
              </li>
            ))}
          </ul>
        </Card>
        {sessionId ? (
          <div className="stack">
            {failed ? <QueryError error={failed} /> : null}
            <ChatWindow
              key={`${sessionId}-${current?.held_by ?? "free"}`}
              sessionId={sessionId}
              title={current ? label(current) : "Conversation"}
              holder={holder}
              support={{
                meId,
                actions: (holding, heldByOther) =>
                  holding ? (
                    <Button onClick={() => handback.mutate(sessionId)} busy={handback.isPending}>Hand back to the agent</Button>
                  ) : (
                    <Button variant="primary" onClick={() => takeover.mutate(sessionId)} busy={takeover.isPending} disabled={heldByOther}>Take over</Button>
                  ),
              }}
            />
          </div>
        ) : (
          <Card><p className="muted" style={{ padding: "1rem" }}>Pick a conversation to read it, take it over and answer the user yourself.</p></Card>
        )}
      </div>
    </>
  );
}
