"""`hirebuddha bench`: the runtime measured against its own floor (README "Performance").

Starts a fake LLM, the web, actors and ledger processes (and a baseline server with no
broker and no database) on a database and AMQP prefix of its own, runs the scenarios and
prints each figure beside its floor. `tools.bench.cli` has the flags.
"""

from __future__ import annotations


def main(argv: list[str] | None = None) -> int:
    """Entry point of `hirebuddha bench ...` (argv = the words after `bench`)."""
    from tools.bench.cli import main as run

    return run(argv)


__all__ = ["main"]
