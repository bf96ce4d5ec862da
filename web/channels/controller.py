"""`/channels`: a tenant admin's Telegram and WhatsApp channels, and their public webhooks."""

from __future__ import annotations

import uuid
from typing import Annotated

import msgspec
from litestar import Controller, Request, Response, delete, get, post
from litestar.di import Provide
from litestar.params import Parameter

from web.auth.guards import requires_tenant_admin
from web.auth.identity import Principal
from web.channels import service
from web.channels.schemas import ChannelCreated, ChannelIn, ChannelOut
from web.channels.service import ChannelService


async def provide_channel_service(me: Principal, ip: str | None) -> ChannelService:
    return ChannelService(me, ip)


class ChannelController(Controller):
    """Connect, list and remove the tenant's messaging channels."""

    path = "/channels"
    guards = [requires_tenant_admin]
    dependencies = {"channel_service": Provide(provide_channel_service)}
    tags = ["channels"]

    @post("/", status_code=201)
    async def create_channel(self, channel_service: ChannelService, data: ChannelIn) -> ChannelCreated:
        """Connect a channel; the answer shows the webhook path and, once, the token to
        give the provider (Telegram's secret token, WhatsApp's verify token)."""
        values = msgspec.to_builtins(data) | {"agent_id": data.agent_id}
        return msgspec.convert(await channel_service.create(values), ChannelCreated)

    @get("/")
    async def list_channels(self, channel_service: ChannelService) -> list[ChannelOut]:
        """The tenant's channels (never their credentials)."""
        return msgspec.convert(await channel_service.listing(), list[ChannelOut])

    @delete("/{channel_id:uuid}")
    async def delete_channel(self, channel_service: ChannelService, channel_id: uuid.UUID) -> None:
        """Disconnect a channel; its conversations stay in the history."""
        await channel_service.delete(channel_id)


PUBLIC = {"exclude_from_auth": True}


@post("/channels/{channel_id:uuid}/telegram", opt=PUBLIC, status_code=200, tags=["channels"])
async def telegram_webhook(request: Request, channel_id: uuid.UUID) -> dict[str, int]:
    """Telegram's update webhook (verified by X-Telegram-Bot-Api-Secret-Token)."""
    channel = await service.verify_telegram(
        channel_id, request.headers.get("x-telegram-bot-api-secret-token")
    )
    return await service.receive(request.app.state.bus, channel, await request.body())


@post("/channels/{channel_id:uuid}/whatsapp", opt=PUBLIC, status_code=200, tags=["channels"])
async def whatsapp_webhook(request: Request, channel_id: uuid.UUID) -> dict[str, int]:
    """WhatsApp Cloud API's webhook (verified by X-Hub-Signature-256)."""
    body = await request.body()
    channel = await service.verify_whatsapp(channel_id, body, request.headers.get("x-hub-signature-256"))
    return await service.receive(request.app.state.bus, channel, body)


@get("/channels/{channel_id:uuid}/whatsapp", opt=PUBLIC, tags=["channels"], media_type="text/plain")
async def whatsapp_verify(
    channel_id: uuid.UUID,
    mode: Annotated[str | None, Parameter(query="hub.mode", max_length=20)] = None,
    token: Annotated[str | None, Parameter(query="hub.verify_token", max_length=200)] = None,
    challenge: Annotated[str, Parameter(query="hub.challenge", max_length=200)] = "",
) -> Response[str]:
    """Meta's subscription check: the challenge back when the verify token is the channel's."""
    return Response(
        await service.whatsapp_challenge(channel_id, mode, token, challenge), media_type="text/plain"
    )
