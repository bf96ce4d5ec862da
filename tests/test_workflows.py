"""Workflows end to end: definitions and their validation, runs on real actors processes
answered by the fake LLM, node streaming, cancel, and a SIGKILL mid-run that resumes
without billing a finished node twice (docs/workflows.md)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aio_pika
import httpx
import pytest

from actors.progress import USAGE_NAMESPACE
from helpers.api import ApiUser, member, register
from helpers.dead_letters import correlation_in
from helpers.eventually import eventually
from helpers.fake_llm import FakeLLM
from helpers.platform import AMQP_URL, Platform, UsageTap, fake_reply, running_platform
from runtime.messages import StreamEvent, decode

WAIT = 30.0


class StreamTap:
    """Every stream event the platform's actors publish under `execution.<id>` keys."""

    def __init__(self, prefix: str) -> None:
        self.exchange = f"{prefix}hirebuddha.streams"
        self.events: list[Any] = []
        self._changed = asyncio.Condition()

    async def __aenter__(self) -> StreamTap:
        self._connection = await aio_pika.connect_robust(AMQP_URL)
        channel = await self._connection.channel()
        exchange = await channel.get_exchange(self.exchange)
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await queue.bind(exchange, routing_key="execution.*")
        await queue.consume(self._on_message, no_ack=True)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._connection.close()

    async def _on_message(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        async with self._changed:
            self.events.append(decode(message.body, StreamEvent))
            self._changed.notify_all()

    def of(self, run_id: str, kind: str | None = None) -> list[Any]:
        return [
            e
            for e in self.events
            if str(e.execution_id) == run_id and (kind is None or e.__struct_config__.tag == kind)
        ]

    async def wait(self, run_id: str, predicate: Any, timeout: float = WAIT) -> list[Any]:
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: predicate(self.of(run_id)))
        return self.of(run_id)


@pytest.fixture(name="tap")
async def tap_fixture(platform: Platform) -> AsyncIterator[StreamTap]:
    async with StreamTap(platform.env["HB_AMQP_PREFIX"]) as tap:
        yield tap


def llm(node_id: str, prompt: str, **extra: Any) -> dict[str, Any]:
    return {"id": node_id, "type": "llm", "model": "fake", "prompt_template": prompt, **extra}


def dag(nodes: list[dict[str, Any]], edges: list[tuple[str, str] | tuple[str, str, str]]) -> dict[str, Any]:
    return {
        "nodes": nodes,
        "edges": [
            {"source": e[0], "target": e[1], **({"condition": e[2]} if len(e) == 3 else {})} for e in edges
        ],
    }


INPUT = {
    "id": "input",
    "type": "input",
    "fields": [{"name": "jd", "type": "string"}, {"name": "candidates", "type": "array"}],
}


async def create(admin: ApiUser, structure: dict[str, Any], name: str = "wf") -> dict[str, Any]:
    r = await admin.post("/api/v1/workflows", json={"name": name, "dag_structure": structure})
    assert r.status_code == 201, r.text
    return r.json()


async def start_run(who: ApiUser, workflow_id: str, value: dict[str, Any]) -> str:
    r = await who.post(f"/api/v1/workflows/{workflow_id}/runs", json={"input": value})
    assert r.status_code == 202, r.text
    return r.json()["id"]


async def wait_run(who: ApiUser, run_id: str, *statuses: str, timeout: float = WAIT) -> dict[str, Any]:
    async def row() -> dict[str, Any]:
        return (await who.get(f"/api/v1/workflow-runs/{run_id}")).json()

    return await eventually(row, lambda r: r["status"] in statuses, f"run in {statuses}", timeout)


def deltas(events: list[Any], node_id: str) -> tuple[list[int], str]:
    mine = [e for e in events if e.__struct_config__.tag == "node.delta" and e.node_id == node_id]
    return [e.seq for e in mine], "".join(e.text for e in mine)


# --- definitions --------------------------------------------------------------------------


