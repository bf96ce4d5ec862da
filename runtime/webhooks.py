"""Signed webhooks: `Hirebuddha-Signature: t=<unix ts>,v1=<hex HMAC-SHA256(secret, "<ts>." + body)>`.

The receiver recomputes the HMAC over the timestamp, a dot and the raw body with its
tenant's webhook secret, compares in constant time and rejects stale timestamps (replay).
Delivery retries with exponential backoff; every attempt is reported to `on_attempt`.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from collections.abc import Awaitable, Callable

import httpx
import msgspec

from runtime.urlguard import UnsafeUrl, guarded_transport

HEADER = "Hirebuddha-Signature"


class Attempt(msgspec.Struct, frozen=True):
    """What one delivery attempt got."""

    number: int
    status_code: int | None
    error: str | None

    @property
    def ok(self) -> bool:
        """2xx counts as delivered."""
        return self.status_code is not None and 200 <= self.status_code < 300


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The signature header value for `body`."""
    ts = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={ts},v1={digest}"


def verify(secret: str, body: bytes, header: str, tolerance_s: int = 300, now: float | None = None) -> bool:
    """True when `header` signs `body` with `secret` within `tolerance_s` of now."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        ts = int(parts["t"])
    except (ValueError, KeyError):
        return False
    if abs((time.time() if now is None else now) - ts) > tolerance_s:
        return False
    expected = sign(secret, body, ts).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


async def deliver(
    url: str,
    body: bytes,
    secret: str,
    on_attempt: Callable[[Attempt], Awaitable[None]],
    *,
    attempts: int = 6,
    base_delay_s: float = 1.0,
    timeout_s: float = 10.0,
) -> bool:
    """POST until a 2xx or `attempts` are spent; delay doubles after each failure.

    Every connection passes the URL guard (runtime.urlguard) at connect time; an address it
    refuses ends the delivery at once: retrying would only knock again at the same door.
    """
    transport = guarded_transport()
    async with httpx.AsyncClient(timeout=timeout_s, follow_redirects=False, transport=transport) as client:
        for number in range(1, attempts + 1):
            headers = {"content-type": "application/json", HEADER: sign(secret, body)}
            refused = None
            try:
                response = await client.post(url, content=body, headers=headers)
                attempt = Attempt(number, response.status_code, None)
            except UnsafeUrl as exc:  # a URL that was never valid (submit time missed it)
                refused = exc
                attempt = Attempt(number, None, f"{exc.code}: {exc}"[:500])
            except httpx.HTTPError as exc:
                refused = _guard_refusal(exc)
                message = f"{refused.code}: {refused}" if refused else f"{type(exc).__name__}: {exc}"
                attempt = Attempt(number, None, message[:500])
            await on_attempt(attempt)
            if attempt.ok:
                return True
            if refused is not None:
                return False
            if number < attempts:
                await asyncio.sleep(base_delay_s * 2 ** (number - 1))
    return False


def _guard_refusal(exc: BaseException) -> UnsafeUrl | None:
    """The guard's refusal behind a transport error, if that is what it was."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, UnsafeUrl):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None
