"""requirements.lock matches pyproject.toml, and a dependency change without `make lock` is caught."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

from tools import lock


def test_the_committed_lock_matches_pyprojects_dependencies():
    assert lock.recorded() == lock.fingerprint(), "run `make lock` and commit requirements.lock"


def test_every_pin_carries_a_hash():
    text = lock.LOCK.read_text()
    pins = re.findall(
        r"^([A-Za-z0-9_.\-]+)==\S+ \\\n((?:\s+--hash=sha256:[0-9a-f]{64}\s*\\?\n?)+)", text, re.M
    )
    names = re.findall(r"^([A-Za-z0-9_.\-]+)==", text, re.M)
    assert len(names) > 20 and len(pins) == len(names)
    for required in ("litestar", "asyncpg", "pytest", "playwright"):
        assert required in {n.lower() for n in names}


def test_a_changed_dependency_list_fails_the_check(tmp_path):
    shutil.copy(lock.ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    changed = (
        (tmp_path / "pyproject.toml").read_text().replace('"pyjwt>=2.8,<3",', '"pyjwt>=2.8,<3",\n    "rich",')
    )
    (tmp_path / "pyproject.toml").write_text(changed)
    assert lock.fingerprint(tmp_path / "pyproject.toml") != lock.recorded()
    (tmp_path / "tools").mkdir()
    shutil.copy(lock.ROOT / "tools" / "lock.py", tmp_path / "tools" / "lock.py")
    shutil.copy(lock.LOCK, tmp_path / "requirements.lock")
    out = subprocess.run(
        [sys.executable, "tools/lock.py", "check"], cwd=tmp_path, capture_output=True, text=True
    )
    assert out.returncode == 1 and "make lock" in out.stderr
