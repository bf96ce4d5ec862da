"""Secrets at rest: Fernet encryption of provider keys and other system_configs secrets.

Plaintext exists only in the memory of the process that uses it, just before use; it is
never logged (see `redact`) and never returned by any API.
"""

from __future__ import annotations

import functools

from cryptography.fernet import Fernet, InvalidToken

from runtime.settings import get_settings


@functools.cache
def _fernet() -> Fernet:
    return Fernet(get_settings().auth.fernet_key.encode())


def encrypt(plaintext: str) -> str:
    """Encrypt a secret for storage."""
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    """Decrypt a stored secret; raises ValueError when the key does not match."""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("stored secret cannot be decrypted with HB_FERNET_KEY") from exc


def redact(secret: str | None) -> str:
    """What may appear in a log or an API answer in place of a secret."""
    return "" if not secret else f"…{secret[-4:]}" if len(secret) > 12 else "****"
