"""Request and response Structs of brands."""

from __future__ import annotations

import uuid
from typing import Annotated

import msgspec

Color = Annotated[str, msgspec.Meta(pattern=r"^#[0-9a-fA-F]{6}$", description="#rrggbb")]
Hostname = Annotated[
    str,
    msgspec.Meta(
        max_length=253,
        pattern=r"^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+\.?$",
    ),
]
LogoUrl = Annotated[str, msgspec.Meta(max_length=500, pattern=r"^(https://|/)[^\s\"'<>]*$")]
Email = Annotated[str, msgspec.Meta(max_length=320, pattern=r"^[^@\s\"'<>]+@[^@\s\"'<>]+\.[^@\s\"'<>]+$")]


class BrandIn(msgspec.Struct, forbid_unknown_fields=True):
    """A partner's brand; colours must pass WCAG AA (white on primary, accent on light)."""

    product_name: Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=r"^[^\x00<>]*$")]
    primary_color: Color
    accent_color: Color
    logo_url: LogoUrl | None = None
    support_email: Email | None = None
    console_host: Hostname | None = None


class BrandOut(msgspec.Struct):
    """A resolved brand (the platform's Rose Gold when `partner_id` is null)."""

    product_name: str
    primary_color: str
    accent_color: str
    logo_url: str | None
    support_email: str | None
    console_host: str | None
    partner_id: uuid.UUID | None
