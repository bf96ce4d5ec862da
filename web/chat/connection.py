"""One authenticated chat socket: its frames in, its bounded buffer of frames out.

Per execution the socket remembers the last `seq` it sent and whether it sent the final
frame, so live events, a resume's snapshot and stored results can overlap without the
client ever seeing a delta twice or out of order. A socket follows an execution's deltas
once it has seen the execution start (its `execution.started`, a restart, or seq 1) or
was asked to `resume` it; a socket that joins mid-stream resumes to catch up.

A message sent while the workspace runs as many executions as its limit allows waits in
the tenant's fair queue (`queued`, promoted in arrival order by the actors, docs/limits.md):
the socket says `execution.queued {position}`, watches its place (one query per
`QUEUE_POLL_S` for all of the socket's waiting messages) and says it again when it moves,
then `execution.started` once it has a slot. After `chat_queue_wait_s` it is refused
(`execution.failed`, code `queue_wait_exceeded`); a socket that closes cancels the messages
it still has waiting, so nothing waits without someone watching.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from dataclasses import dataclass

from litestar import WebSocket

from runtime import executions, metrics, telemetry, trace
from runtime import workflows as wf
from runtime.broker import execution_key
from runtime.errors import CodedError
from runtime.executions import ACTIVE, COPILOT_SOURCE, ExecutionStatus, Submission
from runtime.messages import (
    BatchedDelta,
    DeltaEvent,
    ErrorInfo,
    ExecutionCancelled,
    ExecutionCompleted,
    ExecutionFailed,
    ExecutionRestarted,
    ExecutionStarted,
    HumanLeft,
    InboxChanged,
    SessionEventBase,
    StreamEvent,
)
from web.auth.identity import Principal
from web.chat import protocol as p
from web.chat import resume
from web.chat.relay import Relay
from web.chat.wsprotocol import PAUSED, WROTE, LeanWebSocketProtocol
from web.executions import bus as execution_bus
from web.executions import service
from web.executions.bus import Bus
from web.executions.service import Held, Rejected
from web.handover.service import HandoverService
from web.workflows.service import Turn, WorkflowService, input_of_message, queue_run

log = logging.getLogger("hirebuddha.web")

TERMINAL = ExecutionCompleted | ExecutionFailed | ExecutionCancelled
_UNBINDS: set[asyncio.Task[None]] = set()
"""Unbinds of ended drafts in flight (kept referenced until done)."""

IDLE_SWEEP_S = 5.0
"""How often the process looks for idle chat sockets (`IdleSweep`)."""

QUEUE_POLL_S = 1.0
"""How often a socket with waiting messages reads their places in the queue."""


@dataclass(slots=True)
class Waiting:
    """A message of this socket waiting for a slot."""

    message_id: uuid.UUID | None
    since: float
    """time.monotonic() when it was admitted as queued."""
    position: int = 0


@dataclass(slots=True)
class Followed:
    """What this socket has sent of one execution."""

    last_seq: int = 0
    started: bool = False
    finished: bool = False
    following: bool = False
    attempt: int = 0
    """The attempt of the last `execution.restarted` sent (0: none; see web.chat.resume)."""


_NO_DRAFTS: frozenset[uuid.UUID] = frozenset()


class ChatConnection:
    """Serves one socket of one session until it closes.

    Slots, and no container made before it is needed: 10,000 idle sockets per process
    (issue 11) each keep only this object and their empty dicts.
    """

    __slots__ = (
        "socket", "me", "session_id", "agent_id", "workflow_id", "relay", "bus", "queue_wait_s",
        "waiting", "_watcher", "out", "_ws", "_writer", "_traced", "followed",
        "gates", "_early", "closed", "drafts", "last_seen",
    )  # fmt: skip

    def __init__(
        self,
        socket: WebSocket,
        me: Principal,
        session_id: uuid.UUID,
        agent_id: uuid.UUID | None,
        relay: Relay,
        bus: Bus,
        queue_wait_s: float = 120.0,
        workflow_id: uuid.UUID | None = None,
    ) -> None:
        self.socket, self.me, self.session_id, self.agent_id = socket, me, session_id, agent_id
        self.workflow_id = workflow_id
        """A session on a workflow: each message starts a run of it (`_run_workflow`)."""
        self.relay, self.bus, self.queue_wait_s = relay, bus, queue_wait_s
        self.waiting: dict[uuid.UUID, Waiting] = {}
        """Messages of this socket waiting in the tenant's queue (see the module doc)."""
        self._watcher: asyncio.Task[None] | None = None
        # Frames (their JSON) waiting to be written: written together on the loop's next
        # flush (`Flush`), straight to the transport. An idle socket holds no task and no
        # queue machinery (10,000 idle sockets, issue 11). A list, not a deque: an empty
        # deque takes ~0.6 KB, and the buffer is bounded anyway.
        self.out: list[bytes] = []
        self._ws = LeanWebSocketProtocol.of_scope(socket.scope)
        """The socket's protocol, which writes frames without the ASGI send path (None under
        another server: then `_writer` sends them through Litestar)."""
        self._writer: asyncio.Task[None] | None = None
        """Only while frames wait: for the transport's buffer to drain, or (no `_ws`) for
        Litestar's send."""
        self._traced: uuid.UUID | None = None
        self.followed: dict[uuid.UUID, Followed] = {}
        self.gates: dict[uuid.UUID, list[StreamEvent]] = {}
        """Live events held back while a resume of that execution is being answered."""
        self._early: list[StreamEvent] | None = None
        """While this socket's message is being admitted: live events of executions it has
        not said started (its own reply's first deltas can overtake the admission's answer;
        its `execution.started` goes first, `_release_early`)."""
        self.closed = False
        self.drafts: set[uuid.UUID] | frozenset[uuid.UUID] = _NO_DRAFTS
        """Co-pilot drafts this socket asked for and still listens to (`execution.<id>`)."""
        self.last_seen = time.monotonic()
        """When the client last sent a frame (the idle sweep, `web.chat.idle`)."""

    # --- outgoing ------------------------------------------------------------------------

    def send(self, frame: p.ServerFrame) -> None:
        """Queue a frame; a client that cannot keep up is closed, never waited for."""
        self._queue(p.payload(frame))

    def _queue(self, data: bytes) -> None:
        """Queue a frame's JSON; it leaves on this loop's next flush with the socket's others."""
        if self.closed:
            return
        if len(self.out) >= p.SEND_BUFFER_FRAMES:
            log.warning("closing a chat socket that fell %d frames behind", p.SEND_BUFFER_FRAMES)
            self.out.clear()
            asyncio.get_running_loop().create_task(
                self.close(p.CLOSE_TOO_SLOW, "client too slow: send buffer overflow")
            )
            return
        self.out.append(data)
        if len(self.out) == 1 and self._writer is None:
            Flush.of_loop().add(self)

    def flush(self) -> None:
        """Write every queued frame now, in one transport write; when the transport's buffer
        is full they wait (a task then waits for it to drain)."""
        if not self.out or self._writer is not None:
            return  # nothing to do, or a writer task owns the queue until it is empty
        if self.closed:
            self.out.clear()
            return
        if self._ws is None:
            self._writer = asyncio.get_running_loop().create_task(self._send_via_asgi())
            return
        if self._write(self._ws) == PAUSED:
            self._writer = asyncio.get_running_loop().create_task(self._when_writable(self._ws))

    def _write(self, ws: LeanWebSocketProtocol) -> int:
        done = ws.write_texts(self.out)
        if done == PAUSED:
            return done
        self.out.clear()  # written, or the socket is closing: the reader sees the disconnect
        if done == WROTE and self._traced is not None:
            trace.mark(self._traced, "socket_sent")
            self._traced = None
        return done

    async def _when_writable(self, ws: LeanWebSocketProtocol) -> None:
        """Wait until the transport takes more, then write what waits, the frames queued
        meanwhile included (flow control)."""
        try:
            while self.out and not self.closed:
                await ws.writable.wait()
                self._write(ws)
        finally:
            self._writer = None
            if self.closed:
                self.out.clear()

    async def _send_via_asgi(self) -> None:
        """Send queued frames in order through Litestar (a server without our protocol)."""
        try:
            while self.out and not self.closed:
                await self.socket.send_text(self.out[0].decode())
                del self.out[0]
            if self._traced is not None:
                trace.mark(self._traced, "socket_sent")
                self._traced = None
        except Exception as exc:  # the client went away: the reader sees the disconnect
            log.debug("chat socket send failed: %r", exc)
            self.out.clear()
        finally:
            self._writer = None

    def deliver(
        self, event: StreamEvent | SessionEventBase | InboxChanged, frame: p.ServerFrame | None = None
    ) -> None:
        """Take a live event from the relay (never blocks)."""
        if isinstance(event, InboxChanged):  # not a session's (never routed here)
            return
        if not isinstance(event, SessionEventBase) and event.execution_id in self.drafts:
            self._draft_event(event)
            return
        if isinstance(event, SessionEventBase):  # a person in the conversation: no seq to dedupe
            if isinstance(event, HumanLeft) and event.user_id == self.me.id and self.drafts:
                # Handed back: nobody will send these drafts; stop paying for them.
                task = asyncio.get_running_loop().create_task(self._cancel_drafts())
                _UNBINDS.add(task)
                task.add_done_callback(_UNBINDS.discard)
            if event.for_user is None or event.for_user == self.me.id:
                self.send(frame or p.frame_of(event))
            return
        if self._early is not None:
            state = self.followed.get(event.execution_id)
            if state is None or not state.started:
                self._early.append(event)
                return
        gate = self.gates.get(event.execution_id)
        if gate is not None:
            gate.append(event)
            return
        self.forward(event, frame)

    def _release_early(self) -> None:
        """Deliver the events held while a message was admitted, in their order."""
        early, self._early = self._early, None
        for event in early or ():
            self.deliver(event)

    def deliver_delta(self, delta: BatchedDelta, data: bytes) -> None:
        """Take a live delta of a relayed `DeltaBatch` (`data`: its frame's JSON, shared by
        the session's sockets): `deliver` without an event object, when the socket follows
        the execution plainly (no resume in progress, nothing waiting for a slot)."""
        state = self.followed.get(delta.execution_id)
        if state is None or not state.started or state.finished or self.gates or self.waiting or self.drafts:
            self.deliver(delta.event())  # every other case, by the general rules
            return
        seq = delta.seq
        if not (state.following or seq == 1) or seq <= state.last_seq:
            return
        state.following, state.last_seq = True, seq
        if trace.ENABLED and seq == 1:
            self._traced = delta.execution_id  # marked `socket_sent` once written
        self._queue(data)

    def forward(self, event: StreamEvent, frame: p.ServerFrame | None = None) -> None:
        """Send `event` unless the client has it already (the dedupe rules above)."""
        waited = self.waiting.pop(event.execution_id, None)
        if waited is not None and not isinstance(event, ExecutionStarted | TERMINAL):
            # It got a slot and its stream began before the watcher noticed: started first.
            started = ExecutionStarted(
                execution_id=event.execution_id, session_id=self.session_id, message_id=waited.message_id
            )
            self.forward(started)
        state = self.followed.setdefault(event.execution_id, Followed())
        if state.finished:
            return
        if isinstance(event, DeltaEvent):
            if not (state.following or event.seq == 1) or event.seq <= state.last_seq:
                return
            state.following, state.last_seq = True, event.seq
            if trace.ENABLED and event.seq == 1:
                self._traced = event.execution_id  # marked `socket_sent` once written
        elif isinstance(event, ExecutionStarted):
            if state.started:
                return
            state.started = state.following = True
        elif isinstance(event, ExecutionRestarted):
            state.following, state.last_seq, state.attempt = True, 0, event.attempt
        elif isinstance(event, TERMINAL):
            state.finished = True
        self.send(frame or p.frame_of(event))

    async def _drain(self) -> None:
        """Wait until every queued frame was written (or cannot be)."""
        while self.out and not self.closed:
            self.flush()
            writer = self._writer
            if writer is None:
                return  # written, or dropped (the socket is gone)
            await asyncio.wait({writer})  # not cancelled with us: `serve` cancels it

    async def close(self, code: int, reason: str) -> None:
        """Close the socket once (later calls do nothing)."""
        if self.closed:
            return
        self.closed = True
        with contextlib.suppress(Exception):
            await self.socket.close(code=code, reason=reason)

    # --- incoming ------------------------------------------------------------------------

    async def serve(self) -> None:
        """Subscribe to the session, say `ready`, then handle frames until the end."""
        try:
            await self.relay.subscribe(self.session_id, self)
        except Exception:  # the broker is down or its channel broken: say so, never go silent
            log.exception("could not subscribe a chat socket to session %s", self.session_id)
            unavailable = p.Error("unavailable", "Streaming is unavailable; retry shortly.")
            await self.socket.send_text(p.encode(unavailable))
            await self.close(p.CLOSE_TRY_AGAIN, "broker unavailable")
            return
        sockets = metrics.LIVE_SOCKETS.labels("chat")
        sockets.inc()
        try:
            self.send(p.Ready(self.session_id))
            await self._read()
        finally:
            sockets.dec()
            await self.relay.unsubscribe(self.session_id, self)
            for draft_id in list(self.drafts):
                await self.relay.unsubscribe_key(execution_key(draft_id), self)
            await self._cancel_drafts()
            await self._abandon_waiting()
            # Let queued frames (an error, a final state) leave before the socket goes.
            if not self.closed:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self._drain(), 1)
            Flush.of_loop().discard(self)
            if self._writer is not None:
                self._writer.cancel()

    def _streaming(self) -> bool:  # (the idle sweep's test)
        return bool(self.waiting) or any(s.started and not s.finished for s in self.followed.values())

    async def _read(self) -> None:
        # No timer per receive: one sweep per process closes idle sockets (`IdleSweep`).
        sweep = IdleSweep.of_loop()
        sweep.add(self)
        try:
            while not self.closed:
                event = await self.socket.receive()
                if event["type"] == "websocket.disconnect":
                    self.closed = True
                    return
                self.last_seen = time.monotonic()
                data: str | bytes = event.get("text") or event.get("bytes") or ""  # type: ignore[assignment]
                await self._handle(data)
        finally:
            sweep.discard(self)

    async def _handle(self, data: str | bytes) -> None:
        try:
            frame = p.parse(data)
            await self._dispatch(frame)
        except p.FrameError as exc:
            self.send(p.Error(exc.code, exc.message))
        except CodedError as exc:  # Rejected, session_held
            self.send(p.Error(exc.code, exc.message))
        except Exception:
            log.exception("chat frame failed")
            self.send(p.Error("internal_error", "That failed on our side; please retry."))

    async def _dispatch(self, frame: p.Frame) -> None:
        match frame:
            case p.MessageFrame():
                await self._message(frame)
            case p.CancelFrame():
                await self._cancel(frame.execution_id)
            case p.ResumeFrame():
                await resume.resume(self, frame.execution_id, frame.after_seq, frame.attempt)
            case p.PingFrame():
                self.send(p.Pong())
            case p.AuthFrame():
                self.send(p.Error("already_authenticated", "This socket is authenticated."))
            case p.DraftFrame():
                await self._draft()

    async def _draft(self) -> None:
        """A co-pilot draft for the person holding the session: an execution of the agent on
        the conversation, without a session, streamed to this socket only as `draft.*`
        frames, admitted and metered like any execution (docs/human-in-the-loop.md)."""
        if self.workflow_id is not None:
            raise CodedError("unsupported", "Drafts need an agent; this conversation runs a workflow.", 409)
        agent_id, conversation = await HandoverService(self.me, self.bus).draft_input(self.session_id)
        draft_id = uuid.uuid4()
        key = execution_key(draft_id)
        if not isinstance(self.drafts, set):
            self.drafts = set()
        self.drafts.add(draft_id)
        await self.relay.subscribe_key(key, self)  # before it is queued: no delta is missed
        try:
            sub = Submission(agent_id, conversation, source=COPILOT_SOURCE, execution_id=draft_id)
            await execution_bus.dispatch(self.bus, self.me, sub)
        except Exception:
            self._forget_draft(draft_id)
            await self.relay.unsubscribe_key(key, self)
            raise
        self.send(p.DraftStartedFrame(draft_id))

    async def _cancel_drafts(self) -> None:
        """Cancel this socket's drafts still running: the person handed the conversation back
        or left, so nobody will read them (docs/human-in-the-loop.md)."""
        for draft_id in list(self.drafts):
            try:
                await execution_bus.cancel(self.bus, self.me, draft_id, reason="abandoned")
            except Exception:  # best effort: the draft runs to its end and is metered
                log.warning("could not cancel the abandoned draft %s", draft_id)

    def _forget_draft(self, draft_id: uuid.UUID) -> None:
        if isinstance(self.drafts, set):
            self.drafts.discard(draft_id)

    def _draft_event(self, event: StreamEvent) -> None:
        """A draft's stream event as the person's `draft.*` frame."""
        draft_id = event.execution_id
        match event:
            case DeltaEvent():
                self.send(p.DraftDeltaFrame(draft_id, event.seq, event.text))
                return
            case ExecutionCompleted():
                self.send(p.DraftCompletedFrame(draft_id, event.text))
            case ExecutionFailed():
                self.send(p.DraftFailedFrame(draft_id, p.ErrorBody(event.error.code, event.error.message)))
            case ExecutionCancelled():
                self.send(p.DraftFailedFrame(draft_id, p.ErrorBody("cancelled", "The draft was cancelled.")))
            case _:
                return
        self._forget_draft(draft_id)
        task = asyncio.get_running_loop().create_task(
            self.relay.unsubscribe_key(execution_key(draft_id), self)
        )
        _UNBINDS.add(task)
        task.add_done_callback(_UNBINDS.discard)

    async def _message(self, frame: p.MessageFrame) -> None:
        received = time.time()
        # A person holds the session: the message goes to them (or is theirs), not to an actor.
        # An agent's session: admission itself tells (`hand_check`, one round trip); a
        # workflow's: asked first.
        handover = HandoverService(self.me, self.bus)
        if self.workflow_id is not None:
            if await handover.route(self.session_id, frame.content, frame.client_id) is not None:
                return
            await self._run_workflow(self.workflow_id, frame)
            return
        assert self.agent_id is not None  # a session names an agent or a workflow
        # The reply's first deltas may reach the relay before the admission returns here:
        # they wait for its `execution.started` (the client sees started, then deltas).
        self._early = []
        try:
            # The root of the turn's trace: admission and the executions message are its
            # children, the actor and the ledger continue it from the message headers
            # (runtime.telemetry).
            with telemetry.span("chat.message", attributes={"hb.session_id": str(self.session_id)}):
                submission = Submission(
                    self.agent_id,
                    frame.content,
                    source="chat",
                    session_id=self.session_id,
                    client_id=frame.client_id,
                    wait_for_slot=True,  # over the limit it waits its turn (module doc)
                    hand_check=True,
                )
                while True:
                    try:
                        sent = await execution_bus.dispatch(self.bus, self.me, submission)
                        break
                    except Held:  # routed to the person, unless handed back meanwhile: admit again
                        if await handover.route(self.session_id, frame.content, frame.client_id) is not None:
                            return
            trace.mark(sent.execution_id, "received", received)
            if sent.status != ExecutionStatus.QUEUED:
                trace.mark(sent.execution_id, "queued")
                self.forward(
                    ExecutionStarted(
                        execution_id=sent.execution_id, session_id=self.session_id, message_id=sent.message_id
                    )
                )
        finally:
            self._release_early()
        if sent.status == ExecutionStatus.QUEUED:  # new, or a retried send still waiting
            await self._wait(sent.execution_id, sent.message_id)
            return
        if sent.duplicate:  # a retried send: give the client whatever it may have missed
            await resume.resume(self, sent.execution_id, 0)

    async def _run_workflow(self, workflow_id: uuid.UUID, frame: p.MessageFrame) -> None:
        """A message on a workflow's session: a run on it, admitted like a REST run; its node
        frames and final output stream to the session (docs/workflows.md "Chat")."""
        workflows = WorkflowService(self.me)
        graph = wf.Graph.of((await workflows.get(workflow_id))["dag_structure"])
        value = input_of_message(graph, frame.content)
        turn = Turn(self.session_id, frame.content, frame.client_id)
        with telemetry.span("chat.message", attributes={"hb.session_id": str(self.session_id)}):
            admitted = await workflows.admit(workflow_id, value, source="chat", wait_for_slot=True, turn=turn)
            await queue_run(
                self.bus, self.me, workflow_id, admitted, source="chat", session_id=self.session_id
            )
        if admitted["status"] == ExecutionStatus.QUEUED:
            await self._wait(admitted["id"], admitted["message_id"])
            return
        self.forward(
            ExecutionStarted(
                execution_id=admitted["id"], session_id=self.session_id, message_id=admitted["message_id"]
            )
        )
        if admitted["duplicate"]:  # a retried send: give the client whatever it may have missed
            await resume.resume(self, admitted["id"], 0)

    # --- waiting for a slot --------------------------------------------------------------

    async def _wait(self, execution_id: uuid.UUID, message_id: uuid.UUID | None) -> None:
        """Say where the message stands in the queue and watch it until it has a slot."""
        if execution_id not in self.waiting:
            self.waiting[execution_id] = Waiting(message_id, time.monotonic())
        await self._look()
        if self.waiting and self._watcher is None:
            self._watcher = asyncio.get_running_loop().create_task(self._watch())

    async def _watch(self) -> None:
        try:
            while self.waiting and not self.closed:
                await asyncio.sleep(QUEUE_POLL_S)
                await self._look()
        except Exception:  # the database is away: the messages stay queued; a new send re-watches
            log.exception("watching queued chat messages failed")
        finally:
            self._watcher = None

    async def _look(self) -> None:
        """One read of every waiting message's place: a new position, a slot, an ending."""
        if not self.waiting:
            return
        places = await executions.places(self.me.tenant_id, list(self.waiting))
        now = time.monotonic()
        for execution_id, waited in list(self.waiting.items()):
            place = places.get(execution_id)
            if place is None or execution_id not in self.waiting:
                self.waiting.pop(execution_id, None)
            elif place.status == ExecutionStatus.QUEUED:
                if now - waited.since >= self.queue_wait_s:
                    await self._expire(execution_id)
                elif place.position is not None and place.position != waited.position:
                    waited.position = place.position
                    self.send(p.Queued(execution_id, waited.message_id, place.position))
            elif place.status in ACTIVE:
                trace.mark(execution_id, "queued")
                self.forward(
                    ExecutionStarted(
                        execution_id=execution_id, session_id=self.session_id, message_id=waited.message_id
                    )
                )
            else:  # ended while waiting (cancelled from elsewhere): its final state
                self.waiting.pop(execution_id, None)
                await resume.resume(self, execution_id, 0)

    async def _expire(self, execution_id: uuid.UUID) -> None:
        """Refuse a message that waited longer than `queue_wait_s` (if still queued)."""
        message = f"No execution slot freed up within {self.queue_wait_s:g} s; please retry later."
        row = await executions.expire_queued(self.me.tenant_id, execution_id, message)
        if row is None:
            return  # promoted meanwhile: the next look starts it
        failed = ExecutionFailed(
            execution_id=execution_id,
            session_id=self.session_id,
            error=ErrorInfo(code=executions.QUEUE_WAIT_EXCEEDED, message=message),
        )
        self.forward(failed)
        await self.bus.event(failed)  # the session's other sockets

    async def _abandon_waiting(self) -> None:
        """Cancel the messages this socket still has waiting (nobody would see them start)."""
        if self._watcher is not None:
            self._watcher.cancel()
        for execution_id in list(self.waiting):
            try:
                await execution_bus.cancel(self.bus, self.me, execution_id, reason="abandoned")
            except Exception:  # best effort: the promoter would start it, the reply is kept
                log.warning("could not cancel abandoned queued message %s", execution_id)
        self.waiting.clear()

    async def _cancel(self, execution_id: uuid.UUID) -> None:
        row = await service.get(self.me, execution_id)
        if row is None or row["session_id"] != self.session_id:
            raise Rejected("not_found", "No such execution in this session.", 404)
        row = await execution_bus.cancel(self.bus, self.me, execution_id)
        if row["status"] not in ACTIVE:
            final = resume.final_event(row)  # already ended: answer with its final state
            if final is not None:
                self.forward(final)


