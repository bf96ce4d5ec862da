"""The suite's tiers: the seeded limits as migrated, then the hourly ones lifted.

Tests register tenants on the `free` tier and many send hundreds of executions an hour (the
fairness burst sends 1,000 jobs), far above the product's free plan (100 requests per
hour). So once the run's database is migrated, `unmeter_tiers` records the seeded rows in
`SEEDED` (tests/test_limits.py checks them against the plan) and clears the hourly limits
of the three tiers; concurrency limits stay. Tests of the hourly limits put their tenant on
a tier of their own (`test_limits.own_tier`).
"""

from __future__ import annotations

from typing import Any

from runtime import db

SEEDED: dict[str, dict[str, Any]] = {}


async def unmeter_tiers() -> None:
    async with db.scope(system=True):
        rows = await db.fetch(
            "SELECT tier, concurrent_executions, requests_per_hour, api_calls_per_hour FROM tier_limits"
        )
        SEEDED.update({r["tier"]: dict(r) for r in rows})
        await db.execute("UPDATE tier_limits SET requests_per_hour = NULL, api_calls_per_hour = NULL")
