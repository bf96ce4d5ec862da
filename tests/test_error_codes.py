"""The console's list of error codes is the platform's: generated from `ErrorCode`."""

from __future__ import annotations

import pytest

from runtime.errors import CodedError, ErrorCode
from tools import error_codes


def test_the_console_error_code_list_matches_the_enum() -> None:
    assert error_codes.TARGET.read_text() == error_codes.render(), (
        "spa/src/lib/errorCodes.ts is stale: run `python -m tools.error_codes`"
    )


def test_a_coded_error_with_an_undeclared_code_is_refused() -> None:
    assert CodedError("rate_limited", "busy", 429).code is ErrorCode.RATE_LIMITED
    with pytest.raises(ValueError):
        CodedError("no_such_code", "x")
