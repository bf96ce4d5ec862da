"""Anonymous visitor tokens: `<visitor hex>.<session hex>.<mac>`, the MAC (HMAC-SHA256 with
`HB_SECRET_KEY`) binding the visitor and its session to one widget. The widget keeps the
token in the host page's localStorage; a token of another widget, or forged, is refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid

from runtime.settings import get_settings


def _mac(widget_id: uuid.UUID, visitor: uuid.UUID, session: uuid.UUID) -> str:
    key = get_settings().auth.secret_key.encode()
    digest = hmac.new(key, f"hbv1.{widget_id}.{visitor}.{session}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def issue(widget_id: uuid.UUID, visitor: uuid.UUID, session: uuid.UUID) -> str:
    """The token of a visitor's session of a widget."""
    return f"{visitor.hex}.{session.hex}.{_mac(widget_id, visitor, session)}"


def read(token: str, widget_id: uuid.UUID) -> tuple[uuid.UUID, uuid.UUID] | None:
    """(visitor, session) of a genuine token of this widget, else None."""
    try:
        visitor_hex, session_hex, mac = token.split(".")
        visitor, session = uuid.UUID(hex=visitor_hex), uuid.UUID(hex=session_hex)
    except ValueError:
        return None
    return (visitor, session) if hmac.compare_digest(mac, _mac(widget_id, visitor, session)) else None
