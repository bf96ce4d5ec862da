"""Channels and white-label (docs/channels.md): widgets, Telegram/WhatsApp channels, their
conversations and sent replies, partner brands. Created by migration
`hirebuddha_2026_12_01t15_00_00_000000_channels` (raw SQL; these classes mirror it)."""

from piccolo.columns import UUID, Array, Boolean, ForeignKey, Integer, OnDelete, Text, Varchar
from piccolo.table import Table

from runtime.db import APP_DB
from runtime.tables.ai import Agent, ChatSession
from runtime.tables.base import created_at, pk, updated_at
from runtime.tables.identity import Partner, Tenant


class Widget(Table, tablename="widgets", db=APP_DB):
    """An embeddable chat widget of one agent; `public_key` is named by the host page."""

    id = pk()
    tenant = ForeignKey(db_column_name="tenant_id", references=Tenant, index=True, on_delete=OnDelete.cascade)
    agent = ForeignKey(db_column_name="agent_id", references=Agent, on_delete=OnDelete.cascade)
    name = Varchar(length=200)
    public_key = Varchar(length=40, unique=True)
    allowed_origins = Array(base_column=Text(), default=list)
    greeting = Varchar(length=500, default="")
    title = Varchar(length=100, default="")
    primary_color = Varchar(length=7, default="#9c4a5a")
    text_color = Varchar(length=7, default="#ffffff")
    visitor_rate_per_min = Integer(default=10)
    key_rate_per_min = Integer(default=120)
    is_active = Boolean(default=True)
    created_at = created_at()
    updated_at = updated_at()


class Channel(Table, tablename="channels", db=APP_DB):
    """A Telegram bot or WhatsApp Business number answering with one agent."""

    id = pk()
    tenant = ForeignKey(db_column_name="tenant_id", references=Tenant, index=True, on_delete=OnDelete.cascade)
    agent = ForeignKey(db_column_name="agent_id", references=Agent, on_delete=OnDelete.cascade)
    kind = Varchar(length=10)  # telegram | whatsapp
    name = Varchar(length=200)
    credentials = Text()  # Fernet ciphertext of a JSON object (runtime.channels.Credentials)
    phone_number_id = Varchar(length=64, null=True, default=None)
    is_active = Boolean(default=True)
    created_at = created_at()
    updated_at = updated_at()


class ChannelSession(Table, tablename="channel_sessions", db=APP_DB):
    """The session a widget visitor or an external chat id talks in."""

    session = ForeignKey(
        db_column_name="session_id", references=ChatSession, primary_key=True, on_delete=OnDelete.cascade
    )
    tenant = ForeignKey(db_column_name="tenant_id", references=Tenant, index=True, on_delete=OnDelete.cascade)
    kind = Varchar(length=10)  # widget | telegram | whatsapp
    channel_id = UUID()
    external_id = Varchar(length=128)
    created_at = created_at()


class ChannelDelivery(Table, tablename="channel_deliveries", db=APP_DB):
    """One part of a reply sent through a channel's API (sent once, whatever redeliveries)."""

    execution_id = UUID(primary_key=True)
    part = Integer()
    tenant = ForeignKey(db_column_name="tenant_id", references=Tenant, index=True, on_delete=OnDelete.cascade)
    channel_id = UUID()
    status_code = Integer(null=True, default=None)
    created_at = created_at()


class PartnerBrand(Table, tablename="partner_brands", db=APP_DB):
    """A partner's white-label brand (web.branding)."""

    partner = ForeignKey(
        db_column_name="partner_id", references=Partner, primary_key=True, on_delete=OnDelete.cascade
    )
    product_name = Varchar(length=100)
    logo_url = Varchar(length=500, null=True, default=None)
    primary_color = Varchar(length=7)
    accent_color = Varchar(length=7)
    support_email = Varchar(length=320, null=True, default=None)
    console_host = Varchar(length=253, null=True, default=None, unique=True)
    updated_at = updated_at()
