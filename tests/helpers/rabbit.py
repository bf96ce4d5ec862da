"""RabbitMQ for tests: a unique name prefix per run, torn down at the end."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import pytest
from faststream.rabbit import RabbitBroker

from runtime.broker import Topology, build_broker, declare_topology, delete_topology, topology
from runtime.settings import load_settings


def unique_prefix() -> str:
    """`test-<uuid8>.`: names no other run (or earlier run) uses."""
    return f"test-{uuid.uuid4().hex[:8]}."


def make_broker() -> RabbitBroker:
    """A broker on HB_AMQP_URL (default local guest), quiet logging."""
    env = dict(os.environ)
    # Throwaway secrets so loading settings never writes a development secrets file.
    env.setdefault("HB_SECRET_KEY", "t" * 40)
    env.setdefault("HB_FERNET_KEY", "A" * 43 + "=")
    return build_broker(load_settings(env))


@pytest.fixture(name="rabbit_topology")
async def rabbit_topology_fixture() -> AsyncIterator[Topology]:
    """A declared topology with a unique prefix (delivery limit 2); deleted afterwards."""
    topo = topology(unique_prefix(), delivery_limit=2)
    admin = make_broker()
    await admin.connect()
    await declare_topology(admin, topo)
    try:
        yield topo
    finally:
        await delete_topology(admin, topo)
        await admin.stop()
