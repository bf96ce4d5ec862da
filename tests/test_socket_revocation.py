"""Suspending a tenant or deactivating a user closes their open sockets at once (4410), on
every web process, over real sockets; everybody else's sockets stay open and answer.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import websockets
from websockets.exceptions import ConnectionClosed

from conftest import start_web
from helpers.api import PASSWORD, ApiUser, agent, app_admin, member, register
from web.security.revocation import CLOSE_ACCESS_REVOKED

WAIT = 10.0


async def _session(who: ApiUser, agent_id: str) -> str:
    r = await who.post("/api/v1/sessions", json={"agent_id": agent_id})
    assert r.status_code == 201, r.text
    return r.json()["id"]


@asynccontextmanager
async def socket(base: str, path: str, token: str) -> AsyncIterator[websockets.ClientConnection]:
    """An authenticated socket past its `ready` frame."""
    async with websockets.connect(base.replace("http://", "ws://") + path) as ws:
        await ws.send(json.dumps({"type": "auth", "token": token}))
        ready = json.loads(await asyncio.wait_for(ws.recv(), WAIT))
        assert ready["type"] == "ready", ready
        yield ws


async def closed_with(ws: websockets.ClientConnection) -> int | None:
    """The close code the server sends (frames before it are skipped)."""
    try:
        async with asyncio.timeout(WAIT):
            while True:
                await ws.recv()
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None


async def still_open(ws: websockets.ClientConnection) -> bool:
    await ws.send(json.dumps({"type": "ping"}))
    async with asyncio.timeout(WAIT):
        while True:
            if json.loads(await ws.recv())["type"] == "pong":
                return True


async def test_deactivating_a_user_closes_their_sockets_on_every_web_process(client, server):
    admin = await register(client, "Revoked user")
    bot = await agent(admin)
    user = await member(admin)
    user_session, admin_session = await _session(user, bot["id"]), await _session(admin, bot["id"])
    other_base, other_web = await start_web()
    try:
        async with (
            socket(server, f"/api/v1/sessions/{user_session}/ws", user.token) as here,
            socket(other_base, f"/api/v1/sessions/{user_session}/ws", user.token) as there,
            socket(server, f"/api/v1/sessions/{admin_session}/ws", admin.token) as colleague,
        ):
            r = await admin.delete(f"/api/v1/tenant/users/{user.user_id}")
            assert r.status_code == 204, r.text
            assert await closed_with(here) == CLOSE_ACCESS_REVOKED
            assert await closed_with(there) == CLOSE_ACCESS_REVOKED
            assert await still_open(colleague)
    finally:
        other_web.stop()
    # And the user cannot come back: the handshake now refuses the token.
    url = server.replace("http://", "ws://") + f"/api/v1/sessions/{user_session}/ws"
    async with websockets.connect(url) as ws:
        await ws.send(json.dumps({"type": "auth", "token": user.token}))
        assert await closed_with(ws) == 4401


async def test_suspending_a_tenant_closes_its_chat_and_usage_sockets_only(client, server):
    root = await app_admin(client)
    admin, bystander = await register(client, "Suspended Co"), await register(client, "Bystander Co")
    bot, other_bot = await agent(admin), await agent(bystander)
    session, other_session = await _session(admin, bot["id"]), await _session(bystander, other_bot["id"])
    async with (
        socket(server, f"/api/v1/sessions/{session}/ws", admin.token) as chat,
        socket(server, "/api/v1/usage/ws", admin.token) as usage,
        socket(server, f"/api/v1/sessions/{other_session}/ws", bystander.token) as other,
    ):
        r = await root.patch(f"/api/v1/admin/tenants/{admin.tenant_id}", json={"status": "suspended"})
        assert r.status_code == 200, r.text
        assert await closed_with(chat) == CLOSE_ACCESS_REVOKED
        assert await closed_with(usage) == CLOSE_ACCESS_REVOKED
        assert await still_open(other)
        # Resuming is not a revocation: a socket opened after it stays open.
    r = await root.patch(f"/api/v1/admin/tenants/{admin.tenant_id}", json={"status": "active"})
    assert r.status_code == 200
    async with httpx.AsyncClient(base_url=server) as c:
        again = await c.post("/api/v1/auth/login", json={"email": admin.email, "password": PASSWORD})
    assert again.status_code == 200
    async with socket(server, f"/api/v1/sessions/{session}/ws", again.json()["access_token"]) as chat:
        assert await still_open(chat)


async def test_a_password_change_closes_the_users_sockets(client, server):
    admin = await register(client, "Password change")
    bot = await agent(admin)
    user = await member(admin)
    user_session, admin_session = await _session(user, bot["id"]), await _session(admin, bot["id"])
    async with (
        socket(server, f"/api/v1/sessions/{user_session}/ws", user.token) as mine,
        socket(server, f"/api/v1/sessions/{admin_session}/ws", admin.token) as colleague,
    ):
        body = {"old_password": PASSWORD, "new_password": "a brand new passphrase"}
        assert (await user.post("/api/v1/me/password", json=body)).status_code == 200
        assert await closed_with(mine) == CLOSE_ACCESS_REVOKED  # the session epoch's trigger
        assert await still_open(colleague)
