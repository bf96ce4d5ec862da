"""RabbitMQ wiring: the broker and every declared object, as a function of the name prefix.

The publishing paths (confirmed or not, per message kind) are in `runtime.publishing`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import aio_pika
import aiormq
from aio_pika.abc import AbstractRobustConnection
from aio_pika.robust_connection import RobustConnection
from faststream.rabbit import (
    Channel,
    ExchangeType,
    QueueType,
    RabbitBroker,
    RabbitExchange,
    RabbitQueue,
)
from yarl import URL

from runtime.settings import Settings, get_settings

BROKER_LOST: tuple[type[BaseException], ...] = (
    aiormq.exceptions.AMQPError,
    # Not an AMQPError: what an ack, a bind or a publish raises on a channel that the broker's
    # death closed, including a robust channel not yet restored after the reconnect.
    aiormq.exceptions.ChannelInvalidStateError,
    ConnectionError,
)
"""A channel or the connection to RabbitMQ closed under an operation (e.g. a broker restart)."""


def session_key(session_id: Any) -> str:
    """Routing key of a session's stream events."""
    return f"session.{session_id}"


def execution_key(execution_id: Any) -> str:
    """Routing key of a session-less execution's stream events."""
    return f"execution.{execution_id}"


def inbox_key(tenant_id: Any) -> str:
    """Routing key (streams exchange) of a tenant's inbox changes (docs/human-in-the-loop.md)."""
    return f"inbox.{tenant_id}"


def usage_live_key(tenant_id: Any) -> str:
    """Routing key of a tenant's live usage events (one per committed ledger entry)."""
    return f"usage.{tenant_id}"


def results_key(tenant_id: Any) -> str:
    """Routing key of a tenant's job results on the results exchange."""
    return f"tenant.{tenant_id}"


JOBS_SUBMIT_KEY = "submit"


def actor_address(execution_id: Any) -> str:
    """Address (control routing key) of the actor running `execution_id`."""
    return f"actor.{execution_id}"


@dataclass(frozen=True)
class Topology:
    """Every exchange and queue of one deployment, names prefixed by `prefix`."""

    prefix: str
    executions: RabbitQueue
    """Durable work: `ExecutionRequested`, competing actors processes."""
    streams: RabbitExchange
    """Topic: stream events by `session.<id>` / `execution.<id>`."""
    control: RabbitExchange
    """Direct: control messages to `actor.<execution_id>` (declared, no longer published to:
    see `control_all`)."""
    usage: RabbitQueue
    """Durable `UsageRecorded`; single active consumer (one ledger writer)."""
    dlx: RabbitExchange
    dead_letters: RabbitQueue
    usage_live: RabbitExchange = RabbitExchange("hirebuddha.usage.live", ExchangeType.TOPIC, durable=True)
    """Topic: live usage events by `usage.<tenant_id>`, published by the ledger after commit
    (transient, for dashboards; the ledger table is the record)."""
    executions_pro: RabbitQueue = RabbitQueue("hirebuddha.executions.pro")
    """The executions lane of `pro` tenants (`free` ones use `executions`)."""
    executions_enterprise: RabbitQueue = RabbitQueue("hirebuddha.executions.enterprise")
    """The executions lane of `enterprise` tenants."""
    jobs: RabbitExchange = RabbitExchange("hirebuddha.jobs", ExchangeType.TOPIC, durable=True)
    """Topic: external jobs, routing key `submit` (docs/contract.md "AMQP")."""
    jobs_submit: RabbitQueue = RabbitQueue("hirebuddha.jobs.submit", routing_key=JOBS_SUBMIT_KEY)
    """Durable intake of the jobs exchange, consumed by the web processes."""
    results: RabbitExchange = RabbitExchange("hirebuddha.results", ExchangeType.TOPIC, durable=True)
    """Topic: every job result, routing key `tenant.<tenant_id>`."""
    webhooks: RabbitQueue = RabbitQueue("hirebuddha.webhooks")
    """Durable `WebhookRequested`: signed deliveries, consumed by the actors processes."""
    documents: RabbitQueue = RabbitQueue("hirebuddha.documents")
    """Durable `DocumentIngest`: documents to parse, chunk and embed, consumed by the actors
    processes on a channel of their own (docs/knowledge.md "Ingestion")."""
    channel_replies: RabbitQueue = RabbitQueue("hirebuddha.channel_replies")
    """Durable `ChannelReplyRequested`: replies sent back through Telegram/WhatsApp by the actors."""
    control_all: RabbitExchange = RabbitExchange("hirebuddha.control.all", ExchangeType.FANOUT, durable=True)
    """Fanout: control messages (routing key `actor.<execution_id>` kept for tracing) to every
    actors process's inbox, bound once when the process starts; the process hands a message
    to its actor if it runs it. Replaces a bind and an unbind per execution on `control`
    (two broker round trips on each first token, and under load a bind that timed out
    closed the inbox channel and handed hundreds of executions back; issue 11)."""

    def label(self, queue: RabbitQueue) -> str:
        """A queue's name without the deployment prefix and `hirebuddha.` (metrics labels)."""
        return queue.name.removeprefix(self.prefix).removeprefix("hirebuddha.")

    def lane(self, tier: str | None) -> RabbitQueue:
        """The executions queue of a tenant tier (see `web.jobs` "Fairness")."""
        return {"pro": self.executions_pro, "enterprise": self.executions_enterprise}.get(
            tier or "free", self.executions
        )

    @property
    def exchanges(self) -> tuple[RabbitExchange, ...]:
        """All declared exchanges."""
        return (
            self.streams,
            self.control,
            self.dlx,
            self.usage_live,
            self.jobs,
            self.results,
            self.control_all,
        )

    @property
    def queues(self) -> tuple[RabbitQueue, ...]:
        """All declared durable queues."""
        return (
            self.executions,
            self.executions_pro,
            self.executions_enterprise,
            self.usage,
            self.dead_letters,
            self.jobs_submit,
            self.webhooks,
            self.documents,
            self.channel_replies,
        )


