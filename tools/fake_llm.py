"""An OpenAI-compatible chat server for tests and benchmarks (`hirebuddha fake-llm`).

`POST /v1/chat/completions` (streamed or not, `stream_options.include_usage`),
`POST /v1/embeddings` (the same deterministic vectors as the `demo` provider's; `[[fail:N]]`),
`GET /v1/models`, and `GET /_stats` (requests, completed streams, streams whose client
went away first). Replies are deterministic and scripted by markers: see
`tools.fake_llm_replies`. Streams are paced: `ttft_ms` before the first token, then
`tokens_per_second` (0 means as fast as possible).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import msgspec
import uvicorn
import uvloop
from litestar import Litestar, Request, asgi, get, post
from litestar.response import Response
from litestar.types import Receive, Scope, Send

from actors.providers.demo import EMBEDDING_DIMENSIONS, demo_embedding
from tools.fake_llm_replies import Plan, Shapes, plan_for

_MARKER_FAIL = re.compile(r"\[\[fail:(\d{3})\]\]")


@dataclass
class FakeLLMStats:
    """Counters since start; `changed` lets an in-process test wait for a count."""

    requests: int = 0
    completed_streams: int = 0
    disconnected_streams: int = 0
    changed: asyncio.Condition = field(default_factory=asyncio.Condition, repr=False)

    def snapshot(self) -> dict[str, int]:
        """The counters as a plain dict (the `/_stats` body)."""
        # Not dataclasses.asdict: it deep-copies the Condition, which fails while awaited.
        names = ("requests", "completed_streams", "disconnected_streams")
        return {name: getattr(self, name) for name in names}

    async def bump(self, name: str) -> None:
        """Add one to counter `name` and wake waiters."""
        async with self.changed:
            setattr(self, name, getattr(self, name) + 1)
            self.changed.notify_all()

    async def wait_for(self, name: str, at_least: int) -> None:
        """Wait until counter `name` reaches `at_least` (wrap it in a timeout)."""
        async with self.changed:
            await self.changed.wait_for(lambda: getattr(self, name) >= at_least)


@dataclass(frozen=True)
class Pace:
    """Stream timing."""

    tokens_per_second: float = 0.0
    ttft_ms: float = 0.0


_encode = msgspec.json.Encoder().encode
_SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
]


def _sse(obj: dict[str, Any]) -> bytes:
    return b"data: " + _encode(obj) + b"\n\n"


async def _read_json(receive: Receive) -> dict[str, Any] | None:
    """The request body as a JSON object, or None when it is not one."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    try:
        body = msgspec.json.decode(b"".join(chunks))
    except msgspec.DecodeError:
        return None
    return body if isinstance(body, dict) else None


async def _respond(send: Send, status: int, body: dict[str, Any]) -> None:
    payload = _encode(body)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload, "more_body": False})


async def _stream(send: Send, receive: Receive, events: AsyncIterator[bytes]) -> None:
    """Write `events` as a chunked SSE body. The client going away cancels the stream at
    whatever it awaits (pacing, a hang): one watcher per stream, nothing per token."""
    this = asyncio.current_task()
    assert this is not None

    async def watch() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        this.cancel()

    watcher = asyncio.ensure_future(watch())
    try:
        await send({"type": "http.response.start", "status": 200, "headers": _SSE_HEADERS})
        async for chunk in events:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    except asyncio.CancelledError:
        if not watcher.done():
            raise  # cancelled from outside (shutdown), not by the client leaving
        await events.aclose()  # type: ignore[attr-defined]
    finally:
        watcher.cancel()


async def _events(
    plan: Plan, shapes: Shapes, pace: Pace, include_usage: bool, stats: FakeLLMStats
) -> AsyncIterator[bytes]:
    done = False
    try:
        yield _sse(shapes.chunk({"role": "assistant", "content": ""}, usage_field=include_usage))
        await asyncio.sleep(pace.ttft_ms / 1000)
        if plan.hang:
            await asyncio.Event().wait()  # until the client disconnects
        if plan.bad_sse:
            yield b"data: {this is not json\n\n"
        gap = 1 / pace.tokens_per_second if pace.tokens_per_second > 0 else 0
        for index in range(len(plan.tokens)):
            if index == plan.cut_after:
                # Raising mid-body makes the server drop the connection: the client reads
                # a truncated chunked body, like a provider dying mid-stream.
                raise ConnectionAbortedError("fake-llm: scripted cut mid-stream")
            if index and gap:
                await asyncio.sleep(gap)
            yield _sse(shapes.chunk(shapes.token_delta(plan, index), usage_field=include_usage))
        finish = "tool_calls" if plan.tool_name else "stop"
        yield _sse(shapes.chunk({}, finish, usage_field=include_usage))
        if include_usage and plan.usage:
            yield _sse(shapes.usage_chunk(plan))
        yield b"data: [DONE]\n\n"
        done = True
    finally:
        # Cancelled or closed before [DONE]: the client went away (e.g. a cancel).
        await asyncio.shield(stats.bump("completed_streams" if done else "disconnected_streams"))


