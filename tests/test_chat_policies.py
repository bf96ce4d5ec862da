"""Double-texting policies (reject, enqueue, interrupt, merge) and structured output, end to end."""

from __future__ import annotations

import json

from helpers.api import ApiUser, agent
from helpers.chat_fixtures import fake_agent, open_session
from helpers.platform import Platform, chat, delta_text, fake_reply

SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "score": {"type": "integer"},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["name", "score"],
}


async def test_enqueue_answers_a_second_message_after_the_first_in_order(
    platform: Platform, admin: ApiUser
) -> None:
    session = await open_session(admin, (await fake_agent(admin))["id"])
    async with chat(platform, session, admin.token) as ws:
        first = await ws.message("first [[reply:400]]")
        second = await ws.message("second [[reply:5]]")
        done_first = await ws.reply(first)
        done_second = await ws.reply(second)
    order = [f["execution_id"] for f in ws.frames if f["type"] in ("delta", "execution.completed")]
    last_of_first = max(i for i, e in enumerate(order) if e == first)
    first_of_second = min(i for i, e in enumerate(order) if e == second)
    assert last_of_first < first_of_second, "the second reply began before the first ended"
    assert done_first["text"] == fake_reply(400) and done_second["text"] == fake_reply(5)
    # The second call saw the first exchange as history.
    assert done_second["usage"]["input_tokens"] > done_first["usage"]["input_tokens"] + 400
    assert delta_text(ws.of(second))[1] == fake_reply(5)


async def test_reject_refuses_a_message_while_one_runs(platform: Platform, admin: ApiUser) -> None:
    session = await open_session(admin, (await fake_agent(admin, double_texting="reject"))["id"])
    async with chat(platform, session, admin.token) as ws:
        running = await ws.message("[[reply:3000]]")
        await ws.until("delta", execution_id=running)
        await ws.send({"type": "message", "content": "me too", "client_id": "second"})
        assert (await ws.until("error"))["code"] == "session_busy"
        await ws.send({"type": "cancel", "execution_id": running})
        assert (await ws.reply(running))["type"] == "execution.cancelled"
        after = await ws.message("now [[reply:2]]")
        assert (await ws.reply(after))["type"] == "execution.completed"


async def test_interrupt_cancels_the_running_reply_and_starts_the_new_one(
    platform: Platform, admin: ApiUser
) -> None:
    session = await open_session(admin, (await fake_agent(admin, double_texting="interrupt"))["id"])
    async with chat(platform, session, admin.token) as ws:
        running = await ws.message("[[reply:3000]]")
        await ws.until("delta", execution_id=running)
        newer = await ws.message("instead [[reply:6]]")
        assert (await ws.reply(running))["type"] == "execution.cancelled"
        final = await ws.reply(newer)
    assert final["type"] == "execution.completed" and final["text"] == fake_reply(6)


async def test_merge_answers_both_messages_as_one_turn_without_the_partial_reply(
    platform: Platform, admin: ApiUser
) -> None:
    session = await open_session(admin, (await fake_agent(admin, double_texting="merge"))["id"])
    first, second = "first [[reply:3000]]", "second [[echo]]"
    async with chat(platform, session, admin.token) as ws:
        running = await ws.message(first)
        await ws.until("delta", execution_id=running)
        merged = await ws.message(second)
        assert (await ws.reply(running))["type"] == "execution.cancelled"
        final = await ws.reply(merged)
        assert final["type"] == "execution.completed", final
        # What the model saw: ONE user turn with both messages, the partial reply not in it.
        assert json.loads(final["text"]) == [["user", f"{first}\n\n{second}"]]
        # A later message sees the merged turn and its answer, still without the partial.
        later = await ws.message("third [[echo]]")
        seen = json.loads((await ws.reply(later))["text"])
    both = ["user", f"{first}\n\n{second}"]
    assert seen == [both, ["assistant", final["text"]], ["user", "third [[echo]]"]]
    cancelled = (await admin.get(f"/api/v1/executions/{running}")).json()
    partial = cancelled["result_data"]["text"]
    assert cancelled["status"] == "cancelled" and partial, "the partial reply is kept in the session"
    assert cancelled["usage"]["output_tokens"] > 0, "the partial reply is billed"
    assert all(partial not in content for _, content in seen)


async def test_structured_output_returns_json_valid_against_the_schema(
    platform: Platform, admin: ApiUser
) -> None:
    session = await open_session(admin, (await fake_agent(admin, output_schema=SCHEMA))["id"])
    wanted = {"name": "Ada", "score": 7, "tags": ["python"]}
    async with chat(platform, session, admin.token) as ws:
        execution = await ws.message(f"rate her [[json:{json.dumps(wanted)}]]")
        final = await ws.reply(execution)
    assert final["type"] == "execution.completed", final
    assert json.loads(final["text"]) == wanted
    assert delta_text(ws.of(execution))[1] == final["text"]
    row = (await admin.get(f"/api/v1/executions/{execution}")).json()
    output = row["result_data"]["output"]
    assert output == wanted
    assert isinstance(output["name"], str) and isinstance(output["score"], int)
    assert row["usage"]["output_tokens"] > 0


async def test_structured_output_unscripted_is_still_valid(platform: Platform, admin: ApiUser) -> None:
    session = await open_session(admin, (await fake_agent(admin, output_schema=SCHEMA))["id"])
    async with chat(platform, session, admin.token) as ws:
        execution = await ws.message("anything")
        final = await ws.reply(execution)
    output = json.loads(final["text"])
    assert set(output) >= {"name", "score"}
    assert isinstance(output["name"], str) and isinstance(output["score"], int)


async def test_the_demo_provider_answers_without_any_llm(platform: Platform, admin: ApiUser) -> None:
    bot = await agent(admin)  # provider "demo"
    session = await open_session(admin, bot["id"])
    async with chat(platform, session, admin.token) as ws:
        execution = await ws.message("hi there")
        final = await ws.reply(execution)
    assert final["type"] == "execution.completed" and final["text"].startswith("You said: hi there")
    assert delta_text(ws.of(execution))[1] == final["text"]