async def test_definitions_are_versioned_admins_write_members_read(
    platform: Platform, admin: ApiUser
) -> None:
    first = dag(
        [
            INPUT,
            llm("write", "Write about {input.jd}"),
            {"id": "out", "type": "output", "value": {"t": "{write.text}"}},
        ],
        [("input", "write"), ("write", "out")],
    )
    made = await create(admin, first)
    assert made["version"] == 1 and made["dag_structure"]["nodes"][1]["id"] == "write"
    second = dag(
        [
            INPUT,
            llm("draft", "Draft {input.jd}"),
            {"id": "out", "type": "output", "value": {"t": "{draft.text}"}},
        ],
        [("input", "draft"), ("draft", "out")],
    )
    r = await admin.patch(f"/api/v1/workflows/{made['id']}", json={"dag_structure": second})
    assert r.status_code == 200 and r.json()["version"] == 2, r.text
    r = await admin.patch(f"/api/v1/workflows/{made['id']}", json={"name": "renamed"})
    assert r.json()["version"] == 2 and r.json()["name"] == "renamed"
    colleague = await member(admin)
    assert (await colleague.get(f"/api/v1/workflows/{made['id']}")).status_code == 200
    assert made["id"] in [w["id"] for w in (await colleague.get("/api/v1/workflows")).json()]
    r = await colleague.post("/api/v1/workflows", json={"name": "x", "dag_structure": first})
    assert r.status_code == 403
    stranger = await register(admin.client)
    assert (await stranger.get(f"/api/v1/workflows/{made['id']}")).status_code == 404
    assert (await admin.delete(f"/api/v1/workflows/{made['id']}")).status_code == 204
    assert (await admin.get(f"/api/v1/workflows/{made['id']}")).status_code == 404


async def _refused(admin: ApiUser, structure: dict[str, Any]) -> list[dict[str, Any]]:
    r = await admin.post("/api/v1/workflows", json={"name": "bad", "dag_structure": structure})
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["code"] == "invalid_workflow" and body["errors"], body
    return body["errors"]


async def test_validation_names_the_node_and_field(platform: Platform, admin: ApiUser) -> None:
    out = {"id": "out", "type": "output", "value": {"t": "{a.text}"}}
    cycle = dag(
        [INPUT, llm("a", "{input.jd}"), llm("b", "{a.text}"), out],
        [("input", "a"), ("a", "b"), ("b", "a"), ("a", "out")],
    )
    errors = await _refused(admin, cycle)
    assert {e["node"] for e in errors} == {"a", "b"} and all("cycle" in e["message"] for e in errors)

    unreachable = dag(
        [INPUT, llm("a", "{input.jd}"), llm("island", "hello"), out], [("input", "a"), ("a", "out")]
    )
    errors = await _refused(admin, unreachable)
    assert [(e["node"], e["field"]) for e in errors] == [("island", "edges")]
    assert "not reachable" in errors[0]["message"]

    unknown_field = dag([INPUT, llm("a", "{input.salary}"), out], [("input", "a"), ("a", "out")])
    errors = await _refused(admin, unknown_field)
    assert [(e["node"], e["field"]) for e in errors] == [("a", "prompt_template")]
    assert "no field 'salary'" in errors[0]["message"]

    not_upstream = dag(
        [INPUT, llm("a", "{b.text}"), llm("b", "{input.jd}"), out],
        [("input", "a"), ("input", "b"), ("a", "out"), ("b", "out")],
    )
    errors = await _refused(admin, not_upstream)
    assert [(e["node"], e["field"]) for e in errors] == [("a", "prompt_template")]
    assert "not upstream" in errors[0]["message"]

    condition = {"id": "check", "type": "condition", "field": "a.score", "op": ">", "value": 3}
    bad_condition = dag(
        [INPUT, llm("a", "{input.jd}"), condition, out],
        [("input", "a"), ("a", "check"), ("check", "out", "true")],
    )
    errors = await _refused(admin, bad_condition)
    assert [(e["node"], e["field"]) for e in errors] == [("check", "field")]

    strangers = dag(
        [
            INPUT,
            {"id": "a", "type": "llm", "agent_id": str(uuid.uuid4()), "prompt_template": "{input.jd}"},
            llm("m", "x", model="no-such-model"),
            out,
        ],
        [("input", "a"), ("input", "m"), ("a", "out"), ("m", "out")],
    )
    errors = await _refused(admin, strangers)
    assert {(e["node"], e["field"]) for e in errors} == {("a", "agent_id"), ("m", "model")}

    many = dag([INPUT, *[llm(f"n{i}", "{input.jd}") for i in range(60)], out], [])
    errors = await _refused(admin, many)
    assert errors[0]["field"] == "nodes" and "at most" in errors[0]["message"]


# --- running ------------------------------------------------------------------------------

