"""What the fake LLM answers: the reply plan read from markers, and OpenAI-shaped bodies.

Markers go in the last user message or in the `x-fake-llm` request header:
- `[[reply:N]]` reply with N tokens `tok1 tok2 ... tokN ` (default `DEFAULT_TOKENS`);
- `[[fail:S]]` answer HTTP status S with an OpenAI error body;
- `[[hang]]` send the first chunk, then nothing until the client goes away;
- `[[flaky:N]]` answer HTTP 500 to the first N requests whose last user message is this
  one (counted per server), then reply normally: a provider that recovers;
- `[[bad-sse]]` send the first chunk, then an event whose data is not JSON;
- `[[cut:N]]` send N tokens, then drop the connection (no final chunk, no `[DONE]`);
- `[[no-usage]]` report no usage, even when `stream_options.include_usage` asks for it;
- `[[echo]]` reply with the conversation it received, as JSON `[[role, content], ...]`
  without the system prompt (tests assert what the model saw);
- `[[json:{...}]]` reply with that JSON (as content, or as tool-call arguments when the
  request carries `tools`, which is how instructor's TOOLS mode asks);
- `[[tool:NAME]]` or `[[tool:NAME:{json}]]` (when the request offers `tools`) call tool NAME,
  with those arguments or, without them, the user's words (markers removed) in the tool's
  first string parameter. Once the conversation ends with `tool` messages, the reply is
  `From the tools: ` and their contents, so a test sees what the tools returned;
- `[[tool-loop:NAME]]` call tool NAME on every request that offers tools, also after tool
  results (a model that never stops calling: tests the actor's bound on tool steps).
Without `[[json:...]]`, a request that forces a tool (`tool_choice`, as instructor does) or
asks for a JSON schema response format gets a minimal object synthesized from the schema,
so structured output works unscripted.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

DEFAULT_TOKENS = 16
_MARKER = re.compile(
    r"\[\[(reply|fail|hang|no-usage|json|flaky|bad-sse|cut|echo|tool-loop|tool)(?::(.*?))?\]\](?!\])",
    re.DOTALL,
)
_JSON = re.compile(r"\[\[json:(.*)\]\]", re.DOTALL)  # greedy: the JSON may contain "]]"


@dataclass
class Plan:
    """One request's scripted answer."""

    tokens: list[str]
    fail_status: int | None = None
    hang: bool = False
    usage: bool = True
    tool_name: str | None = None
    """Set when the reply is a tool call (the text of `tokens` is its arguments)."""
    prompt_tokens: int = 0
    flaky: int = 0
    """Fail the first `flaky` requests carrying the same last user message (`key`)."""
    key: str = ""
    bad_sse: bool = False
    cut_after: int | None = None
    """Drop the connection after this many tokens."""

    @property
    def text(self) -> str:
        """The whole reply."""
        return "".join(self.tokens)


def _content(message: dict[str, Any]) -> str:
    content = message.get("content") or ""
    if isinstance(content, list):  # multi-part content: keep the text parts
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return str(content)


def _synthesize(schema: dict[str, Any], root: dict[str, Any] | None = None) -> Any:
    """A minimal value valid against `schema` (the subset structured output uses)."""
    root = root if root is not None else schema
    if "$ref" in schema:  # pydantic puts nested models in "#/$defs/<Name>"
        return _synthesize(root.get("$defs", {}).get(schema["$ref"].rsplit("/", 1)[-1], {}), root)
    for key in ("anyOf", "allOf"):  # optional fields: anyOf [<type>, null]
        if schema.get(key):
            return _synthesize(schema[key][0], root)
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type")
    if isinstance(kind, list):  # ["string", "null"]
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {name: _synthesize(sub, root) for name, sub in props.items()}
    defaults = {"string": "tok", "integer": 1, "number": 1.0, "boolean": True, "array": []}
    return defaults.get(str(kind))


def _schema_of(body: dict[str, Any]) -> tuple[str | None, dict[str, Any] | None]:
    """(tool name, JSON schema) the request wants filled, if any."""
    tools = body.get("tools") or []
    if tools:
        choice = body.get("tool_choice")
        wanted = choice.get("function", {}).get("name") if isinstance(choice, dict) else None
        fn = next((t["function"] for t in tools if t["function"]["name"] == wanted), None)
        fn = fn or tools[0]["function"]
        return fn["name"], fn.get("parameters", {})
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        return None, fmt.get("json_schema", {}).get("schema", {})
    if fmt.get("type") == "json_object":
        return None, {}
    return None, None


def _tool_arguments(body: dict[str, Any], name: str, words: str) -> str:
    """Arguments for tool `name`: `words` in its first string parameter."""
    tools = [t["function"] for t in body.get("tools") or [] if t.get("function", {}).get("name") == name]
    properties = ((tools[0].get("parameters") or {}).get("properties") or {}) if tools else {}
    first = next((k for k, v in properties.items() if v.get("type") == "string"), None)
    return json.dumps({first: " ".join(words.split())} if first else {})


