"""`/widgets`: a tenant admin's widgets; the widget's public config; the script itself."""

from __future__ import annotations

import uuid
from pathlib import Path

import msgspec
from litestar import Controller, Request, Response, delete, get, post, put
from litestar.di import Provide

from runtime.branding import brand_for_tenant
from web.auth.guards import requires_tenant_admin
from web.auth.identity import Principal
from web.branding.schemas import BrandOut
from web.widgets import service
from web.widgets.schemas import WidgetConfig, WidgetIn, WidgetOut
from web.widgets.service import WidgetService

SCRIPT = (Path(__file__).parent / "widget.js").read_bytes()
"""The widget script, read once (web/widgets/widget.js is its source, served as is)."""
SCRIPT_CACHE_S = 300


async def provide_widget_service(me: Principal, ip: str | None) -> WidgetService:
    return WidgetService(me, ip)


class WidgetController(Controller):
    """Create, list, change and delete the tenant's widgets."""

    path = "/widgets"
    guards = [requires_tenant_admin]
    dependencies = {"widget_service": Provide(provide_widget_service)}
    tags = ["widgets"]

    @post("/", status_code=201)
    async def create_widget(self, widget_service: WidgetService, data: WidgetIn) -> WidgetOut:
        """A new widget for an agent; 422 `brand_contrast` when text on primary fails WCAG AA."""
        return msgspec.convert(
            await widget_service.create(msgspec.to_builtins(data) | {"agent_id": data.agent_id}), WidgetOut
        )

    @get("/")
    async def list_widgets(self, widget_service: WidgetService) -> list[WidgetOut]:
        """The tenant's widgets, newest first."""
        return msgspec.convert(await widget_service.listing(), list[WidgetOut])

    @get("/{widget_id:uuid}")
    async def get_widget(self, widget_service: WidgetService, widget_id: uuid.UUID) -> WidgetOut:
        """One widget."""
        return msgspec.convert(await widget_service.get(widget_id), WidgetOut)

    @put("/{widget_id:uuid}")
    async def put_widget(
        self, widget_service: WidgetService, widget_id: uuid.UUID, data: WidgetIn
    ) -> WidgetOut:
        """Change a widget (its public key stays)."""
        values = msgspec.to_builtins(data) | {"agent_id": data.agent_id}
        return msgspec.convert(await widget_service.update(widget_id, values), WidgetOut)

    @delete("/{widget_id:uuid}")
    async def delete_widget(self, widget_service: WidgetService, widget_id: uuid.UUID) -> None:
        """Remove a widget: its script stops loading; its conversations stay in the history."""
        await widget_service.delete(widget_id)


@get("/widgets/{public_key:str}/config", opt={"exclude_from_auth": True}, tags=["widgets"])
async def widget_config(request: Request, public_key: str) -> Response[WidgetConfig]:
    """The widget's public config for a page on one of its origins (CORS for that origin
    only); 403 `widget_origin_refused` elsewhere, 404 for an unknown or inactive key."""
    origin = request.headers.get("origin")
    widget = await service.public_widget(public_key)
    # No Origin: a same-origin GET (the console's preview) or no browser at all; the config
    # is public, and what keeps foreign pages from reading it is the missing CORS header.
    service.refuse_origin(widget, origin, request.headers.get("host"), missing_ok=True)
    brand = msgspec.convert((await brand_for_tenant(widget["tenant_id"])).as_dict(), BrandOut)
    config = WidgetConfig(
        title=widget["title"] or widget["name"],
        greeting=widget["greeting"],
        primary_color=widget["primary_color"],
        text_color=widget["text_color"],
        socket_path=f"/api/v1/widgets/{public_key}/ws",
        brand=brand,
    )
    headers = {"Vary": "Origin", "Cache-Control": "no-store"}
    if origin:
        headers["Access-Control-Allow-Origin"] = origin
    return Response(config, headers=headers)


@get("/widget.js", opt={"exclude_from_auth": True}, include_in_schema=False)
async def widget_script() -> Response[bytes]:
    """The widget script for host pages on any origin (no cookies, no framework)."""
    return Response(
        SCRIPT,
        media_type="text/javascript; charset=utf-8",
        headers={
            "Cache-Control": f"public, max-age={SCRIPT_CACHE_S}",
            # Loadable by pages that isolate themselves (COEP): it is meant for other origins.
            "Cross-Origin-Resource-Policy": "cross-origin",
        },
    )
