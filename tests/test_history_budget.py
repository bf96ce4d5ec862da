"""The history sent with a call is bounded by the model: its context window minus the reply.

`Providers.history_budget` reads the catalog (the real database); `prompt` keeps the system
prompt always, the newest turn always, and drops the oldest turns first.
"""

from __future__ import annotations

import uuid

from actors.llm import HISTORY_TOKEN_BUDGET, Providers, prompt
from actors.providers import count_prompt_tokens
from helpers.catalog import catalog_model
from runtime.settings import get_settings

ROLE = "You are a careful recruiter who never forgets its instructions."


def conversation(turns: int, words: int = 50) -> list[dict[str, str]]:
    """`turns` turns, newest first (as the store loads them), each of `words` words."""
    out = []
    for k in range(turns):
        role = "user" if k % 2 == 0 else "assistant"
        out.append({"role": role, "content": f"turn{k} " + "word " * (words - 1)})
    return out


def test_a_long_conversation_is_cut_oldest_first_and_keeps_the_system_prompt() -> None:
    turns = conversation(40)
    messages = prompt(ROLE, turns, budget=500)
    assert messages[0] == {"role": "system", "content": ROLE}
    kept = messages[1:]
    assert 1 < len(kept) < len(turns)
    # The kept turns are the newest ones, in chronological order, with nothing skipped.
    assert [m["content"] for m in kept] == [t["content"] for t in reversed(turns[: len(kept)])]
    assert count_prompt_tokens(messages) <= 500
    # One more turn would not have fitted.
    longer = [
        {"role": "system", "content": ROLE},
        {"role": "x", "content": turns[len(kept)]["content"]},
        *kept,
    ]
    assert count_prompt_tokens(longer) > 500


def test_the_newest_turn_and_the_system_prompt_survive_any_budget() -> None:
    huge = {"role": "user", "content": "big " * 10_000}
    messages = prompt(ROLE, [huge, *conversation(4)], budget=10)
    assert messages == [{"role": "system", "content": ROLE}, huge]


async def test_the_budget_is_the_context_window_minus_the_reply(database: str) -> None:
    key = await catalog_model(f"ctx-{uuid.uuid4().hex[:6]}", context_window=2000, max_output_tokens=300)
    providers = Providers(get_settings())
    try:
        assert await providers.history_budget({"model": key}) == 1700
        assert await providers.history_budget({"model": key, "max_tokens": 1000}) == 1000
        assert (
            await providers.history_budget({"model": f"unknown-{uuid.uuid4().hex}"}) == HISTORY_TOKEN_BUDGET
        )
        small = prompt(
            ROLE, conversation(100), await providers.history_budget({"model": key, "max_tokens": 1000})
        )
        assert 1 < len(small) < 101 and count_prompt_tokens(small) <= 1000
    finally:
        await providers.close()
