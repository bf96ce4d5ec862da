"""Structured output: a reply validated against an agent's `output_schema`, via instructor.

Supported JSON Schema subset (enough for agent output schemas): a top-level `object` with
`properties` and `required`; property types `string`, `integer`, `number`, `boolean`,
`array` (with `items` of any supported type), nested `object`, `enum` of strings, and a
nullable type written `["<type>", "null"]`. A property outside `required` is optional
(default null). `description` is kept, so the model sees it. Anything else is `Any`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import instructor
import openai
import pydantic

from actors.providers.base import ChatMessage, ProviderError
from actors.providers.openai_compat import map_error
from runtime.messages import Usage

_SCALARS: dict[str, Any] = {"string": str, "integer": int, "number": float, "boolean": bool}


def _type_of(schema: dict[str, Any], name: str) -> Any:
    if "enum" in schema:
        return Literal[tuple(schema["enum"])]
    kind = schema.get("type")
    if isinstance(kind, list):  # ["string", "null"]
        inner = [k for k in kind if k != "null"]
        base = _type_of({**schema, "type": inner[0] if inner else None}, name)
        return base | None if "null" in kind else base
    if kind == "array":
        return list[_type_of(schema.get("items", {}), name + "Item")]  # type: ignore[misc]
    if kind == "object" or "properties" in schema:
        return model_from_schema(schema, name)
    return _SCALARS.get(kind, Any)  # type: ignore[arg-type]


def model_from_schema(schema: dict[str, Any], name: str | None = None) -> type[pydantic.BaseModel]:
    """A pydantic model for a JSON Schema object (the subset in this module's docstring)."""
    name = str(schema.get("title") or name or "Output").replace(" ", "")
    required = set(schema.get("required", []))
    fields: dict[str, Any] = {}
    for prop, sub in schema.get("properties", {}).items():
        kind = _type_of(sub, name + prop.title())
        info = pydantic.Field(description=sub.get("description"))
        if prop not in required:
            kind, info = kind | None, pydantic.Field(None, description=sub.get("description"))
        fields[prop] = (kind, info)
    return pydantic.create_model(name, **fields)


@dataclass(frozen=True)
class StructuredResult:
    """The validated JSON and the call's usage."""

    data: dict[str, Any]
    usage: Usage


def _root_error(exc: BaseException) -> BaseException:
    """instructor wraps SDK errors; find the openai error underneath, if any."""
    seen = exc
    while seen is not None:
        if isinstance(seen, openai.OpenAIError):
            return seen
        seen = seen.__cause__ or seen.__context__  # type: ignore[assignment]
    return exc


async def structured(
    messages: Sequence[ChatMessage],
    output_schema: dict[str, Any],
    *,
    model: str,
    client: openai.AsyncOpenAI,
    temperature: float | None = None,
    max_tokens: int | None = None,
    max_retries: int = 1,
) -> StructuredResult:
    """Ask for a reply matching `output_schema` (tool-call mode); return it as plain JSON.

    `max_retries` re-asks the model when its answer fails validation. Raises
    `ProviderError` / `TransientProviderError` like `OpenAIProvider.stream`.
    """
    response_model = model_from_schema(output_schema)
    options: dict[str, Any] = {}
    if temperature is not None:
        options["temperature"] = temperature
    if max_tokens is not None:
        options["max_tokens"] = max_tokens
    patched = instructor.from_openai(client, mode=instructor.Mode.TOOLS)
    try:
        result, completion = await patched.create_with_completion(
            messages=list(messages),  # type: ignore[arg-type]
            response_model=response_model,
            model=model,
            max_retries=max_retries,
            **options,
        )
    except Exception as exc:
        root = _root_error(exc)
        if isinstance(root, openai.OpenAIError):
            raise map_error(root) from exc
        raise ProviderError("invalid_output", f"output failed the schema: {exc}") from exc
    usage = getattr(completion, "usage", None)
    return StructuredResult(
        data=result.model_dump(mode="json"),
        usage=Usage(
            input_tokens=getattr(usage, "prompt_tokens", 0),
            output_tokens=getattr(usage, "completion_tokens", 0),
            counted=usage is None,
        ),
    )
