"""Traces and metrics of the real processes (docs/operations.md "Traces", "Metrics").

One module platform: web, actors and ledger as subprocesses, tracing to an in-process OTLP
collector and serving /metrics (web on its HTTP port, actors and ledger on their own ports).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from conftest import free_port
from helpers.api import ApiUser, register
from helpers.chat_fixtures import open_session, priced_fake_agent
from helpers.eventually import eventually
from helpers.fake_llm import FakeLLM
from helpers.ledger import start_ledger_process
from helpers.otlp import Collector, Span
from helpers.platform import Platform, chat, running_platform
from runtime import db

ROOT = Path(__file__).resolve().parent.parent
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture(scope="module")
async def observed(database: str, fake_llm: FakeLLM, otlp_collector: Collector) -> AsyncIterator[Platform]:
    """Web + actors + ledger, tracing to the collector, metrics on free ports."""
    env = {
        "HB_OTLP_ENDPOINT": otlp_collector.endpoint,
        "HB_ACTORS_METRICS_PORT": str(free_port()),
        "HB_LEDGER_METRICS_PORT": str(free_port()),
    }
    async with running_platform(fake_llm, 1, env=env) as platform:
        ledger = await start_ledger_process("--batch-ms", "20", env=platform.env)
        try:
            yield platform
        finally:
            ledger.stop()


@pytest.fixture
async def member(observed: Platform) -> AsyncIterator[ApiUser]:
    async with httpx.AsyncClient(base_url=observed.base_url, timeout=30) as client:
        yield await register(client)


def urls(platform: Platform) -> dict[str, str]:
    """Each process's metrics URL."""
    return {
        "web": f"{platform.base_url}/metrics",
        "actors": f"http://127.0.0.1:{platform.env['HB_ACTORS_METRICS_PORT']}/metrics",
        "ledger": f"http://127.0.0.1:{platform.env['HB_LEDGER_METRICS_PORT']}/metrics",
    }


async def scrape(url: str) -> tuple[Samples, set[str]]:
    """Samples by (name, labels), and every series name the endpoint declares (a histogram's
    `_bucket`/`_sum`/`_count`, a counter's `_total`, even before their first sample)."""
    async with httpx.AsyncClient(timeout=10) as client:
        r = await client.get(url)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain"), r.text[:200]
    samples: Samples = {}
    names: set[str] = set()
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}
    for family in text_string_to_metric_families(r.text):
        names.update(family.name + s for s in suffixes.get(family.type, ("",)))
        for s in family.samples:
            names.add(s.name)
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples, names


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def ledger_entries(execution_id: str) -> list[dict]:
    async with db.scope(system=True):
        rows = await db.fetch(
            "SELECT tenant_id, model, resource_type, quantity, platform_cost, tenant_cost "
            "FROM ledger_entries WHERE execution_id = $1",
            uuid.UUID(execution_id),
        )
    return [dict(r) for r in rows]


async def one_chat_turn(platform: Platform, member: ApiUser, content: str) -> tuple[str, dict, list[dict]]:
    """One chat message answered and billed: its execution id, the agent, its ledger entries."""
    bot = await priced_fake_agent(member)
    session = await open_session(member, bot["id"])
    async with chat(platform, session, member.token) as ws:
        execution_id = await ws.message(content)
        assert (await ws.reply(execution_id))["type"] == "execution.completed"
    entries = await eventually(lambda: ledger_entries(execution_id), what="the turn's ledger entries")
    return execution_id, bot, entries


