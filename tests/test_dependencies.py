"""The dependency rule of docs/architecture.md, checked on every import in the tree:
web -> runtime <- actors, ledger -> runtime,
web and ledger -> billing -> runtime, plus the named exceptions listed there."""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import ROOT

PACKAGES = ("runtime", "actors", "web", "ledger", "billing", "tools")
ALLOWED = {
    "runtime": {"runtime"},
    "actors": {"actors", "runtime"},
    "web": {"web", "billing", "runtime"},
    "ledger": {"ledger", "billing", "runtime"},
    "billing": {"billing", "runtime"},
    "tools": set(PACKAGES),
}
# (importing file, imported module): each one named and explained in docs/architecture.md.
EXCEPTIONS = {
    ("web/executions/service.py", "ledger.budget"),
    ("web/tenant/budget.py", "ledger.budget"),
    ("web/tenant/budget.py", "ledger.budget_repository"),
    ("web/admin/service.py", "ledger.budget_repository"),
    ("web/models/service.py", "ledger.repository"),
    ("web/models/service.py", "ledger.pricing"),
    ("actors/execution.py", "ledger.budget"),
    ("web/workflows/service.py", "ledger.budget"),
    ("actors/workflow.py", "ledger.budget"),
}


def _imports(path: Path) -> set[str]:
    """Every module of ours that `path` imports (top level or inside functions)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = {f"{node.module}.{alias.name}" for alias in node.names}
            found |= {node.module} if node.module.count(".") else names
    return {name for name in found if name.split(".")[0] in PACKAGES}


def test_every_import_follows_the_dependency_rule() -> None:
    wrong = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            for module in _imports(path):
                top = module.split(".")[0]
                if top in ALLOWED[package]:
                    continue
                if (rel, module) not in EXCEPTIONS and (rel, module.rsplit(".", 1)[0]) not in EXCEPTIONS:
                    wrong.append(f"{rel} imports {module}")
    assert not wrong, "imports against docs/architecture.md's rule:\n" + "\n".join(wrong)