DIAMOND = dag(
    [
        INPUT,
        llm("left", "[[reply:12]] left about {input.jd}"),
        llm("right", "[[reply:8]] right about {input.jd}"),
        llm("join", "[[reply:5]] join {left.text} and {right.text}"),
        {
            "id": "rank",
            "type": "map",
            "items": "{input.candidates}",
            "concurrency": 5,
            "max_items": 20,
            "step": {
                "model": "fake",
                "prompt_template": "[[reply:{item.n}]] rank {item.name} for {input.jd}",
            },
        },
        {"id": "out", "type": "output", "value": {"summary": "{join.text}", "ranked": "{rank.items}"}},
    ],
    [
        ("input", "left"),
        ("input", "right"),
        ("left", "join"),
        ("right", "join"),
        ("input", "rank"),
        ("join", "out"),
        ("rank", "out"),
    ],
)
CANDIDATES = [{"name": f"cand{i}", "n": 3 + i % 4} for i in range(20)]


async def test_diamond_with_a_map_of_20_streams_every_node(
    platform: Platform, admin: ApiUser, tap: StreamTap
) -> None:
    workflow = await create(admin, DIAMOND)
    async with UsageTap(platform.env["HB_AMQP_PREFIX"]) as usage:
        run_id = await start_run(
            admin, workflow["id"], {"jd": "a backend engineer", "candidates": CANDIDATES}
        )
        events = await tap.wait(
            run_id, lambda es: any(e.__struct_config__.tag == "execution.completed" for e in es)
        )
        billed = await usage.wait_for(run_id, 23)
    final = events[-1]
    assert final.__struct_config__.tag == "execution.completed", [
        e.__struct_config__.tag for e in events[-3:]
    ]
    expected = {"left": 12, "right": 8, "join": 5, **{f"rank[{i}]": c["n"] for i, c in enumerate(CANDIDATES)}}
    for node_id, tokens in expected.items():
        seqs, text = deltas(events, node_id)
        assert seqs == list(range(1, len(seqs) + 1)) and seqs, (node_id, seqs)
        assert text == fake_reply(tokens), node_id
        started = [e for e in events if e.__struct_config__.tag == "node.started" and e.node_id == node_id]
        completed = [
            e for e in events if e.__struct_config__.tag == "node.completed" and e.node_id == node_id
        ]
        assert len(started) == 1 and len(completed) == 1, node_id
        assert events.index(started[0]) < events.index(completed[0])
    # The two branches run side by side: both start before either ends.
    tags = [(e.__struct_config__.tag, getattr(e, "node_id", None)) for e in events]
    first_end = min(tags.index(("node.completed", "left")), tags.index(("node.completed", "right")))
    assert (
        tags.index(("node.started", "left")) < first_end and tags.index(("node.started", "right")) < first_end
    )
    assert final.output == {
        "summary": fake_reply(5),
        "ranked": [{"text": fake_reply(c["n"])} for c in CANDIDATES],
    }
    assert sorted(e.node_id for e in billed) == sorted(expected)
    assert all(str(e.execution_id) == run_id for e in billed)
    run = await wait_run(admin, run_id, "completed")
    assert run["result_data"]["output"] == final.output and run["workflow_version"] == 1
    assert {(n["node_id"], n["item"]) for n in run["nodes"] if n["status"] == "completed"} >= {
        ("left", -1),
        ("rank", 19),
        ("out", -1),
    }
    history = (await admin.get(f"/api/v1/workflows/{workflow['id']}/runs")).json()
    assert history[0]["id"] == run_id and history[0]["status"] == "completed"


async def test_condition_branches_and_skips(platform: Platform, admin: ApiUser, tap: StreamTap) -> None:
    structure = dag(
        [
            {"id": "input", "type": "input", "fields": [{"name": "score", "type": "integer"}]},
            {"id": "check", "type": "condition", "field": "input.score", "op": ">=", "value": 50},
            llm("yes", "[[reply:2]] yes"),
            llm("no", "[[reply:3]] no"),
            {"id": "out", "type": "output", "value": {"yes": "{yes.text}", "no": "{no.text}"}},
        ],
        [
            ("input", "check"),
            ("check", "yes", "true"),
            ("check", "no", "false"),
            ("yes", "out"),
            ("no", "out"),
        ],
    )
    workflow = await create(admin, structure)
    run_id = await start_run(admin, workflow["id"], {"score": 70})
    run = await wait_run(admin, run_id, "completed", "failed")
    assert run["result_data"]["output"] == {"yes": fake_reply(2), "no": None}, run
    assert {n["node_id"]: n["status"] for n in run["nodes"]}["no"] == "skipped"
    r = await admin.post(f"/api/v1/workflows/{workflow['id']}/runs", json={"input": {"score": "high"}})
    assert r.status_code == 422 and r.json()["code"] == "invalid_input"


