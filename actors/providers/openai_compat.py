"""Any OpenAI-compatible chat completions endpoint: the request through the openai SDK, the
streamed body parsed by `actors.providers.sse` (msgspec, no model object per chunk)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import openai
import openai.resources.chat  # noqa: F401  (at start-up: see below)

from actors.providers import sse
from actors.providers.base import (
    ChatMessage,
    Embedding,
    ProviderError,
    StreamItem,
    ToolCallRequest,
    ToolSpec,
    TransientProviderError,
    count_prompt_tokens,
    count_tokens,
)
from runtime import trace
from runtime.messages import Usage

# `client.chat` imports the SDK's resource modules on first use: about a second of CPU
# building pydantic models, which stalled a busy actors process mid-run (py-spy, issue 11).
# The import above pays it when the process starts.


STREAM_TIMEOUT = openai.Timeout(60.0, read=None)
"""Per request: no read timeout on the streamed body. The execution bounds the wait for each
item itself (`provider_timeout_s`), and a read timeout here cost a timer per socket read,
i.e. per token (anyio's cancel scope deadline; py-spy, issue 11)."""


def map_error(exc: BaseException) -> ProviderError:
    """Our error for an openai SDK error: retryable (connection, timeout, 429, 5xx) or not."""
    if isinstance(exc, openai.APIConnectionError):  # includes APITimeoutError
        return TransientProviderError("provider_unavailable", str(exc))
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        if status == 429:
            return TransientProviderError("provider_rate_limited", exc.message, status)
        if status >= 500:
            return TransientProviderError("provider_error", exc.message, status)
        return ProviderError("provider_rejected", exc.message, status)
    return ProviderError("provider_error", str(exc))


def make_client(
    base_url: str | None,
    api_key: str | None,
    timeout: float = 60.0,
    headers: dict[str, str] | None = None,
) -> openai.AsyncOpenAI:
    """An AsyncOpenAI client; SDK retries off because supervision owns retries. `headers` go
    with every request (vendors that take their key or version in a header)."""
    return openai.AsyncOpenAI(
        base_url=base_url,
        api_key=api_key or "unused",
        max_retries=0,
        timeout=timeout,
        default_headers=headers or None,
    )


class OpenAIProvider:
    """Streams chat completions with `stream_options.include_usage`.

    Pass a shared `client` to reuse one connection pool per process; otherwise the
    provider owns its client and `aclose()` closes it too.
    """

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        name: str = "openai",
        client: openai.AsyncOpenAI | None = None,
    ) -> None:
        self.name = name
        self._owns_client = client is None
        self.client = client or make_client(base_url, api_key)
        self._streams: set[Any] = set()
        self._create = self.client.chat.completions.with_streaming_response.create
        self._closed = False

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        model: str,
        temperature: float | None = None,
        max_tokens: int | None = None,
        tools: Sequence[ToolSpec] | None = None,
    ) -> AsyncIterator[StreamItem]:
        """Yield text deltas, the tool calls asked for, then `Usage` (counted when the
        endpoint reported none)."""
        options: dict[str, Any] = {}
        if tools:
            options["tools"] = list(tools)
        if temperature is not None:
            options["temperature"] = temperature
        if max_tokens is not None:
            options["max_tokens"] = max_tokens
        trace.mark_current("provider_called")
        try:
            # The SDK makes the request (auth, status errors); we read the SSE body ourselves.
            response = await self._create(  # type: ignore[call-overload]
                model=model,
                messages=list(messages),
                stream=True,
                stream_options={"include_usage": True},
                timeout=STREAM_TIMEOUT,
                **options,
            ).__aenter__()
        except openai.OpenAIError as exc:
            raise map_error(exc) from exc
        http = response.http_response
        trace.mark_current("provider_first_byte")
        self._streams.add(http)
        pieces: list[str] = []
        calls: dict[int, list[str]] = {}  # index -> [id, name, arguments so far]
        usage: Usage | None = None
        try:
            async for data in sse.data_events(http.aiter_bytes()):
                chunk = sse.parse_data(data)
                if chunk.usage is not None:
                    usage = Usage(
                        input_tokens=chunk.usage.prompt_tokens,
                        output_tokens=chunk.usage.completion_tokens,
                    )
                for text in sse.texts_of(chunk):
                    if not pieces:
                        trace.mark_current("first_token")
                    pieces.append(text)
                    yield text
                for piece in sse.tool_deltas_of(chunk):
                    call = calls.setdefault(piece.index, ["", "", ""])
                    call[0] = piece.id or call[0]
                    if piece.function is not None:
                        call[1] = piece.function.name or call[1]
                        call[2] += piece.function.arguments or ""
        except Exception as exc:
            if self._closed:
                return  # we closed the connection ourselves (cancel): not a failure
            if isinstance(exc, sse.StreamErrorEvent):
                raise ProviderError("provider_error", f"the provider reported an error: {exc}") from exc
            # A transport error mid-stream (connection reset) or a malformed event (data
            # that is not JSON): the next attempt may work.
            raise TransientProviderError(
                "provider_stream_broken", f"the stream broke or was malformed: {exc!r}"
            ) from exc
        finally:
            self._streams.discard(http)
            await http.aclose()
        if self._closed:
            return
        for index in sorted(calls):
            call_id, name, arguments = calls[index]
            yield ToolCallRequest(call_id or f"call_{index}", name, arguments)
            pieces.append(f" {name} {arguments}")
        yield usage or Usage(
            input_tokens=count_prompt_tokens(messages),
            output_tokens=count_tokens("".join(pieces)),
            counted=True,
        )

    async def embed(self, texts: list[str], model: str, dimensions: int | None = None) -> Embedding:
        """The vendor's `/v1/embeddings` of `texts` (tokens counted when it reports none);
        `dimensions` asks for shortened vectors (OpenAI's v3 models and most vendors take it)."""
        options: dict[str, Any] = {"dimensions": dimensions} if dimensions else {}
        try:
            response = await self.client.embeddings.create(model=model, input=texts, **options)
        except openai.OpenAIError as exc:
            raise map_error(exc) from exc
        vectors = [item.embedding for item in sorted(response.data, key=lambda d: d.index)]
        tokens = response.usage.prompt_tokens if response.usage else sum(count_tokens(t) for t in texts)
        return Embedding(vectors, tokens)

    async def aclose(self) -> None:
        """Close open streams now (the server sees the client go away), then our client."""
        self._closed = True
        for http in list(self._streams):
            await http.aclose()
        if self._owns_client:
            await self.client.close()
