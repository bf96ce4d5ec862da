"""Workflows as data: the DAG's node types, its validation, placeholders and branching.

Shared by web (validation at save time, admission) and actors (the `WorkflowActor` walks
the same graph), so both read one definition. docs/workflows.md is the reference.

A DAG is `{"nodes": [{"id", "type", ...}], "edges": [{"source", "target", "condition"?}]}`.
Node types and their settings:

- `input`: `fields: [{name, type}]`; its output is the run's input (an object).
- `llm`: `agent_id` (an agent of the tenant) or `model` (a catalog chat model, with an
  optional `system`), `prompt_template` with `{node_id.field}` placeholders, optional
  `output_schema` (structured output: the output is that object; else `{"text"}`).
- `condition`: `field` (`node_id.field`), `op`, `value`; output `{"result"}`; its edges say
  `condition: "true"` or `"false"`.
- `map`: `items` (`{node_id.field}`, a list), `step` (an llm step whose template may use
  `{item}` and `{item.field}`), `concurrency`, `max_items`; output `{"items": [...]}`.
- `sort`: `items` (`{node_id.field}`), `by`, `order` (`asc` | `desc`); output `{"items"}`.
- `tool`: `url` (a tenant-allowlisted https host, through `runtime.urlguard`), `method`,
  `body_template`; or `builtin` (`BUILTIN_TOOLS`): `knowledge_search` with `agent_id` (whose
  documents are searched and billed) and `query_template`, optional `limit`; output
  `{"status", "body", "text"}`.
- `human`: `prompt`, `timeout_s`; waits for `POST /workflow-runs/{id}/nodes/{node}/input`;
  output `{"input", "timed_out"}`; on timeout only edges with `condition: "timeout"` run.
- `output`: `value` (an object of templates); the run's output.

Any node may declare `retry: {"max_attempts": n}`; an edge with `condition: "error"` is an
error branch: the node's failure takes it instead of failing the run.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

NODE_TYPES = ("input", "llm", "condition", "map", "sort", "tool", "human", "output")
MAX_NODES = 50
"""Nodes per workflow (the editor and the hold stay readable; raise with care)."""
MAX_MAP_ITEMS = 100
DEFAULT_MAP_ITEMS = 20
MAX_CONCURRENCY = 10
DEFAULT_HUMAN_TIMEOUT_S = 3600.0
MAX_RETRIES = 5
CONDITION_OPS = ("==", "!=", ">", ">=", "<", "<=", "contains", "exists")
BRANCHES = ("true", "false", "error", "timeout")
BUILTIN_TOOLS: dict[str, str] = {
    "knowledge_search": "hybrid search over an agent's documents (docs/knowledge.md)",
}
"""Built-in tools a `tool` node may name instead of a URL: name -> description. Each has a
runner in actors/workflow.py `BUILTIN_TOOL_RUNNERS`."""
MAX_SEARCH_RESULTS = 20
DEFAULT_SEARCH_RESULTS = 5

NODE_ID = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)((?:\.[A-Za-z0-9_]+)*)\}")
FIELD_TYPES = ("string", "number", "integer", "boolean", "array", "object")


@dataclass(frozen=True)
class Problem:
    """One reason a DAG cannot be saved: the node (None: the DAG) and field it is about."""

    node: str | None
    field: str
    message: str


class InvalidWorkflowError(ValueError):
    """The DAG has problems; web answers 422 with every one."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(f"{p.node or 'workflow'}.{p.field}: {p.message}" for p in problems))
        self.problems = problems


