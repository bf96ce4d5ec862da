"""The chat socket refuses what it must (auth, origin, other people's sessions) and survives
bad frames with error frames, the socket staying open."""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid

import jwt
import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from helpers.api import ApiUser, member, register
from helpers.chat_fixtures import fake_agent, open_session
from helpers.platform import Platform, chat, fake_reply


def url(platform: Platform, session: str) -> str:
    return f"{platform.ws_base}/sessions/{session}/ws"


async def closed_with(ws, timeout: float = 10) -> int:
    """Read until the server closes; the close code."""
    with pytest.raises(ConnectionClosed) as closed:
        for _ in range(10):
            await asyncio.wait_for(ws.recv(), timeout)
    return closed.value.rcvd.code if closed.value.rcvd else -1


def expired_token(who: ApiUser) -> str:
    now = int(time.time())
    payload = {
        "sub": who.user_id,
        "tenant_id": who.tenant_id,
        "role": who.role,
        "partner_id": None,
        "iat": now - 3600,
        "exp": now - 60,
        "jti": uuid.uuid4().hex,
        "iss": "hirebuddha",
        "aud": "hirebuddha-api",
    }
    return jwt.encode(payload, os.environ["HB_SECRET_KEY"], algorithm="HS256")


async def test_bad_or_expired_or_missing_auth_closes_4401(platform: Platform, admin: ApiUser) -> None:
    session = await open_session(admin, (await fake_agent(admin))["id"])
    for first in (
        {"type": "auth", "token": "not-a-token"},
        {"type": "auth", "token": expired_token(admin)},
        {"type": "message", "content": "hi", "client_id": "1"},
        "not json",
    ):
        async with websockets.connect(url(platform, session)) as ws:
            await ws.send(first if isinstance(first, str) else json.dumps(first))
            assert await closed_with(ws) == 4401, first
    async with websockets.connect(url(platform, session)) as ws:  # says nothing for 5 s
        assert await closed_with(ws) == 4401


async def test_bearer_header_authenticates_the_handshake(platform: Platform, admin: ApiUser) -> None:
    session = await open_session(admin, (await fake_agent(admin))["id"])
    async with websockets.connect(url(platform, session), additional_headers=admin.headers) as ws:
        assert json.loads(await ws.recv()) == {"type": "ready", "session_id": session}


async def test_foreign_origin_closes_4403(platform: Platform, admin: ApiUser) -> None:
    session = await open_session(admin, (await fake_agent(admin))["id"])
    async with websockets.connect(url(platform, session), origin="https://evil.example") as ws:
        assert await closed_with(ws) == 4403
    own = platform.base_url  # same host as the server: allowed
    async with chat(platform, session, admin.token, origin=own):
        pass


async def test_another_tenants_or_users_session_is_not_found(platform: Platform, admin: ApiUser) -> None:
    session = await open_session(admin, (await fake_agent(admin))["id"])
    stranger = await register(admin.client)
    colleague = await member(admin)
    for who in (stranger, colleague):
        async with websockets.connect(url(platform, session)) as ws:
            await ws.send(json.dumps({"type": "auth", "token": who.token}))
            assert json.loads(await ws.recv())["code"] == "not_found"
            assert await closed_with(ws) == 4404
    async with websockets.connect(url(platform, str(uuid.uuid4()))) as ws:
        await ws.send(json.dumps({"type": "auth", "token": admin.token}))
        assert await closed_with(ws) == 4404


async def test_bad_frames_get_error_frames_and_the_socket_keeps_working(
    platform: Platform, admin: ApiUser
) -> None:
    bot = await fake_agent(admin)
    session = await open_session(admin, bot["id"])
    other = await open_session(admin, bot["id"])
    async with chat(platform, session, admin.token) as ws:
        cases = [
            ("{not json", "bad_json"),
            (json.dumps([1, 2]), "invalid_frame"),
            (json.dumps({"type": "shout"}), "unknown_type"),
            (json.dumps({"type": "message", "content": "no client id"}), "invalid_frame"),
            (json.dumps({"type": "message", "content": "", "client_id": "a"}), "invalid_frame"),
            (json.dumps({"type": "cancel", "execution_id": "nope"}), "invalid_frame"),
            (json.dumps({"type": "resume", "execution_id": session, "after_seq": -1}), "invalid_frame"),
            (json.dumps({"type": "cancel", "execution_id": str(uuid.uuid4())}), "not_found"),
            (json.dumps({"type": "message", "content": "x" * 100_000, "client_id": "b"}), "frame_too_large"),
        ]
        for frame, code in cases:
            await ws.send(frame)
            answer = await ws.recv()
            assert answer["type"] == "error" and answer["code"] == code, (frame[:60], answer)
        async with chat(platform, other, admin.token) as elsewhere:
            foreign = await elsewhere.message("[[reply:2]]")
            await elsewhere.reply(foreign)
        await ws.send({"type": "resume", "execution_id": foreign, "after_seq": 0})
        assert (await ws.until("error"))["code"] == "not_found"
        await ws.send({"type": "ping"})
        assert await ws.recv() == {"type": "pong"}
        execution = await ws.message("still here [[reply:5]]")
        final = await ws.reply(execution)
    assert final["type"] == "execution.completed" and final["text"] == fake_reply(5)


async def test_a_repeated_client_id_does_not_run_twice(platform: Platform, admin: ApiUser) -> None:
    session = await open_session(admin, (await fake_agent(admin))["id"])
    async with chat(platform, session, admin.token) as ws:
        first = await ws.message("once [[reply:4]]", client_id="same-key")
        await ws.reply(first)
    async with chat(platform, session, admin.token) as ws:
        again = await ws.message("once [[reply:4]]", client_id="same-key")
        final = await ws.reply(again)
    assert again == first and final["text"] == fake_reply(4)
    history = (await admin.get(f"/api/v1/sessions/{session}/messages")).json()
    assert [m["role"] for m in history] == ["user", "assistant"]
