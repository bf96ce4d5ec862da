"""SQL of a partner's brand; runs in the partner's `db.scope` (reads: runtime.branding)."""

from __future__ import annotations

import uuid
from typing import Any

from runtime import db


async def upsert(partner_id: uuid.UUID, values: dict[str, Any]) -> None:
    """Create or replace the partner's brand."""
    await db.execute(
        "INSERT INTO partner_brands (partner_id, product_name, logo_url, primary_color, accent_color, "
        "support_email, console_host, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, now()) "
        "ON CONFLICT (partner_id) DO UPDATE SET product_name = EXCLUDED.product_name, "
        "logo_url = EXCLUDED.logo_url, primary_color = EXCLUDED.primary_color, "
        "accent_color = EXCLUDED.accent_color, support_email = EXCLUDED.support_email, "
        "console_host = EXCLUDED.console_host, updated_at = now()",
        partner_id,
        values["product_name"],
        values.get("logo_url"),
        values["primary_color"],
        values["accent_color"],
        values.get("support_email"),
        values.get("console_host"),
    )


async def delete(partner_id: uuid.UUID) -> None:
    """Back to the platform's brand."""
    await db.execute("DELETE FROM partner_brands WHERE partner_id = $1", partner_id)