@dataclass
class Graph:
    """A parsed DAG: nodes by id (in given order), edges, and who feeds whom."""

    nodes: dict[str, dict[str, Any]]
    edges: list[dict[str, Any]]
    incoming: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    outgoing: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @classmethod
    def of(cls, dag: dict[str, Any]) -> Graph:
        nodes = {str(n["id"]): n for n in dag.get("nodes", []) if isinstance(n, dict) and "id" in n}
        edges = [e for e in dag.get("edges", []) if isinstance(e, dict)]
        graph = cls(nodes, edges)
        for node_id in nodes:
            graph.incoming[node_id], graph.outgoing[node_id] = [], []
        for edge in edges:
            if edge.get("source") in nodes and edge.get("target") in nodes:
                graph.outgoing[edge["source"]].append(edge)
                graph.incoming[edge["target"]].append(edge)
        return graph

    def ancestors(self, node_id: str) -> set[str]:
        """Every node with a path to `node_id`."""
        seen: set[str] = set()
        stack = [e["source"] for e in self.incoming.get(node_id, [])]
        while stack:
            current = stack.pop()
            if current not in seen:
                seen.add(current)
                stack.extend(e["source"] for e in self.incoming.get(current, []))
        return seen

    def of_type(self, kind: str) -> list[str]:
        return [node_id for node_id, node in self.nodes.items() if node.get("type") == kind]

    def cycle(self) -> list[str] | None:
        """Nodes on a cycle, if there is one (Kahn's algorithm leaves them)."""
        degree = {n: len(self.incoming[n]) for n in self.nodes}
        ready = [n for n, d in degree.items() if d == 0]
        while ready:
            current = ready.pop()
            for edge in self.outgoing[current]:
                degree[edge["target"]] -= 1
                if degree[edge["target"]] == 0:
                    ready.append(edge["target"])
        left = [n for n, d in degree.items() if d > 0]  # on a cycle, or downstream of one
        on_cycle = [n for n in left if any(n in self.reachable_from(e["target"]) for e in self.outgoing[n])]
        return on_cycle or None

    def reachable_from(self, start: str) -> set[str]:
        seen, stack = {start}, [start]
        while stack:
            for edge in self.outgoing[stack.pop()]:
                if edge["target"] not in seen:
                    seen.add(edge["target"])
                    stack.append(edge["target"])
        return seen


# --- what each node exposes to its successors ---------------------------------------------


def output_fields(node: dict[str, Any]) -> set[str] | None:
    """The fields a node's output has (None: any, not checked)."""
    kind = node.get("type")
    if kind == "input":
        return {str(f.get("name")) for f in node.get("fields") or [] if isinstance(f, dict)}
    if kind == "llm":
        schema = node.get("output_schema")
        return set((schema.get("properties") or {}).keys()) if isinstance(schema, dict) else {"text"}
    if kind == "condition":
        return {"result"}
    if kind in ("map", "sort"):
        return {"items"}
    if kind == "tool":
        return {"status", "body", "text"}
    if kind == "human":
        return {"input", "timed_out"}
    if kind == "output":
        value = node.get("value")
        return set(value.keys()) if isinstance(value, dict) else None
    return None


def placeholders(template: str) -> list[tuple[str, list[str]]]:
    """`(node_id, [field, ...])` of every `{node_id.field...}` in `template`."""
    return [(m.group(1), [p for p in m.group(2).split(".") if p]) for m in PLACEHOLDER.finditer(template)]


def _templates(node: dict[str, Any]) -> Iterable[tuple[str, str]]:
    """(field name, template) of every template setting of a node."""
    for key in ("prompt_template", "items", "body_template", "query_template", "prompt", "system"):
        if isinstance(node.get(key), str):
            yield key, node[key]
    step = node.get("step")
    if isinstance(step, dict) and isinstance(step.get("prompt_template"), str):
        yield "step.prompt_template", step["prompt_template"]
    value = node.get("value")
    if isinstance(value, dict):
        for name, template in value.items():
            if isinstance(template, str):
                yield f"value.{name}", template


# --- validation -------------------------------------------------------------------------


