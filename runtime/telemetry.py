"""OpenTelemetry traces: one trace per chat turn across web, actors and ledger (docs/operations.md "Traces").

Off unless `HB_OTLP_ENDPOINT` is set (e.g. `http://otel-collector:4318`); then each process
exports its spans with OTLP over HTTP (protobuf) to `<endpoint>/v1/traces` in batches.
The trace context crosses RabbitMQ in the W3C `traceparent` header of the execution and
usage messages (`inject` on publish, `extract` on consume).

Spans, in path order: web `chat.message` (the WebSocket frame) > `admission` >
`amqp.publish` (executions); actors `actor.execution` (parent: the message header) >
`provider.call` (one per call, retries included) > `amqp.publish` (usage); ledger
`ledger.record` (parent: the usage message header; spans the batch's write and commit).
Deltas get no span: the streaming hot path is untouched.

Off, `span` returns one shared null context and `inject` returns None: no allocation, no
OpenTelemetry import on the hot path.
"""

from __future__ import annotations

import atexit
import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

ENABLED = False
"""True once `setup` configured an exporter (HB_OTLP_ENDPOINT set)."""
_tracer: Any = None
_provider: Any = None
_propagator: Any = None
_NULL = contextlib.nullcontext()
TRACEPARENT = "traceparent"


def endpoint_url(endpoint: str) -> str:
    """The traces URL of an OTLP/HTTP endpoint (`/v1/traces` appended unless present)."""
    endpoint = endpoint.rstrip("/")
    return endpoint if endpoint.endswith("/v1/traces") else f"{endpoint}/v1/traces"


def setup(service: str, endpoint: str | None) -> bool:
    """Configure tracing for this process (`service`: web, actors, ledger) when `endpoint`
    (`Settings.otlp_endpoint`) is set; True when on."""
    global ENABLED, _tracer, _provider, _propagator
    if not endpoint or ENABLED:
        return ENABLED
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    _provider = TracerProvider(resource=Resource.create({"service.name": f"hirebuddha-{service}"}))
    # Exported every second at most (and at exit): a trace is complete within seconds.
    _provider.add_span_processor(
        BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint_url(endpoint)), schedule_delay_millis=1000)
    )
    _tracer = _provider.get_tracer("hirebuddha")
    _propagator = TraceContextTextMapPropagator()
    ENABLED = True
    atexit.register(shutdown)
    return True


def shutdown() -> None:
    """Export what is buffered and stop (process exit)."""
    if _provider is not None:
        _provider.shutdown()


def span(name: str, parent: Any = None, attributes: Mapping[str, Any] | None = None) -> Any:
    """A context manager: a span named `name` (child of the current span, or of `parent`, a
    context from `extract`), current while the block runs. A null context when tracing is off."""
    if not ENABLED:
        return _NULL
    return _tracer.start_as_current_span(name, context=parent, attributes=attributes)


def inject(headers: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """`headers` plus the current trace context (`traceparent`); unchanged when off."""
    if not ENABLED:
        return headers
    carrier: dict[str, Any] = dict(headers or {})
    _propagator.inject(carrier)
    return carrier or None


def extract(headers: Mapping[str, Any] | None) -> Any:
    """The trace context carried by message `headers` (None when off or absent)."""
    if not ENABLED or not headers or TRACEPARENT not in headers:
        return None
    value = headers[TRACEPARENT]
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    return _propagator.extract({TRACEPARENT: str(value)})


@contextlib.contextmanager
def attached(parent: Any) -> Iterator[None]:
    """Make `parent` (from `extract`) the current context for the block (a task's root)."""
    if not ENABLED or parent is None:
        yield
        return
    from opentelemetry import context

    token = context.attach(parent)
    try:
        yield
    finally:
        context.detach(token)


def record_span(name: str, parent: Any, start_ns: int, end_ns: int, attributes: Mapping[str, Any]) -> None:
    """A finished span with given times (the ledger's per-event share of a batch write)."""
    if not ENABLED:
        return
    s = _tracer.start_span(name, context=parent, attributes=attributes, start_time=start_ns)
    s.end(end_time=end_ns)
