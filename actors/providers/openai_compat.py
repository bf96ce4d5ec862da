"""Any OpenAI-compatible chat completions endpoint, streamed, via the openai SDK."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import openai

from actors.providers.base import (
    ChatMessage,
    Embedding,
    ProviderError,
    StreamItem,
    TransientProviderError,
    count_prompt_tokens,
    count_tokens,
)
from runtime.messages import Usage


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
        self._closed = False

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        model: str,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> AsyncIterator[StreamItem]:
        """Yield text deltas, then `Usage` (counted when the endpoint reported none)."""
        options: dict[str, Any] = {}
        if temperature is not None:
            options["temperature"] = temperature
        if max_tokens is not None:
            options["max_tokens"] = max_tokens
        try:
            response = await self.client.chat.completions.create(  # type: ignore[call-overload]
                model=model,
                messages=list(messages),
                stream=True,
                stream_options={"include_usage": True},
                **options,
            )
        except openai.OpenAIError as exc:
            raise map_error(exc) from exc
        self._streams.add(response)
        pieces: list[str] = []
        usage: Usage | None = None
        try:
            async for chunk in response:
                if chunk.usage is not None:
                    usage = Usage(
                        input_tokens=chunk.usage.prompt_tokens,
                        output_tokens=chunk.usage.completion_tokens,
                    )
                for choice in chunk.choices:
                    if choice.delta.content:
                        pieces.append(choice.delta.content)
                        yield choice.delta.content
        except Exception as exc:
            if self._closed:
                return  # we closed the connection ourselves (cancel): not a failure
            if isinstance(exc, openai.OpenAIError):
                raise map_error(exc) from exc
            # A transport error mid-stream (connection reset) or a malformed event (data
            # that is not JSON): the next attempt may work.
            raise TransientProviderError(
                "provider_stream_broken", f"the stream broke or was malformed: {exc!r}"
            ) from exc
        finally:
            self._streams.discard(response)
            await response.close()
        if self._closed:
            return
        yield usage or Usage(
            input_tokens=count_prompt_tokens(messages),
            output_tokens=count_tokens("".join(pieces)),
            counted=True,
        )

    async def embed(self, texts: list[str], model: str) -> Embedding:
        """The vendor's `/v1/embeddings` of `texts` (tokens counted when it reports none)."""
        try:
            response = await self.client.embeddings.create(model=model, input=texts)
        except openai.OpenAIError as exc:
            raise map_error(exc) from exc
        vectors = [item.embedding for item in sorted(response.data, key=lambda d: d.index)]
        tokens = response.usage.prompt_tokens if response.usage else sum(count_tokens(t) for t in texts)
        return Embedding(vectors, tokens)

    async def aclose(self) -> None:
        """Close open streams now (the server sees the client go away), then our client."""
        self._closed = True
        for response in list(self._streams):
            await response.close()
        if self._owns_client:
            await self.client.close()
