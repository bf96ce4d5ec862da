"""Any OpenAI-compatible chat completions endpoint: a streamed reply through our lean HTTP/1.1
client (`actors.providers.http`), its body parsed by `actors.providers.sse` (msgspec, no model
object per chunk); calls that are not streamed (embeddings, structured output) through the
openai SDK. With a proxy in the environment the streamed reply also goes through the SDK
(httpx honours proxies; our client does not)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

import msgspec
import openai
import openai.resources.chat  # noqa: F401  (at start-up: see below)

from actors.providers import http, sse
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


def _status_error(status: int, message: str) -> ProviderError:
    if status == 429:
        return TransientProviderError("provider_rate_limited", message, status)
    if status >= 500:
        return TransientProviderError("provider_error", message, status)
    return ProviderError("provider_rejected", message, status)


FINISH_TIMEOUT_S = 1.0
"""How long the end of a body may take after `[DONE]` before its connection is closed
instead of kept."""


def map_error(exc: BaseException) -> ProviderError:
    """Our error for an openai SDK error: retryable (connection, timeout, 429, 5xx) or not."""
    if isinstance(exc, openai.APIConnectionError):  # includes APITimeoutError
        return TransientProviderError("provider_unavailable", str(exc))
    if isinstance(exc, openai.APIStatusError):
        return _status_error(exc.status_code, exc.message)
    return ProviderError("provider_error", str(exc))


def _custom_headers(client: openai.AsyncOpenAI) -> dict[str, str]:
    """The headers a client was made with (`make_client(headers=...)`)."""
    custom = getattr(client, "_custom_headers", None) or {}
    return {k: v for k, v in custom.items() if isinstance(v, str)}


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


def make_endpoint(
    base_url: str | None, api_key: str | None, headers: dict[str, str] | None = None
) -> http.Endpoint | None:
    """The lean streaming endpoint of a provider (None: a proxy applies, the SDK streams)."""
    if http.proxied(base_url):
        return None
    return http.Endpoint(base_url, api_key, headers)


def _take(
    events: list[bytes], calls: dict[int, list[str]]
) -> tuple[list[str], Usage | None, Exception | None]:
    """The texts and the usage of some events of a stream (tool-call pieces go to `calls`:
    index -> [id, name, arguments so far]), and the error of a malformed one, which ends
    them (the texts before it still count)."""
    texts: list[str] = []
    usage: Usage | None = None
    for data in events:
        try:
            chunk = sse.parse_data(data)
        except Exception as exc:
            return texts, usage, exc
        if chunk.usage is not None:
            usage = Usage(input_tokens=chunk.usage.prompt_tokens, output_tokens=chunk.usage.completion_tokens)
        for choice in chunk.choices:
            delta = choice.delta
            if delta is None:
                continue
            if delta.content:
                texts.append(delta.content)
            if delta.tool_calls:
                for piece in delta.tool_calls:
                    call = calls.setdefault(piece.index, ["", "", ""])
                    call[0] = piece.id or call[0]
                    if piece.function is not None:
                        call[1] = piece.function.name or call[1]
                        call[2] += piece.function.arguments or ""
    return texts, usage, None


class OpenAIProvider:
    """Streams chat completions with `stream_options.include_usage`.

    Pass a shared `client` and `endpoint` to reuse one connection pool per process;
    otherwise the provider owns them and `aclose()` closes them too.
    """

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        name: str = "openai",
        client: openai.AsyncOpenAI | None = None,
        endpoint: http.Endpoint | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.name = name
        self._owns_client = client is None
        self.client = client or make_client(base_url, api_key, headers=headers)
        self._owns_endpoint = endpoint is None
        if endpoint is None:
            endpoint = make_endpoint(
                str(self.client.base_url), self.client.api_key, headers or _custom_headers(self.client)
            )
        self.endpoint = endpoint
        self._streams: set[Any] = set()
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
        if self.endpoint is None:
            body, closer = await self._request_sdk(messages, model, options)
        else:
            body, closer = await self._request(messages, model, options)
        trace.mark_current("provider_first_byte")
        pieces: list[str] = []
        calls: dict[int, list[str]] = {}  # index -> [id, name, arguments so far]
        usage: Usage | None = None
        complete = False
        try:
            # The texts of the events one read brought go up as one piece: one resumption
            # of the execution's loop and one coalescer call per read, not per token.
            splitter = sse.Splitter()
            async for block in body:
                events = splitter.feed(block)
                if not events:
                    if splitter.done:
                        break
                    continue
                texts, found, broken = _take(events, calls)
                usage = found or usage
                if texts:
                    if not pieces:
                        trace.mark_current("first_token")
                    text = texts[0] if len(texts) == 1 else "".join(texts)
                    pieces.append(text)
                    yield text
                if broken is not None:
                    raise broken
                if splitter.done:
                    break
            else:
                last = splitter.end()
                if last:
                    texts, found, broken = _take(last, calls)
                    usage = found or usage
                    if texts:
                        if not pieces:
                            trace.mark_current("first_token")
                        text = "".join(texts)
                        pieces.append(text)
                        yield text
                    if broken is not None:
                        raise broken
            complete = True
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
            await closer(complete)
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

    async def _request(
        self, messages: Sequence[ChatMessage], model: str, options: dict[str, Any]
    ) -> tuple[AsyncIterator[bytes], Any]:
        """POST through our client: the body's blocks, and what ends the response."""
        assert self.endpoint is not None
        payload = {
            "model": model,
            "messages": list(messages),
            "stream": True,
            "stream_options": {"include_usage": True},
            **options,
        }
        try:
            response = await self.endpoint.post(payload)
        except http.HttpError as exc:
            raise _status_error(exc.status, exc.message) from exc
        except http.ConnectError as exc:
            raise TransientProviderError("provider_unavailable", str(exc)) from exc
        except (TypeError, msgspec.EncodeError) as exc:  # a message msgspec cannot encode
            raise ProviderError("provider_error", f"the request could not be encoded: {exc}") from exc
        self._streams.add(response)

        async def close(complete: bool) -> None:
            self._streams.discard(response)
            if self._closed or not complete:
                response.abort()
                return
            try:
                # After `[DONE]` only the body's last chunk is left: read it, keep the connection.
                async with asyncio.timeout(FINISH_TIMEOUT_S):
                    await response.finish()
            except (http.BrokenBody, OSError, TimeoutError):
                pass
            finally:
                response.close()

        return response.iter_bytes(), close

    async def _request_sdk(
        self, messages: Sequence[ChatMessage], model: str, options: dict[str, Any]
    ) -> tuple[AsyncIterator[bytes], Any]:
        """POST through the SDK (a proxy applies): the body's blocks, and what ends it."""
        create = self.client.chat.completions.with_streaming_response.create
        try:
            response = await create(  # type: ignore[call-overload]
                model=model,
                messages=list(messages),
                stream=True,
                stream_options={"include_usage": True},
                timeout=STREAM_TIMEOUT,
                **options,
            ).__aenter__()
        except openai.OpenAIError as exc:
            raise map_error(exc) from exc
        response = response.http_response
        self._streams.add(response)

        async def close(complete: bool) -> None:
            self._streams.discard(response)
            await response.aclose()

        return response.aiter_bytes(), close

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
        for response in list(self._streams):
            if isinstance(response, http.Response):
                response.abort()
            else:
                await response.aclose()
        if self._owns_endpoint and self.endpoint is not None:
            self.endpoint.close()
        if self._owns_client:
            await self.client.close()