async def test_cancel_stops_every_running_node(
    platform: Platform, admin: ApiUser, tap: StreamTap, fake_llm: FakeLLM
) -> None:
    structure = dag(
        [
            INPUT,
            llm("long", "[[reply:5000]] {input.jd}"),
            {
                "id": "rank",
                "type": "map",
                "items": "{input.candidates}",
                "concurrency": 3,
                "step": {"model": "fake", "prompt_template": "[[reply:5000]] {item.name}"},
            },
            {"id": "out", "type": "output", "value": {"a": "{long.text}", "b": "{rank.items}"}},
        ],
        [("input", "long"), ("input", "rank"), ("long", "out"), ("rank", "out")],
    )
    workflow = await create(admin, structure)
    before = fake_llm.stats.disconnected_streams
    run_id = await start_run(
        admin, workflow["id"], {"jd": "x", "candidates": [{"name": f"c{i}"} for i in range(3)]}
    )
    streaming = {"long", "rank[0]", "rank[1]", "rank[2]"}
    await tap.wait(
        run_id, lambda es: streaming <= {e.node_id for e in es if e.__struct_config__.tag == "node.delta"}
    )
    r = await admin.post(f"/api/v1/workflow-runs/{run_id}/cancel")
    assert r.status_code in (200, 202), r.text
    events = await tap.wait(
        run_id, lambda es: any(e.__struct_config__.tag == "execution.cancelled" for e in es)
    )
    failed = {e.node_id: e.error.code for e in events if e.__struct_config__.tag == "node.failed"}
    assert {k: failed.get(k) for k in streaming} == dict.fromkeys(streaming, "cancelled")
    assert not [e for e in events if e.__struct_config__.tag == "node.completed" and e.node_id in streaming]
    # Every provider stream was closed by us (the fake LLM saw its client go away).
    async with asyncio.timeout(WAIT):
        await fake_llm.stats.wait_for("disconnected_streams", before + 4)
    run = await wait_run(admin, run_id, "cancelled")
    assert run["completed_at"] is not None


async def test_human_node_waits_for_input_given_over_rest(
    platform: Platform, admin: ApiUser, tap: StreamTap
) -> None:
    structure = dag(
        [
            INPUT,
            {"id": "approve", "type": "human", "prompt": "Approve the JD for {input.jd}?", "timeout_s": 600},
            llm("after", "[[reply:2]] approved: {approve.input}"),
            {"id": "out", "type": "output", "value": {"answer": "{approve.input}", "after": "{after.text}"}},
        ],
        [("input", "approve"), ("approve", "after"), ("after", "out")],
    )
    workflow = await create(admin, structure)
    run_id = await start_run(admin, workflow["id"], {"jd": "x", "candidates": []})
    await tap.wait(run_id, lambda es: any(e.__struct_config__.tag == "node.waiting" for e in es))
    r = await admin.post(f"/api/v1/workflow-runs/{run_id}/nodes/after/input", json={"input": "no"})
    assert r.status_code == 409 and r.json()["code"] == "not_waiting"
    r = await admin.post(f"/api/v1/workflow-runs/{run_id}/nodes/approve/input", json={"input": "ship it"})
    assert r.status_code == 202, r.text
    run = await wait_run(admin, run_id, "completed", "failed")
    assert run["result_data"]["output"] == {"answer": "ship it", "after": fake_reply(2)}, run


async def test_failed_node_fails_the_run_unless_an_error_branch_takes_it(
    platform: Platform, admin: ApiUser
) -> None:
    failing = dag(
        [INPUT, llm("boom", "[[fail:400]]"), {"id": "out", "type": "output", "value": {"t": "{boom.text}"}}],
        [("input", "boom"), ("boom", "out")],
    )
    run = await wait_run(
        admin,
        await start_run(admin, (await create(admin, failing))["id"], {"jd": "x", "candidates": []}),
        "failed",
        "completed",
    )
    assert run["status"] == "failed" and "boom" in run["error_message"], run
    assert run["result_data"]["error_code"] == "node_failed" and run["result_data"]["node_id"] == "boom"
    handled = dag(
        [
            INPUT,
            llm("boom", "[[fail:400]]"),
            llm("fallback", "[[reply:2]] sorry"),
            {"id": "out", "type": "output", "value": {"t": "{fallback.text}"}},
        ],
        [("input", "boom"), ("boom", "fallback", "error"), ("fallback", "out")],
    )
    run = await wait_run(
        admin,
        await start_run(admin, (await create(admin, handled))["id"], {"jd": "x", "candidates": []}),
        "failed",
        "completed",
    )
    assert run["status"] == "completed" and run["result_data"]["output"] == {"t": fake_reply(2)}, run


