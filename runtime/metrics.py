"""Prometheus metrics of every process, named in one place (docs/operations.md "Metrics").

web serves them at `GET /metrics` on its HTTP port; actors and ledger on their own port
(`HB_ACTORS_METRICS_PORT`, `HB_LEDGER_METRICS_PORT`, bound to `HB_METRICS_HOST`; unset: no
endpoint). With `PROMETHEUS_MULTIPROC_DIR` set (several workers of one process kind sharing
a port) the endpoint aggregates every worker's files (prometheus-client multiprocess mode).

Label cardinality is bounded: `tenant` keeps the first `MAX_TENANTS` tenant ids a process
sees and reports the rest as `other`; `model` and `provider` keep `MAX_MODELS` and
`MAX_PROVIDERS`; every other label takes values from a fixed set (status, code, queue,
resource, kind). A process's series are thus at most a few thousand whatever the traffic.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

disable_created_metrics()  # no `_created` series beside every counter and histogram

OTHER = "other"
MAX_TENANTS = 500
MAX_MODELS = 100
MAX_PROVIDERS = 50


class Bounded:
    """Label values capped at `limit` distinct ones; later values read `other`."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, value: object) -> str:
        text = str(value)
        if text in self._seen:
            return text
        with self._lock:
            if len(self._seen) >= self.limit:
                return OTHER
            self._seen.add(text)
        return text


tenant_label = Bounded(MAX_TENANTS)
model_label = Bounded(MAX_MODELS)
provider_label = Bounded(MAX_PROVIDERS)

LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
GAP_BUCKETS = (0.005, 0.01, 0.025, 0.04, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5)

# --- web --------------------------------------------------------------------------------
HTTP_REQUESTS = Counter("hirebuddha_http_requests", "HTTP responses by status class", ["status"])
LIVE_SOCKETS = Gauge(
    "hirebuddha_live_sockets", "Open WebSockets (chat, usage)", ["kind"], multiprocess_mode="livesum"
)
ADMISSIONS = Counter(
    "hirebuddha_admissions",
    "Submitted executions by outcome (admitted, queued, duplicate, or the refusal code)",
    ["outcome"],
)

# --- actors -----------------------------------------------------------------------------
EXECUTIONS = Counter("hirebuddha_executions", "Ended executions by status", ["status"])
EXECUTIONS_RUNNING = Gauge(
    "hirebuddha_executions_running", "Executions in flight in this process", multiprocess_mode="livesum"
)
FIRST_TOKEN = Histogram(
    "hirebuddha_first_token_seconds",
    "From admission (the execution message's requested_at) to the first delta published",
    ["model"],
    buckets=LATENCY_BUCKETS,
)
DELTA_GAP = Histogram(
    "hirebuddha_delta_gap_seconds", "Time between two published deltas of one execution", buckets=GAP_BUCKETS
)
PROVIDER_CALLS = Counter("hirebuddha_provider_calls", "Provider calls made", ["provider"])
PROVIDER_ERRORS = Counter(
    "hirebuddha_provider_errors", "Failed provider calls by provider and error code", ["provider", "code"]
)
QUEUE_WAIT = Histogram(
    "hirebuddha_queue_wait_seconds",
    "Consumer lag: from publish to consume, per queue",
    ["queue"],
    buckets=LATENCY_BUCKETS,
)

# --- actors and ledger: sampled from RabbitMQ ---------------------------------------------
QUEUE_MESSAGES = Gauge(
    "hirebuddha_queue_messages", "Ready messages in a queue (sampled)", ["queue"], multiprocess_mode="max"
)
QUEUE_CONSUMERS = Gauge(
    "hirebuddha_queue_consumers", "Consumers of a queue (sampled)", ["queue"], multiprocess_mode="max"
)

