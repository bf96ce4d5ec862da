"""A registry of the log files of every `conftest.Process` started in this run.

Importing this module (at collection, before any test runs) wraps `Process.__init__` so each
child's log path is recorded; `secret_audit` greps all of them at the end of the session.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import conftest

LOGS: list[str] = []
_start = conftest.Process.__init__


def _start_and_record(self: conftest.Process, *args: str, env: dict[str, str] | None = None) -> None:
    _start(self, *args, env=env)
    LOGS.append(self.log.name)


if getattr(conftest.Process.__init__, "__name__", "") != "_start_and_record":
    conftest.Process.__init__ = _start_and_record  # type: ignore[method-assign]


def secrets_in_logs(secrets: set[str]) -> list[str]:
    """`<log path>: <secret prefix>` for every secret found in a process log of this run."""
    found = []
    for path in LOGS:
        text = Path(path).read_text(errors="replace") if Path(path).exists() else ""
        found += [f"{path}: {s[:10]}..." for s in secrets if s and s in text]
    return found


@pytest.fixture(scope="session")
def secret_audit() -> Iterator[set[str]]:
    """Secrets a test used; at the end of the session every process log of the run (those
    started after this test too) is grepped for them, and any hit fails the session."""
    secrets: set[str] = {"test-key"}  # the provider key every running_platform hands out
    yield secrets
    found = secrets_in_logs(secrets)
    assert not found, "secrets written to process logs:\n" + "\n".join(found)