async def test_run_socket_replays_and_streams(platform: Platform, admin: ApiUser) -> None:
    import json

    import websockets

    structure = dag(
        [
            INPUT,
            llm("a", "[[reply:400]] {input.jd}"),
            {"id": "out", "type": "output", "value": {"t": "{a.text}"}},
        ],
        [("input", "a"), ("a", "out")],
    )
    workflow = await create(admin, structure)
    run_id = await start_run(admin, workflow["id"], {"jd": "x", "candidates": []})
    url = f"{platform.ws_base}/workflow-runs/{run_id}/ws"
    async with websockets.connect(url) as ws:
        await ws.send(json.dumps({"type": "auth", "token": admin.token}))
        frames = []
        async with asyncio.timeout(WAIT):
            async for raw in ws:
                frames.append(json.loads(raw))
                if frames[-1]["type"].startswith("execution."):
                    break
    assert frames[0]["type"] == "ready"
    assert frames[-1]["type"] == "execution.completed" and frames[-1]["output"] == {"t": fake_reply(400)}


# --- a crash mid-run ------------------------------------------------------------------------


async def test_sigkill_mid_run_resumes_without_billing_finished_nodes_twice(
    database: str, fake_llm: FakeLLM
) -> None:
    async with (
        running_platform(fake_llm, 1, env={"HB_ACTORS_HEARTBEAT": "0.3"}) as platform,
        httpx.AsyncClient(base_url=platform.base_url, timeout=30) as client,
    ):
        admin = await register(client)
        prefix = platform.env["HB_AMQP_PREFIX"]
        structure = dag(
            [
                INPUT,
                llm("fast", "[[reply:3]] {input.jd}"),
                {
                    "id": "rank",
                    "type": "map",
                    "items": "{input.candidates}",
                    "concurrency": 3,
                    "step": {"model": "fake", "prompt_template": "[[reply:{item.n}]] {item.name}"},
                },
                {"id": "out", "type": "output", "value": {"fast": "{fast.text}", "ranked": "{rank.items}"}},
            ],
            [("input", "fast"), ("input", "rank"), ("fast", "out"), ("rank", "out")],
        )
        workflow = await create(admin, structure)
        candidates = [{"name": "a", "n": 3}, {"name": "b", "n": 4}, {"name": "slow", "n": 1500}]
        async with StreamTap(prefix) as tap, UsageTap(prefix) as usage:
            run_id = await start_run(admin, workflow["id"], {"jd": "x", "candidates": candidates})

            def finished(run: dict[str, Any]) -> bool:
                done = {(n["node_id"], n["item"]) for n in run["nodes"] if n["status"] == "completed"}
                return {("fast", -1), ("rank", 0), ("rank", 1)} <= done

            await eventually(lambda: _run(admin, run_id), finished, "three nodes finished", WAIT)
            await tap.wait(
                run_id,
                lambda es: any(
                    e.__struct_config__.tag == "node.delta" and e.node_id == "rank[2]" for e in es
                ),
            )
            billed_before = {e.node_id for e in usage.of(run_id)}
            assert billed_before >= {"fast", "rank[0]", "rank[1]"}
            in_flight = await eventually(
                lambda: _progress(admin, run_id),
                lambda calls: any(c["node_id"] == "rank[2]" and c["output_tokens"] > 0 for c in calls),
                "a heartbeat recording the slow item's tokens",
                WAIT,
            )
            platform.actors[0].proc.kill()  # SIGKILL: nothing more is published or stored
            await asyncio.to_thread(platform.actors[0].proc.wait)
            await platform.start_actors()
            run = await wait_run(admin, run_id, "completed", "failed", timeout=60)
            assert run["status"] == "completed", run
            await tap.wait(
                run_id, lambda es: any(e.__struct_config__.tag == "execution.completed" for e in es)
            )
        restarted = tap.of(run_id, "execution.restarted")
        assert restarted and restarted[0].attempt == 2
        # Finished nodes ran once and were billed once; the node cut by the kill ran again.
        by_node: dict[str, int] = {}
        for event in usage.of(run_id):
            by_node[event.node_id or ""] = by_node.get(event.node_id or "", 0) + 1
        assert by_node["fast"] == 1 and by_node["rank[0]"] == 1 and by_node["rank[1]"] == 1, by_node
        # The cut item's streamed tokens (as of the last heartbeat) are billed under the dead
        # attempt's own event id, beside the re-run's call.
        cut = [e for e in usage.of(run_id) if e.node_id == "rank[2]"]
        dead = uuid.uuid5(USAGE_NAMESPACE, f"{run_id}:1:rank[2]:1")
        [billed_cut] = [e for e in cut if e.event_id == dead]
        recorded = next(c for c in in_flight if c["node_id"] == "rank[2]")
        assert billed_cut.counted and billed_cut.output_tokens >= recorded["output_tokens"] > 0
        assert any(e.event_id != dead for e in cut)
        started = [e.node_id for e in tap.of(run_id, "node.started")]
        assert started.count("fast") == 1 and started.count("rank[0]") == 1 and started.count("rank[2]") == 2
        assert run["result_data"]["output"]["ranked"] == [{"text": fake_reply(c["n"])} for c in candidates]


