"""Every operation of the OpenAPI document, fuzzed with the app admin's token, never answers
500 and every answer conforms to the document or is a problem body (helpers/schema_fuzz.py;
the tenant admin's run is tests/test_attack_schema.py)."""

from __future__ import annotations

import httpx
import pytest

from helpers.api import app_admin
from helpers.schema_fuzz import fuzz_as

pytestmark = pytest.mark.usefixtures("server")


async def test_every_operation_survives_fuzzing_as_the_app_admin(
    client: httpx.AsyncClient,
    localstripe: object,  # billing routes call Stripe
) -> None:
    """No generated request (valid or not) gets a 5xx; 2xx/400 bodies match the schema; every
    other error is an RFC 9457 problem with `status` and `detail`."""
    await fuzz_as(client, await app_admin(client))
