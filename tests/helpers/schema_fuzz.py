"""schemathesis against the OpenAPI document (tests/test_attack_schema*.py): every operation,
fuzzed with one user's token, never answers 500 and every answer conforms to the document
(documented statuses match their response schema and content type) or is a problem body.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from typing import Any

import httpx
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.openapi.checks import Failure
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from helpers.api import ApiUser
from runtime import db

EXAMPLES = 25
"""Per operation and role: ~55 operations, one role per test file so that xdist runs the
roles on different workers (each took 3-4 minutes on a loaded 2-core machine)."""
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


def fuzz_every_operation(raw_schema: dict[str, Any], base_url: str, token: str) -> tuple[list[str], Counter]:
    """Run `EXAMPLES` generated requests per operation; the failures (one line each) and a
    count of answers per status class and operation."""
    schema = schemathesis.openapi.from_dict(raw_schema)
    failures: list[str] = []
    seen: Counter = Counter()
    session = requests.Session()
    headers = {"Authorization": f"Bearer {token}"}
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.method.upper() == "POST" and operation.path == "/api/v1/auth/logout":
            continue  # would end the very session the fuzzer runs with; covered in test_auth
        if operation.path.startswith("/v1/"):
            continue  # OpenAI's wire format and error objects, not RFC 9457: tests/test_openai_api.py

        def check(case: Any, _op: Any = operation) -> None:
            response = case.call(base_url=base_url, session=session, headers=headers, timeout=30)
            label = f"{_op.method.upper()} {_op.path} -> {response.status_code}"
            seen[f"{response.status_code // 100}xx"] += 1
            seen[f"{_op.method.upper()} {_op.path}"] += 1
            failures.extend(f"{label}: {line}" for line in conformance(case, response, headers))

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


async def fuzz_as(client: httpx.AsyncClient, who: ApiUser) -> None:
    """Fuzz every operation with `who`'s token; fails on any non-conforming answer."""
    raw = (await client.get("/schema/openapi.json")).json()
    try:
        lines, seen = await asyncio.to_thread(fuzz_every_operation, raw, str(client.base_url), who.token)
    finally:
        # The fuzzer may store junk provider settings; they would outlive this test.
        async with db.scope(system=True):
            await db.execute("DELETE FROM system_configs WHERE key LIKE 'provider.%'")
    operations = [key for key in seen if " " in key]
    assert len(operations) >= 50, f"{who.role}: only {len(operations)} operations were exercised"
    assert seen["2xx"] >= 50 and seen["4xx"] >= 200, f"{who.role}: the fuzzer barely got through: {seen}"
    problems = [f"[{who.role}] {line}" for line in lines]
    assert not problems, f"{len(problems)} non-conforming answers:\n" + "\n".join(problems[:40])