async def _run(admin: ApiUser, run_id: str) -> dict[str, Any]:
    return (await admin.get(f"/api/v1/workflow-runs/{run_id}")).json()


async def _progress(admin: ApiUser, run_id: str) -> list[dict[str, Any]]:
    """The node calls in flight the run's last heartbeat recorded (executions.progress)."""
    import json

    from runtime import db

    async with db.scope(uuid.UUID(admin.tenant_id)):
        row = await db.fetchrow("SELECT progress FROM executions WHERE id = $1", uuid.UUID(run_id))
    stored = row["progress"] if row else None
    value = json.loads(stored) if isinstance(stored, str) else stored
    return value if isinstance(value, list) else []


async def test_a_queue_job_naming_a_workflow_runs_it(
    platform: Platform, admin: ApiUser, expect_dead_letters: Any
) -> None:
    from test_jobs import JobClient, api_key

    structure = dag(
        [
            INPUT,
            llm("a", "[[reply:3]] {input.jd}"),
            {"id": "out", "type": "output", "value": {"t": "{a.text}"}},
        ],
        [("input", "a"), ("a", "out")],
    )
    workflow = await create(admin, structure)
    key = await api_key(admin)
    async with JobClient(platform.env["HB_AMQP_PREFIX"]) as jobs:
        done = await jobs.publish(
            {"workflow_id": workflow["id"], "input": {"jd": "x", "candidates": []}}, key
        )
        unknown = await jobs.publish({"workflow_id": str(uuid.uuid4()), "input": {}}, key)
        [result] = await jobs.result(done)
        [refused] = await jobs.result(unknown)
    expect_dead_letters(correlation_in({unknown}), 1, why="a job naming no workflow")
    assert result["status"] == "completed" and result["output"] == {"t": fake_reply(3)}, result
    assert refused["status"] == "rejected" and refused["error"]["code"] == "unknown_workflow", refused
    run = await wait_run(admin, result["execution_id"], "completed")
    assert run["workflow_id"] == workflow["id"]


DEMO_CANDIDATES = [
    {"name": "Ada", "skills": ["python", "postgres"], "missing": ["go"], "summary": "7 years backend"},
    {"name": "Grace", "skills": ["go", "kubernetes"], "missing": [], "summary": "SRE lead"},
    {"name": "Linus", "skills": ["c", "git"], "missing": ["python"], "summary": "kernel hacker"},
]


