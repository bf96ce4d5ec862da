"""Access token verification (web.auth.tokens): a token verified once is kept with its
claims, and only its expiry is checked again; nothing else about a kept token may pass that
verification would refuse."""

import time
import uuid

import jwt
import pytest

from runtime.settings import get_settings
from web.auth import tokens
from web.auth.tokens import TokenError, decode_access_token, issue_access_token


def _token(exp_in: float, **changes: object) -> str:
    auth = get_settings().auth
    now = int(time.time())
    payload = {
        "sub": str(uuid.uuid4()),
        "tenant_id": str(uuid.uuid4()),
        "role": "user",
        "partner_id": None,
        "iat": now,
        "exp": int(now + exp_in),
        "jti": uuid.uuid4().hex,
        "sv": 0,
        "iss": auth.issuer,
        "aud": auth.audience,
        **changes,
    }
    return jwt.encode(payload, auth.secret_key, algorithm="HS256")


def test_a_kept_token_is_refused_once_it_expires():
    token = _token(exp_in=2)
    first = decode_access_token(token)
    assert decode_access_token(token) is first, "the second call answers from the kept claims"
    time.sleep(max(first.exp - time.time(), 0) + 0.05)
    with pytest.raises(TokenError, match="expired"):
        decode_access_token(token)
    with pytest.raises(TokenError, match="expired"):  # and stays refused, kept or not
        decode_access_token(token)


def test_refused_tokens_are_never_kept():
    auth = get_settings().auth
    good = _token(exp_in=600)
    forged = good[: good.rindex(".") + 1] + ("A" if good[-1] != "A" else "B") * 43
    foreign = jwt.encode(jwt.decode(good, options={"verify_signature": False}), "x" * 40, algorithm="HS256")
    other_audience = _token(exp_in=600, aud="another-api")
    expired = _token(exp_in=-5)
    for bad in (forged, foreign, other_audience, expired):
        for _ in range(2):  # refused the second time too: a refusal is not kept
            with pytest.raises(TokenError):
                decode_access_token(bad)
        assert (bad, auth.secret_key, auth.issuer, auth.audience) not in tokens._verified


def test_the_kept_tokens_are_bounded(monkeypatch):
    monkeypatch.setattr(tokens, "VERIFIED_MAX", 3)
    monkeypatch.setattr(tokens, "_verified", {})
    issued = [issue_access_token(uuid.uuid4(), uuid.uuid4(), "user", None)[0] for _ in range(5)]
    claims = [decode_access_token(t) for t in issued]
    assert len(tokens._verified) == 3, "the oldest go first"
    assert [decode_access_token(t) for t in issued] == claims, "a token that was let go verifies again"
