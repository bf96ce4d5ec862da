// The user's own messages of this visit, matched to what the server made of them. The server
// answers sends in order, each with `execution.started` or a refusal (an `error` frame), so
// the oldest message still waiting is the one an answer belongs to.

export interface LocalMessage {
  clientId: string;
  content: string;
  executionId?: string;
  /** Why the server refused it (it never ran), in words. */
  refused?: string;
  /** A person held the session: it went to them, no agent reply follows. */
  toPerson?: boolean;
  /** When it was sent (ms), to place it among the person's messages. */
  at?: number;
}

const waiting = (list: LocalMessage[]) => list.findIndex((m) => !m.executionId && !m.refused && !m.toPerson);

/** The message with `clientId` went to the person holding the session (no reply will start). */
export function markToPerson(list: LocalMessage[], clientId: string): LocalMessage[] {
  return list.map((m) => (m.clientId === clientId ? { ...m, toPerson: true } : m));
}

/** The oldest waiting message now runs as `executionId` (no change if already matched). */
export function markStarted(list: LocalMessage[], executionId: string): LocalMessage[] {
  if (list.some((m) => m.executionId === executionId)) return list;
  const i = waiting(list);
  return i < 0 ? list : list.map((m, j) => (j === i ? { ...m, executionId } : m));
}

/** The oldest waiting message was refused; null when no message was waiting. */
export function markRefused(list: LocalMessage[], words: string): LocalMessage[] | null {
  const i = waiting(list);
  return i < 0 ? null : list.map((m, j) => (j === i ? { ...m, refused: words } : m));
}
