"""Attackers with accounts or lists of stolen passwords.

Already proven elsewhere (not repeated): refresh after logout (test_auth), after suspension
(test_hierarchy), another tenant's session over WebSocket (test_chat_guard), another tenant's
agent through the AMQP intake (test_jobs), API keys stored hashed (test_hierarchy).
"""

from __future__ import annotations

import json
import random
import re
import statistics
import time
import uuid

import httpx
import pytest
import websockets
from test_authorization_matrix import PUBLIC
from websockets.exceptions import ConnectionClosed

from conftest import start_web
from helpers.api import PASSWORD, ApiUser, agent, app_admin, email, login, partner, register, resold_tenant

pytestmark = pytest.mark.usefixtures("server")

SECRET_WORDS = "zebra-quartz-{}"


async def _resold_tenant_with_content(client: httpx.AsyncClient) -> tuple[ApiUser, ApiUser, dict]:
    """A partner, and its tenant's admin holding an agent, a session with a message and an
    execution, each carrying a unique word that must never reach the partner."""
    root = await app_admin(client)
    p = await partner(root)
    _, address = await resold_tenant(p)
    admin = await login(client, address)
    word = SECRET_WORDS.format(uuid.uuid4().hex[:8])
    bot = await agent(admin, name=f"Agent {word}", role=f"Role {word}")
    session = (await admin.post("/api/v1/sessions", json={"agent_id": bot["id"]})).json()["id"]
    execution = (
        await admin.post("/api/v1/executions", json={"agent_id": bot["id"], "input": f"in {word}"})
    ).json()
    ws_url = str(client.base_url).replace("http://", "ws://") + f"/api/v1/sessions/{session}/ws"
    async with websockets.connect(ws_url) as ws:
        await ws.send(json.dumps({"type": "auth", "token": admin.token}))
        assert json.loads(await ws.recv())["type"] == "ready"
        await ws.send(
            json.dumps({"type": "message", "content": f"msg {word}", "client_id": uuid.uuid4().hex})
        )
        started = json.loads(await ws.recv())
        assert started["type"] == "execution.started", started
    ids = {
        "agent_id": bot["id"],
        "session_id": session,
        "execution_id": execution["id"],
        "chat_execution_id": started["execution_id"],
        "message_id": started["message_id"],
        "user_id": admin.user_id,
        "tenant_id": admin.tenant_id,
        "word": word,
    }
    return p, admin, ids


async def test_partner_reaches_no_agent_session_message_or_execution_through_any_route(
    client: httpx.AsyncClient,
) -> None:
    """Every REST operation in the OpenAPI document, called by the partner admin with each id
    of its tenant's agent, session, message and executions in every path parameter, answers
    403 or 404; routes open to partners never include the secret word or those ids; the chat
    socket of the tenant's session refuses the partner."""
    p, admin, ids = await _resold_tenant_with_content(client)
    schema = (await client.get("/schema/openapi.json")).json()
    private = [ids[k] for k in ("agent_id", "session_id", "message_id")] + [ids["word"]]
    walked = 0
    public = {(m, re.sub(r":[a-z]+}", "}", route)) for m, route in PUBLIC}  # as OpenAPI spells paths
    for path, operations in schema["paths"].items():
        if not path.startswith("/api/v1/") or path.startswith("/api/v1/auth/"):
            continue
        for method in operations:
            targets = ["agent_id", "session_id", "execution_id", "chat_execution_id", "message_id"]
            fills = (
                [path]
                if "{" not in path
                else [path.split("{")[0] + ids[t] + path.split("}", 1)[1] for t in targets]
            )
            for url in fills:
                query = {"execution_id": ids["execution_id"], "tenant_id": ids["tenant_id"]}
                r = await p.client.request(
                    method.upper(), url, headers=p.headers, params=query, json={"status": "suspended"}
                )
                walked += 1
                if "{" not in path and method != "get" and path.startswith("/api/v1/partner/"):
                    continue  # the partner's own writes (its tenants, its rates): not tenant data
                if "{" not in path and path.startswith("/api/v1/me/"):
                    continue  # the partner admin's own account (profile, password, MFA)
                if (method.upper(), path) in public and 400 <= r.status_code < 500:
                    assert not [x for x in private if x in r.text], f"public {url}: {r.text[:300]}"
                    continue  # an outside system's webhook refuses the unsigned call
                if "{" in path and r.status_code == 400 and r.json().get("code") == "validation_error":
                    continue  # an id where the path wants something else (a month): refused unread
                if "{" in path or method != "get":
                    assert r.status_code in (403, 404, 405), (
                        f"partner {method.upper()} {url}: {r.status_code} {r.text[:300]}"
                    )
                    continue
                if r.status_code in (403, 404):
                    continue
                assert r.status_code == 200, f"partner GET {url}: {r.status_code} {r.text[:300]}"
                leaked = [x for x in private if x in r.text]
                assert not leaked, f"partner GET {url} shows {leaked}: {r.text[:300]}"
    assert walked > 80, f"only {walked} calls were made: the walk did not cover the API"
    # The owner still sees everything, so the ids above were real.
    assert (await admin.get(f"/api/v1/agents/{ids['agent_id']}")).status_code == 200
    messages = (await admin.get(f"/api/v1/sessions/{ids['session_id']}/messages")).json()
    assert ids["word"] in json.dumps(messages)
    ws_url = str(client.base_url).replace("http://", "ws://") + f"/api/v1/sessions/{ids['session_id']}/ws"
    async with websockets.connect(ws_url) as ws:
        await ws.send(json.dumps({"type": "auth", "token": p.token}))
        with pytest.raises(ConnectionClosed) as closed:
            for _ in range(5):
                frame = await ws.recv()
                assert ids["word"] not in frame
    assert closed.value.rcvd is not None and closed.value.rcvd.code in (4403, 4404), closed.value


