"""Chat sessions opened on a workflow (docs/workflows.md "Chat"): the session body, a message
that starts a run over the real socket, its node frames and output, and the history."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import websockets

from helpers.api import ApiUser, agent, member
from helpers.platform import Platform, fake_reply

WAIT = 30.0

ONE_FIELD = {
    "nodes": [
        {"id": "input", "type": "input", "fields": [{"name": "jd", "type": "string"}]},
        {"id": "a", "type": "llm", "model": "fake", "prompt_template": "[[reply:120]] {input.jd}"},
        {"id": "out", "type": "output", "value": {"t": "{a.text}"}},
    ],
    "edges": [{"source": "input", "target": "a"}, {"source": "a", "target": "out"}],
}
TWO_FIELDS = {
    "nodes": [
        {
            "id": "input",
            "type": "input",
            "fields": [{"name": "jd", "type": "string"}, {"name": "n", "type": "integer"}],
        },
        {"id": "a", "type": "llm", "model": "fake", "prompt_template": "[[reply:30]] {input.jd} {input.n}"},
        {"id": "out", "type": "output", "value": {"t": "{a.text}"}},
    ],
    "edges": [{"source": "input", "target": "a"}, {"source": "a", "target": "out"}],
}


async def workflow(admin: ApiUser, structure: dict[str, Any]) -> str:
    r = await admin.post("/api/v1/workflows", json={"name": "chat wf", "dag_structure": structure})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def session_on(who: ApiUser, workflow_id: str) -> str:
    r = await who.post("/api/v1/sessions", json={"workflow_id": workflow_id, "title": "wf chat"})
    assert r.status_code == 201, r.text
    assert r.json()["workflow_id"] == workflow_id and r.json()["agent_id"] is None
    return str(r.json()["id"])


async def chat(
    platform: Platform, who: ApiUser, session_id: str, content: str, client_id: str | None = None
) -> list[dict[str, Any]]:
    """Send one message; every frame up to the first execution's end (or an error)."""
    url = f"{platform.ws_base}/sessions/{session_id}/ws"
    frames: list[dict[str, Any]] = []
    client_id = client_id or str(uuid.uuid4())
    async with websockets.connect(url) as ws:
        await ws.send(json.dumps({"type": "auth", "token": who.token}))
        await ws.send(json.dumps({"type": "message", "content": content, "client_id": client_id}))
        async with asyncio.timeout(WAIT):
            async for raw in ws:
                frames.append(json.loads(raw))
                kind = frames[-1]["type"]
                if kind in ("execution.completed", "execution.failed", "error"):
                    break
    return frames


