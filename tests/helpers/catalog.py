"""The model catalog for tests: agents may only name active catalog chat models.

Tests write the catalog directly (like rates in `helpers.ledger`): the rule that an active
model needs rates is the admin API's, proven in tests/test_models.py; these are fixtures.
"""

from __future__ import annotations

from runtime import db

TEST_MODELS = {
    # model_key: provider. `fake` is what the fake LLM answers as; `m` and `gpt-4o-mini` are
    # the free-text names older tests gave their agents.
    "fake": "openai",
    "m": "openai",
    "gpt-4o-mini": "openai",
}


SEED_CATALOG = (
    "INSERT INTO ai_models (id, model_key, model_name, provider, model_type, is_active, "
    "context_window, max_output_tokens, created_at, updated_at) "
    "SELECT gen_random_uuid(), k, k, p, 'chat', true, 8192, 4096, now(), now() "
    "FROM unnest($1::text[], $2::text[]) AS m(k, p) ON CONFLICT (model_key) DO NOTHING"
)
"""`TEST_MODELS` into a database of its own (keys, providers), e.g. a private cluster's."""


async def catalog_model(
    model_key: str,
    provider: str = "demo",
    *,
    model_type: str = "chat",
    is_active: bool = True,
    context_window: int = 8192,
    max_output_tokens: int = 4096,
) -> str:
    """Put `model_key` in the catalog (kept as it is when already there); returns the key."""
    async with db.scope(system=True):
        await db.execute(
            "INSERT INTO ai_models (id, model_key, model_name, provider, model_type, is_active, "
            "context_window, max_output_tokens, created_at, updated_at) "
            "VALUES (gen_random_uuid(), $1, $1, $2, $3, $4, $5, $6, now(), now()) "
            "ON CONFLICT (model_key) DO NOTHING",
            model_key,
            provider,
            model_type,
            is_active,
            context_window,
            max_output_tokens,
        )
    return model_key


async def seed_test_catalog() -> None:
    """The models the suite's agents name, once per run (after migrating)."""
    for key, provider in TEST_MODELS.items():
        await catalog_model(key, provider)