def from_fresh_address(base: str) -> httpx.AsyncClient:
    """A client connecting from a loopback address of its own (127.x.y.z), so the per-IP
    counters it meets (shared by every web process of the database) start at zero."""
    address = f"127.{random.randint(1, 250)}.{random.randint(1, 250)}.{random.randint(2, 250)}"
    return httpx.AsyncClient(
        base_url=base, timeout=30, transport=httpx.AsyncHTTPTransport(local_address=address)
    )


async def test_login_is_limited_per_ip_whatever_the_email_and_answers_alike(database: str) -> None:
    """With HB_LOGIN_IP_LIMIT=5, one client address trying a new email each time gets 401 up to
    the limit, then 429 with Retry-After, even for a correct password; another address still
    logs in. Unknown email and wrong password get byte-identical status and detail."""
    base, web = await start_web({"HB_LOGIN_IP_LIMIT": "5", "HB_LOGIN_LIMIT": "1000"})
    attacker = from_fresh_address(base)
    try:
        async with from_fresh_address(base) as honest:
            victim = await register(honest)
            answers = []
            for _ in range(5):
                r = await attacker.post(
                    "/api/v1/auth/login", json={"email": email("stuff"), "password": "hunter2-hunter2"}
                )
                answers.append(r.status_code)
            assert answers == [401] * 5, answers
            r = await attacker.post("/api/v1/auth/login", json={"email": victim.email, "password": PASSWORD})
            assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1, (r.status_code, r.text)
            assert (
                await honest.post("/api/v1/auth/login", json={"email": victim.email, "password": PASSWORD})
            ).status_code == 200
            unknown = await honest.post(
                "/api/v1/auth/login", json={"email": email("nobody"), "password": "x" * 12}
            )
            wrong = await honest.post(
                "/api/v1/auth/login", json={"email": victim.email, "password": "x" * 12}
            )
            assert unknown.status_code == wrong.status_code == 401
            strip = lambda r: {k: v for k, v in r.json().items() if k != "request_id"}  # noqa: E731
            assert strip(unknown) == strip(wrong), (unknown.text, wrong.text)
    finally:
        await attacker.aclose()
        web.stop()


async def test_unknown_email_and_wrong_password_take_the_same_time(client: httpx.AsyncClient) -> None:
    """Login time for an unknown email and for a known email with a wrong password differ
    by less than 25% of the larger median (argon2 runs against a dummy hash for unknown
    emails). Each unknown try is paired with the wrong-password try just before it and the
    median of the pairs' differences is judged, so a neighbour's burst of load (the suite
    runs in parallel on two cores) that slows a stretch of tries slows both sides of its
    pairs. A real side channel shows in every round; a round lost to noise is run again,
    three rounds at most."""
    victim = await register(client)
    await client.post("/api/v1/auth/login", json={"email": victim.email, "password": "warm-up-password"})

    async def timed(address: str, i: int) -> float:
        start = time.perf_counter()
        r = await client.post(
            "/api/v1/auth/login", json={"email": address, "password": f"wrong-password-{i}"}
        )
        elapsed = time.perf_counter() - start
        assert r.status_code == 401, r.text
        return elapsed

    rounds = []
    for _ in range(3):
        pairs = [(await timed(victim.email, i), await timed(email("ghost"), i)) for i in range(30)]
        gap = abs(statistics.median(u - w for w, u in pairs))
        wrong = statistics.median(w for w, _ in pairs)
        unknown = statistics.median(u for _, u in pairs)
        rounds.append(
            f"unknown {unknown * 1000:.1f} ms, wrong password {wrong * 1000:.1f} ms, "
            f"paired gap {gap * 1000:.1f} ms"
        )
        if gap < 0.25 * max(unknown, wrong):
            return
    raise AssertionError(f"login timing tells accounts apart in every round: {rounds}")