async def test_the_session_body_names_exactly_one_agent_or_workflow(
    platform: Platform, admin: ApiUser
) -> None:
    workflow_id = await workflow(admin, ONE_FIELD)
    both = {"agent_id": (await agent(admin))["id"], "workflow_id": workflow_id}
    for body in (both, {}, {"title": "neither"}):
        r = await admin.post("/api/v1/sessions", json=body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["code"] == "validation_error"
    missing = await admin.post("/api/v1/sessions", json={"workflow_id": str(uuid.uuid4())})
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    await admin.patch(f"/api/v1/workflows/{workflow_id}", json={"is_active": False})
    inactive = await admin.post("/api/v1/sessions", json={"workflow_id": workflow_id})
    assert inactive.status_code == 404


async def test_a_message_runs_the_workflow_and_streams_its_nodes_over_the_session_socket(
    platform: Platform, admin: ApiUser
) -> None:
    workflow_id = await workflow(admin, ONE_FIELD)
    user = await member(admin)
    session_id = await session_on(user, workflow_id)
    frames = await chat(platform, user, session_id, "a senior welder")
    kinds = [f["type"] for f in frames]
    assert kinds[0] == "ready" and "execution.started" in kinds, kinds
    run_id = next(f["execution_id"] for f in frames if f["type"] == "execution.started")
    nodes = [(f["type"], f.get("node_id")) for f in frames if f["type"].startswith("node.")]
    assert ("node.started", "a") in nodes and ("node.completed", "a") in nodes, nodes
    a_deltas = [f for f in frames if f["type"] == "node.delta" and f["node_id"] == "a"]
    assert [f["seq"] for f in a_deltas] == list(range(1, len(a_deltas) + 1))
    assert "".join(f["text"] for f in a_deltas) == fake_reply(120)
    assert frames[-1]["type"] == "execution.completed", frames[-1]
    assert frames[-1]["execution_id"] == run_id and frames[-1]["output"] == {"t": fake_reply(120)}

    run = (await user.get(f"/api/v1/workflow-runs/{run_id}")).json()
    assert run["status"] == "completed" and run["input"] == {"jd": "a senior welder"}, run
    history = (await user.get(f"/api/v1/sessions/{session_id}/messages")).json()
    assert [(m["role"], m["execution_id"]) for m in history] == [("user", run_id), ("assistant", run_id)]
    assert history[0]["content"] == "a senior welder"
    assert history[1]["content"] == fake_reply(120)  # a lone text output reads as text


async def test_a_retried_send_gets_the_same_run_not_a_second_one(platform: Platform, admin: ApiUser) -> None:
    session_id = await session_on(admin, await workflow(admin, ONE_FIELD))
    first = await chat(platform, admin, session_id, "a welder", client_id="same-send")
    # The client did not see the answer (say its connection dropped) and sends again.
    again = await chat(platform, admin, session_id, "a welder", client_id="same-send")
    runs = [
        next(f["execution_id"] for f in frames if f["type"] == "execution.started")
        for frames in (first, again)
    ]
    assert runs[0] == runs[1], again
    assert again[-1]["type"] == "execution.completed", again[-1]
    assert again[-1]["output"] == {"t": fake_reply(120)}
    # Its end, as a reconnect's resume gives it (node frames are the run socket's to replay).
    assert again[-1]["execution_id"] == runs[0] and again[-1]["text"] == first[-1]["text"]
    history = (await admin.get(f"/api/v1/sessions/{session_id}/messages")).json()
    assert [(m["role"], m["execution_id"]) for m in history] == [("user", runs[0]), ("assistant", runs[0])]


async def test_a_workflow_of_several_fields_takes_a_json_object_or_says_why_not(
    platform: Platform, admin: ApiUser
) -> None:
    session_id = await session_on(admin, await workflow(admin, TWO_FIELDS))
    refused = await chat(platform, admin, session_id, "just some text")
    assert refused[-1]["type"] == "error" and refused[-1]["code"] == "invalid_input", refused[-1]
    assert "jd, n" in refused[-1]["message"]
    mistyped = await chat(platform, admin, session_id, json.dumps({"jd": "x", "n": "three"}))
    assert mistyped[-1]["type"] == "error" and mistyped[-1]["code"] == "invalid_input"
    assert "input.n" in mistyped[-1]["message"]
    frames = await chat(platform, admin, session_id, json.dumps({"jd": "x", "n": 3}))
    assert frames[-1]["type"] == "execution.completed" and frames[-1]["output"] == {"t": fake_reply(30)}
    history = (await admin.get(f"/api/v1/sessions/{session_id}/messages")).json()
    assert [m["role"] for m in history] == ["user", "assistant"]  # refused messages leave nothing


async def test_in_the_console_a_user_picks_a_workflow_and_watches_its_nodes_and_output(
    browser: Any, platform: Platform, admin: ApiUser
) -> None:
    from playwright.async_api import expect
    from test_spa_browser import sign_in

    from helpers.browser import PHONE, no_horizontal_scroll, tab

    r = await admin.post("/api/v1/workflows", json={"name": "Job ad writer", "dag_structure": ONE_FIELD})
    assert r.status_code == 201, r.text
    user = await member(admin)
    async with tab(browser, platform.base_url) as t:
        page = t.page
        await sign_in(t, user.email)
        await t.go("/chat")
        await page.get_by_label("Agent or workflow").select_option(label="Job ad writer")
        await page.get_by_role("button", name="Start chat").click()
        await expect(page.get_by_role("region", name="Chat: Job ad writer")).to_be_visible()
        await page.get_by_label("Message").fill("a senior welder")
        await page.get_by_role("button", name="Send").click()
        steps = page.get_by_role("list", name="Workflow steps")
        node = steps.locator('[data-node="a"]')
        await expect(node).to_have_attribute("data-status", "completed", timeout=30_000)
        await expect(node.locator(".chat-step-text")).to_contain_text(fake_reply(120).strip())
        await expect(page.get_by_test_id("workflow-output")).to_contain_text(fake_reply(120).strip())
        await t.shot("workflow-chat-desktop")
        t.assert_clean()
    async with tab(browser, platform.base_url, viewport=PHONE) as t:
        await sign_in(t, user.email)
        await t.go("/chat")
        await t.page.get_by_role("link", name="Job ad writer").first.click()
        # The history after a reload: the message and the run's output.
        await expect(t.page.get_by_text("a senior welder")).to_be_visible()
        await expect(t.page.locator(".msg-assistant")).to_contain_text(fake_reply(120).strip()[:20])
        await no_horizontal_scroll(t)
        await t.shot("workflow-chat-phone")
        t.assert_clean()
