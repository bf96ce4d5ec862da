"""`resume`: give a reconnecting client the rest of a stream, nothing twice, nothing lost.

Live events of the execution are held back (the connection's gate) from before we look
at it until we are done; then we send the missing deltas, from the live actor's buffer
(snapshot over the control exchange) or from the stored result once it has ended; then
the held events, whose duplicates the connection drops by seq.

A seq belongs to one attempt: when an actors process dies, the next attempt streams a
fresh run from seq 1. A client that saw seq N of an older attempt must not get the new
run's deltas after N (its first N would be lost and old and new text mixed), so unless
the client's attempt is the current one (the `attempt` of its resume frame, or the last
`execution.restarted` this socket sent), an execution past its first attempt is answered
`execution.restarted` plus the whole current run: the client's text always equals the
final reply, and clients need no change (they already start over on `restarted`).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import msgspec

from runtime.messages import (
    DeltaEvent,
    ErrorInfo,
    ExecutionCancelled,
    ExecutionCompleted,
    ExecutionFailed,
    ExecutionRestarted,
    Snapshot,
    StoredResult,
    StreamEvent,
    Usage,
)
from web.chat import protocol as p
from web.executions import service
from web.executions.service import Rejected

if TYPE_CHECKING:
    from web.chat.connection import ChatConnection

ACTIVE = ("pending", "running")


def stored_result(row: dict[str, Any]) -> StoredResult:
    """The execution's result_data as a `StoredResult` (empty when it has none)."""
    try:
        return msgspec.convert(row.get("result_data") or {}, StoredResult)
    except msgspec.ValidationError:
        return StoredResult()


def final_event(row: dict[str, Any]) -> StreamEvent | None:
    """The final stream event of an ended execution, rebuilt from its row."""
    execution_id, session_id = row["id"], row["session_id"]
    result = stored_result(row)
    if row["status"] == "completed":
        usage = msgspec.convert(row.get("usage") or {"input_tokens": 0, "output_tokens": 0}, Usage)
        return ExecutionCompleted(
            execution_id=execution_id,
            session_id=session_id,
            text=result.text,
            usage=usage,
            citations=result.citations,
            # A workflow run's end carries its output (docs/workflows.md "Chat").
            # (A run has no agent: `agent_id` is NULL on its row.)
            output=result.output if row.get("agent_id") is None else None,
        )
    if row["status"] == "cancelled":
        return ExecutionCancelled(execution_id=execution_id, session_id=session_id)
    if row["status"] == "failed":
        error = ErrorInfo(code=result.error_code or "failed", message=row.get("error_message") or "")
        return ExecutionFailed(execution_id=execution_id, session_id=session_id, error=error)
    return None


def _replay_stored(conn: ChatConnection, row: dict[str, Any], last_seq: int) -> None:
    chunks = stored_result(row).chunks()
    for seq in range(last_seq + 1, len(chunks) + 1):
        delta = DeltaEvent(
            execution_id=row["id"], session_id=row["session_id"], seq=seq, text=chunks[seq - 1]
        )
        conn.forward(delta)
    final = final_event(row)
    if final is not None:
        conn.forward(final)


RESTARTED_WHILE_AWAY = "the attempt the client followed was interrupted; the reply starts over"


def _start_over(conn: ChatConnection, execution_id: uuid.UUID, attempt: int) -> None:
    """Tell the client the reply starts over at `attempt` (its seq run restarts at 1)."""
    restarted = ExecutionRestarted(
        execution_id=execution_id, session_id=conn.session_id, attempt=attempt, reason=RESTARTED_WHILE_AWAY
    )
    conn.forward(restarted)


async def _live(conn: ChatConnection, execution_id: uuid.UUID, after_seq: int, attempt: int | None) -> bool:
    """Send the live actor's deltas after `after_seq` of `attempt` (the whole run when the
    actor runs another attempt); False when no actor answered."""
    snap: Snapshot | None = await conn.relay.snapshot(conn.bus, execution_id, after_seq, p.SNAPSHOT_TIMEOUT_S)
    if snap is not None and after_seq > 0 and snap.attempt != attempt:
        snap = await conn.relay.snapshot(conn.bus, execution_id, 0, p.SNAPSHOT_TIMEOUT_S)
        if snap is not None:
            _start_over(conn, execution_id, snap.attempt)
    if snap is None:
        return False
    for index, text in enumerate(snap.texts, start=snap.after_seq + 1):
        conn.forward(DeltaEvent(execution_id=execution_id, session_id=conn.session_id, seq=index, text=text))
    return True


async def resume(
    conn: ChatConnection, execution_id: uuid.UUID, after_seq: int, attempt: int | None = None
) -> None:
    """Send the deltas of `execution_id` after `after_seq` of `attempt` (when the client
    knows it), then its end if it has ended; a newer attempt is sent whole (module doc)."""
    from web.chat.connection import Followed

    conn.gates.setdefault(execution_id, [])
    try:
        row = await service.get(conn.me, execution_id)
        if row is None or row["session_id"] != conn.session_id:
            raise Rejected("not_found", "No such execution in this session.", 404)
        state = conn.followed.get(execution_id)
        if state is None or state.finished:
            state = conn.followed[execution_id] = Followed(last_seq=after_seq)
        state.last_seq = max(state.last_seq, after_seq)
        state.started = state.following = True
        # The client's attempt: its own word, else the last restart this socket sent; a
        # client that never saw a restart followed the first attempt.
        seen = attempt or state.attempt or 1
        if row["status"] == "pending":
            return  # nothing streamed yet: the held and later live events are all of it
        if row["status"] == "running":
            if await _live(conn, execution_id, state.last_seq, seen):
                return
            row = await service.get(conn.me, execution_id)  # no actor answered: ended meanwhile?
            if row is None:
                return
            if row["status"] in ACTIVE:
                # The new attempt's deltas come live from here; one that went out before is
                # a gap the client asks for again (`resume`, now from this attempt's seq 0).
                if state.last_seq > 0 and row["attempt"] != seen:
                    _start_over(conn, execution_id, row["attempt"])
                return
        if state.last_seq > 0 and (row.get("attempt") or 1) != seen:
            _start_over(conn, execution_id, row["attempt"])
        _replay_stored(conn, row, state.last_seq)
    finally:
        for event in conn.gates.pop(execution_id, []):
            conn.forward(event)