def _work_queue(
    name: str, dlx: str, delivery_limit: int, routing_key: str = "", extra: dict[str, Any] | None = None
) -> RabbitQueue:
    # The arguments dict is untyped for FastStream's QuorumQueueArgs TypedDict; keys are RabbitMQ's.
    return RabbitQueue(  # type: ignore[call-overload]
        name,
        QueueType.QUORUM,
        durable=True,
        routing_key=routing_key,
        arguments={
            "x-dead-letter-exchange": dlx,
            "x-dead-letter-routing-key": name,
            # Redeliveries (a crashed consumer) beyond the limit are dead-lettered, not looped.
            "x-delivery-limit": delivery_limit,
            # at-least-once dead-lettering needs reject-publish overflow; nothing is dropped.
            "x-dead-letter-strategy": "at-least-once",
            "x-overflow": "reject-publish",
            **(extra or {}),
        },
    )


def topology(prefix: str | None = None, *, delivery_limit: int = 5) -> Topology:
    """The declared objects, names prefixed by `prefix` (e.g. `test-1a2b3c4d.`).

    `prefix=None` takes `HB_AMQP_PREFIX` from settings. `delivery_limit` bounds
    redeliveries of one message (a consumer crashing on it) before it is dead-lettered.
    """
    if prefix is None:
        prefix = get_settings().broker.prefix
    dlx = f"{prefix}hirebuddha.dlx"
    return Topology(
        prefix=prefix,
        executions=_work_queue(f"{prefix}hirebuddha.executions", dlx, delivery_limit),
        streams=RabbitExchange(f"{prefix}hirebuddha.streams", ExchangeType.TOPIC, durable=True),
        control=RabbitExchange(f"{prefix}hirebuddha.control", ExchangeType.DIRECT, durable=True),
        usage=_work_queue(
            f"{prefix}hirebuddha.usage", dlx, delivery_limit, extra={"x-single-active-consumer": True}
        ),
        dlx=RabbitExchange(dlx, ExchangeType.TOPIC, durable=True),
        dead_letters=RabbitQueue(
            f"{prefix}hirebuddha.dead_letters", QueueType.QUORUM, durable=True, routing_key="#"
        ),
        usage_live=RabbitExchange(f"{prefix}hirebuddha.usage.live", ExchangeType.TOPIC, durable=True),
        executions_pro=_work_queue(f"{prefix}hirebuddha.executions.pro", dlx, delivery_limit),
        executions_enterprise=_work_queue(f"{prefix}hirebuddha.executions.enterprise", dlx, delivery_limit),
        jobs=RabbitExchange(f"{prefix}hirebuddha.jobs", ExchangeType.TOPIC, durable=True),
        jobs_submit=_work_queue(
            f"{prefix}hirebuddha.jobs.submit", dlx, delivery_limit, routing_key=JOBS_SUBMIT_KEY
        ),
        results=RabbitExchange(f"{prefix}hirebuddha.results", ExchangeType.TOPIC, durable=True),
        webhooks=_work_queue(f"{prefix}hirebuddha.webhooks", dlx, delivery_limit),
        documents=_work_queue(f"{prefix}hirebuddha.documents", dlx, delivery_limit),
        channel_replies=_work_queue(f"{prefix}hirebuddha.channel_replies", dlx, delivery_limit),
        control_all=RabbitExchange(f"{prefix}hirebuddha.control.all", ExchangeType.FANOUT, durable=True),
    )