async def test_seeded_candidate_fit_ranking_is_deterministic_and_schema_valid_offline(
    platform: Platform, admin: ApiUser
) -> None:
    from web.seed import seed_recruiting_demo

    await seed_recruiting_demo(uuid.UUID(admin.tenant_id))
    await seed_recruiting_demo(uuid.UUID(admin.tenant_id))  # idempotent
    listed = {w["name"]: w for w in (await admin.get("/api/v1/workflows")).json()}
    assert list(listed) == ["Candidate fit ranking"]
    agents = [a["name"] for a in (await admin.get("/api/v1/agents")).json()]
    assert agents.count("Job description writer") == 1
    value = {"job_description": "Backend engineer: Go, Postgres, on-call.", "candidates": DEMO_CANDIDATES}
    outputs = []
    for _ in range(2):
        run_id = await start_run(admin, listed["Candidate fit ranking"]["id"], value)
        run = await wait_run(admin, run_id, "completed", "failed")
        assert run["status"] == "completed", run
        outputs.append(run["result_data"]["output"])
    assert outputs[0] == outputs[1]
    ranking = outputs[0]["ranking"]
    assert sorted(r["candidate"] for r in ranking) == ["Ada", "Grace", "Linus"]
    assert [r["fit_index"] for r in ranking] == sorted((r["fit_index"] for r in ranking), reverse=True)
    for row in ranking:
        assert set(row) == {"candidate", "fit_index", "strengths", "gaps"}
        assert isinstance(row["fit_index"], int) and 0 <= row["fit_index"] <= 100
        assert all(isinstance(s, str) for s in row["strengths"] + row["gaps"])
    by_name = {r["candidate"]: r for r in ranking}
    assert by_name["Ada"]["strengths"] == ["python", "postgres"] and by_name["Ada"]["gaps"] == ["go"]
    assert outputs[0]["summary"]


async def test_each_nodes_ledger_entries_carry_the_run_and_the_node(database: str, fake_llm: FakeLLM) -> None:
    import json

    from helpers.ledger import priced_model
    from helpers.platform import platform_with_ledger
    from runtime import db

    model = await priced_model(provider="openai")
    async with (
        platform_with_ledger(fake_llm) as platform,
        httpx.AsyncClient(base_url=platform.base_url, timeout=30) as client,
    ):
        admin = await register(client)
        structure = dag(
            [
                INPUT,
                llm("write", "[[reply:3]] {input.jd}", model=model),
                {
                    "id": "rank",
                    "type": "map",
                    "items": "{input.candidates}",
                    "step": {"model": model, "prompt_template": "[[reply:2]] {item}"},
                },
                {"id": "out", "type": "output", "value": {"w": "{write.text}", "r": "{rank.items}"}},
            ],
            [("input", "write"), ("input", "rank"), ("write", "out"), ("rank", "out")],
        )
        workflow = await create(admin, structure)
        run_id = await start_run(admin, workflow["id"], {"jd": "x", "candidates": ["a", "b"]})
        await wait_run(admin, run_id, "completed")

        async def entries() -> list[Any]:
            async with db.scope(uuid.UUID(admin.tenant_id)):
                return await db.fetch(
                    "SELECT resource_type, entry_metadata FROM ledger_entries WHERE execution_id = $1",
                    uuid.UUID(run_id),
                )

        rows = await eventually(entries, lambda rs: len(rs) >= 6, "six ledger entries of the run", WAIT)
    nodes = sorted((json.loads(r["entry_metadata"])["node_id"], r["resource_type"]) for r in rows)
    assert nodes == sorted(
        (node, kind) for node in ("write", "rank[0]", "rank[1]") for kind in ("input_tokens", "output_tokens")
    )


async def test_admission_holds_the_bound_of_every_llm_step(platform: Platform, admin: ApiUser) -> None:
    from decimal import Decimal

    from helpers.ledger import priced_model
    from ledger import budget_repository as brepo
    from runtime import db

    model = await priced_model(provider="openai")
    out = {"id": "out", "type": "output", "value": {"r": "{rank.items}"}}
    mapped = dag(
        [
            INPUT,
            {
                "id": "rank",
                "type": "map",
                "items": "{input.candidates}",
                "step": {"model": model, "prompt_template": "{item}"},
            },
            out,
        ],
        [("input", "rank"), ("rank", "out")],
    )
    plain = dag([INPUT, {"id": "out", "type": "output", "value": {"jd": "{input.jd}"}}], [("input", "out")])
    with_calls, without = await create(admin, mapped), await create(admin, plain)
    async with db.scope(system=True):
        await brepo.set_tenant_cap(uuid.UUID(admin.tenant_id), Decimal("0.000001"))
    r = await admin.post(
        f"/api/v1/workflows/{with_calls['id']}/runs", json={"input": {"jd": "x", "candidates": ["a"]}}
    )
    assert r.status_code == 402 and r.json()["code"] == "tenant_cap_reached", r.text
    run_id = await start_run(admin, without["id"], {"jd": "x", "candidates": []})  # no LLM step: nothing held
    run = await wait_run(admin, run_id, "completed")
    assert run["result_data"]["output"] == {"jd": "x"}


