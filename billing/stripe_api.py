"""The Stripe client: the official SDK, pointed at `HB_STRIPE_API_BASE` (localstripe in
development and tests) with `HB_STRIPE_SECRET_KEY`."""

from __future__ import annotations

import functools
from decimal import Decimal

import stripe

from runtime.errors import CodedError
from runtime.settings import get_settings


class BillingUnavailable(CodedError):
    """Stripe is not configured or could not be reached; the caller retries later."""

    def __init__(self, message: str) -> None:
        super().__init__("billing_unavailable", message, 503)

    @classmethod
    def now(cls) -> BillingUnavailable:
        """Stripe was away or failed during this request."""
        return cls("Stripe could not be reached or failed; try again.")


@functools.cache
def client() -> stripe.StripeClient:
    """The process's Stripe client (no SDK retries: the scheduler retries, durably)."""
    settings = get_settings()
    if not settings.stripe_secret_key:
        raise BillingUnavailable("Payments are not configured (HB_STRIPE_SECRET_KEY).")
    base = settings.stripe_api_base
    return stripe.StripeClient(
        settings.stripe_secret_key,
        base_addresses={"api": base.rstrip("/")} if base else None,
        max_network_retries=0,
        http_client=stripe.HTTPXClient(allow_sync_methods=True),
    )


UNAVAILABLE = (stripe.APIConnectionError, stripe.APIError, stripe.RateLimitError, stripe.AuthenticationError)
"""Stripe errors that are not about the request: Stripe down, overloaded, or misconfigured."""


def cents(amount: Decimal) -> int:
    """A Decimal amount already rounded to cents, as Stripe's integer minor units."""
    return int((amount * 100).to_integral_value())
