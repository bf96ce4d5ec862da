"""The Python lock file (requirements.lock): hashes of every pinned distribution, and a
fingerprint of pyproject's dependency lists so `make install` notices when they changed
without `make lock` (which would otherwise install a stale set, silently).

    python -m tools.lock check   # exit 1 with the fix when pyproject and the lock disagree
    python -m tools.lock stamp   # after `uv pip compile`: put the fingerprint in the header
"""

from __future__ import annotations

import hashlib
import json
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"
MARK = "# pyproject-deps-sha256: "


def fingerprint(pyproject: Path = ROOT / "pyproject.toml") -> str:
    """sha256 of the runtime and dev dependency lists and the Python requirement, sorted."""
    project = tomllib.loads(pyproject.read_text())["project"]
    deps = {
        "python": project.get("requires-python", ""),
        "runtime": sorted(project.get("dependencies", [])),
        "dev": sorted(project.get("optional-dependencies", {}).get("dev", [])),
    }
    return hashlib.sha256(json.dumps(deps, sort_keys=True).encode()).hexdigest()


def recorded(lock: Path = LOCK) -> str | None:
    """The fingerprint written in the lock's header, if any."""
    if not lock.exists():
        return None
    for line in lock.read_text().splitlines():
        if line.startswith(MARK):
            return line.removeprefix(MARK).strip()
    return None


def stamp(lock: Path = LOCK) -> None:
    lines = [line for line in lock.read_text().splitlines() if not line.startswith(MARK)]
    lock.write_text("\n".join([MARK + fingerprint(), *lines]) + "\n")


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "check"
    if command == "stamp":
        stamp()
        return 0
    if recorded() != fingerprint():
        print(
            "requirements.lock does not match pyproject.toml's dependencies (they changed, or the "
            "lock is missing): run `make lock` and commit requirements.lock.",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
