"""Field types shared by the REST DTOs: bounded, NUL-free text, emails and money."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import msgspec

# PostgreSQL text cannot hold NUL; refusing it here gives a 400 that names the field.
_NO_NUL = r"^[^\x00]*$"

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=_NO_NUL)]
LongText = Annotated[str, msgspec.Meta(max_length=100_000, pattern=_NO_NUL)]
Email = Annotated[
    str, msgspec.Meta(min_length=3, max_length=320, pattern=r"^[^@\s\x00]+@[^@\s\x00]+\.[^@\s\x00]+$")
]
Password = Annotated[str, msgspec.Meta(min_length=8, max_length=256, pattern=_NO_NUL)]


def check_decimal(value: Decimal, field: str, low: Decimal, high: Decimal) -> None:
    """Range check for Decimals (msgspec's ge/le apply to int and float only).

    Called from `__post_init__`, where a ValueError becomes a 400 naming the field.
    """
    if not value.is_finite() or not low <= value <= high:
        raise ValueError(f"{field} must be a number between {low} and {high}")


MAX_MONEY = Decimal("999999999999")
Money = Annotated[Decimal, msgspec.Meta(description='Decimal string, e.g. "0.001500"')]
PLACES = Decimal("0.000001")


def check_money(value: Decimal | None, field: str, low: Decimal = Decimal(0)) -> None:
    """400 unless `value` is None or a NUMERIC(18,6) amount within [low, MAX_MONEY]."""
    if value is None:
        return
    check_decimal(value, field, low, MAX_MONEY)
    if value != value.quantize(PLACES):
        raise ValueError(f"{field} has more than 6 decimal places")
