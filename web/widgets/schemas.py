"""Request and response Structs of widgets."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import msgspec

from web.branding.schemas import BrandOut, Color

Origin = Annotated[
    str,
    msgspec.Meta(
        max_length=255,
        pattern=r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$",
        description="scheme://host[:port], as browsers send it in Origin",
    ),
]
Text = Annotated[str, msgspec.Meta(max_length=500, pattern=r"^[^\x00]*$")]
Rate = Annotated[int, msgspec.Meta(ge=1, le=10_000)]


class WidgetIn(msgspec.Struct, forbid_unknown_fields=True):
    """A widget of one agent; `text_color` on `primary_color` must pass WCAG AA."""

    agent_id: uuid.UUID
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=r"^[^\x00]*$")]
    allowed_origins: Annotated[list[Origin], msgspec.Meta(max_length=20)]
    greeting: Text = ""
    title: Annotated[str, msgspec.Meta(max_length=100, pattern=r"^[^\x00]*$")] = ""
    primary_color: Color = "#97534c"
    text_color: Color = "#ffffff"
    visitor_rate_per_min: Rate = 10
    """Messages one visitor may send per minute."""
    key_rate_per_min: Rate = 120
    """Messages all visitors of this widget may send per minute."""
    is_active: bool = True


class WidgetOut(msgspec.Struct):
    id: uuid.UUID
    agent_id: uuid.UUID
    name: str
    public_key: str
    allowed_origins: list[str]
    greeting: str
    title: str
    primary_color: str
    text_color: str
    visitor_rate_per_min: int
    key_rate_per_min: int
    is_active: bool
    created_at: dt.datetime


class WidgetConfig(msgspec.Struct):
    """What the widget script needs on the host page (public: no secret in it)."""

    title: str
    greeting: str
    primary_color: str
    text_color: str
    socket_path: str
    brand: BrandOut
