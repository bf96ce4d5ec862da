"""The fake LLM speaks OpenAI's chat completions wire format, scripted by markers."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx

from helpers.fake_llm import FakeLLM


def _chat(content: str, **extra: Any) -> dict[str, Any]:
    return {"model": "fake-1", "messages": [{"role": "user", "content": content}], **extra}


async def _sse(client: httpx.AsyncClient, url: str, body: dict[str, Any]) -> list[Any]:
    events: list[Any] = []
    async with client.stream("POST", url, json=body) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        async for line in response.aiter_lines():
            if line.startswith("data: "):
                data = line[len("data: ") :]
                events.append(data if data == "[DONE]" else json.loads(data))
    return events


async def test_streams_chunks_usage_and_done_like_openai(fake_llm: FakeLLM) -> None:
    async with httpx.AsyncClient(base_url=fake_llm.base_url) as client:
        events = await _sse(
            client,
            "/chat/completions",
            _chat("hi [[reply:5]]", stream=True, stream_options={"include_usage": True}),
        )
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    assert all(c["object"] == "chat.completion.chunk" and c["model"] == "fake-1" for c in chunks)
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == "tok1 tok2 tok3 tok4 tok5 "
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["completion_tokens"] == 5
    assert all(c["usage"] is None for c in chunks[:-1]), "include_usage: usage null until last"


async def test_no_usage_marker_and_plain_stream_omit_usage(fake_llm: FakeLLM) -> None:
    async with httpx.AsyncClient(base_url=fake_llm.base_url) as client:
        scripted = await _sse(
            client,
            "/chat/completions",
            _chat("[[no-usage]]", stream=True, stream_options={"include_usage": True}),
        )
        plain = await _sse(client, "/chat/completions", _chat("x", stream=True))
    for events in (scripted, plain):
        assert all("usage" not in c or c["usage"] is None for c in events[:-1])


async def test_non_streamed_completion_and_models(fake_llm: FakeLLM) -> None:
    async with httpx.AsyncClient(base_url=fake_llm.base_url) as client:
        body = (await client.post("/chat/completions", json=_chat("[[reply:3]]"))).json()
        models = (await client.get("/models")).json()
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["message"]["content"] == "tok1 tok2 tok3 "
    assert body["usage"]["completion_tokens"] == 3
    assert models["data"][0]["id"] == "fake"


async def test_fail_marker_and_header_return_openai_error(fake_llm: FakeLLM) -> None:
    async with httpx.AsyncClient(base_url=fake_llm.base_url) as client:
        by_marker = await client.post("/chat/completions", json=_chat("[[fail:503]]"))
        by_header = await client.post(
            "/chat/completions", json=_chat("ok"), headers={"x-fake-llm": "[[fail:400]]"}
        )
    assert by_marker.status_code == 503 and "error" in by_marker.json()
    assert by_header.status_code == 400


async def test_json_marker_answers_tool_calls_when_tools_are_sent(fake_llm: FakeLLM) -> None:
    tools = [{"type": "function", "function": {"name": "Answer", "parameters": {}}}]
    async with httpx.AsyncClient(base_url=fake_llm.base_url) as client:
        body = (
            await client.post("/chat/completions", json=_chat('give [[json:{"a": [1, [2]]}]]', tools=tools))
        ).json()
    call = body["choices"][0]["message"]["tool_calls"][0]["function"]
    assert call["name"] == "Answer" and json.loads(call["arguments"]) == {"a": [1, [2]]}


async def test_stats_count_requests_completed_and_disconnected(fake_llm: FakeLLM) -> None:
    before = fake_llm.stats.snapshot()
    async with httpx.AsyncClient(base_url=fake_llm.base_url) as client:
        await _sse(client, "/chat/completions", _chat("[[reply:2]]", stream=True))
        async with client.stream(
            "POST", "/chat/completions", json=_chat("[[hang]]", stream=True)
        ) as response:
            async for _ in response.aiter_lines():
                break  # first chunk arrived; leave while the server hangs
        went_away = before["disconnected_streams"] + 1
        await asyncio.wait_for(fake_llm.stats.wait_for("disconnected_streams", went_away), 5)
        stats = (await client.get(fake_llm.base_url.removesuffix("/v1") + "/_stats")).json()
    assert stats["requests"] >= before["requests"] + 2
    assert stats["completed_streams"] >= before["completed_streams"] + 1
    assert stats["disconnected_streams"] >= before["disconnected_streams"] + 1


async def test_tool_marker_calls_the_named_tool_then_answers_from_its_result(fake_llm: FakeLLM) -> None:
    tools = [
        {"type": "function", "function": {"name": "other", "parameters": {}}},
        {
            "type": "function",
            "function": {"name": "lookup", "parameters": {"properties": {"q": {"type": "string"}}}},
        },
    ]
    asked = _chat("where is  Lyon? [[tool:lookup]]", tools=tools)
    async with httpx.AsyncClient(base_url=fake_llm.base_url) as client:
        first = (await client.post("/chat/completions", json=asked)).json()
        call = first["choices"][0]["message"]["tool_calls"][0]
        answered = {
            **asked,
            "messages": [
                *asked["messages"],
                {"role": "assistant", "content": None, "tool_calls": [call]},
                {"role": "tool", "tool_call_id": call["id"], "content": "Lyon is in France."},
            ],
        }
        second = (await client.post("/chat/completions", json=answered)).json()
        unasked = (await client.post("/chat/completions", json=_chat("hello", tools=tools))).json()
    assert call["function"]["name"] == "lookup"
    assert json.loads(call["function"]["arguments"]) == {"q": "where is Lyon?"}
    assert second["choices"][0]["message"]["content"].strip() == "From the tools: Lyon is in France."
    assert unasked["choices"][0]["finish_reason"] == "stop"  # offered tools, not asked: no call
