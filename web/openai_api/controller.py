"""`POST /v1/chat/completions` and `GET /v1/models`: a tenant's agents as OpenAI models.

At the root (not under /api/v1) so OpenAI clients work with `base_url=<host>/v1`; callers
authenticate with a tenant API key (`Authorization: Bearer hb_...`). Every refusal, the
authentication's included, is an OpenAI error object (`{"error": {...}}`).
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, Request, Response, Router, get, post
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import HTTPException, ValidationException
from litestar.response import Stream

from runtime.errors import CodedError
from runtime.messages import DeltaEvent, ExecutionCompleted, ExecutionFailed, ExecutionRestarted
from web.auth.guards import requires_role
from web.deps import principal
from web.openai_api import service
from web.openai_api.schemas import ChatCompletionRequest, chunk, completion, error_body, usage_of
from web.openai_api.service import ApiError, Run
from web.openai_api.streams import ExecutionStreams

requires_api_key = requires_role("service")


def _sse(obj: Any) -> bytes:
    return b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n"


def _error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, ApiError):
        return Response(error_body(exc.status, exc.message, exc.code, exc.param), status_code=exc.status)
    if isinstance(exc, ValidationException):
        return Response(error_body(400, str(exc.detail), "invalid_request"), status_code=400)
    if isinstance(exc, HTTPException):
        cause = exc.__cause__  # a coded refusal (a suspended workspace) keeps its code
        code = (
            cause.code
            if isinstance(cause, CodedError)
            else {401: "invalid_api_key", 403: "permission_denied"}.get(exc.status_code)
        )
        message = exc.detail
        if exc.status_code == 401:
            message = "Incorrect API key provided: use a tenant API key as `Authorization: Bearer hb_...`."
        return Response(error_body(exc.status_code, message, code), status_code=exc.status_code)
    raise exc


async def provide_streams(state: State) -> ExecutionStreams:
    """The process's execution stream listener, opened on first use."""
    if getattr(state, "openai_streams", None) is None:
        state.openai_streams = ExecutionStreams(state.settings.broker.url, state.bus.topo)
    return state.openai_streams


@asynccontextmanager
async def openai_lifespan(app: Litestar) -> AsyncIterator[None]:
    """Close the stream listener's connection at shutdown."""
    try:
        yield
    finally:
        streams = getattr(app.state, "openai_streams", None)
        if streams is not None:
            await streams.close()


@get("/models", guards=[requires_api_key])
async def list_models(request: Request) -> dict[str, Any]:
    """The tenant's active agents, each an OpenAI model (id: its slug, else its id)."""
    agents = await service.tenant_agents(principal(request))
    return {
        "object": "list",
        "data": [
            {
                "id": a["slug"] or str(a["id"]),
                "object": "model",
                "created": int(a["created_at"].timestamp()),
                "owned_by": "hirebuddha",
            }
            for a in agents
        ],
    }


@post("/chat/completions", guards=[requires_api_key], status_code=200)
async def chat_completions(
    request: Request, data: ChatCompletionRequest, streams: ExecutionStreams
) -> Response[Any] | Stream:
    """Run the agent named by `model` on `messages`: a `chat.completion`, or with
    `stream: true` Server-Sent Events of `chat.completion.chunk` ending in `[DONE]`."""
    me = principal(request)
    bus = request.app.state.bus
    run = await service.start(bus, streams, me, data)
    meta = (f"chatcmpl-{run.execution_id.hex}", int(time.time()), data.model)
    if data.stream:
        include_usage = bool(data.stream_options and data.stream_options.include_usage)
        events = _chunks(run, meta, include_usage, lambda: service.abandon(bus, me, run))
        return Stream(events, media_type="text/event-stream", headers={"cache-control": "no-cache"})
    try:
        return await _complete(run, meta)
    finally:
        service.abandon(bus, me, run)  # a no-op once it ended
        await run.exits.aclose()


async def _complete(run: Run, meta: tuple[str, int, str]) -> Response[Any]:
    async for event in service.follow(run):
        if isinstance(event, ExecutionCompleted):
            usage = usage_of(event.usage.input_tokens, event.usage.output_tokens)
            return Response(completion(*meta, event.text, usage))
        if isinstance(event, ExecutionFailed):
            raise ApiError(502, event.error.message, event.error.code)
    raise ApiError(409, "The execution was cancelled before it answered.", "cancelled")


async def _chunks(
    run: Run, meta: tuple[str, int, str], include_usage: bool, abandon: Callable[[], None]
) -> AsyncIterator[bytes]:
    """The SSE body; whatever ends it early (the client leaving) cancels the execution."""
    sent_text = False
    try:
        yield _sse(chunk(*meta, {"role": "assistant", "content": ""}))
        async for event in service.follow(run):
            if isinstance(event, DeltaEvent):
                sent_text = True
                yield _sse(chunk(*meta, {"content": event.text}))
            elif isinstance(event, ExecutionRestarted) and sent_text:
                # Text already went out and cannot be taken back: end with an error.
                yield _sse(error_body(502, "The answer was interrupted; please retry.", "restarted"))
                abandon()
                return
            elif isinstance(event, ExecutionCompleted):
                yield _sse(chunk(*meta, {}, "stop"))
                if include_usage:
                    tail = chunk(*meta, {})
                    tail["choices"] = []
                    tail["usage"] = usage_of(event.usage.input_tokens, event.usage.output_tokens)
                    yield _sse(tail)
            elif isinstance(event, ExecutionFailed):
                yield _sse(error_body(502, event.error.message, event.error.code))
        yield b"data: [DONE]\n\n"
    finally:
        abandon()  # a no-op once it ended
        await run.exits.aclose()


openai_router = Router(
    path="/v1",
    route_handlers=[list_models, chat_completions],
    dependencies={"streams": Provide(provide_streams)},
    exception_handlers={HTTPException: _error, ApiError: _error},
    tags=["openai"],
)