def validate(dag: Any) -> Graph:
    """The parsed DAG, or InvalidWorkflowError naming every problem found (structure only:
    agents and models are checked against the database by web)."""
    problems: list[Problem] = []

    def bad(node: str | None, name: str, message: str) -> None:
        problems.append(Problem(node, name, message))

    if (
        not isinstance(dag, dict)
        or not isinstance(dag.get("nodes"), list)
        or not isinstance(dag.get("edges"), list)
    ):
        raise InvalidWorkflowError([Problem(None, "dag_structure", "must be {nodes: [...], edges: [...]}")])
    if len(dag["nodes"]) > MAX_NODES:
        raise InvalidWorkflowError([Problem(None, "nodes", f"at most {MAX_NODES} nodes")])
    seen: set[str] = set()
    for index, node in enumerate(dag["nodes"]):
        if not isinstance(node, dict) or not isinstance(node.get("id"), str) or not NODE_ID.match(node["id"]):
            bad(None, f"nodes[{index}].id", "a node id is lowercase letters, digits and _ (max 64)")
            continue
        if node["id"] in seen or node["id"] == "item":
            bad(node["id"], "id", "node ids must be unique (and 'item' is reserved)")
        seen.add(node["id"])
        if node.get("type") not in NODE_TYPES:
            bad(node["id"], "type", f"unknown node type; one of {', '.join(NODE_TYPES)}")
    if problems:
        raise InvalidWorkflowError(problems)
    graph = Graph.of(dag)
    for index, edge in enumerate(graph.edges):
        for end in ("source", "target"):
            if edge.get(end) not in graph.nodes:
                bad(None, f"edges[{index}].{end}", f"no node {edge.get(end)!r}")
        condition = edge.get("condition")
        if condition is not None and condition not in BRANCHES:
            bad(str(edge.get("source")), f"edges[{index}].condition", f"one of {', '.join(BRANCHES)}")
        source = graph.nodes.get(str(edge.get("source")), {})
        if condition in ("true", "false") and source.get("type") != "condition":
            bad(
                str(edge.get("source")), f"edges[{index}].condition", "true/false edges leave condition nodes"
            )
        if condition == "timeout" and source.get("type") != "human":
            bad(str(edge.get("source")), f"edges[{index}].condition", "timeout edges leave human nodes")
    inputs, outputs = graph.of_type("input"), graph.of_type("output")
    if len(inputs) != 1:
        bad(None, "nodes", "a workflow has exactly one input node")
    if len(outputs) != 1:
        bad(None, "nodes", "a workflow has exactly one output node")
    if problems:
        raise InvalidWorkflowError(problems)
    cycle = graph.cycle()
    if cycle:
        for node_id in cycle:
            bad(node_id, "edges", "is on a cycle: a workflow is acyclic")
        raise InvalidWorkflowError(problems)
    reachable = graph.reachable_from(inputs[0])
    for node_id in graph.nodes:
        if node_id not in reachable:
            bad(node_id, "edges", f"is not reachable from the input node {inputs[0]!r}")
    for node_id, node in graph.nodes.items():
        _check_node(graph, node_id, node, bad)
    if problems:
        raise InvalidWorkflowError(problems)
    return graph


def _check_ref(graph: Graph, node_id: str, name: str, ref: str, bad: Any, *, item: bool = False) -> None:
    """One `{node.field...}` reference: an upstream node with that field."""
    source, fields = ref, []
    if "." in ref:
        source, *fields = ref.split(".")
    if item and source == "item":
        return
    if source not in graph.nodes:
        bad(node_id, name, f"{{{ref}}} names no node")
        return
    if source not in graph.ancestors(node_id):
        bad(node_id, name, f"{{{ref}}}: {source!r} is not upstream of {node_id!r}")
        return
    if not fields:
        bad(node_id, name, f"{{{ref}}}: name a field, as {{{source}.field}}")
        return
    known = output_fields(graph.nodes[source])
    if known is not None and fields[0] not in known:
        listed = ", ".join(sorted(known)) or "none"
        bad(node_id, name, f"{{{ref}}}: {source!r} has no field {fields[0]!r} (it has: {listed})")


