"""schemathesis against the OpenAPI document (tests/test_attack_schema_*.py): every operation,
fuzzed with a tenant admin's and the app admin's token, never answers 500 and every answer
conforms to the document (documented statuses match their response schema and content type)
or is a problem body.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.openapi.checks import Failure
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from helpers.api import ApiUser, app_admin, register
from runtime import db

EXAMPLES = 25
"""Generated cases per operation, each sent as every role."""
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


def conformance(case: Any, response: requests.Response, headers: dict[str, str]) -> list[str]:
    """What is wrong with one answer: schemathesis' checks, then the problem shape of errors."""
    # Errors are `application/problem+json` (RFC 9457) where Litestar documents 400 as
    # `application/json`: the same JSON, so content type is checked on successes only.
    checks = CHECKS if response.status_code < 400 else CHECKS[:2]
    try:
        case.validate_response(response, checks=checks, headers=headers)
    except (AssertionError, Failure, FailureGroup) as exc:
        return [str(exc)[:600]]
    if response.status_code < 400:
        return []
    try:
        body = json.loads(response.content)
    except ValueError:
        return [f"error body is not JSON: {response.text[:200]}"]
    if not (isinstance(body, dict) and body.get("status") == response.status_code and body.get("detail")):
        return [f"error body lacks status/detail: {response.text[:200]}"]
    return []


SHARDS = 3
"""The operations are split over this many test files (tests/test_attack_schema_{1,2,3}.py),
so that xdist's loadfile runs them on different workers: the fuzzer is CPU-bound (about 60%
of its time is hypothesis and schemathesis generating cases, 10% the requests)."""


def _fuzzed(raw_schema: dict[str, Any]) -> list[Any]:
    """The operations the fuzzer covers, in document order."""
    schema = schemathesis.openapi.from_dict(raw_schema)
    kept = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.method.upper() == "POST" and operation.path == "/api/v1/auth/logout":
            continue  # would end the very session the fuzzer runs with; covered in test_auth
        if operation.path.startswith("/v1/"):
            continue  # OpenAI's wire format and error objects, not RFC 9457: tests/test_openai_api.py
        kept.append(operation)
    return kept


def fuzz_operations(
    operations: list[Any], base_url: str, tokens: dict[str, str]
) -> tuple[list[str], dict[str, Counter]]:
    """Run `EXAMPLES` generated requests per operation, each case generated once and sent
    with every role's token in turn (generation is most of the cost, and derandomized runs
    generated the very same cases per role anyway); the failures (one line each, with the
    role) and per role a count of answers per status class and operation."""
    failures: list[str] = []
    seen: dict[str, Counter] = {role: Counter() for role in tokens}
    sessions = {role: requests.Session() for role in tokens}  # no cookie crosses from one to the other
    headers = {role: {"Authorization": f"Bearer {token}"} for role, token in tokens.items()}
    for operation in operations:

        def check(case: Any, _op: Any = operation) -> None:
            for role, sent in headers.items():
                response = case.call(base_url=base_url, session=sessions[role], headers=sent, timeout=30)
                label = f"[{role}] {_op.method.upper()} {_op.path} -> {response.status_code}"
                seen[role][f"{response.status_code // 100}xx"] += 1
                seen[role][f"{_op.method.upper()} {_op.path}"] += 1
                failures.extend(f"{label}: {line}" for line in conformance(case, response, sent))

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        @given(case=operation.as_strategy())
        def run(case: Any) -> None:
            check(case)

        run()
    return failures, seen


async def fuzz_shard(client: httpx.AsyncClient, shard: int, *who: ApiUser) -> None:
    """Fuzz the operations of `shard` (1..SHARDS, every SHARDS-th operation of the document)
    as each of `who`; fails on any non-conforming answer."""
    files = sorted(p.name for p in Path(__file__).parent.parent.glob("test_attack_schema_*.py"))
    assert files == [f"test_attack_schema_{i}.py" for i in range(1, SHARDS + 1)], f"{SHARDS} shards: {files}"
    raw = (await client.get("/schema/openapi.json")).json()
    everything = _fuzzed(raw)
    assert len(everything) >= 50, f"only {len(everything)} operations in the document"
    mine = everything[shard - 1 :: SHARDS]
    tokens = {user.role: user.token for user in who}
    try:
        lines, seen = await asyncio.to_thread(fuzz_operations, mine, str(client.base_url), tokens)
    finally:
        # The fuzzer may store junk provider settings; they would outlive this test.
        async with db.scope(system=True):
            await db.execute("DELETE FROM system_configs WHERE key LIKE 'provider.%'")
    for role, counts in seen.items():
        missed = [
            f"{op.method.upper()} {op.path}" for op in mine if not counts[f"{op.method.upper()} {op.path}"]
        ]
        assert not missed, f"{role}: operations never exercised: {missed}"
        # Valid requests get through, and so do invalid ones to the validation layer.
        assert counts["2xx"] >= len(mine) // 4 and counts["4xx"] >= 4 * len(mine), (
            f"{role}: the fuzzer barely got through: {counts}"
        )
    assert not lines, f"{len(lines)} non-conforming answers:\n" + "\n".join(lines[:40])


def shard_test(shard: int) -> Any:
    """The test of one shard's file: no generated request (valid or not) gets a 5xx; 2xx/400
    bodies match the schema; every other error is an RFC 9457 problem with `status` and
    `detail`, for a tenant admin and for the app admin."""

    async def test(client: httpx.AsyncClient, localstripe: object) -> None:  # billing calls Stripe
        await fuzz_shard(client, shard, await register(client), await app_admin(client))

    test.__name__ = test.__qualname__ = f"test_operations_survive_fuzzing_as_both_admins_shard_{shard}"
    return test