# --- several nodes: a cluster behind one setting (docs/operations.md "RabbitMQ cluster") ---

RECONNECT_INTERVAL_S = 1.0
"""Pause between reconnection attempts (aio-pika's default is 5 s): with a node gone, the
next attempt goes to the next node, so a short pause is a short outage."""


def broker_urls(setting: str) -> list[str]:
    """`HB_AMQP_URL`: one URL, or the URLs of a cluster's nodes separated by commas."""
    urls = [u.strip() for u in setting.split(",") if u.strip()]
    if not urls:
        raise ValueError("HB_AMQP_URL names no broker")
    return urls


class FailoverConnection(RobustConnection):
    """aio-pika's robust connection over several nodes: every (re)connection attempt takes
    the next URL of `URLS` in turn, so a process whose node stopped reconnects to a survivor
    by itself, and its robust channels restore their consumers, queues and bindings there.

    aio-pika reads `self.url` once per attempt (in `Connection.connect`); here that read
    takes the next URL while the connection is down and the current one while it is up.
    """

    URLS: tuple[str, ...] = ()

    def __init__(self, url: URL | str, loop: Any = None, **kwargs: Any) -> None:
        self._urls = [URL(u) for u in (self.URLS or (str(url),))]
        self._turn = 0
        self._current = self._urls[0]
        super().__init__(URL(str(url)), loop, **kwargs)

    @property
    def url(self) -> URL:
        connected = self.__dict__.get("connected")
        if connected is None or connected.is_set():
            return self._current
        self._current = self._urls[self._turn % len(self._urls)]
        self._turn += 1
        return self._current

    @url.setter
    def url(self, value: URL) -> None:  # aio-pika assigns it in __init__ and update_secret
        self._urls = [u.with_password(value.password) if value.password else u for u in self._urls]
        self._current = value

    def __str__(self) -> str:
        url = self._current
        return str(url.with_password("******") if url.password else url)


def failover_class(urls: list[str]) -> type[RobustConnection]:
    """A `FailoverConnection` over these URLs (aio-pika builds connections from a class)."""
    return type("FailoverConnection", (FailoverConnection,), {"URLS": tuple(urls)})


async def connect_robust(setting: str, **kwargs: Any) -> AbstractRobustConnection:
    """`aio_pika.connect_robust` for `HB_AMQP_URL` (one node or several, see above)."""
    urls = broker_urls(setting)
    kwargs.setdefault("reconnect_interval", RECONNECT_INTERVAL_S)
    return await aio_pika.connect_robust(urls[0], connection_class=failover_class(urls), **kwargs)


def build_broker(settings: Settings | None = None, **kwargs: Any) -> RabbitBroker:
    """The process's broker: confirms on its default channel, per-message logs at DEBUG,
    failover over every node of `HB_AMQP_URL`."""
    settings = settings or get_settings()
    kwargs.setdefault("log_level", logging.DEBUG)  # INFO per message costs on hot paths
    kwargs.setdefault("default_channel", Channel(publisher_confirms=True))
    urls = broker_urls(settings.broker.url)
    broker = RabbitBroker(urls[0], **kwargs)
    # FastStream passes these to aio_pika.connect_robust as they are (faststream 0.7).
    broker._connection_kwargs["connection_class"] = failover_class(urls)
    broker._connection_kwargs["reconnect_interval"] = RECONNECT_INTERVAL_S
    return broker


async def declare_topology(broker: RabbitBroker, topo: Topology) -> None:
    """Declare every exchange and queue (idempotent); the broker must be connected."""
    for exchange in topo.exchanges:
        await broker.declare_exchange(exchange)
    for queue in topo.queues:
        await broker.declare_queue(queue)
    dead = await broker.declare_queue(topo.dead_letters)
    await dead.bind(await broker.declare_exchange(topo.dlx), routing_key="#")
    intake = await broker.declare_queue(topo.jobs_submit)
    await intake.bind(await broker.declare_exchange(topo.jobs), routing_key=JOBS_SUBMIT_KEY)


async def delete_topology(broker: RabbitBroker, topo: Topology) -> None:
    """Delete every queue and exchange of `topo` (test teardown)."""
    channel = await broker.config.channel_manager.get_channel()
    for queue in topo.queues:
        await channel.queue_delete(queue.name)
    for exchange in topo.exchanges:
        await channel.exchange_delete(exchange.name)