# --- ledger -----------------------------------------------------------------------------
TOKENS = Counter("hirebuddha_tokens", "Tokens recorded in the ledger", ["tenant", "model", "resource"])
COST = Counter(
    "hirebuddha_cost",
    "Money recorded in the ledger (platform_cost, tenant_price, partner_commission)",
    ["tenant", "model", "kind"],
)
LEDGER_EVENTS = Counter(
    "hirebuddha_ledger_events", "Usage events by outcome (new, duplicate, rejected)", ["outcome"]
)
LEDGER_BATCH = Histogram(
    "hirebuddha_ledger_batch_size",
    "Usage events per ledger transaction",
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000),
)
LEDGER_LAG = Histogram(
    "hirebuddha_ledger_lag_seconds",
    "From a usage event's occurred_at to its commit in the ledger",
    buckets=LATENCY_BUCKETS,
)

TOKEN_RESOURCES = ("input_tokens", "output_tokens", "embedding_tokens")
COST_KINDS = {
    "platform_cost": "platform_cost",
    "tenant_price": "tenant_cost",
    "partner_commission": "partner_commission",
}


def record_entries(entries: Iterable[Any]) -> None:
    """Tokens and money of committed ledger entries (`ledger.chain.Entry`)."""
    for entry in entries:
        tenant, model = tenant_label(entry.tenant_id), model_label(entry.model or "")
        if entry.resource_type in TOKEN_RESOURCES:
            TOKENS.labels(tenant, model, entry.resource_type).inc(float(entry.quantity))
        for kind, field in COST_KINDS.items():
            amount = getattr(entry, field)
            if amount:
                COST.labels(tenant, model, kind).inc(float(amount))


GaugeReader = Callable[[], dict[tuple[str, str], list[tuple[dict[str, str], float]]]]
"""Returns {(name, help): [(labels, value), ...]} when /metrics is scraped."""


class _Gauges(Collector):
    """Gauges read at scrape time, one reader per owner (a second registration replaces)."""

    def __init__(self) -> None:
        self.readers: dict[str, GaugeReader] = {}

    def collect(self) -> Iterable[GaugeMetricFamily]:
        for read in list(self.readers.values()):
            for (name, doc), samples in read().items():
                labels = sorted({k for sample_labels, _ in samples for k in sample_labels})
                family = GaugeMetricFamily(name, doc, labels=labels)
                for sample_labels, value in samples:
                    family.add_metric([sample_labels[k] for k in labels], value)
                yield family

    def describe(self) -> Iterable[GaugeMetricFamily]:
        return []  # names vary with the readers: no duplicate check at registration


_GAUGES = _Gauges()
REGISTRY.register(_GAUGES)


def register_gauges(owner: str, read: GaugeReader) -> None:
    """Expose gauges computed at scrape time (breaker states, pool size) under `owner`."""
    _GAUGES.readers[owner] = read


def registry() -> CollectorRegistry:
    """What the endpoint serves: this process, or every worker in multiprocess mode."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    from prometheus_client import multiprocess

    merged = CollectorRegistry()
    multiprocess.MultiProcessCollector(merged)
    return merged


def exposition() -> tuple[bytes, str]:
    """The text format and its content type."""
    return generate_latest(registry()), CONTENT_TYPE_LATEST


def serve(port: int | None, host: str) -> Any:
    """Serve /metrics on `port` in a daemon thread (None or 0: nothing); returns the server."""
    if not port:
        return None
    server, _thread = start_http_server(port, addr=host, registry=registry())
    return server


async def sample_queues(
    open_channel: Callable[[], Awaitable[Any]], queues: dict[str, str], every_s: float = 5.0
) -> None:
    """Forever: ready messages and consumers of `queues` ({label: queue name}) into
    `hirebuddha_queue_messages` / `_consumers`, by passive declares on a channel of its own
    (`open_channel()`, opened again after a failure)."""
    import asyncio
    import logging

    log = logging.getLogger("hirebuddha.metrics")
    channel = None
    while True:
        try:
            if channel is None or channel.is_closed:
                channel = await open_channel()
            for label, name in queues.items():
                declared = (await channel.declare_queue(name, passive=True)).declaration_result
                QUEUE_MESSAGES.labels(label).set(declared.message_count or 0)
                QUEUE_CONSUMERS.labels(label).set(declared.consumer_count or 0)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the broker is away: the next round tries again
            log.debug("queue sampling failed: %r", exc)
            channel = None
        await asyncio.sleep(every_s)
