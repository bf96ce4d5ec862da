"""`localstripe`: localstripe (a stateful fake Stripe) served by this test process on the port
conftest put in `HB_STRIPE_API_BASE`, so every process the suite starts talks to it over HTTP.

`await localstripe.stop()` / `await localstripe.start()` take it down and up again (its state
survives: it lives in this process). `add_card(...)` does what Stripe.js does in the browser:
create the card's payment method and confirm the SetupIntent with it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from aiohttp import web

from conftest import STRIPE_PORT, STRIPE_WEBHOOK_SECRET
from helpers.api import ApiUser
from tools.fake_stripe import start

GOOD_CARD = "4242424242424242"
DECLINED_CARD = "4000000000000341"  # attaches, then every charge is declined
WEBHOOK = "/api/v1/billing/stripe/webhook"


@dataclass
class LocalStripe:
    base_url: str
    runner: web.AppRunner | None = None

    async def start(self) -> None:
        if self.runner is None:
            self.runner = await start("127.0.0.1", STRIPE_PORT)

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None

    async def send_webhooks_to(self, url: str) -> None:
        """Have localstripe sign and POST its events to `url` (our webhook route)."""
        async with httpx.AsyncClient() as c:
            r = await c.post(
                f"{self.base_url}/_config/webhooks/hirebuddha",
                data={"url": url, "secret": STRIPE_WEBHOOK_SECRET},
            )
            r.raise_for_status()

    async def add_card(self, setup_intent_id: str, client_secret: str, number: str = GOOD_CARD) -> str:
        """Stripe.js's part: a card payment method, then the SetupIntent confirmed with it."""
        auth = {"Authorization": "Bearer sk_test_hirebuddha"}
        async with httpx.AsyncClient(base_url=self.base_url, headers=auth) as c:
            pm = await c.post(
                "/v1/payment_methods",
                data={
                    "type": "card",
                    "card[number]": number,
                    "card[exp_month]": "12",
                    "card[exp_year]": "2030",
                    "card[cvc]": "123",
                },
            )
            pm.raise_for_status()
            r = await c.post(
                f"/v1/setup_intents/{setup_intent_id}/confirm",
                data={"payment_method": pm.json()["id"], "client_secret": client_secret},
            )
            r.raise_for_status()
            return pm.json()["id"]


async def add_card(admin: ApiUser, localstripe: LocalStripe, number: str = "4242424242424242") -> dict:
    r = await admin.post("/api/v1/tenant/billing/setup-intents")
    assert r.status_code == 201, r.text
    intent = r.json()
    assert intent["stripe_js_url"].endswith("/js.stripe.com/v3/")
    await localstripe.add_card(intent["id"], intent["client_secret"], number)
    r = await admin.post("/api/v1/tenant/billing/payment-methods", json={"setup_intent_id": intent["id"]})
    assert r.status_code == 201, r.text
    return r.json()


def signed(event: dict, secret: str = STRIPE_WEBHOOK_SECRET, at: int | None = None) -> tuple[bytes, dict]:
    body = json.dumps(event).encode()
    ts = int(time.time()) if at is None else at
    sig = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return body, {"Stripe-Signature": f"t={ts},v1={sig}", "Content-Type": "application/json"}


def event(kind: str, obj: dict) -> dict:
    return {
        "id": f"evt_{uuid.uuid4().hex}",
        "object": "event",
        "type": kind,
        "created": int(time.time()),
        "data": {"object": obj},
    }


@pytest.fixture(scope="session")
async def localstripe() -> AsyncIterator[LocalStripe]:
    fake = LocalStripe(f"http://127.0.0.1:{STRIPE_PORT}")
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()