async def test_tool_nodes_call_only_allowlisted_hosts_through_the_url_guard(
    platform: Platform, admin: ApiUser
) -> None:
    structure = dag(
        [
            INPUT,
            {
                "id": "hook",
                "type": "tool",
                "url": "https://no-such-host.invalid/score",
                "body_template": "{input.jd}",
            },
            {"id": "out", "type": "output", "value": {"s": "{hook.status}"}},
        ],
        [("input", "hook"), ("hook", "out")],
    )
    workflow = await create(admin, structure)
    run = await wait_run(
        admin, await start_run(admin, workflow["id"], {"jd": "x", "candidates": []}), "failed", "completed"
    )
    assert run["status"] == "failed" and "tool_host_not_allowed" in run["error_message"], run
    r = await admin.put("/api/v1/workflows/tool-hosts", json={"hosts": ["No-Such-Host.invalid."]})
    assert r.status_code == 200 and r.json() == {"hosts": ["no-such-host.invalid"]}, r.text
    colleague = await member(admin)
    assert (await colleague.get("/api/v1/workflows/tool-hosts")).status_code == 403
    run = await wait_run(
        admin, await start_run(admin, workflow["id"], {"jd": "x", "candidates": []}), "failed", "completed"
    )
    # On the list now, the URL still has to pass the guard (here: it does not resolve).
    assert run["status"] == "failed" and "url_unresolvable" in run["error_message"], run
    assert [n["status"] for n in run["nodes"] if n["node_id"] == "hook"] == ["failed"]


async def test_a_knowledge_search_node_feeds_an_llm_node_and_bills_its_embedding(
    platform: Platform, admin: ApiUser, tap: StreamTap
) -> None:
    from helpers.api import agent
    from helpers.knowledge import uploaded

    word = "zq" + uuid.uuid4().hex[:10]
    helper = await agent(admin)
    stranger = await agent(admin)
    faq = await uploaded(admin, "faq.md", f"# Refunds\n\nRefunds are paid within {word} days.\n".encode())
    parking = f"# Parking\n\nThe {word} car park is closed.\n".encode()
    await uploaded(admin, "other.md", parking, stranger["id"])
    r = await admin.put(f"/api/v1/agents/{helper['id']}/documents", json={"document_ids": [faq["id"]]})
    assert r.status_code == 200, r.text
    search = {
        "id": "search",
        "type": "tool",
        "builtin": "knowledge_search",
        "agent_id": helper["id"],
        "query_template": "{input.jd}",
        "limit": 3,
    }
    structure = dag(
        [
            INPUT,
            search,
            llm("answer", "[[reply:4]] Answer from: {search.text}"),
            {"id": "out", "type": "output", "value": {"found": "{search.text}", "answer": "{answer.text}"}},
        ],
        [("input", "search"), ("search", "answer"), ("answer", "out")],
    )
    # Saved only when complete: the query, the agent, and a limit in range.
    for broken, field in (
        ({**search, "query_template": ""}, "query_template"),
        ({**search, "agent_id": None}, "agent_id"),
        ({**search, "agent_id": str(uuid.uuid4())}, "agent_id"),
        ({**search, "limit": 99}, "limit"),
        ({**search, "builtin": "web_search"}, "builtin"),
    ):
        nodes = [broken if n["id"] == "search" else n for n in structure["nodes"]]
        problems = await _refused(admin, {**structure, "nodes": nodes})
        assert ("search", field) in [(p["node"], p["field"]) for p in problems]
    workflow = await create(admin, structure)
    async with UsageTap(platform.env["HB_AMQP_PREFIX"]) as usage:
        run_id = await start_run(admin, workflow["id"], {"jd": f"refund {word}", "candidates": []})
        run = await wait_run(admin, run_id, "completed", "failed")
        assert run["status"] == "completed", run
        billed = await usage.wait_for(run_id, 2)
    output = run["result_data"]["output"]
    # Only the agent's own document is searched: the stranger's parking note is not found.
    assert output["found"].startswith("[faq.md #0]") and word in output["found"], output
    assert "Parking" not in output["found"]
    assert output["answer"], output
    searched = [e for e in billed if e.node_id == "search"]
    assert [(e.embedding_tokens > 0, str(e.agent_id)) for e in searched] == [(True, helper["id"])]
    _, streamed = deltas(tap.of(run_id), "search")
    assert streamed == output["found"]
