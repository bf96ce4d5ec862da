"""Providers against the fake LLM over real HTTP, and the offline demo provider."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from actors.providers import (
    DemoProvider,
    OpenAIProvider,
    ProviderError,
    TransientProviderError,
    count_tokens,
    demo_reply,
    make_client,
    model_from_schema,
    provider_for,
    structured,
)
from helpers.fake_llm import FakeLLM
from runtime.messages import Usage
from runtime.supervision import TransientError


def _user(text: str) -> list[dict[str, Any]]:
    return [{"role": "system", "content": "Be brief."}, {"role": "user", "content": text}]


async def _drain(provider: Any, messages: list[dict[str, Any]]) -> tuple[str, Usage]:
    text, usage = [], None
    async for item in provider.stream(messages, model="fake-1"):
        if isinstance(item, Usage):
            usage = item
        else:
            assert usage is None, "usage must come after every text delta"
            text.append(item)
    assert usage is not None, "the stream must end with a Usage"
    return "".join(text), usage


async def test_openai_provider_streams_the_reply_and_reported_usage(fake_llm: FakeLLM) -> None:
    provider = OpenAIProvider(fake_llm.base_url, "test-key")
    text, usage = await _drain(provider, _user("hello [[reply:7]]"))
    await provider.aclose()
    assert text == "".join(f"tok{k} " for k in range(1, 8))
    assert usage.output_tokens == 7 and usage.input_tokens > 0 and not usage.counted


async def test_missing_usage_is_counted_and_flagged(fake_llm: FakeLLM) -> None:
    provider = OpenAIProvider(fake_llm.base_url, "test-key")
    text, usage = await _drain(provider, _user("[[reply:4]] [[no-usage]]"))
    await provider.aclose()
    assert usage.counted
    assert usage.output_tokens == count_tokens(text) == 4
    assert usage.input_tokens > 0


async def test_aclose_mid_stream_closes_the_connection_to_the_server(fake_llm: FakeLLM) -> None:
    before = fake_llm.stats.snapshot()["disconnected_streams"]
    provider = OpenAIProvider(fake_llm.base_url, "test-key")
    received: list[str] = []
    first = asyncio.Event()

    async def consume() -> None:
        async for item in provider.stream(_user("[[reply:100000]]"), model="fake-1"):
            received.append(str(item))
            first.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first.wait(), 5)
    await asyncio.wait_for(provider.aclose(), 2)
    await asyncio.wait_for(task, 2)  # the stream ends quietly after aclose
    await asyncio.wait_for(fake_llm.stats.wait_for("disconnected_streams", before + 1), 5)
    assert 0 < len(received) < 100000


@pytest.mark.parametrize("status", [500, 503, 429])
async def test_server_errors_and_rate_limits_are_transient(fake_llm: FakeLLM, status: int) -> None:
    provider = OpenAIProvider(fake_llm.base_url, "test-key")
    with pytest.raises(TransientProviderError) as caught:
        await _drain(provider, _user(f"[[fail:{status}]]"))
    await provider.aclose()
    assert isinstance(caught.value, TransientError) and caught.value.status == status


async def test_client_errors_are_permanent(fake_llm: FakeLLM) -> None:
    provider = OpenAIProvider(fake_llm.base_url, "test-key")
    with pytest.raises(ProviderError) as caught:
        await _drain(provider, _user("[[fail:400]]"))
    await provider.aclose()
    assert not isinstance(caught.value, TransientError) and caught.value.status == 400


async def test_unreachable_endpoint_is_transient() -> None:
    provider = OpenAIProvider("http://127.0.0.1:9/v1", "test-key")
    with pytest.raises(TransientProviderError):
        await _drain(provider, _user("hi"))
    await provider.aclose()


async def test_demo_provider_is_deterministic_and_reports_usage() -> None:
    messages = _user("What is  the plan?")
    first = await _drain(DemoProvider(delay_s=0), messages)
    second = await _drain(DemoProvider(delay_s=0.001), messages)
    assert first == second
    text, usage = first
    assert text == demo_reply(messages) and text.startswith("You said: What is the plan?")
    assert usage.output_tokens == len(text.split()) and not usage.counted


async def test_demo_provider_stops_after_aclose() -> None:
    provider = DemoProvider(delay_s=0.001)
    seen = []
    async for item in provider.stream(_user("stop soon"), model="demo"):
        seen.append(item)
        await provider.aclose()
    assert len(seen) == 1


def test_provider_for_picks_demo_or_openai_compatible() -> None:
    assert isinstance(provider_for("demo"), DemoProvider)
    assert isinstance(provider_for(None), DemoProvider)
    remote = provider_for("acme", "http://127.0.0.1:1/v1", "k")
    assert isinstance(remote, OpenAIProvider) and remote.name == "acme"


SCHEMA = {
    "title": "Ticket",
    "type": "object",
    "properties": {
        "summary": {"type": "string", "description": "one line"},
        "priority": {"type": "integer"},
        "urgent": {"type": "boolean"},
        "labels": {"type": "array", "items": {"type": "string"}},
        "severity": {"enum": ["low", "high"]},
        "owner": {
            "type": "object",
            "properties": {"name": {"type": "string"}},
            "required": ["name"],
        },
        "note": {"type": ["string", "null"]},
    },
    "required": ["summary", "priority", "urgent", "labels", "severity", "owner"],
}


async def test_structured_output_is_valid_against_the_schema(fake_llm: FakeLLM) -> None:
    scripted = (
        '{"summary": "disk full", "priority": 2, "urgent": true, "labels": ["ops"],'
        ' "severity": "high", "owner": {"name": "Ada"}}'
    )
    client = make_client(fake_llm.base_url, "test-key")
    result = await structured(_user(f"file it [[json:{scripted}]]"), SCHEMA, model="fake-1", client=client)
    await client.close()
    assert result.data == {
        "summary": "disk full",
        "priority": 2,
        "urgent": True,
        "labels": ["ops"],
        "severity": "high",
        "owner": {"name": "Ada"},
        "note": None,
    }
    model_from_schema(SCHEMA).model_validate(result.data)
    assert result.usage.output_tokens > 0 and not result.usage.counted


async def test_structured_output_rejects_json_that_breaks_the_schema(fake_llm: FakeLLM) -> None:
    client = make_client(fake_llm.base_url, "test-key")
    with pytest.raises(ProviderError) as caught:
        await structured(
            _user('[[json:{"summary": 5}]]'), SCHEMA, model="fake-1", client=client, max_retries=1
        )
    await client.close()
    assert caught.value.code == "invalid_output"


async def test_structured_output_maps_server_errors(fake_llm: FakeLLM) -> None:
    client = make_client(fake_llm.base_url, "test-key")
    with pytest.raises(TransientProviderError):
        await structured(_user("[[fail:502]]"), SCHEMA, model="fake-1", client=client)
    await client.close()


async def test_unscripted_structured_output_is_synthesized_from_the_schema(
    fake_llm: FakeLLM,
) -> None:
    client = make_client(fake_llm.base_url, "test-key")
    result = await structured(_user("no script"), SCHEMA, model="fake-1", client=client)
    await client.close()
    model_from_schema(SCHEMA).model_validate(result.data)
    assert result.data["severity"] == "low" and result.data["owner"] == {"name": "tok"}
