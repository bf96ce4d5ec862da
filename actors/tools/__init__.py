"""Tools an agent may call through OpenAI function calling (docs/knowledge.md "Tools").

A tool is a `Tool`: a name, a description and JSON-schema parameters (what the model sees),
`available(context)` (does this execution's agent get it? the built-in ones answer from
`context.facts`, read with the claim, when it is there) and `run(context, arguments)`,
which returns a `ToolOutput`: `content` for the model, a one-line `summary` for people (the
`tool.result` frame) and the `citations` it adds to the completed frame. `register` puts a
tool in `REGISTRY`; the actor offers every available registered tool on each call of its
bounded tool loop (actors/execution.py). A tool that cannot do what was asked raises
`ToolError`: the model is told why, and the execution goes on.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from actors.llm import Providers
from actors.providers import ToolSpec
from runtime.executions import ToolFacts
from runtime.messages import Citation
from runtime.publishing import StreamPublisher

MAX_TOOL_STEPS = 4
"""Provider calls that may ask for tools in one execution; the next call is made without
tools, so the model must answer."""


@dataclass(frozen=True)
class ToolContext:
    """What a tool knows of the execution that called it."""

    tenant_id: uuid.UUID
    agent_id: uuid.UUID
    execution_id: uuid.UUID
    session_id: uuid.UUID | None
    providers: Providers
    meter_embedding: Callable[[str, str, int], Awaitable[None]]
    """`await meter_embedding(model, provider, tokens)`: bill embedding tokens the tool spent
    (published as a usage event of this execution)."""
    streams: StreamPublisher | None = None
    """The process's stream publisher, for a tool that tells the session something
    (`escalate_to_human` publishes `session.escalated`)."""
    facts: ToolFacts | None = None
    """What the claim read about the built-in tools; with it `available` asks no database."""


@dataclass(frozen=True)
class ToolOutput:
    """What a tool run produced."""

    content: str
    """What the model reads (the `tool` message)."""
    summary: str
    """One line for people: the `tool.result` frame."""
    citations: list[Citation] = field(default_factory=list)


class ToolError(Exception):
    """The tool could not run with these arguments; the message goes back to the model."""


class Tool(Protocol):
    """A tool the actor can offer to the model."""

    name: str
    description: str
    parameters: dict[str, Any]
    """JSON schema of the arguments object."""

    async def available(self, context: ToolContext) -> bool:
        """Whether this execution's agent gets the tool."""
        ...

    async def run(self, context: ToolContext, arguments: dict[str, Any]) -> ToolOutput:
        """Run it; raise `ToolError` for a call the model should correct."""
        ...


REGISTRY: dict[str, Tool] = {}


def register(tool: Tool) -> Tool:
    """Make `tool` available to the actors (one name, one tool)."""
    if tool.name in REGISTRY and REGISTRY[tool.name] is not tool:
        raise ValueError(f"a tool named {tool.name!r} is already registered")
    REGISTRY[tool.name] = tool
    return tool


def spec(tool: Tool) -> ToolSpec:
    """The OpenAI `tools` entry of `tool`."""
    return {
        "type": "function",
        "function": {"name": tool.name, "description": tool.description, "parameters": tool.parameters},
    }


async def tools_for(context: ToolContext) -> list[Tool]:
    """The registered tools this execution's agent gets, in registration order."""
    return [tool for tool in REGISTRY.values() if await tool.available(context)]


# Built-in tools register themselves on import.
from actors.tools import escalate as _escalate  # noqa: E402,F401
from actors.tools import knowledge as _knowledge  # noqa: E402,F401