def create_app(pace: Pace | None = None, stats: FakeLLMStats | None = None) -> Litestar:
    """The Litestar app; `app.state.stats` holds the counters."""
    pace = pace or Pace()
    stats = stats or FakeLLMStats()
    seen: dict[str, int] = {}  # requests per last user message, for `[[flaky:N]]`

    @asgi("/v1/chat/completions", is_mount=False, copy_scope=False)
    async def chat_completions(scope: Scope, receive: Receive, send: Send) -> None:
        # A plain ASGI handler rather than a Litestar route with a `Stream` response: the
        # fake provider shares the bench machine's cores with what is measured, and Litestar's
        # streaming response (a task group per stream, wrappers per chunk) cost more per
        # token than the rest of it (py-spy, README "Performance").
        if scope.get("method") != "POST":
            await _respond(send, 405, {"error": {"message": "POST only"}})
            return
        await stats.bump("requests")
        body = await _read_json(receive)
        if body is None:
            await _respond(send, 400, {"error": {"message": "the body is not a JSON object"}})
            return
        headers = dict(scope["headers"])
        plan = plan_for(body, headers.get(b"x-fake-llm", b"").decode("latin-1"))
        shapes = Shapes(str(body.get("model", "fake")))
        if plan.flaky:
            seen[plan.key] = seen.get(plan.key, 0) + 1
            if seen[plan.key] <= plan.flaky:
                await _respond(send, 500, shapes.error(500))
                return
        if plan.fail_status is not None:
            await _respond(send, plan.fail_status, shapes.error(plan.fail_status))
            return
        if not body.get("stream"):
            await asyncio.sleep(pace.ttft_ms / 1000)
            await _respond(send, 200, shapes.completion(plan))
            return
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        await _stream(send, receive, _events(plan, shapes, pace, include_usage, stats))

    @post("/v1/embeddings", status_code=200)
    async def embeddings(request: Request) -> Response[Any]:
        await stats.bump("requests")
        body = await request.json()
        texts = body.get("input")
        texts = [texts] if isinstance(texts, str) else list(texts or [])
        if fail := _MARKER_FAIL.search(
            " ".join(map(str, texts)) + " " + request.headers.get("x-fake-llm", "")
        ):
            status = int(fail.group(1))
            return Response(Shapes(str(body.get("model", "fake"))).error(status), status_code=status)
        dimensions = int(body.get("dimensions") or EMBEDDING_DIMENSIONS)
        tokens = sum(len(str(t).split()) for t in texts)
        return Response(
            {
                "object": "list",
                "model": body.get("model", "fake"),
                "data": [
                    {"object": "embedding", "index": i, "embedding": demo_embedding(str(t), dimensions)}
                    for i, t in enumerate(texts)
                ],
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            }
        )

    @get("/v1/models")
    async def models() -> dict[str, Any]:
        return {
            "object": "list",
            "data": [{"id": "fake", "object": "model", "created": 0, "owned_by": "hirebuddha"}],
        }

    @get("/_stats")
    async def read_stats() -> dict[str, int]:
        return stats.snapshot()

    app = Litestar([chat_completions, embeddings, models, read_stats], debug=False)
    app.state.stats = stats
    return app


def app() -> Litestar:
    """Factory for `uvicorn --factory tools.fake_llm:app` (unpaced)."""
    return create_app()


def bind(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A listening socket; port 0 picks a free one (read it from `getsockname()`).

    Made with `IPPROTO_TCP` spelled out: asyncio turns Nagle's algorithm off (TCP_NODELAY) only
    on sockets whose `proto` says TCP, and accepted sockets inherit the listener's `proto`.
    With `proto` 0 every reply on a kept connection after the first waited ~40 ms: the
    response head went out, the first chunk sat behind it until the client's delayed ACK
    (README "Performance": the sequential floor of 44 ms)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.setblocking(False)
    return sock


def server(application: Litestar, log_level: str = "warning") -> uvicorn.Server:
    """A uvicorn server for `application` (serve it with `await server.serve([sock])`)."""
    config = uvicorn.Config(
        application,
        log_level=log_level,
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=1,
    )
    return uvicorn.Server(config)


async def serve(
    host: str = "127.0.0.1",
    port: int = 8100,
    tokens_per_second: float = 0.0,
    ttft_ms: float = 0.0,
    log_level: str = "info",
) -> None:
    """Serve until cancelled (or Ctrl-C)."""
    sock = bind(host, port)
    application = create_app(Pace(tokens_per_second, ttft_ms))
    await server(application, log_level).serve(sockets=[sock])


def run(
    host: str = "127.0.0.1", port: int = 8100, tokens_per_second: float = 0.0, ttft_ms: float = 0.0
) -> None:
    """Blocking `serve`, on uvloop like our own processes: the fake provider shares the
    machine's cores with what the bench measures, so it should cost as little as it can."""
    uvloop.run(serve(host, port, tokens_per_second, ttft_ms))


def main(argv: list[str] | None = None) -> None:
    """`hirebuddha fake-llm --port N --tokens-per-second R --ttft-ms T [--host H]`."""
    parser = argparse.ArgumentParser(prog="hirebuddha fake-llm", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--tokens-per-second", type=float, default=0.0)
    parser.add_argument("--ttft-ms", type=float, default=0.0)
    args = parser.parse_args(argv)
    run(args.host, args.port, args.tokens_per_second, args.ttft_ms)


if __name__ == "__main__":
    main()