async def test_one_chat_turn_is_one_trace_across_web_actors_and_ledger(
    observed: Platform, member: ApiUser, otlp_collector: Collector
):
    execution_id, _, _ = await one_chat_turn(observed, member, f"hello {uuid.uuid4().hex}")

    def turn_spans() -> list[Span]:
        spans = otlp_collector.spans()
        roots = [
            s
            for s in spans
            if s.name == "actor.execution" and s.attributes.get("hb.execution_id") == execution_id
        ]
        if not roots:
            return []
        return [s for s in spans if s.trace_id == roots[0].trace_id]

    def complete(spans: list[Span]) -> bool:
        return {"chat.message", "admission", "actor.execution", "provider.call", "ledger.record"} <= {
            s.name for s in spans
        }

    spans = await eventually(turn_spans, complete, "the turn's spans from the three processes", 30)
    by_name = {s.name: s for s in spans}
    assert {s.service for s in spans} == {"hirebuddha-web", "hirebuddha-actors", "hirebuddha-ledger"}
    web_root = by_name["chat.message"]
    assert web_root.parent_id == "" and web_root.service == "hirebuddha-web"
    assert by_name["admission"].parent_id == web_root.span_id
    # The RabbitMQ hop: the actor's span is the child of the web span that published the message.
    published = [s for s in spans if s.name == "amqp.publish" and s.service == "hirebuddha-web"]
    assert [s.parent_id for s in published] == [web_root.span_id]
    assert by_name["actor.execution"].parent_id == published[0].span_id
    assert by_name["provider.call"].parent_id == by_name["actor.execution"].span_id
    usage_publish = [s for s in spans if s.name == "amqp.publish" and s.service == "hirebuddha-actors"]
    assert len(usage_publish) == 1 and usage_publish[0].parent_id == by_name["actor.execution"].span_id
    ledger = [s for s in spans if s.name == "ledger.record"]
    assert [s.parent_id for s in ledger] == [usage_publish[0].span_id]
    assert (
        ledger[0].service == "hirebuddha-ledger" and ledger[0].attributes["hb.execution_id"] == execution_id
    )


async def test_every_process_serves_metrics_that_move_with_a_chat(observed: Platform, member: ApiUser):
    endpoints = urls(observed)
    before = {name: (await scrape(url))[0] for name, url in endpoints.items()}
    # One provider 500 first: the actor retries, so a provider error and two calls are counted.
    execution_id, bot, entries = await one_chat_turn(observed, member, f"[[flaky:1]] {uuid.uuid4().hex}")
    model = bot["llm_config"]["model"]

    def ledger_caught_up(now: Samples) -> bool:  # the turn's entries are in the DB already
        return (
            value(
                now, "hirebuddha_tokens_total", tenant=member.tenant_id, model=model, resource="output_tokens"
            )
            > 0
        )

    ledger_now = await eventually(
        lambda: _samples(endpoints["ledger"]), ledger_caught_up, "the ledger's counters"
    )
    actors_now, _ = await scrape(endpoints["actors"])
    web_now, _ = await scrape(endpoints["web"])

    def moved(now: Samples, process: str, name: str, **labels: str) -> float:
        return value(now, name, **labels) - value(before[process], name, **labels)

    # web: the admission and the socket that is closed again.
    assert moved(web_now, "web", "hirebuddha_admissions_total", outcome="admitted") == 1
    assert value(web_now, "hirebuddha_live_sockets", kind="chat") == 0
    assert moved(web_now, "web", "hirebuddha_http_requests_total", status="2xx") >= 2  # agent, session
    # actors: one execution completed, two calls of which one failed, one first token.
    assert moved(actors_now, "actors", "hirebuddha_executions_total", status="completed") == 1
    assert moved(actors_now, "actors", "hirebuddha_provider_calls_total", provider="openai") == 2
    errors = {k: v for k, v in actors_now.items() if k[0] == "hirebuddha_provider_errors_total"}
    assert (
        sum(errors.values())
        - sum(v for k, v in before["actors"].items() if k[0] == "hirebuddha_provider_errors_total")
        == 1
    )
    assert moved(actors_now, "actors", "hirebuddha_first_token_seconds_count", model=model) == 1
    assert moved(actors_now, "actors", "hirebuddha_queue_wait_seconds_count", queue="executions") == 1
    assert value(actors_now, "hirebuddha_provider_breaker_state", provider="openai") == 0  # closed again
    assert value(actors_now, "hirebuddha_executions_running") == 0
    # ledger: the entries' tokens and money, by tenant and model, exactly what was written.
    tenant = member.tenant_id
    for resource in ("input_tokens", "output_tokens"):
        written = sum(e["quantity"] for e in entries if e["resource_type"] == resource)
        assert written > 0
        assert moved(
            ledger_now, "ledger", "hirebuddha_tokens_total", tenant=tenant, model=model, resource=resource
        ) == float(written)
    cost = sum((e["platform_cost"] for e in entries), Decimal(0))
    price = sum((e["tenant_cost"] for e in entries), Decimal(0))
    got_cost = moved(
        ledger_now, "ledger", "hirebuddha_cost_total", tenant=tenant, model=model, kind="platform_cost"
    )
    got_price = moved(
        ledger_now, "ledger", "hirebuddha_cost_total", tenant=tenant, model=model, kind="tenant_price"
    )
    assert got_cost == pytest.approx(float(cost)) and cost > 0
    assert got_price == pytest.approx(float(price)) and price > cost
    assert moved(ledger_now, "ledger", "hirebuddha_ledger_batch_size_count") >= 1
    assert moved(ledger_now, "ledger", "hirebuddha_ledger_lag_seconds_count") >= 1
    assert moved(ledger_now, "ledger", "hirebuddha_ledger_events_total", outcome="new") >= 1


