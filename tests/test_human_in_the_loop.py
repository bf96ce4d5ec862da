"""Human in the loop end to end (docs/human-in-the-loop.md): a support person takes a live
session over from the agent, talks with the end user, hands back; the inbox; a restart keeps a
session held. Web and actors processes, RabbitMQ, PostgreSQL and the fake LLM over HTTP."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import websockets

from conftest import start_web
from helpers.api import ApiUser, member, register
from helpers.chat_fixtures import fake_agent, open_session
from helpers.eventually import eventually
from helpers.fake_llm import FakeLLM
from helpers.platform import Platform, UsageTap, chat, delta_text, running_platform


@pytest.fixture(scope="module")
async def usage(platform: Platform) -> AsyncIterator[UsageTap]:
    async with UsageTap(platform.env["HB_AMQP_PREFIX"]) as tap:
        yield tap


@pytest.fixture
async def people(admin: ApiUser) -> dict[str, ApiUser]:
    """A tenant with an end user and two support people."""
    return {
        "user": await member(admin),
        "support": await member(admin, "support"),
        "support2": await member(admin, "support"),
    }


async def test_takeover_mid_stream_cancels_the_agent_and_bills_the_partial(
    platform: Platform, admin: ApiUser, people: dict[str, ApiUser], usage: UsageTap
) -> None:
    user, support = people["user"], people["support"]
    bot = await fake_agent(admin)
    session = await open_session(user, bot["id"])
    async with chat(platform, session, user.token) as ws:
        execution = await ws.message("tell me everything [[reply:5000]]")
        for _ in range(3):
            await ws.until("delta", execution_id=execution)
        r = await support.post(f"/api/v1/sessions/{session}/takeover", json={"on_running": "cancel"})
        assert r.status_code == 200, r.text
        assert r.json()["hand"] == "human" and r.json()["held_by"] == support.user_id
        assert r.json()["cancelled"] == [execution]
        await ws.until("execution.cancelled", execution_id=execution)
        if not [f for f in ws.frames if f["type"] == "human.joined"]:  # it may come first or after
            await ws.until("human.joined")
        joined = next(f for f in ws.frames if f["type"] == "human.joined")
        assert joined["name"] == "Uma User" and joined["user_id"] == support.user_id
    row = (await admin.get(f"/api/v1/executions/{execution}")).json()
    assert row["status"] == "cancelled"
    assert 0 < row["usage"]["output_tokens"] < 5000
    events = await usage.wait_for(execution)
    assert len(events) == 1 and events[0].output_tokens == row["usage"]["output_tokens"]
    assert row["result_data"]["text"] == delta_text(ws.of(execution))[1]


async def test_takeover_can_let_the_running_reply_finish(
    platform: Platform, admin: ApiUser, people: dict[str, ApiUser]
) -> None:
    user, support = people["user"], people["support"]
    bot = await fake_agent(admin)
    session = await open_session(user, bot["id"])
    async with chat(platform, session, user.token) as ws:
        execution = await ws.message("a short one [[reply:200]]")
        await ws.until("delta", execution_id=execution)
        r = await support.post(f"/api/v1/sessions/{session}/takeover", json={"on_running": "finish"})
        assert r.status_code == 200 and r.json()["cancelled"] == []
        final = await ws.reply(execution)
        assert final["type"] == "execution.completed"


async def test_user_and_person_talk_live_then_the_agent_sees_the_human_turns(
    platform: Platform, admin: ApiUser, people: dict[str, ApiUser]
) -> None:
    user, support = people["user"], people["support"]
    bot = await fake_agent(admin)
    session = await open_session(user, bot["id"])
    async with chat(platform, session, user.token) as end, chat(platform, session, support.token) as person:
        first = await end.message("hello bot")
        await end.reply(first)
        assert (await support.post(f"/api/v1/sessions/{session}/takeover")).status_code == 200
        await end.until("human.joined")
        await person.until("human.joined")

        await end.send({"type": "message", "content": "is a person there?", "client_id": "u1"})
        seen = await person.until("message", "execution.started")
        assert (
            seen["type"] == "message" and seen["author"] == "user" and seen["content"] == "is a person there?"
        )
        echoed = await end.until("message", "execution.started")
        assert echoed["type"] == "message" and echoed["client_id"] == "u1"

        await person.send({"type": "message", "content": "Yes, Uma here. How can I help?", "client_id": "h1"})
        said = await end.until("message", "execution.started")
        assert said == {
            "type": "message",
            "session_id": session,
            "message_id": said["message_id"],
            "author": "human",
            "name": "Uma User",
            "content": "Yes, Uma here. How can I help?",
            "client_id": "h1",
            "created_at": said["created_at"],
        }

        # Another support person cannot write into a session someone else holds.
        async with chat(platform, session, people["support2"].token) as other:
            await other.send({"type": "message", "content": "me too", "client_id": "x"})
            refused = await other.until("error")
            assert refused["code"] == "session_held"

        r = await support.post(f"/api/v1/sessions/{session}/handback")
        assert r.status_code == 200 and r.json()["hand"] == "agent"
        left = await end.until("human.left")
        assert left["name"] == "Uma User"

        answer = await end.message("thanks [[echo]]")
        final = await end.reply(answer)
    assert final["type"] == "execution.completed"
    seen_by_model = json.loads(final["text"])
    assert seen_by_model[-3:] == [
        ["user", "is a person there?"],
        ["assistant", "Yes, Uma here. How can I help?"],
        ["user", "thanks [[echo]]"],
    ]
    history = (await user.get(f"/api/v1/sessions/{session}/messages")).json()
    roles = [(m["role"], m["content"]) for m in history]
    assert ("human", "Yes, Uma here. How can I help?") in roles and ("user", "is a person there?") in roles


async def test_a_second_takeover_conflicts_and_only_the_holder_hands_back(
    platform: Platform, admin: ApiUser, people: dict[str, ApiUser]
) -> None:
    user, support, support2 = people["user"], people["support"], people["support2"]
    session = await open_session(user, (await fake_agent(admin))["id"])
    assert (await support.post(f"/api/v1/sessions/{session}/takeover")).status_code == 200
    again = await support.post(f"/api/v1/sessions/{session}/takeover")
    assert again.status_code == 200  # the holder taking it again changes nothing
    second = await support2.post(f"/api/v1/sessions/{session}/takeover")
    assert second.status_code == 409
    assert second.json()["code"] == "session_held" and "Uma User" in second.json()["detail"]
    refused = await support2.post(f"/api/v1/sessions/{session}/handback")
    assert refused.status_code == 409 and refused.json()["code"] == "not_holder"
    assert (await user.post(f"/api/v1/sessions/{session}/takeover")).status_code == 403
    assert (await support.post(f"/api/v1/sessions/{session}/handback")).status_code == 200
    assert (await support2.post(f"/api/v1/sessions/{session}/takeover")).status_code == 200
    # A tenant admin may release a colleague's session.
    assert (await admin.post(f"/api/v1/sessions/{session}/handback")).status_code == 200
    bad = await support.post(f"/api/v1/sessions/{session}/takeover", json={"on_running": "later"})
    assert bad.status_code == 400 and bad.json()["code"] == "validation_error"


async def test_the_inbox_filters_updates_live_and_stays_in_its_tenant(
    platform: Platform, admin: ApiUser, people: dict[str, ApiUser]
) -> None:
    user, support = people["user"], people["support"]
    bot = await fake_agent(admin)
    session = await open_session(user, bot["id"])
    async with websockets.connect(f"{platform.ws_base}/inbox/ws") as live:
        await live.send(json.dumps({"type": "auth", "token": support.token}))
        assert json.loads(await live.recv()) == {"type": "ready"}
        assert (await support.post(f"/api/v1/sessions/{session}/takeover")).status_code == 200
        async with asyncio.timeout(20):
            change = json.loads(await live.recv())
        assert change["type"] == "inbox.changed" and change["session_id"] == session
        assert change["hand"] == "human" and change["held_by"] == support.user_id

    listed = (await support.get("/api/v1/inbox")).json()
    assert [i["session_id"] for i in listed] == [session]
    assert listed[0]["holder_name"] == "Uma User" and listed[0]["agent_name"] == bot["name"]
    assert (await support.get("/api/v1/inbox", params={"state": "escalated"})).json() == []
    assert len((await support.get("/api/v1/inbox", params={"assignee": "me"})).json()) == 1
    assert (await support.get("/api/v1/inbox", params={"assignee": "none"})).json() == []
    assert (await support.get("/api/v1/inbox", params={"agent_id": str(uuid.uuid4())})).json() == []
    bad = await support.get("/api/v1/inbox", params={"assignee": "whoever"})
    assert bad.status_code == 400 and bad.json()["code"] == "bad_value"
    assert (await user.get("/api/v1/inbox")).status_code == 403

    # Another tenant's support person sees none of it and cannot take it.
    other_admin = await register(admin.client)
    stranger = await member(other_admin, "support")
    assert (await stranger.get("/api/v1/inbox")).json() == []
    taken = await stranger.post(f"/api/v1/sessions/{session}/takeover")
    assert taken.status_code == 404
    async with websockets.connect(f"{platform.ws_base}/inbox/ws") as user_live:
        await user_live.send(json.dumps({"type": "auth", "token": user.token}))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(user_live.recv(), 20)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


async def test_a_restart_of_web_and_actors_keeps_the_session_held(database: str, fake_llm: FakeLLM) -> None:
    async with running_platform(fake_llm, 1) as running:
        async with httpx.AsyncClient(base_url=running.base_url, timeout=30) as client:
            admin = await register(client)
            user, support = await member(admin), await member(admin, "support")
            session = await open_session(user, (await fake_agent(admin))["id"])
            assert (await support.post(f"/api/v1/sessions/{session}/takeover")).status_code == 200
        for proc in [*running.actors, running.web]:
            await asyncio.to_thread(proc.stop)
        running.actors.clear()
        running.base_url, running.web = await start_web(running.env)
        await running.start_actors()
        async with chat(running, session, user.token) as end, chat(running, session, support.token) as person:
            await end.send({"type": "message", "content": "still there?", "client_id": "after-restart"})
            got = await person.until("message", "execution.started")
            assert got["type"] == "message" and got["author"] == "user"
            await person.send({"type": "message", "content": "Still here.", "client_id": "h-after"})
            said = await end.until("message", "execution.started")
            while said["type"] == "message" and said["author"] == "user":  # its own echo first
                said = await end.until("message", "execution.started")
            assert (
                said["type"] == "message" and said["author"] == "human" and said["content"] == "Still here."
            )


async def test_escalation_rules_reach_the_inbox_the_session_and_the_mailbox(
    platform: Platform, admin: ApiUser, people: dict[str, ApiUser], mailbox
) -> None:
    user, support = people["user"], people["support"]
    rules = {"keywords": ["Refund", "lawyer"], "failed_answers": 2, "sentiment_below": -0.5}
    r = await admin.put("/api/v1/tenant/escalation-rules", json=rules)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "keywords": ["lawyer", "refund"],
        "failed_answers": 2,
        "sentiment_below": -0.5,
        "agent_tool": False,
    }
    assert (await support.put("/api/v1/tenant/escalation-rules", json=rules)).status_code == 403
    bad = await admin.put("/api/v1/tenant/escalation-rules", json={"failed_answers": 0})
    assert bad.status_code == 400 and bad.json()["code"] == "validation_error"

    bot = await fake_agent(admin)
    by_keyword = await open_session(user, bot["id"])
    async with chat(platform, by_keyword, user.token) as ws:
        answer = await ws.message("I want a REFUND for my order")
        assert (await ws.reply(answer))["type"] == "execution.completed"
        escalated = await ws.until("session.escalated")
        assert "refund" in escalated["reason"]
    [mail] = await mailbox.wait_for(to=support.email, subject=f"conversation with {bot['name']}")
    assert "refund" in mail.get_body(preferencelist=("plain",)).get_content()
    await mailbox.wait_for(to=admin.email, subject=f"conversation with {bot['name']}")
    assert not mailbox.messages(to=user.email)

    by_failures = await open_session(user, bot["id"])
    async with chat(platform, by_failures, user.token) as ws:
        for attempt in range(2):
            answer = await ws.message(f"try {attempt} [[fail:400]]")
            assert (await ws.reply(answer))["type"] == "execution.failed"
        await ws.until("session.escalated")

    moody = await fake_agent(
        admin,
        output_schema={
            "type": "object",
            "properties": {"sentiment": {"type": "number"}},
            "required": ["sentiment"],
        },
    )
    by_sentiment = await open_session(user, moody["id"])
    async with chat(platform, by_sentiment, user.token) as ws:
        answer = await ws.message('this is awful [[json:{"sentiment": -0.9}]]')
        assert (await ws.reply(answer))["type"] == "execution.completed"
        assert "-0.9" in (await ws.until("session.escalated"))["reason"]

    inbox = (await support.get("/api/v1/inbox", params={"state": "escalated"})).json()
    assert {i["session_id"] for i in inbox} == {by_keyword, by_failures, by_sentiment}
    assert all(i["held_by"] is None and i["escalation_reason"] for i in inbox)
    # Taking one over answers its escalation; handing back leaves the inbox.
    assert (await support.post(f"/api/v1/sessions/{by_keyword}/takeover")).status_code == 200
    assert (await support.get("/api/v1/inbox", params={"state": "human"})).json()[0][
        "session_id"
    ] == by_keyword
    assert (await support.post(f"/api/v1/sessions/{by_keyword}/handback")).status_code == 200
    left = {i["session_id"] for i in (await support.get("/api/v1/inbox")).json()}
    assert left == {by_failures, by_sentiment}


async def test_the_co_pilot_drafts_for_the_person_only_and_is_metered(
    platform: Platform, admin: ApiUser, people: dict[str, ApiUser], usage: UsageTap
) -> None:
    user, support = people["user"], people["support"]
    bot = await fake_agent(admin)
    session = await open_session(user, bot["id"])
    async with chat(platform, session, user.token) as end, chat(platform, session, support.token) as person:
        await end.send({"type": "draft"})
        assert (await end.until("error"))["code"] == "not_holder"
        assert (await support.post(f"/api/v1/sessions/{session}/takeover")).status_code == 200
        await end.send({"type": "message", "content": "where is my parcel? [[echo]]", "client_id": "u"})
        await person.until("message")
        await person.send({"type": "draft"})
        started = await person.until("draft.started", "error")
        assert started["type"] == "draft.started", started
        draft = await person.until("draft.completed", "draft.failed")
        assert draft["type"] == "draft.completed" and draft["draft_id"] == started["draft_id"]
        deltas = [
            f for f in person.frames if f["type"] == "draft.delta" and f["draft_id"] == started["draft_id"]
        ]
        assert "".join(f["text"] for f in deltas) == draft["text"]
        assert json.loads(draft["text"])[-1] == ["user", "where is my parcel? [[echo]]"]
        # The person sends the draft (edited) as their own message; the end user never saw it.
        await person.send({"type": "message", "content": "It ships today.", "client_id": "h"})
        said = await end.until("message")
        while said["author"] != "human":
            said = await end.until("message")
        assert said["content"] == "It ships today."
    assert not [f for f in end.frames if f["type"].startswith("draft.") or f["type"] == "delta"]
    [metered] = await usage.wait_for(started["draft_id"])
    assert metered.output_tokens > 0
    row = (await admin.get(f"/api/v1/executions/{started['draft_id']}")).json()
    assert row["source"] == "copilot" and row["session_id"] is None and row["status"] == "completed"
    history = (await user.get(f"/api/v1/sessions/{session}/messages")).json()
    assert draft["text"] not in [m["content"] for m in history]


async def test_a_draft_nobody_will_send_is_cancelled_on_hand_back_and_on_leaving(
    platform: Platform, admin: ApiUser, people: dict[str, ApiUser]
) -> None:
    user, support = people["user"], people["support"]
    bot = await fake_agent(admin)
    session = await open_session(user, bot["id"])

    async def status(execution_id: str, want: str) -> None:
        async def row() -> dict[str, Any]:
            return (await admin.get(f"/api/v1/executions/{execution_id}")).json()

        ended = await eventually(row, lambda r: r["status"] == want, f"draft {execution_id} {want}")
        assert ended["source"] == "copilot"

    assert (await support.post(f"/api/v1/sessions/{session}/takeover")).status_code == 200
    async with chat(platform, session, user.token) as end, chat(platform, session, support.token) as person:
        # A long draft: the conversation asks the fake LLM for 30,000 tokens.
        await end.send({"type": "message", "content": "tell me everything [[reply:30000]]", "client_id": "u"})
        await person.until("message")
        await person.send({"type": "draft"})
        handed = await person.until("draft.started")
        await person.until("draft.delta")
        assert (await support.post(f"/api/v1/sessions/{session}/handback")).status_code == 200
        failed = await person.until("draft.failed", "draft.completed")
        assert failed["type"] == "draft.failed" and failed["draft_id"] == handed["draft_id"], failed
        assert failed["error"]["code"] == "cancelled"
    await status(handed["draft_id"], "cancelled")

    assert (await support.post(f"/api/v1/sessions/{session}/takeover")).status_code == 200
    async with chat(platform, session, support.token) as person:
        await person.send({"type": "draft"})
        left = await person.until("draft.started")
        await person.until("draft.delta")
    # The person's socket closed mid-draft: the draft stops too.
    await status(left["draft_id"], "cancelled")


async def test_the_agents_escalate_to_human_tool_reaches_the_inbox_and_the_mailbox(
    platform: Platform, admin: ApiUser, people: dict[str, ApiUser], mailbox
) -> None:
    user, support = people["user"], people["support"]
    bot = await fake_agent(admin)
    session = await open_session(user, bot["id"])
    async with chat(platform, session, user.token) as ws:  # not offered until the tenant turns it on
        answer = await ws.message("plain [[echo]]")
        assert (await ws.reply(answer))["type"] == "execution.completed"
        assert not [f for f in ws.frames if f["type"] == "tool.call"]
    r = await admin.put("/api/v1/tenant/escalation-rules", json={"agent_tool": True})
    assert r.status_code == 200 and r.json()["agent_tool"] is True
    async with chat(platform, session, user.token) as ws:
        answer = await ws.message("please get me a real person [[tool:escalate_to_human]]")
        final = await ws.reply(answer)
        assert final["type"] == "execution.completed", final
        call = next(f for f in ws.frames if f["type"] == "tool.call")
        assert call["name"] == "escalate_to_human" and "real person" in call["arguments"]["reason"]
        if not [f for f in ws.frames if f["type"] == "session.escalated"]:
            await ws.until("session.escalated")
        assert "asked to join" in final["text"]
    [item] = (await support.get("/api/v1/inbox", params={"state": "escalated"})).json()
    assert item["session_id"] == session and "real person" in item["escalation_reason"]
    [mail] = await mailbox.wait_for(to=support.email, subject=f"conversation with {bot['name']}")
    assert "real person" in mail.get_body(preferencelist=("plain",)).get_content()