class IdleSweep:
    """Closes the chat sockets of this event loop whose client sent nothing for
    `IDLE_TIMEOUT_S` (4408) while nothing of theirs streams or waits.

    One task per loop looking every `IDLE_SWEEP_S`, instead of a timer (and a timeout
    object) per receive on every socket: an idle socket is closed between IDLE_TIMEOUT_S and
    IDLE_TIMEOUT_S + IDLE_SWEEP_S after its last frame. A socket found streaming counts as
    active at that moment (a long stream never makes its socket idle at once when it ends).
    """

    _current: IdleSweep | None = None

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.sockets: set[ChatConnection] = set()
        self._task: asyncio.Task[None] | None = None
        self._closing: set[asyncio.Task[None]] = set()

    @classmethod
    def of_loop(cls) -> IdleSweep:
        loop = asyncio.get_running_loop()
        if cls._current is None or cls._current.loop is not loop:
            cls._current = cls(loop)
        return cls._current

    def add(self, conn: ChatConnection) -> None:
        self.sockets.add(conn)
        if self._task is None:
            self._task = self.loop.create_task(self._run(), name="chat-idle-sweep")

    def discard(self, conn: ChatConnection) -> None:
        self.sockets.discard(conn)

    def sweep(self) -> None:
        """Close the sockets idle for too long now."""
        now = time.monotonic()
        for conn in list(self.sockets):
            if conn.closed or now - conn.last_seen < p.IDLE_TIMEOUT_S:
                continue
            if conn._streaming():
                conn.last_seen = now
                continue
            self.sockets.discard(conn)
            task = self.loop.create_task(conn.close(p.CLOSE_IDLE, "idle timeout"))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    async def _run(self) -> None:
        try:
            while self.sockets:
                await asyncio.sleep(IDLE_SWEEP_S)
                self.sweep()
        finally:
            self._task = None


class Flush:
    """Writes the frames that chat sockets of this event loop queued, once per loop pass.

    A relayed `DeltaBatch` (or a resume's replay) queues frames on many sockets at once;
    each socket's frames then leave in one transport write (`ChatConnection.flush`), and the
    whole pass costs one `call_soon`, not a task wakeup per frame.
    """

    _current: Flush | None = None

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.due: dict[ChatConnection, None] = {}  # insertion-ordered set
        self.scheduled = False

    @classmethod
    def of_loop(cls) -> Flush:
        loop = asyncio.get_running_loop()
        if cls._current is None or cls._current.loop is not loop:
            cls._current = cls(loop)
        return cls._current

    def add(self, conn: ChatConnection) -> None:
        self.due[conn] = None
        if not self.scheduled:
            self.scheduled = True
            self.loop.call_soon(self.run)

    def discard(self, conn: ChatConnection) -> None:
        self.due.pop(conn, None)

    def run(self) -> None:
        self.scheduled = False
        due, self.due = self.due, {}
        for conn in due:
            try:
                conn.flush()
            except Exception:  # one socket's failure is not the others'
                log.exception("writing to a chat socket failed")
                conn.out.clear()