async def _samples(url: str) -> Samples:
    return (await scrape(url))[0]


async def test_queue_depth_and_consumers_are_sampled(observed: Platform):
    endpoints = urls(observed)

    async def consumers(process: str, queue: str) -> float:
        return value(await _samples(endpoints[process]), "hirebuddha_queue_consumers", queue=queue)

    # Sampled every 5 s from RabbitMQ: the actors consume the three lanes and the webhooks.
    # (RabbitMQ 3.10 reports no consumers for the single-active-consumer usage queue: only its
    # depth is checked; docs/operations.md "Metrics".)
    for process, queue in (("actors", "executions"), ("actors", "executions.pro"), ("actors", "webhooks")):
        await eventually(
            lambda p=process, q=queue: consumers(p, q), lambda n: n >= 1, f"{queue} consumers", 20
        )
    samples = await eventually(
        lambda: _samples(endpoints["ledger"]),
        lambda s: ("hirebuddha_queue_messages", (("queue", "usage"),)) in s,
        "the usage queue's depth",
        20,
    )
    assert value(samples, "hirebuddha_queue_messages", queue="usage") == 0  # the ledger keeps up


async def _exposed(platform: Platform) -> set[str]:
    names: set[str] = set()
    for url in urls(platform).values():
        names |= (await scrape(url))[1]
    return names


METRIC = re.compile(r"\b(?:hirebuddha|process)_[a-z0-9_]+")


def dashboard_expressions() -> list[str]:
    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, item in node.items():
                if key in ("expr", "query") and isinstance(item, str):
                    found.append(item)
                walk(item)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for path in sorted((ROOT / "deploy" / "grafana").glob("*.json")):
        walk(json.loads(path.read_text()))
    return found


def alert_expressions() -> list[str]:
    found = []
    for path in sorted((ROOT / "deploy" / "prometheus").glob("*rules*.yaml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            found += [rule["expr"] for rule in group["rules"]]
    return found


async def test_dashboard_and_alerts_use_only_metrics_the_processes_expose(observed: Platform):
    exposed = await _exposed(observed)
    dashboard, alerts = dashboard_expressions(), alert_expressions()
    assert len(dashboard) >= 10 and len(alerts) >= 5
    for expr in dashboard + alerts:
        unknown = set(METRIC.findall(expr)) - exposed
        assert not unknown, f"{expr!r} names metrics no process exposes: {unknown}"
    # The dashboard shows every metric family the processes define.
    used = {name for expr in dashboard for name in METRIC.findall(expr)}
    families = {re.sub(r"_(total|bucket|sum|count)$", "", n) for n in exposed if n.startswith("hirebuddha_")}
    missing = {f for f in families if not any(u == f or u.startswith(f + "_") for u in used)}
    assert not missing, f"metrics no panel shows: {missing}"
