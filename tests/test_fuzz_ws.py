"""The chat socket under fuzzing and abuse: random and malformed frames, huge and binary
frames, floods faster than the server answers, a thousand sockets coming and going. The web
process keeps serving other sockets correctly throughout, with bounded memory."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
import websockets
import websockets.sync.client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed

from helpers.api import ApiUser
from helpers.chat_fixtures import fake_agent, open_session
from helpers.platform import Platform, chat, fake_reply

SERVER_TYPES = {
    "ready",
    "pong",
    "error",
    "execution.started",
    "delta",
    "execution.completed",
    "execution.failed",
    "execution.cancelled",
    "execution.restarted",
    "snapshot",
    "execution.queued",
}
MiB = 1 << 20
GARBAGE = 2_000


def rss(platform: Platform) -> int:
    """Resident memory of the web process, bytes (from /proc)."""
    status = Path(f"/proc/{platform.web.proc.pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS"))) * 1024


async def still_serving(platform: Platform, admin: ApiUser, session: str) -> None:
    """A fresh socket gets a correct, complete streamed reply."""
    async with chat(platform, session, admin.token) as ws:
        final = await ws.reply(await ws.message("[[reply:4]]"))
    assert final["type"] == "execution.completed" and final["text"] == fake_reply(4), final


# Frames a confused or hostile client might send: JSON with plausible keys and wrong values,
# JSON of the wrong shape, non-JSON text, and binary.
_scalar = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=40))
_value = st.recursive(
    _scalar,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=8,
)
_types = st.sampled_from(["message", "cancel", "resume", "ping", "auth", "shout", "", "MESSAGE", None, 7])
_keys = st.sampled_from(["type", "content", "client_id", "execution_id", "after_seq", "token", "x"])
_objects = st.tuples(st.dictionaries(_keys, _value, max_size=5), _types, st.booleans()).map(
    lambda t: {**t[0], "type": t[1]} if t[2] else t[0]
)
_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=200)
FRAMES = st.one_of(
    _objects.map(json.dumps),
    _value.map(json.dumps),
    _text,
    st.binary(max_size=200),
    _objects.map(lambda d: json.dumps(d).encode()),
)


async def test_fuzzed_frames_each_get_an_answer_and_the_socket_stays_open(
    platform: Platform, admin: ApiUser
) -> None:
    """200 hypothesis-generated frames (text, JSON of any shape, binary) on one socket: after
    each, a ping gets its pong, every frame the server sends is valid JSON of a known type,
    the socket is never closed, and a real message on it still completes correctly."""
    bot = await fake_agent(admin)
    session = await open_session(admin, bot["id"])
    url = f"{platform.ws_base}/sessions/{session}/ws"
    seen: dict[str, int] = {}

    def fuzz() -> None:
        with websockets.sync.client.connect(url, max_size=4 * MiB) as ws:
            ws.send(json.dumps({"type": "auth", "token": admin.token}))
            assert json.loads(ws.recv(timeout=10))["type"] == "ready"

            @settings(max_examples=200, deadline=None, database=None, suppress_health_check=list(HealthCheck))
            @given(frame=FRAMES)
            def one(frame: str | bytes) -> None:
                ws.send(frame)
                ws.send(json.dumps({"type": "ping"}))
                while True:
                    answer = json.loads(ws.recv(timeout=10))
                    assert isinstance(answer, dict) and answer.get("type") in SERVER_TYPES, answer
                    seen[answer["type"]] = seen.get(answer["type"], 0) + 1
                    if answer["type"] == "pong":
                        return

            one()

    await asyncio.to_thread(fuzz)
    assert seen.get("error", 0) >= 50 and seen["pong"] >= 200, f"the fuzzer barely reached the server: {seen}"
    await still_serving(platform, admin, session)


async def test_huge_and_binary_frames_are_refused_without_harm(platform: Platform, admin: ApiUser) -> None:
    """A 200 KB text frame gets a `frame_too_large` error on an open socket; a binary JSON ping
    is answered; frames over the 1 MiB transport limit (text or binary) close that socket with
    1009; other sockets keep working."""
    session = await open_session(admin, (await fake_agent(admin))["id"])
    async with chat(platform, session, admin.token) as ws:
        await ws.send("x" * 200_000)
        answer = await ws.recv()
        assert answer["type"] == "error" and answer["code"] == "frame_too_large", answer
        await ws.ws.send(json.dumps({"type": "ping"}).encode())
        assert await ws.recv() == {"type": "pong"}
    for huge in ("y" * (2 * MiB), b"\x00" * (2 * MiB)):
        async with chat(platform, session, admin.token) as ws:
            with pytest.raises(ConnectionClosed) as closed:
                await ws.ws.send(huge)
                for _ in range(3):
                    await ws.ws.recv()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009, closed.value
    await still_serving(platform, admin, session)


async def test_a_flood_faster_than_the_server_answers_is_cut_off_and_memory_stays_bounded(
    platform: Platform, admin: ApiUser
) -> None:
    """One socket sends 30,000 pings and 2,000 near-limit (60 KB) garbage frames without reading
    (~120 MB): meanwhile another socket completes a reply; afterwards either every frame got its
    answer in order (ready, 30,000 pongs, 2,000 errors) or the server closed the socket with
    4008 because it fell behind, never a silent drop; the web process's resident memory grew
    by less than 50 MiB."""
    bot = await fake_agent(admin)
    session, other = await open_session(admin, bot["id"]), await open_session(admin, bot["id"])
    before = rss(platform)
    url = f"{platform.ws_base}/sessions/{session}/ws"
    ws = await websockets.connect(url, max_queue=1, write_limit=MiB)
    await ws.send(json.dumps({"type": "auth", "token": admin.token}))
    ping, garbage = json.dumps({"type": "ping"}), "{" + "z" * 60_000

    async def flood() -> str:
        try:
            for _ in range(30_000):
                await ws.send(ping)
            for _ in range(GARBAGE):
                await ws.send(garbage)
        except ConnectionClosed as exc:
            return f"closed {exc.rcvd.code if exc.rcvd else None}"
        return "sent"

    flooding = asyncio.create_task(asyncio.wait_for(flood(), 60))
    await still_serving(platform, admin, other)  # while the flood runs
    try:
        outcome = await flooding
    except TimeoutError:
        outcome = "back-pressured"  # the server stopped reading: TCP pushed back on us
    peak = rss(platform)
    # Nothing is dropped silently: either every frame was answered, in order, or the server
    # closed the socket (4008: it fell too far behind).
    answers: dict[str, int] = {}
    try:
        async with asyncio.timeout(60):
            while sum(answers.values()) < 30_001 + GARBAGE:
                frame = json.loads(await ws.recv())
                answers[frame["type"]] = answers.get(frame["type"], 0) + 1
        outcome += ", all answered"
    except ConnectionClosed as exc:
        outcome += f", then closed {exc.rcvd.code if exc.rcvd else None}"
    await ws.close()
    complete = answers == {"ready": 1, "pong": 30_000, "error": GARBAGE}
    assert complete or "closed 4008" in outcome, f"{outcome}: {answers}"
    assert peak - before < 50 * MiB, f"web RSS grew {(peak - before) / MiB:.0f} MiB under a flood ({outcome})"
    await still_serving(platform, admin, session)


async def test_a_thousand_sockets_opening_and_closing_leave_the_server_healthy(
    platform: Platform, admin: ApiUser
) -> None:
    """1,000 sockets, 50 at a time, each either authenticating and closing after `ready`,
    closing at once, sending garbage first, or dropping the TCP connection mid-handshake:
    all authenticated ones got `ready`; afterwards a chat works and the web process's RSS grew
    by less than 100 MiB."""
    session = await open_session(admin, (await fake_agent(admin))["id"])
    url = f"{platform.ws_base}/sessions/{session}/ws"
    before = rss(platform)
    ready = 0
    gate = asyncio.Semaphore(50)

    async def one(k: int) -> None:
        nonlocal ready
        async with gate:
            kind = k % 4
            try:
                ws = await websockets.connect(url, open_timeout=20)
            except (OSError, TimeoutError) as exc:
                raise AssertionError(f"socket {k} could not open: {exc!r}") from exc
            try:
                if kind == 0:
                    await ws.send(json.dumps({"type": "auth", "token": admin.token}))
                    frame: Any = json.loads(await asyncio.wait_for(ws.recv(), 20))
                    assert frame["type"] == "ready", frame
                    ready += 1
                elif kind == 1:
                    pass  # close at once, before auth
                elif kind == 2:
                    await ws.send(uuid.uuid4().hex)  # garbage instead of auth
                else:
                    ws.transport.abort()  # the TCP connection just vanishes
            finally:
                await ws.close()

    await asyncio.gather(*(one(k) for k in range(1000)))
    assert ready == 250
    await still_serving(platform, admin, session)
    grown = rss(platform) - before
    assert grown < 100 * MiB, f"web RSS grew {grown / MiB:.0f} MiB after 1,000 sockets"
