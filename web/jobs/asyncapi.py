"""`GET /asyncapi`: the queue interface as an AsyncAPI 3.0 document, built from the code.

FastStream documents the channels, operations and AMQP bindings from the intake
subscriber (`web.jobs.intake.register`) and from publisher declarations of the results;
the payload schemas come from the msgspec wire Structs themselves (FastStream derives
schemas through pydantic, which cannot read msgspec types), so the document cannot drift
from what the consumer decodes.
"""

from __future__ import annotations

import functools
from typing import Any

import msgspec
from faststream.rabbit import RabbitBroker, RabbitExchange
from faststream.specification import AsyncAPI
from litestar import get
from litestar.datastructures import State

import web.jobs as jobs
from runtime.broker import topology
from runtime.messages import JobResult, JobSubmit
from web.jobs import intake

RESULTS = "jobs.results"
REPLY = "jobs.reply"


@functools.cache
def document(prefix: str) -> dict[str, Any]:
    """The AsyncAPI document of the deployment whose names start with `prefix`."""
    topo = topology(prefix)
    broker = RabbitBroker()
    intake.register(broker, topo, None)
    broker.publisher(
        exchange=topo.results,
        routing_key="tenant.{tenant_id}",
        title=RESULTS,
        description="Every job result of a tenant (JobResult), persistent.",
    )
    broker.publisher(
        exchange=RabbitExchange(""),
        routing_key="{reply_to}",
        title=REPLY,
        description="The job's result (JobResult) to the AMQP reply_to of the job, default exchange.",
    )
    spec = (
        AsyncAPI(
            broker,
            title="Hirebuddha jobs",
            version="1.0.0",
            description=jobs.__doc__,
        )
        .to_specification()
        .to_jsonable()
    )
    components = spec.setdefault("components", {})
    schemas, messages = components.setdefault("schemas", {}), components.setdefault("messages", {})
    _, wire = msgspec.json.schema_components(
        [JobSubmit, JobResult], ref_template="#/components/schemas/{name}"
    )
    schemas.update(wire)
    for name, message in messages.items():
        kind = JobSubmit if name.startswith("jobs.submit") else JobResult
        message["payload"] = {"$ref": f"#/components/schemas/{kind.__name__}"}
        if kind is JobSubmit:
            message["headers"] = {
                "type": "object",
                "required": [intake.API_KEY_HEADER],
                "properties": {
                    intake.API_KEY_HEADER: {"type": "string", "description": "tenant API key hb_..."}
                },
            }
    for key in [k for k in schemas if k.startswith(("jobs.", "EmptyPayload"))]:
        schemas.pop(key)
    return spec


@get("/asyncapi", opt={"exclude_from_auth": True}, include_in_schema=False, sync_to_thread=False)
def asyncapi_document(state: State) -> dict[str, Any]:
    """The AsyncAPI (3.0) document of the jobs interface."""
    return document(state.settings.broker.prefix)
