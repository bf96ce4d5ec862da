"""Security headers on every HTTP answer of the web process (console, API, docs).

The console is a Vite build: one module script and stylesheets from /assets, no inline
script, no third-party origin but Stripe's (where cards are added), so its policy names only
'self' and, when payments are configured, Stripe.js's and the Stripe API's origins. React writes `style`
through the CSSOM, which `style-src 'self'` allows. WebSockets go to the same origin, which
CSP Level 3 `'self'` covers (ws: and wss: of the page's host).

The OpenAPI viewer at /schema is Litestar's page (inline bootstrap script, a CDN bundle), so
it gets its own, looser policy; it is a developer page with no session of its own.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from litestar.types import BeforeMessageSendHookHandler, Message, Scope

from runtime.settings import Settings

CONSOLE_CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
"""The console's policy without payments (and every API answer's: JSON never needs more)."""


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def console_csp(settings: Settings) -> str:
    """CONSOLE_CSP plus Stripe's origins where a payment method is added (docs/billing.md):
    Stripe.js from `HB_STRIPE_JS_URL`, its calls to the Stripe API, and its frames. With
    localstripe both are the fake's loopback origin."""
    if not settings.stripe_secret_key:
        return CONSOLE_CSP
    js = _origin(settings.stripe_js_url)
    api = _origin(settings.stripe_api_base) if settings.stripe_api_base else "https://api.stripe.com"
    return (
        CONSOLE_CSP.replace("script-src 'self'", f"script-src 'self' {js}")
        .replace("connect-src 'self'", f"connect-src 'self' {api}")
        .replace("frame-ancestors", f"frame-src {js} https://hooks.stripe.com; frame-ancestors")
    )


DOCS_CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://unpkg.com",
        "style-src 'self' 'unsafe-inline' https://fonts.googleapis.com https://cdn.jsdelivr.net https://unpkg.com",
        "font-src 'self' https://fonts.gstatic.com",
        "img-src 'self' data: https:",
        "worker-src 'self' blob:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)
"""The OpenAPI viewer's policy: its CDN bundle and inline bootstrap, still never framed."""

HSTS = "max-age=31536000; includeSubDomains"
"""One year; sent only when the deployment says it is behind TLS (`HB_SECURE_COOKIES`)."""


def header_set(settings: Settings, path: str) -> list[tuple[bytes, bytes]]:
    """The security headers for one response path."""
    csp = DOCS_CSP if path == "/schema" or path.startswith("/schema/") else console_csp(settings)
    headers = [
        (b"content-security-policy", csp.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"no-referrer"),
        (b"cross-origin-opener-policy", b"same-origin"),
        (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
    ]
    if settings.http.secure_cookies:
        headers.append((b"strict-transport-security", HSTS.encode()))
    return headers


def security_headers(settings: Settings) -> BeforeMessageSendHookHandler:
    """A `before_send` hook adding `header_set` to every HTTP response start.

    A header the handler set itself (e.g. the SPA's own nosniff) is replaced, never doubled.
    """

    async def hook(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        extra = header_set(settings, scope.get("path", ""))
        names = {name for name, _ in extra}
        kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
        message["headers"] = kept + extra

    return hook
