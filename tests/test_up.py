"""`hirebuddha up` on an empty database: seeds, runs web + actors + ledger, stops on Ctrl-C."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import uuid

import asyncpg
import httpx
import websockets

from conftest import ROOT, free_port
from helpers.eventually import eventually


async def _wait_for(pattern: str, log, timeout: float = 60) -> re.Match:
    match = await eventually(
        lambda: re.search(pattern, log.read_text(errors="replace")),
        what=pattern,
        timeout=timeout,
        interval=0.2,
    )
    assert match is not None
    return match


async def test_up_seeds_once_and_the_demo_agent_streams_and_is_metered(tmp_path):
    """A newcomer's path (two actors processes): credentials printed once, login works, the demo
    agent streams a reply over the WebSocket with no provider configured, the ledger prices it,
    Ctrl-C stops all."""
    name = f"hb_up_{uuid.uuid4().hex[:8]}"
    port = free_port()
    env = {
        **os.environ,
        "HB_DATABASE_URL": f"postgresql://postgres@127.0.0.1:5432/{name}",
        "HB_HTTP_PORT": str(port),
        "HB_AMQP_PREFIX": f"test-up-{name}.",
        "HB_HOME": str(tmp_path / ".hirebuddha"),
    }
    env.pop("HB_OPENAI_BASE_URL", None)
    log = tmp_path / "up.log"
    with log.open("w") as out:
        proc = subprocess.Popen(  # noqa: ASYNC220 - returns at once; the child runs on its own
            [sys.executable, "-m", "runtime.cli", "up", "--actors", "2"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        creds = await _wait_for(r"demo tenant admin\s+(\S+) / (\S+)", log)
        await _wait_for(r"processes: web, actors, ledger; 2 actors processes", log)
        # Both actors processes come up and consume the executions queues side by side.
        await _wait_for(r"actors ready[\s\S]*actors ready", log)
        await _wait_for(r"Uvicorn running", log)
        base = f"http://127.0.0.1:{port}/api/v1"
        async with httpx.AsyncClient(base_url=base) as api:
            login = await api.post("/auth/login", json={"email": creds[1], "password": creds[2]})
            assert login.status_code == 200, login.text
            token = login.json()["access_token"]
            auth = {"Authorization": f"Bearer {token}"}
            agents = {a["name"]: a for a in (await api.get("/agents", headers=auth)).json()}
            assert sorted(agents) == ["Buddha (demo)", "Job description writer"]  # the recruiting demo too
            assert {a["llm_config"]["provider"] for a in agents.values()} == {"demo"}
            workflows = (await api.get("/workflows", headers=auth)).json()
            assert [w["name"] for w in workflows] == ["Candidate fit ranking"]
            buddha = agents["Buddha (demo)"]["id"]
            session = (await api.post("/sessions", json={"agent_id": buddha}, headers=auth)).json()
        url = f"ws://127.0.0.1:{port}/api/v1/sessions/{session['id']}/ws"
        async with websockets.connect(url) as ws:
            await ws.send(json.dumps({"type": "auth", "token": token}))
            await ws.send(json.dumps({"type": "message", "content": "Hello there", "client_id": "c1"}))
            deltas, final = [], None
            async with asyncio.timeout(30):
                async for frame in ws:
                    event = json.loads(frame)
                    if event["type"] == "delta":
                        deltas.append(event)
                    elif event["type"] in ("execution.completed", "execution.failed"):
                        final = event
                        break
        assert final and final["type"] == "execution.completed", final
        assert [d["seq"] for d in deltas] == list(range(1, len(deltas) + 1))
        assert "".join(d["text"] for d in deltas) == final["text"] and "Hello there" in final["text"]

        conn = await asyncpg.connect(env["HB_DATABASE_URL"])
        try:
            # The ledger process writes the rows; polling the table is the only signal.
            await eventually(
                lambda: conn.fetchval("SELECT count(*) FROM ledger_entries"),
                what="ledger entries",
                interval=0.2,
            )
            assert await conn.fetchval("SELECT count(*) FROM users WHERE role = 'app_admin'") == 1
        finally:
            await conn.close()
    finally:
        proc.send_signal(signal.SIGINT)
        code = await asyncio.to_thread(proc.wait, 30)
        admin = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    assert code == 0, log.read_text()[-3000:]
    assert log.read_text().count("shown once") == 1