def plan_for(body: dict[str, Any], header: str = "") -> Plan:
    """Read markers from the last user message (and the header) into a `Plan`."""
    messages = body.get("messages") or []
    last_user: dict[str, Any] = next((m for m in reversed(messages) if m.get("role") == "user"), {})
    text = _content(last_user) + " " + header
    markers = {m.group(1): m.group(2) for m in _MARKER.finditer(text)}
    plan = Plan(tokens=[], prompt_tokens=sum(len(_content(m).split()) + 4 for m in messages))
    plan.fail_status = int(markers["fail"]) if markers.get("fail") else None
    plan.hang, plan.usage = "hang" in markers, "no-usage" not in markers
    plan.flaky, plan.key = int(markers.get("flaky") or 0), _content(last_user)
    plan.bad_sse = "bad-sse" in markers
    plan.cut_after = int(markers["cut"]) if markers.get("cut") else None
    tool_name, schema = _schema_of(body)
    forced = isinstance(body.get("tool_choice"), dict) or not body.get("tools")
    reply: str | None
    looping = markers.get("tool-loop")
    if looping and body.get("tools"):
        plan.tool_name = looping
        reply = _tool_arguments(body, looping, _MARKER.sub("", _content(last_user)))
        plan.tokens = [reply[i : i + 8] for i in range(0, len(reply), 8)] or [""]
        return plan
    if messages and messages[-1].get("role") == "tool":
        results: list[str] = []
        for message in reversed(messages):
            if message.get("role") != "tool":
                break
            results.insert(0, _content(message))
        plan.tokens = [w + " " for w in ("From the tools: " + " ".join(results)).split()]
        return plan
    if markers.get("tool") and body.get("tools"):
        name, _, arguments = markers["tool"].partition(":")
        words = _MARKER.sub("", _content(last_user))
        tool_name, reply = name, arguments or _tool_arguments(body, name, words)
    elif (found := _JSON.search(text)) is not None:
        reply = found.group(1)
    elif "echo" in markers:
        reply = json.dumps([[m.get("role"), _content(m)] for m in messages if m.get("role") != "system"])
    elif schema is not None and forced:
        reply = json.dumps(_synthesize(schema))
    else:
        reply = None
    if reply is not None:
        plan.tool_name = tool_name
        # Split JSON into a few pieces so streaming clients see several deltas.
        plan.tokens = [reply[i : i + 8] for i in range(0, len(reply), 8)] or [""]
    else:
        count = int(markers.get("reply") or DEFAULT_TOKENS)
        plan.tokens = [f"tok{k} " for k in range(1, count + 1)]
    return plan


class Shapes:
    """Builders of OpenAI `chat.completion` and `chat.completion.chunk` objects."""

    def __init__(self, model: str) -> None:
        self.id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        self.created = int(time.time())
        self.model = model

    def _base(self, obj: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": obj,
            "created": self.created,
            "model": self.model,
            "system_fingerprint": "fp_fake",
        }

    @staticmethod
    def usage(plan: Plan) -> dict[str, int]:
        """OpenAI usage object."""
        out = len(plan.tokens)
        return {
            "prompt_tokens": plan.prompt_tokens,
            "completion_tokens": out,
            "total_tokens": plan.prompt_tokens + out,
        }

    def chunk(
        self, delta: dict[str, Any], finish: str | None = None, usage_field: bool = False
    ) -> dict[str, Any]:
        """One streamed chunk; with include_usage every chunk carries `usage: null`."""
        body = self._base("chat.completion.chunk")
        body["choices"] = [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]
        if usage_field:
            body["usage"] = None
        return body

    def usage_chunk(self, plan: Plan) -> dict[str, Any]:
        """The final chunk of `include_usage`: no choices, the usage."""
        return {**self._base("chat.completion.chunk"), "choices": [], "usage": self.usage(plan)}

    def token_delta(self, plan: Plan, index: int) -> dict[str, Any]:
        """Delta carrying token `index` as content or as tool-call arguments."""
        token = plan.tokens[index]
        if plan.tool_name is None:
            return {"content": token}
        call: dict[str, Any] = {"index": 0, "function": {"arguments": token}}
        if index == 0:
            call.update(id="call_fake", type="function")
            call["function"]["name"] = plan.tool_name
        return {"tool_calls": [call]}

    def completion(self, plan: Plan) -> dict[str, Any]:
        """The non-streamed answer."""
        message: dict[str, Any] = {"role": "assistant", "content": plan.text, "refusal": None}
        finish = "stop"
        if plan.tool_name is not None:
            message["content"], finish = None, "tool_calls"
            message["tool_calls"] = [
                {
                    "id": "call_fake",
                    "type": "function",
                    "function": {"name": plan.tool_name, "arguments": plan.text},
                }
            ]
        body = self._base("chat.completion")
        body["choices"] = [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}]
        if plan.usage:
            body["usage"] = self.usage(plan)
        return body

    @staticmethod
    def error(status: int) -> dict[str, Any]:
        """OpenAI error body."""
        return {
            "error": {
                "message": f"fake-llm scripted failure {status}",
                "type": "server_error" if status >= 500 else "invalid_request_error",
                "param": None,
                "code": str(status),
            }
        }
