"""The lean streaming client (actors/providers/http.py) against raw HTTP servers: chunked
framing split anywhere, kept connections reused, a kept connection the server closed
retried on a fresh one, status errors with the SDK's messages, and the provider's headers."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest

from actors.llm import Providers
from actors.providers import OpenAIProvider, ProviderError, TransientProviderError
from actors.providers.http import Endpoint
from helpers.catalog import catalog_model
from runtime import db, provider_config
from runtime.messages import Usage
from runtime.settings import get_settings

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, dict[str, Any]], Awaitable[bool]]
"""Answers one request (its head and JSON body given); False closes the connection."""


async def _read_request(reader: asyncio.StreamReader) -> dict[str, Any] | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    lines = head.decode().split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
    body = await reader.readexactly(int(headers["content-length"]))
    return {"line": lines[0], "headers": headers, "json": json.loads(body)}


@asynccontextmanager
async def _server(handler: Handler) -> AsyncIterator[tuple[str, dict[str, int]]]:
    seen = {"connections": 0, "requests": 0}

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen["connections"] += 1
        try:
            while (request := await _read_request(reader)) is not None:
                seen["requests"] += 1
                if not await handler(reader, writer, request):
                    break
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/v1", seen
    finally:
        server.close()


def _events(texts: list[str]) -> bytes:
    chunks = [{"choices": [{"delta": {"content": t}}]} for t in texts]
    chunks.append({"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": len(texts)}})
    return b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks) + b"data: [DONE]\n\n"


def _chunked(body: bytes, size: int) -> bytes:
    out = b""
    for k in range(0, len(body), size):
        piece = body[k : k + size]
        out += b"%x;ext=1\r\n" % len(piece) + piece + b"\r\n"
    return out + b"0\r\nx-trailer: 1\r\n\r\n"


async def _collect(provider: OpenAIProvider) -> tuple[str, Usage]:
    text, usage = [], None
    async for item in provider.stream([{"role": "user", "content": "hi"}], model="m", max_tokens=9):
        if isinstance(item, Usage):
            usage = item
        else:
            text.append(str(item))
    assert usage is not None
    return "".join(text), usage


async def test_chunked_body_split_anywhere_and_connections_kept() -> None:
    texts = [f"w{k} " for k in range(40)]
    requests: list[dict[str, Any]] = []

    async def handler(
        _r: asyncio.StreamReader, writer: asyncio.StreamWriter, request: dict[str, Any]
    ) -> bool:
        requests.append(request)
        wire = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
        wire += _chunked(_events(texts), 7 + len(requests))
        for k in range(0, len(wire), 5):  # the framing arrives cut at every place
            writer.write(wire[k : k + 5])
            await writer.drain()
        return True

    async with _server(handler) as (url, seen):
        provider = OpenAIProvider(url, "sk-test", headers={"x-version": "7", "authorization": "Key other"})
        for _ in range(3):
            text, usage = await _collect(provider)
            assert text == "".join(texts)
            assert (usage.input_tokens, usage.output_tokens, usage.counted) == (3, 40, False)
        await provider.aclose()
    assert seen == {"connections": 1, "requests": 3}  # one kept connection served all three
    first = requests[0]
    assert first["line"] == "POST /v1/chat/completions HTTP/1.1"
    # The provider's own headers win over ours (a vendor that takes its key another way).
    assert first["headers"]["authorization"] == "Key other" and first["headers"]["x-version"] == "7"
    assert first["json"] == {
        "model": "m",
        "messages": [{"role": "user", "content": "hi"}],
        "stream": True,
        "stream_options": {"include_usage": True},
        "max_tokens": 9,
    }


async def test_a_kept_connection_the_server_closed_is_retried_on_a_fresh_one() -> None:
    async def handler(_r: asyncio.StreamReader, writer: asyncio.StreamWriter, _q: dict[str, Any]) -> bool:
        body = _events(["one"])
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % len(body) + body)
        await writer.drain()
        await asyncio.sleep(0.05)  # the server closes the idle connection after its answer
        return False

    async with _server(handler) as (url, seen):
        provider = OpenAIProvider(url, "k")
        assert (await _collect(provider))[0] == "one"
        await asyncio.sleep(0.2)  # the kept connection is closed by now
        assert (await _collect(provider))[0] == "one"
        await provider.aclose()
    assert seen["requests"] == 2 and seen["connections"] == 2


@pytest.mark.parametrize(
    ("status", "body", "kind", "message"),
    [
        (429, b'{"error": {"message": "slow down"}}', TransientProviderError, "Error code: 429 - "),
        (502, b"bad gateway", TransientProviderError, "bad gateway"),
        (401, b'{"error": {"message": "bad key"}}', ProviderError, "Error code: 401 - "),
    ],
)
async def test_status_errors_read_their_body_and_map_like_the_sdk(
    status: int, body: bytes, kind: type[ProviderError], message: str
) -> None:
    async def handler(_r: asyncio.StreamReader, writer: asyncio.StreamWriter, _q: dict[str, Any]) -> bool:
        writer.write(b"HTTP/1.1 %d X\r\ntransfer-encoding: chunked\r\n\r\n" % status + _chunked(body, 4))
        await writer.drain()
        return True

    async with _server(handler) as (url, _seen):
        provider = OpenAIProvider(url, "k")
        with pytest.raises(kind) as caught:
            await _collect(provider)
        await provider.aclose()
    assert caught.value.status == status and str(caught.value.message).startswith(message)
    assert (status >= 429) == isinstance(caught.value, TransientProviderError)


async def test_a_body_cut_short_is_a_broken_stream() -> None:
    async def handler(_r: asyncio.StreamReader, writer: asyncio.StreamWriter, _q: dict[str, Any]) -> bool:
        writer.write(
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n" + _chunked(_events(["a"]), 9)[:30]
        )
        await writer.drain()
        return False

    async with _server(handler) as (url, _seen):
        provider = OpenAIProvider(url, "k")
        with pytest.raises(TransientProviderError) as caught:
            await _collect(provider)
        await provider.aclose()
    assert caught.value.code == "provider_stream_broken"


async def test_https_endpoint_without_a_server_is_unavailable() -> None:
    endpoint = Endpoint("https://127.0.0.1:9/v1", "k")
    provider = OpenAIProvider("https://127.0.0.1:9/v1", "k", endpoint=endpoint)
    with pytest.raises(TransientProviderError) as caught:
        await _collect(provider)
    assert caught.value.code == "provider_unavailable"
    endpoint.close()
    await provider.aclose()


async def test_a_rotated_key_and_a_deleted_provider_apply_to_the_next_call(database: str) -> None:
    """The actors keep provider settings for `ttl_s` (one read per process, not per call),
    then read them again: the next call after that carries the new key, or fails naming the
    deleted provider."""
    seen: list[str] = []

    async def handler(
        _r: asyncio.StreamReader, writer: asyncio.StreamWriter, request: dict[str, Any]
    ) -> bool:
        seen.append(request["headers"]["authorization"])
        body = _events(["ok"])
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % len(body) + body)
        await writer.drain()
        return True

    name = f"rotating-{uuid.uuid4().hex[:6]}"
    ttl_s = 0.2
    providers = Providers(get_settings(), ttl_s=ttl_s)
    async with _server(handler) as (url, _seen):
        async with db.scope(system=True):
            await provider_config.save(name, "sk-first", url)
        model = await catalog_model(f"{name}-chat", name)

        async def call() -> str:
            resolved = await providers.resolve({"model": model})
            assert isinstance(resolved.provider, OpenAIProvider)
            text, _usage = await _collect(resolved.provider)
            return text

        try:
            assert await call() == "ok"
            async with db.scope(system=True):
                await provider_config.save(name, "sk-second", None)
            await asyncio.sleep(ttl_s * 1.5)
            assert await call() == "ok"
            async with db.scope(system=True):
                await provider_config.delete(name)
            await asyncio.sleep(ttl_s * 1.5)
            with pytest.raises(ProviderError) as caught:
                await call()
        finally:
            await providers.close()
    assert seen == ["Bearer sk-first", "Bearer sk-second"]
    assert caught.value.code == "unknown_provider"
