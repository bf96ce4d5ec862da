"""One ledger entry as the ledger sees it, and the per-tenant hash chain over entries.

Chain format (version 1):
    entry_hash = sha256_hex( (prev_hash or "") + "\\n" + canonical(entry) )
    canonical(entry) = compact JSON, keys sorted, every value a string or null:
        id, tenant_id, partner_id, execution_id, event_id, reverses_id (UUIDs, lowercase),
        model, resource_type, unit, entry_metadata (the stored text, verbatim),
        quantity, platform_cost, tenant_cost, partner_commission (fixed point, 6 places),
        created_at (UTC ISO 8601 with microseconds), and "v": "1".
    prev_hash is the entry_hash of the same tenant's previous entry (null for its first).
    Entries of a tenant are ordered by created_at, which the writer keeps strictly increasing
    per tenant, so the chain order is also the table order.

The hash is computed before the insert because the app role cannot UPDATE ledger_entries.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import msgspec

from ledger.pricing import Amounts, as_utc, round6

_SORTED_JSON = msgspec.json.Encoder(order="sorted").encode
CHAIN_VERSION = "1"
TICK = timedelta(microseconds=1)
"""Smallest step of timestamptz: the gap kept between a tenant's consecutive entries."""


@dataclass(frozen=True)
class Entry:
    """One row of ledger_entries."""

    id: UUID
    tenant_id: UUID
    partner_id: UUID | None
    execution_id: UUID | None
    event_id: UUID
    model: str | None
    resource_type: str
    quantity: Decimal
    unit: str
    platform_cost: Decimal
    tenant_cost: Decimal
    partner_commission: Decimal
    reverses_id: UUID | None
    created_at: datetime
    entry_metadata: str | None
    prev_hash: str | None = None
    entry_hash: str | None = None

    @property
    def amounts(self) -> Amounts:
        """(platform_cost, tenant_cost, partner_commission)."""
        return Amounts(self.platform_cost, self.tenant_cost, self.partner_commission)

    @property
    def metadata(self) -> dict[str, Any]:
        """entry_metadata parsed (empty when absent or not JSON)."""
        try:
            value = json.loads(self.entry_metadata or "{}")
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Entry:
        """Build from a database row holding every column."""
        return cls(**{name: row[name] for name in cls.__dataclass_fields__})

    def chained(
        self, prev_hash: str | None, created_at: datetime | None = None, body: bytes | None = None
    ) -> Entry:
        """This entry linked after `prev_hash` (stamped `created_at` if given), hash filled in.
        `body`: its `unstamped` content when already computed."""
        at = self.created_at if created_at is None else created_at
        linked = entry_hash(prev_hash, self, at, body)
        # dataclasses.replace re-runs __init__ through keyword arguments: a copy of the
        # fields is several times cheaper, and this runs once per entry written.
        copy = object.__new__(Entry)
        fields = copy.__dict__
        fields.update(self.__dict__)
        fields["created_at"], fields["prev_hash"], fields["entry_hash"] = at, prev_hash, linked
        return copy


def _uuid(value: UUID | None) -> str | None:
    return None if value is None else str(value)


def _fixed(value: Decimal) -> str:
    # round6 leaves exponent -6, which str() writes in plain notation: format(..., "f")'s text.
    # Amounts come priced (already round6'd), so str() alone usually is that text: exactly
    # six digits after the point, no exponent, and not "-0.000000" (round6 makes that 0).
    text = str(value)
    if text[-7:-6] == "." and "E" not in text and text != "-0.000000":
        return text
    return str(round6(value))


def _content(entry: Entry) -> dict[str, Any]:
    """The canonical fields of an entry but created_at, UUIDs as they are (msgspec writes them
    in the same lowercase, hyphenated form as str(), see _uuid, much faster)."""
    return {
        "v": CHAIN_VERSION,
        "id": entry.id,
        "tenant_id": entry.tenant_id,
        "partner_id": entry.partner_id,
        "execution_id": entry.execution_id,
        "event_id": entry.event_id,
        "reverses_id": entry.reverses_id,
        "model": entry.model,
        "resource_type": entry.resource_type,
        "unit": entry.unit,
        "quantity": _fixed(entry.quantity),
        "platform_cost": _fixed(entry.platform_cost),
        "tenant_cost": _fixed(entry.tenant_cost),
        "partner_commission": _fixed(entry.partner_commission),
        "entry_metadata": entry.entry_metadata,
    }


def unstamped(entry: Entry) -> bytes | None:
    """The canonical content of an entry without its created_at, as `canonical` writes it
    (`{"entry_metadata":...}`), or None when only the slow path writes it right.

    created_at is the first key in sorted order, so `canonical` is this with
    `"created_at":"..."` put in front: the ledger computes it while pricing a batch, before
    the write transaction stamps the entries, and the stamp and the hash are all that is left
    for the chain's critical section.
    """
    out = _SORTED_JSON(_content(entry))
    # Byte for byte what json.dumps writes for ASCII text, 6x faster. json.dumps escapes
    # non-ASCII and DEL as \uXXXX where msgspec writes UTF-8: the format is json.dumps's
    # (ensure_ascii), so such an entry takes the slow path.
    return out if out.isascii() and b"\x7f" not in out else None


def _stamp(at: datetime) -> str:
    return as_utc(at).isoformat(timespec="microseconds")


def canonical(entry: Entry, created_at: datetime | None = None, body: bytes | None = None) -> bytes:
    """The canonical content of an entry (see the module docstring), as if stamped
    `created_at` when that is given; `body` is its `unstamped` content if already known."""
    at = created_at or entry.created_at
    if body is None:
        body = unstamped(entry)
    if body is not None:
        return b'{"created_at":"' + _stamp(at).encode() + b'",' + body[1:]
    text = {k: _uuid(v) if isinstance(v, UUID) else v for k, v in _content(entry).items()}
    text["created_at"] = _stamp(at)
    return json.dumps(text, sort_keys=True, separators=(",", ":")).encode()


def entry_hash(
    prev_hash: str | None, entry: Entry, created_at: datetime | None = None, body: bytes | None = None
) -> str:
    """sha256 hex of the previous hash and the entry's canonical content (see `canonical`)."""
    digest = hashlib.sha256((prev_hash or "").encode() + b"\n")
    digest.update(canonical(entry, created_at, body))
    return digest.hexdigest()


def next_timestamp(now: datetime, previous: datetime | None) -> datetime:
    """`now`, or one microsecond after the tenant's previous entry if the clock is behind."""
    now = as_utc(now)
    if previous is None:
        return now
    return max(now, as_utc(previous) + TICK)
