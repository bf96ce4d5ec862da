"""OpenAI chat completions wire shapes (the subset an agent needs; unknown fields are ignored,
as clients send many: `n`, `top_p`, `user`...)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from runtime.messages import JOB_INPUT_MAX


class ContentPart(msgspec.Struct):
    type: str
    text: str | None = None


class MessageIn(msgspec.Struct):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[ContentPart] | None = None

    def text(self) -> str:
        """The message's text (text parts joined; other parts are not supported)."""
        if isinstance(self.content, list):
            return "".join(part.text or "" for part in self.content if part.type == "text")
        return self.content or ""


class StreamOptions(msgspec.Struct):
    include_usage: bool = False


class ChatCompletionRequest(msgspec.Struct):
    """`model` is an agent's id or slug; the agent's own settings pick the LLM."""

    model: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    messages: Annotated[list[MessageIn], msgspec.Meta(min_length=1, max_length=1000)]
    stream: bool = False
    stream_options: StreamOptions | None = None

    def conversation(self) -> list[dict[str, str]]:
        """The messages as the actor takes them (`system` for a client's developer message)."""
        role = {"developer": "system", "tool": "user"}
        return [{"role": role.get(m.role, m.role), "content": m.text()} for m in self.messages]


MAX_CONVERSATION_CHARS = JOB_INPUT_MAX
"""Characters of the encoded conversation (the same bound as any execution's input)."""


def completion(
    completion_id: str, created: int, model: str, text: str, usage: dict[str, int]
) -> dict[str, Any]:
    """A `chat.completion`."""
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": usage,
    }


def chunk(
    completion_id: str, created: int, model: str, delta: dict[str, Any], finish: str | None = None
) -> dict[str, Any]:
    """A `chat.completion.chunk` with one choice."""
    return {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
    }


def usage_of(input_tokens: int, output_tokens: int) -> dict[str, int]:
    return {
        "prompt_tokens": input_tokens,
        "completion_tokens": output_tokens,
        "total_tokens": input_tokens + output_tokens,
    }


ERROR_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    402: "insufficient_quota",
    403: "permission_error",
    404: "invalid_request_error",
    409: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
}


def error_body(status: int, message: str, code: str | None, param: str | None = None) -> dict[str, Any]:
    """OpenAI's error object."""
    kind = ERROR_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}
