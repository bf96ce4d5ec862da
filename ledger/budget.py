"""Budgets: prepaid credit and monthly caps that hold under concurrent admissions.

Rules:
- Prepaid: a tenant with a subscription and no payment method on file spends its credit
  (subscriptions.credit_balance) only. A tenant without a subscription, or with a payment
  method, has no prepaid limit (it is invoiced); only its caps bound it.
- Caps: optional monthly spend caps (tenant_cost per calendar month, UTC) per tenant
  (tenants.monthly_cap) and per user (users.monthly_cap); NULL = no cap.
- A call is admitted only if its upper bound fits every limit that applies:
      spent this month (ledger entries) + open holds + bound <= cap
      credit_balance - open holds >= bound            (the ledger already debited spent)
  and then its bound is held in budget_reservations, in the admission's transaction.
- The bound is an upper bound of every charge the execution can cause, never an estimate
  that may undershoot (`bound`; `tests/test_budget_bound.py` hammers it):
  * input tokens <= UTF-8 bytes of everything the prompt holds (the role, the session
    history, the new input, an output schema) + MESSAGE_OVERHEAD_TOKENS per message: a BPE
    token is at least one byte, so no tokenizer makes more tokens than bytes (CJK and emoji
    take 3-4 bytes a character and often a token each: characters / 3 undershot them);
    a reply of an earlier execution of the session still running is not written yet but
    will be history: it counts as `max_tokens` (+ overhead) per such execution;
  * output tokens <= the agent's `max_tokens` (DEFAULT_MAX_OUTPUT_TOKENS without one; the
    actor sends that limit to the provider, and caps what it counts itself to it);
  * priced with the dearest model the run may call (`llm_config.model` and its
    `llm_config.fallback.model`) by `ledger.pricing.price`, the ledger's own function, at
    the rates in force now;
  * times MAX_ATTEMPTS: each attempt (a redelivery after an actors process died) is
    billed on its own, at most one usage event per attempt.
  A model without a rate in force prices at 0: the ledger cannot price its usage either
  (such events are dead-lettered for the app admin), so it costs nothing. A rate that
  changes between admission and the call is the one thing the bound cannot foresee.
- A reservation holds `amount - spent` while that is positive. The ledger adds each
  recorded entry's tenant_cost to `spent` in the transaction of the entries (money moves
  from "held" to "spent", never counted twice); `release` at a terminal state lowers
  `amount` to the price of the tokens the execution actually used, freeing the rest.
- Atomicity: admission locks the tenant row (FOR NO KEY UPDATE) and reads spend and holds
  in one statement, so N concurrent admissions see each other's holds: never more than
  the limit is admitted, whatever N.
  The bound is estimated before that lock (`estimate`), so the lock covers only the
  lock, the spend read and the insert.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import msgspec

from ledger import budget_repository as brepo
from ledger import repository as repo
from ledger.pricing import ZERO, Commission, PricingError, RateBook, price, round6
from runtime import db
from runtime.errors import CodedError
from runtime.settings import ActorsSettings

log = logging.getLogger("hirebuddha.ledger")

MESSAGE_OVERHEAD_TOKENS = 8
"""Role markers and separators the chat format adds per message (OpenAI: 3-4, plus 3 that
prime the reply; our own count and the fake LLM: 4)."""
DEFAULT_MAX_OUTPUT_TOKENS = 4096
"""Output bound of an agent without `llm_config.max_tokens` (the actor sends it as the limit)."""
MAX_ATTEMPTS: int = next(
    f.default for f in msgspec.structs.fields(ActorsSettings) if f.name == "max_attempts"
)
"""Attempts the actors make at one execution (the default of `hirebuddha actors
--max-attempts`, `ActorsSettings.max_attempts`): an actors process that dies mid-reply is
billed for what it streamed, and the attempt that takes over is billed on its own. Raising
the flag above this lets a hold undershoot."""
SCHEMA_OVERHEAD_TOKENS = 64
"""The tool definition wrapped around an `output_schema` (name, description, keys)."""
HISTORY_MESSAGES = 200
"""Messages of history the actor sends (actors.store.history's limit)."""
RELEASE_AFTER_S = 300.0
"""The sweeper's N: a terminal execution's reservation left unreleased this long is released."""


class BudgetExceeded(CodedError):
    """The call does not fit: `code` names the limit (credit or which cap)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message, 402)


@dataclass(frozen=True)
class Call:
    """One call asking for admission."""

    tenant_id: uuid.UUID
    user_id: uuid.UUID | None
    agent_id: uuid.UUID
    execution_id: uuid.UUID
    content: str = ""
    session_id: uuid.UUID | None = None


def month_start(at: datetime | None = None) -> datetime:
    """Start of the calendar month (UTC) containing `at` (default now)."""
    at = (at or datetime.now(UTC)).astimezone(UTC)
    return at.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def utf8_bytes(*texts: str) -> int:
    """UTF-8 bytes of `texts`: no tokenizer makes more tokens of them than this."""
    return sum(len(text.encode()) for text in texts)


def input_bound(content_bytes: int, messages: int, *, pending_replies: int = 0, max_output: int = 0) -> int:
    """The most input tokens a prompt of `content_bytes` in `messages` messages can count as.

    One token per UTF-8 byte (no BPE token is shorter) plus the per-message overhead; each
    of `pending_replies` (earlier replies of the session not written yet) adds a message of
    up to `max_output` tokens.
    """
    messages += pending_replies
    return content_bytes + pending_replies * max_output + MESSAGE_OVERHEAD_TOKENS * messages


def output_bound(llm_config: dict) -> int:
    """The most output tokens one call of the agent can produce (the limit the actor sends)."""
    return int(llm_config.get("max_tokens") or DEFAULT_MAX_OUTPUT_TOKENS)


def models_of(llm_config: dict) -> list[str]:
    """Every model the run may call: the agent's, then its fallback's (`actors.llm.Providers`)."""
    models = [str(llm_config.get("model") or "demo")]
    fallback = llm_config.get("fallback")
    if isinstance(fallback, dict):
        models.append(str(fallback.get("model") or "demo"))
    return models


def charge(
    book: RateBook,
    model: str,
    partner_id: uuid.UUID | None,
    commission: Commission | None,
    tokens: tuple[int, int],
    at: datetime,
) -> Decimal:
    """What one usage event of (input, output) `tokens` of `model` costs the tenant at `at`.

    Priced per resource by `ledger.pricing.price`, exactly as the ledger prices its entries;
    a resource without a rate in force costs 0 (see the module docstring).
    """
    total = ZERO
    for resource, quantity in zip(("input_tokens", "output_tokens"), tokens, strict=True):
        if quantity <= 0:
            continue
        try:
            rate = book.resolve(model, resource, partner_id, at)
        except PricingError:
            continue
        total += price(quantity, rate, commission).tenant_cost
    return round6(total)


def bound(
    book: RateBook,
    models: Sequence[str],
    partner_id: uuid.UUID | None,
    commission: Commission | None,
    tokens: tuple[int, int],
    at: datetime,
    attempts: int = MAX_ATTEMPTS,
) -> Decimal:
    """The hold: `attempts` charges of `tokens` at the dearest of `models` (module docstring)."""
    dearest = max((charge(book, m, partner_id, commission, tokens, at) for m in models), default=ZERO)
    return dearest * attempts


def check(limits: brepo.Limits, spend: brepo.Spend, bound: Decimal) -> BudgetExceeded | None:
    """The first limit `bound` would break (credit, tenant cap, user cap), or None."""
    if limits.prepaid:
        available = (spend.credit_balance or ZERO) - spend.tenant_held
        if bound > available or available <= 0:
            return BudgetExceeded(
                "insufficient_credit",
                f"Prepaid credit is insufficient: {max(available, ZERO)} available, "
                f"this call may cost up to {bound}.",
            )
    if limits.tenant_cap is not None:
        used = spend.tenant_spent + spend.tenant_held
        if used + bound > limits.tenant_cap:
            return BudgetExceeded(
                "tenant_cap_reached",
                f"The workspace's monthly spend cap of {limits.tenant_cap} would be exceeded "
                f"({used} spent or held, this call may cost up to {bound}).",
            )
    if limits.user_cap is not None:
        used = spend.user_spent + spend.user_held
        if used + bound > limits.user_cap:
            return BudgetExceeded(
                "user_cap_reached",
                f"Your monthly spend cap of {limits.user_cap} would be exceeded "
                f"({used} spent or held, this call may cost up to {bound}).",
            )
    return None


async def _priced(
    tenant_id: uuid.UUID, models: Sequence[str], tokens: tuple[int, int], attempts: int
) -> Decimal:
    billing = (await repo.tenants([tenant_id])).get(tenant_id)
    partner_id = None if billing is None else billing.partner_id
    commission = None if billing is None else billing.commission
    book = await repo.rate_book(models, [partner_id] if partner_id else [])
    return bound(book, models, partner_id, commission, tokens, datetime.now(UTC), attempts)


async def quote(tenant_id: uuid.UUID, model: str, input_tokens: int, output_tokens: int) -> Decimal:
    """What the tenant pays for one usage event of these tokens of `model` at the rates now."""
    return await _priced(tenant_id, [model], (input_tokens, output_tokens), attempts=1)


async def _bound(call: Call, prompt: dict) -> Decimal:
    config = prompt["llm_config"]
    max_output = output_bound(config)
    content, messages = utf8_bytes(prompt["role"], call.content), 2
    if prompt.get("output_schema"):  # sent as a tool definition (instructor)
        content += utf8_bytes(json.dumps(prompt["output_schema"])) + SCHEMA_OVERHEAD_TOKENS
    history = brepo.History()
    if call.session_id is not None:
        history = await brepo.history_size(call.session_id, call.tenant_id, HISTORY_MESSAGES)
    input_tokens = input_bound(
        content + history.bytes,
        messages + history.messages,
        pending_replies=history.replies_pending,
        max_output=max_output,
    )
    return await _priced(call.tenant_id, models_of(config), (input_tokens, max_output), MAX_ATTEMPTS)


@dataclass(frozen=True)
class Estimate:
    """A call's bound, computed before admission takes its lock (`estimate`)."""

    bound: Decimal
    model: str


async def estimate(call: Call) -> Estimate | None:
    """The call's bound, or None when no limit applies to the tenant (nothing to hold).

    Reads only, without locks: admissions serialize per tenant, so the prompt size and
    rates (five statements) are read here, before the lock, and `hold` keeps the locked
    part to three. A limit set between the two is only missed the way an admission just
    before it would be; `hold` checks against the limits it reads locked.
    """
    limits = await brepo.lock_limits(call.tenant_id, call.user_id, lock=False)
    if limits is None or not limits.any:
        return None
    prompt = await brepo.agent_prompt(call.agent_id, call.tenant_id)
    if prompt is None:
        return None  # admission answers "agent not found" itself
    model = models_of(prompt["llm_config"])[0]
    return Estimate(await _bound(call, prompt), model)


@dataclass(frozen=True)
class StepBound:
    """One LLM step of a workflow for its run's hold: the model settings, the bytes of
    its prompt (system, template and the run's input), its output schema's, and how many
    calls it may make (retries, map items)."""

    llm_config: dict
    content_bytes: int
    calls: int


async def estimate_steps(
    tenant_id: uuid.UUID, user_id: uuid.UUID | None, steps: list[StepBound]
) -> Estimate | None:
    """The bound of a workflow run: the sum of every step's, each as `_bound` prices one
    call (None when no limit applies). A step's prompt quotes upstream outputs, so each
    upstream LLM step's output bound is counted into it by the caller."""
    limits = await brepo.lock_limits(tenant_id, user_id, lock=False)
    if limits is None or not limits.any or not steps:
        return None
    total = Decimal(0)
    for step in steps:
        models = models_of(step.llm_config)
        tokens = (input_bound(step.content_bytes, 2), output_bound(step.llm_config))
        total += step.calls * await _priced(tenant_id, models, tokens, MAX_ATTEMPTS)
    return Estimate(total, models_of(steps[0].llm_config)[0])


async def hold(call: Call, est: Estimate | None) -> Decimal | None:
    """Lock the tenant row, check `est` against every limit and hold it; or BudgetExceeded."""
    if est is None:
        return None
    limits = await brepo.lock_limits(call.tenant_id, call.user_id)
    if limits is None or not limits.any:
        return None
    spend = await brepo.spend(
        call.tenant_id, call.user_id, month_start(), per_user=limits.user_cap is not None
    )
    if (refusal := check(limits, spend, est.bound)) is not None:
        raise refusal
    await brepo.insert_reservation(
        tenant_id=call.tenant_id,
        user_id=call.user_id,
        execution_id=call.execution_id,
        agent_id=call.agent_id,
        model=est.model,
        amount=est.bound,
    )
    return est.bound


async def reserve(call: Call) -> Decimal | None:
    """Admit `call` or raise BudgetExceeded; returns the amount held (None: no limit applies).

    Runs inside the caller's transaction (the admission's `db.scope(tenant_id)`), so the
    hold commits or rolls back with the execution row.
    """
    return await hold(call, await estimate(call))


def _tokens(usage: object) -> tuple[int, int]:
    if isinstance(usage, str):
        import json

        usage = json.loads(usage)
    if not isinstance(usage, dict):
        return 0, 0
    return int(usage.get("input_tokens") or 0), int(usage.get("output_tokens") or 0)


async def release(execution_id: uuid.UUID, tenant_id: uuid.UUID) -> bool:
    """Free what an ended execution does not need: call once it is completed/failed/cancelled.

    The hold shrinks to the price of the tokens the execution recorded (executions.usage),
    so what the ledger has not written yet stays held and the rest is free at once. Safe to
    call twice or concurrently (the sweeper); does nothing while the execution is still
    pending or running, or without a reservation. True when this call released it.
    """
    async with db.scope(tenant_id):
        row = await brepo.releasable(execution_id)
        if row is None:
            return False
        input_tokens, output_tokens = _tokens(row["usage"])
        final = await quote(row["tenant_id"], row["model"], input_tokens, output_tokens)
        await brepo.mark_released(execution_id, final)
    return True


async def sweep(older_than_s: float = RELEASE_AFTER_S, limit: int = 500) -> int:
    """Release what actors did not (a crash at the end), then drop long-stale residue.

    Run by the ledger process every minute; returns how many reservations it released.
    """
    async with db.scope(system=True):
        pending = await brepo.stale(older_than_s, limit)
    released = 0
    for tenant_id, execution_id in pending:
        released += await release(execution_id, tenant_id)
    async with db.scope(system=True):
        dropped = await brepo.drop_residuals(older_than_s)
    if released or dropped:
        log.info("ledger.sweep: released %d reservations, dropped %d residues", released, dropped)
    return released
