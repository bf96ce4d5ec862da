"""White-label brands, readable from every process (web, actors, ledger): what a partner's
tenants, their visitors and their mail see. docs/channels.md "White-label".

A partner sets its brand (product name, logo, colours, support email, optional console
hostname; web/branding); a tenant of that partner, a page served on that hostname, the
tenant's widgets and its mail show it; everyone else sees the platform's Rose Gold
defaults (`DEFAULT`).

- `brand_for_tenant(tenant_id)`: the tenant's partner's brand, else DEFAULT;
- `brand_for_host(host)`: the partner whose `console_host` is the Host header's name
  (`console.acme.example`, or a subdomain `acme.hirebuddha.app` pointed at the web);
- `send_branded(tenant_id, mail)`: `runtime.mail.send` with the tenant's brand applied
  (From display name, Reply-To the support email, an HTML frame in the brand's colours).

Brand rows are platform data read in the system scope: a brand must resolve before anyone
is signed in (the login page on a partner's hostname) and from processes without a caller.
"""

from __future__ import annotations

import html
import uuid
from dataclasses import asdict, dataclass
from email.utils import formataddr, parseaddr
from typing import Any

from runtime import db, mail
from runtime.settings import get_settings


@dataclass(frozen=True)
class Brand:
    """A resolved brand; `partner_id` None for the platform's own."""

    product_name: str
    primary_color: str
    accent_color: str
    logo_url: str | None = None
    support_email: str | None = None
    console_host: str | None = None
    partner_id: uuid.UUID | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


DEFAULT = Brand(product_name="Hirebuddha", primary_color="#97534c", accent_color="#7a3f39")
"""Rose Gold: the platform's own brand (spa/src/app/styles.css `--rose-3`, `--accent-ink`)."""

_COLUMNS = (
    "b.partner_id, b.product_name, b.logo_url, b.primary_color, b.accent_color, b.support_email, "
    "b.console_host"
)


def _brand(row: Any) -> Brand:
    return Brand(
        product_name=row["product_name"],
        primary_color=row["primary_color"],
        accent_color=row["accent_color"],
        logo_url=row["logo_url"],
        support_email=row["support_email"],
        console_host=row["console_host"],
        partner_id=row["partner_id"],
    )


async def _one(sql: str, value: Any) -> Brand:
    async with db.scope(system=True):  # brand rows are platform data (module docstring)
        row = await db.fetchrow(sql, value)
    return DEFAULT if row is None else _brand(row)


async def brand_for_tenant(tenant_id: uuid.UUID) -> Brand:
    """The brand a tenant's people, visitors and mail see: its partner's, else DEFAULT."""
    return await _one(
        f"SELECT {_COLUMNS} FROM partner_brands b JOIN tenants t ON t.partner_id = b.partner_id "  # noqa: S608 (constant SQL)
        "WHERE t.id = $1",
        tenant_id,
    )


async def brand_for_partner(partner_id: uuid.UUID | None) -> Brand:
    """A partner's brand, else DEFAULT."""
    if partner_id is None:
        return DEFAULT
    return await _one(f"SELECT {_COLUMNS} FROM partner_brands b WHERE b.partner_id = $1", partner_id)  # noqa: S608 (constant SQL)


def host_name(host: str | None) -> str:
    """The name of a Host header: no port, lower case, no trailing dot."""
    return (
        (host or "").rsplit(":", 1)[0].strip().lower().rstrip(".")
        if host and not host.startswith("[")
        else ""
    )


async def brand_for_host(host: str | None) -> Brand:
    """The brand of a request's Host header (a partner's console hostname), else DEFAULT."""
    name = host_name(host)
    if not name:
        return DEFAULT
    return await _one(f"SELECT {_COLUMNS} FROM partner_brands b WHERE b.console_host = $1", name)  # noqa: S608 (constant SQL)


def branded(message: mail.Mail, brand: Brand) -> mail.Mail:
    """`message` dressed in `brand`: From's display name is the product name (the address
    stays HB_MAIL_FROM's: a partner's domain would fail SPF), Reply-To the support email, the
    HTML part framed with the brand's name, logo and colours, the text part signed."""
    _, address = parseaddr(get_settings().mail.sender)
    name = html.escape(brand.product_name)
    logo = (
        f'<img src="{html.escape(brand.logo_url, quote=True)}" alt="{name}" height="32" '
        'style="vertical-align:middle;margin-right:8px">'
        if brand.logo_url
        else ""
    )
    body = (
        message.html
        if message.html is not None
        else f"<p>{html.escape(message.text).replace(chr(10), '<br>')}</p>"
    )
    support = (
        f'<p style="color:#5a3b36;font-size:13px">Questions? Write to '
        f'<a style="color:{brand.accent_color}" href="mailto:{html.escape(brand.support_email, quote=True)}">'
        f"{html.escape(brand.support_email)}</a>.</p>"
        if brand.support_email
        else ""
    )
    framed = (
        '<div style="font-family:system-ui,sans-serif;max-width:600px;margin:0 auto">'
        f'<div data-brand="header" style="background:{brand.primary_color};color:#ffffff;padding:16px 20px;'
        f'border-radius:12px 12px 0 0;font-size:18px;font-weight:600">{logo}{name}</div>'
        f'<div style="padding:20px;border:1px solid #eeddd8;border-top:0;border-radius:0 0 12px 12px">{body}'
        f"{support}</div></div>"
    )
    signature = f"\n\n-- \n{brand.product_name}" + (f"\n{brand.support_email}" if brand.support_email else "")
    return mail.Mail(
        to=message.to,
        subject=message.subject,
        text=message.text + signature,
        html=framed,
        reply_to=message.reply_to or brand.support_email,
        sender=message.sender or formataddr((brand.product_name, address)),
        headers=message.headers,
    )


async def send_branded(tenant_id: uuid.UUID, message: mail.Mail) -> None:
    """Send `message` to a tenant's people in the tenant's brand (raises `mail.MailError`)."""
    await mail.send(branded(message, await brand_for_tenant(tenant_id)))