def _check_node(graph: Graph, node_id: str, node: dict[str, Any], bad: Any) -> None:
    kind = node["type"]
    for name, template in _templates(node):
        for source, fields in placeholders(template):
            ref = ".".join([source, *fields])
            _check_ref(graph, node_id, name, ref, bad, item=(kind == "map" and name.startswith("step.")))
    retry = node.get("retry")
    if retry is not None and not (
        isinstance(retry, dict)
        and isinstance(retry.get("max_attempts"), int)
        and 1 <= retry["max_attempts"] <= MAX_RETRIES
    ):
        bad(node_id, "retry", f"{{max_attempts: 1..{MAX_RETRIES}}}")
    if kind == "input":
        for index, spec in enumerate(node.get("fields") or []):
            if (
                not isinstance(spec, dict)
                or not isinstance(spec.get("name"), str)
                or spec.get("type", "string") not in FIELD_TYPES
            ):
                bad(node_id, f"fields[{index}]", f"{{name, type}} with type one of {', '.join(FIELD_TYPES)}")
    elif kind == "llm":
        _check_step(node_id, "", node, bad)
    elif kind == "map":
        if not _single_ref(node.get("items")):
            bad(node_id, "items", "one placeholder naming a list, as {node.field}")
        if not isinstance(node.get("step"), dict):
            bad(node_id, "step", "the llm step run for each item")
        else:
            _check_step(node_id, "step.", node["step"], bad)
        if not _int_in(node.get("concurrency", 4), 1, MAX_CONCURRENCY):
            bad(node_id, "concurrency", f"1..{MAX_CONCURRENCY}")
        if not _int_in(node.get("max_items", DEFAULT_MAP_ITEMS), 1, MAX_MAP_ITEMS):
            bad(node_id, "max_items", f"1..{MAX_MAP_ITEMS}")
    elif kind == "sort":
        if not _single_ref(node.get("items")):
            bad(node_id, "items", "one placeholder naming a list, as {node.field}")
        if not isinstance(node.get("by"), str) or not node["by"]:
            bad(node_id, "by", "the item field to sort by")
        if node.get("order", "asc") not in ("asc", "desc"):
            bad(node_id, "order", "asc or desc")
    elif kind == "condition":
        tested = node.get("field")
        if not isinstance(tested, str) or not re.fullmatch(r"[a-z][a-z0-9_]*(\.[A-Za-z0-9_]+)+", tested):
            bad(node_id, "field", "the upstream field to test, as node.field")
        else:
            _check_ref(graph, node_id, "field", tested, bad)
        if node.get("op", "==") not in CONDITION_OPS:
            bad(node_id, "op", f"one of {', '.join(CONDITION_OPS)}")
        labels = {e.get("condition") for e in graph.outgoing[node_id]}
        if not labels & {"true", "false"}:
            bad(node_id, "edges", "a condition node needs an edge with condition 'true' or 'false'")
    elif kind == "tool":
        builtin, url = node.get("builtin"), node.get("url")
        if builtin is not None:
            if builtin not in BUILTIN_TOOLS:
                known = ", ".join(sorted(BUILTIN_TOOLS))
                bad(node_id, "builtin", f"unknown built-in tool {builtin!r} (available: {known})")
            elif builtin == "knowledge_search":
                query = node.get("query_template")
                if not isinstance(query, str) or not query.strip():
                    bad(node_id, "query_template", "required: the query, with {node.field} placeholders")
                if not node.get("agent_id"):
                    bad(node_id, "agent_id", "required: the agent whose documents are searched")
                if "limit" in node and not _int_in(node["limit"], 1, MAX_SEARCH_RESULTS):
                    bad(node_id, "limit", f"an integer from 1 to {MAX_SEARCH_RESULTS}")
        elif not isinstance(url, str) or not re.match(r"^https?://[^\s{}]+$", url):
            bad(node_id, "url", "an http(s) URL (or `builtin`)")
        if node.get("method", "POST") not in ("GET", "POST"):
            bad(node_id, "method", "GET or POST")
    elif kind == "human":
        if not isinstance(node.get("prompt", ""), str):
            bad(node_id, "prompt", "the text shown to the person")
        timeout = node.get("timeout_s", DEFAULT_HUMAN_TIMEOUT_S)
        if not isinstance(timeout, int | float) or not 1 <= timeout <= 30 * 86400:
            bad(node_id, "timeout_s", "1 s .. 30 days")
    elif kind == "output":
        if not isinstance(node.get("value"), dict) or not node["value"]:
            bad(node_id, "value", 'an object of templates, as {"summary": "{write.text}"}')


