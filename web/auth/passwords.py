"""Argon2id password hashing with OWASP parameters (m=19 MiB, t=2, p=1).

Hashing runs in a worker thread: it is deliberately slow and would stall the event loop.
A dummy hash is verified for unknown emails so both failures cost the same time.
"""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1, hash_len=32, salt_len=16)
_DUMMY = HASHER.hash("not-a-real-password-but-same-cost")


async def hash_password(password: str) -> str:
    """An argon2id hash of `password`."""
    return await asyncio.to_thread(HASHER.hash, password)


def _verify(hashed: str | None, password: str) -> bool:
    try:
        return HASHER.verify(hashed or _DUMMY, password) and hashed is not None
    except (VerificationError, InvalidHashError):
        return False


async def verify_password(hashed: str | None, password: str) -> bool:
    """True when `password` matches; with `hashed=None` spends the same time and is False."""
    return await asyncio.to_thread(_verify, hashed, password)


def needs_rehash(hashed: str) -> bool:
    """True when the stored hash was made with other parameters than HASHER's."""
    return HASHER.check_needs_rehash(hashed)
