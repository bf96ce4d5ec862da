"""Every error code is declared once, in `ErrorCode`: the codes written in the source are
all there, and the console's list is generated from it."""

from __future__ import annotations

import ast

from conftest import ROOT
from runtime.errors import ErrorCode
from tools import error_codes

# Calls whose first argument (or `code=`) is an error code a client sees.
CODED_CALLS = {
    "CodedError",
    "Rejected",
    "JobRejected",
    "FrameError",
    "BudgetExceeded",
    "ProviderError",
    "TransientProviderError",
    "ExecutionFailedError",
    "_fail",  # an execution ending failed (actors/execution.py)
    "Error",  # a WebSocket error frame (web/chat/protocol.py)
    "ErrorInfo",
    "ErrorBody",
}


def _codes_in_source() -> dict[str, str]:
    """code -> `file:line` of every literal code passed to a coded call in the tree."""
    found = {}
    for package in ("runtime", "actors", "web", "ledger"):
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if not isinstance(node, ast.Call):
                    continue
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                if name not in CODED_CALLS:
                    continue
                args = node.args[:1] + [k.value for k in node.keywords if k.arg == "code"]
                for arg in args:
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                        found[arg.value] = f"{path.relative_to(ROOT)}:{node.lineno}"
    return found


def test_every_code_in_the_source_is_declared() -> None:
    found = _codes_in_source()
    assert len(found) > 30, f"the scan finds too few codes to be looking in the right places: {found}"
    undeclared = {code: where for code, where in found.items() if code not in set(ErrorCode)}
    assert not undeclared, f"codes missing from runtime/errors.py ErrorCode: {undeclared}"


def test_the_console_error_code_list_matches_the_enum() -> None:
    assert error_codes.TARGET.read_text() == error_codes.render(), (
        "spa/src/lib/errorCodes.ts is stale: run `python -m tools.error_codes`"
    )