def _check_step(node_id: str, prefix: str, step: dict[str, Any], bad: Any) -> None:
    if not isinstance(step.get("prompt_template"), str) or not step["prompt_template"].strip():
        bad(node_id, prefix + "prompt_template", "required: the prompt, with {node.field} placeholders")
    if bool(step.get("agent_id")) == bool(step.get("model")):
        bad(node_id, prefix + "agent_id", "name an agent (agent_id) or a catalog model (model), not both")
    schema = step.get("output_schema")
    if schema is not None and (not isinstance(schema, dict) or schema.get("type") != "object"):
        bad(node_id, prefix + "output_schema", "a JSON Schema whose type is 'object'")


def _single_ref(value: Any) -> bool:
    return isinstance(value, str) and PLACEHOLDER.fullmatch(value.strip()) is not None


def _int_in(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def llm_steps(graph: Graph) -> list[tuple[str, dict[str, Any], int]]:
    """(node id, llm step, how many calls at most) of every LLM call the DAG may make."""
    steps = []
    for node_id, node in graph.nodes.items():
        calls = 1 + (node.get("retry") or {}).get("max_attempts", 1) - 1
        if node["type"] == "llm":
            steps.append((node_id, node, calls))
        elif node["type"] == "map":
            steps.append((node_id, node["step"], calls * int(node.get("max_items", DEFAULT_MAP_ITEMS))))
    return steps


# --- running: placeholders, branches -------------------------------------------------------


def lookup(outputs: dict[str, Any], ref: str) -> Any:
    """The value at `node.field.sub` in the node outputs (None when absent)."""
    value: Any = outputs
    for part in ref.split("."):
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def as_text(value: Any) -> str:
    """A value as it goes into a prompt: strings as they are, the rest as JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def reply_text(output: Any) -> str:
    """A run's output as a chat reply: a lone text field as that text, the rest as JSON."""
    if isinstance(output, dict) and len(output) == 1:
        (only,) = output.values()
        if isinstance(only, str):
            return only
    return as_text(output)


def render(template: str, outputs: dict[str, Any]) -> str:
    """`template` with every placeholder replaced by the upstream value."""
    return PLACEHOLDER.sub(lambda m: as_text(lookup(outputs, m.group(1) + m.group(2))), template)


def resolve(template: str, outputs: dict[str, Any]) -> Any:
    """A template that is exactly one placeholder keeps its value's type (a list, an
    object); any other is rendered as text."""
    match = PLACEHOLDER.fullmatch(template.strip())
    if match:
        return lookup(outputs, match.group(1) + match.group(2))
    return render(template, outputs)


def condition_holds(node: dict[str, Any], outputs: dict[str, Any]) -> bool:
    """A condition node's verdict on the upstream value."""
    value, op, expected = lookup(outputs, node["field"]), node.get("op", "=="), node.get("value")
    try:
        match op:
            case "exists":
                return value is not None
            case "contains":
                return expected in value if isinstance(value, list | str) else False
            case "==":
                return bool(value == expected)
            case "!=":
                return bool(value != expected)
            case ">":
                return bool(value > expected)
            case ">=":
                return bool(value >= expected)
            case "<":
                return bool(value < expected)
            case "<=":
                return bool(value <= expected)
    except TypeError:
        return False
    return False


def edge_taken(edge: dict[str, Any], status: str, branch: str | None) -> bool:
    """Whether an edge is followed, given how its source ended.

    An edge without a condition follows a completed source (unless a human node timed
    out); `true`/`false` follow a condition's verdict; `timeout` a human node that timed
    out; `error` a failed source (its error branch).
    """
    condition = edge.get("condition")
    if status == "failed":
        return condition == "error"
    if status != "completed":
        return False
    if condition is None:
        return branch != "timeout"
    return condition == branch
