"""API keys of external systems: `hb_<prefix>_<secret>`, found by prefix, compared in constant time."""

from __future__ import annotations

import datetime as dt
import hmac

from runtime import db
from web.auth import repository as repo
from web.auth.identity import SIGN_IN_STATUSES, Principal
from web.auth.tokens import sha256_hex

SERVICE_ROLE = "service"
_TOUCH_EVERY = dt.timedelta(minutes=1)  # last_used_at precision; avoids a write per request
_DUMMY = sha256_hex("no-such-key")


async def authenticate_api_key(key: str) -> Principal | None:
    """The tenant's service principal for a live key of an active or suspended tenant, else None."""
    scheme, _, rest = key.partition("_")
    prefix, _, secret = rest.partition("_")
    if scheme != "hb" or not prefix or not secret or len(key) > 200:
        return None
    # The key is all we know of the caller, so the lookup is cross-tenant by nature.
    async with db.scope(system=True):
        row = await repo.api_key_by_prefix(prefix)
        matches = hmac.compare_digest(row["key_hash"] if row else _DUMMY, sha256_hex(key))
        live = row is not None and row["revoked_at"] is None and row["status"] in SIGN_IN_STATUSES
        if row is None or not matches or not live:
            return None
        now = dt.datetime.now(dt.UTC)
        if row["last_used_at"] is None or now - row["last_used_at"] > _TOUCH_EVERY:
            await repo.touch_api_key(row["id"], now)
    # A suspended tenant's key still authenticates, so its calls are refused `tenant_suspended`.
    return Principal(row["id"], row["tenant_id"], SERVICE_ROLE, None, row["status"] == "suspended")
