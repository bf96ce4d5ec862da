"""The `ai_models` catalog and the rates in force for its models."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from runtime import db

COLUMNS = "id, model_key, model_name, provider, model_type, context_window, max_output_tokens, is_active"


class ModelRepository:
    """Catalog reads and writes; the catalog is platform data (no tenant, no RLS)."""

    async def all(self, active_only: bool = False) -> list[dict[str, Any]]:
        where = "WHERE is_active" if active_only else ""
        rows = await db.fetch(f"SELECT {COLUMNS} FROM ai_models {where} ORDER BY model_key")  # noqa: S608
        return [dict(r) for r in rows]

    async def by_id(self, model_id: uuid.UUID) -> dict[str, Any] | None:
        row = await db.fetchrow(f"SELECT {COLUMNS} FROM ai_models WHERE id = $1", model_id)  # noqa: S608
        return None if row is None else dict(row)

    async def by_keys(self, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        rows = await db.fetch(
            f"SELECT {COLUMNS} FROM ai_models WHERE model_key = ANY($1::text[])",  # noqa: S608
            list(keys),
        )
        return {r["model_key"]: dict(r) for r in rows}

    async def insert(self, values: dict[str, Any]) -> uuid.UUID:
        model_id = uuid.uuid4()
        await db.execute(
            "INSERT INTO ai_models (id, model_key, model_name, provider, model_type, context_window, "
            "max_output_tokens, is_active, created_at, updated_at) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now(), now())",
            model_id,
            values["model_key"],
            values["model_name"],
            values["provider"],
            values["model_type"],
            values["context_window"],
            values["max_output_tokens"],
            values["is_active"],
        )
        return model_id

    async def update(self, model_id: uuid.UUID, changes: dict[str, Any]) -> None:
        sets = ", ".join(f"{column} = ${i}" for i, column in enumerate(changes, start=2))
        await db.execute(
            f"UPDATE ai_models SET {sets}, updated_at = now() WHERE id = $1",  # noqa: S608 (column names are ours)
            model_id,
            *changes.values(),
        )

    async def priced_resources(self, model_key: str) -> set[str]:
        """Resource types of `model_key` with a system rate in force now."""
        rows = await db.fetch(
            "SELECT DISTINCT resource_type FROM system_rates WHERE model = $1 AND is_active "
            "AND valid_from <= now() AND (valid_to IS NULL OR valid_to > now())",
            model_key,
        )
        return {r["resource_type"] for r in rows}
