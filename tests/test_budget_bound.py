"""The admission hold is an upper bound of every charge the run can cause, never an estimate.

Hypothesis draws prompts (CJK, emoji, ASCII, long histories, pending replies), rates (a
fallback dearer than the primary, partners, commissions), output limits and every way a run
can be billed (up to MAX_ATTEMPTS attempts, each answered by either model, each counted by
the provider, by our own count or by the worst tokenizer there is: one token per byte),
and checks hold >= charge. The database tests check the admission's own estimate (what web
holds) against the fake LLM's prompt: today's characters / 3 and primary-only bound failed.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actors.llm import prompt
from actors.providers import count_prompt_tokens, count_tokens
from helpers.ledger import make_rate, make_tenant, model_name
from ledger import budget
from ledger import budget_repository as brepo
from ledger.pricing import UNIT_SIZE, Commission, RateBook, SystemRateVersion
from runtime import db
from runtime.tables import Agent
from tools.fake_llm_replies import plan_for

D = Decimal
NOW = datetime(2026, 11, 30, tzinfo=UTC)
EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
OPENAI_PER_MESSAGE, OPENAI_PRIMING = 4, 3  # the chat format's own tokens (OpenAI cookbook)

# Text the way users write it: ASCII, CJK, emoji (astral, 4 bytes), accents, spaces.
ALPHABET = st.one_of(
    st.characters(min_codepoint=0x20, max_codepoint=0x7E),
    st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),
    st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF),
    st.characters(min_codepoint=0xC0, max_codepoint=0x17F),
    st.sampled_from([" ", "\n", "\u200d", "ﷺ"]),  # incl. the zero-width joiner of 👩‍💻
)
TEXT = st.text(ALPHABET, max_size=400)
RATE = st.decimals(min_value=D("0"), max_value=D("500"), places=6)


def rate(model: str, resource: str, cost: Decimal, billing: Decimal, unit: str) -> SystemRateVersion:
    return SystemRateVersion(uuid.uuid4(), model, resource, unit, cost, billing, EPOCH, None)


def byte_tokens(messages: list[dict[str, str]]) -> int:
    """The most tokens any BPE tokenizer can make of a chat: every byte its own token."""
    return sum(len(m["content"].encode()) + OPENAI_PER_MESSAGE for m in messages) + OPENAI_PRIMING


@st.composite
def runs(draw: st.DrawFn) -> dict:
    """A run: its prompt, its rates and how it got billed."""
    models = ["primary", "fallback"]
    unit = draw(st.sampled_from(sorted(UNIT_SIZE)))
    primary = [draw(RATE) for _ in range(2)]
    # The fallback is dearer (on at least one resource), as in the bug.
    fallback = [
        draw(RATE) + draw(st.decimals(min_value=D("0"), max_value=D("100"), places=6)) for _ in primary
    ]
    book = RateBook(
        rate(model, resource, billing / 2, billing, unit)
        for model, prices in zip(models, (primary, fallback), strict=True)
        for resource, billing in zip(("input_tokens", "output_tokens"), prices, strict=True)
    )
    history = draw(st.lists(TEXT, max_size=12))
    max_tokens = draw(st.integers(min_value=1, max_value=8192))
    pending = draw(st.lists(st.integers(min_value=0, max_value=max_tokens), max_size=3))
    attempts = draw(
        st.lists(
            st.tuples(st.sampled_from(models), st.sampled_from(["provider", "counted", "bytes", "fake"])),
            min_size=1,
            max_size=budget.MAX_ATTEMPTS,
        )
    )
    partner = draw(st.booleans())
    commission = (
        Commission(draw(st.decimals(min_value=0, max_value=100, places=2)), "margin") if partner else None
    )
    return {
        "book": book,
        "role": draw(TEXT),
        "content": draw(TEXT.filter(bool)),
        "history": history,
        "max_tokens": max_tokens,
        "pending": pending,
        "attempts": attempts,
        "partner": uuid.uuid4() if partner else None,
        "commission": commission,
        "output_text": draw(TEXT),
    }


def input_tokens_of(how: str, messages: list[dict[str, str]], pending: list[int]) -> int:
    """Input tokens one attempt is billed for, counted `how`."""
    replies = sum(pending) + OPENAI_PER_MESSAGE * len(pending)  # the same tokenizer re-reads them
    if how == "counted":
        return count_prompt_tokens(messages) + replies
    if how == "fake":
        body = {"messages": messages}
        return plan_for(body).prompt_tokens + replies
    return byte_tokens(messages) + replies  # a provider's tokenizer never beats one per byte


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(run=runs())
def test_the_hold_covers_every_charge_the_run_can_produce(run: dict) -> None:
    turns = [{"role": "user", "content": run["content"]}]
    turns += [{"role": "assistant" if i % 2 else "user", "content": t} for i, t in enumerate(run["history"])]
    messages = prompt(run["role"], turns, budget=10**9)  # every turn kept: the worst case
    content_bytes = budget.utf8_bytes(run["role"], run["content"], *run["history"])
    tokens_in = budget.input_bound(
        content_bytes,
        2 + len(run["history"]),
        pending_replies=len(run["pending"]),
        max_output=run["max_tokens"],
    )
    book, partner, commission = run["book"], run["partner"], run["commission"]
    hold = budget.bound(
        book, ["primary", "fallback"], partner, commission, (tokens_in, run["max_tokens"]), NOW
    )

    charged = D(0)
    for model, how in run["attempts"]:
        tokens_out = run["max_tokens"]
        if how == "counted":  # the actor counts a cancelled or broken reply, capped at the limit
            tokens_out = min(count_tokens(run["output_text"]), run["max_tokens"])
        tokens = (input_tokens_of(how, messages, run["pending"]), tokens_out)
        charged += budget.charge(book, model, partner, commission, tokens, NOW)
    assert hold >= charged, f"hold {hold} < charge {charged} ({run['attempts']})"


@given(text=st.text(ALPHABET, min_size=1, max_size=200))
def test_no_tokenizer_counts_more_input_than_utf8_bytes(text: str) -> None:
    assert count_tokens(text) <= len(text.encode())
    assert plan_for({"messages": [{"role": "user", "content": text}]}).prompt_tokens <= len(text.encode()) + 4


# --- the admission's own estimate, against the database ---------------------------------


async def _agent(tenant_id: uuid.UUID, llm_config: dict, role: str = "You answer briefly.") -> uuid.UUID:
    agent = Agent(tenant=tenant_id, name="Bound", role=role, llm_config=llm_config)
    async with db.scope(system=True):
        await Agent.insert(agent)
    return agent.id


async def _capped_tenant() -> uuid.UUID:
    tenant_id = await make_tenant(credit=None)
    async with db.scope(system=True):
        await brepo.set_tenant_cap(tenant_id, D("1000000"))
    return tenant_id


async def _model(billing: str) -> str:
    model = model_name("bound")
    for resource in ("input_tokens", "output_tokens"):
        await make_rate(model, resource, cost=str(D(billing) / 2), billing=billing)
    return model


async def _hold(tenant_id: uuid.UUID, agent_id: uuid.UUID, content: str) -> Decimal:
    call = budget.Call(tenant_id, None, agent_id, uuid.uuid4(), content)
    async with db.scope(tenant_id):
        estimate = await budget.estimate(call)
    assert estimate is not None
    return estimate.bound


async def test_the_hold_prices_the_dearer_fallback(database: str) -> None:
    tenant_id = await _capped_tenant()
    cheap, dear = await _model("0.1"), await _model("50")
    config = {
        "provider": "openai",
        "model": cheap,
        "max_tokens": 200,
        "fallback": {"provider": "demo", "model": dear},
    }
    agent_id = await _agent(tenant_id, config)
    hold = await _hold(tenant_id, agent_id, "hello there")
    messages = prompt("You answer briefly.", [{"role": "user", "content": "hello there"}])
    async with db.scope(tenant_id):
        fallback_answer = await budget.quote(tenant_id, dear, count_prompt_tokens(messages), 200)
    assert hold >= fallback_answer, "the fallback answered at a price the hold did not cover"


async def test_the_hold_covers_emoji_and_cjk_input_and_every_attempt(database: str) -> None:
    tenant_id = await _capped_tenant()
    model = await _model("2")
    agent_id = await _agent(tenant_id, {"provider": "openai", "model": model, "max_tokens": 16})
    content = "😀" * 3000 + "你好世界" * 500
    hold = await _hold(tenant_id, agent_id, content)
    messages = prompt("You answer briefly.", [{"role": "user", "content": content}])
    async with db.scope(tenant_id):
        # Our own count (a cancelled or usage-less reply): one token per emoji.
        counted = await budget.quote(tenant_id, model, count_prompt_tokens(messages), 16)
        # A byte-level tokenizer's worst case, once per attempt.
        worst = await budget.quote(tenant_id, model, byte_tokens(messages), 16)
    assert hold >= counted, "characters / 3 undershot emoji"
    assert hold >= worst * budget.MAX_ATTEMPTS, "a redelivered attempt is billed on its own"
