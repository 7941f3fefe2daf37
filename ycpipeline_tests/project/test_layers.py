"""Layers point one way: the domain knows nothing of Dagster, the CLI or the sandbox; only the CLI and
the tests compose the sandbox (the demo) with the pipeline, and the sandbox, a package beside
`ycpipeline`, takes from it only the client it hands out."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "ycpipeline"
SANDBOX = ROOT / "ycpipeline_sandbox"
DOMAIN = ("client", "normalize", "validation", "warehouse", "sync", "loyalty", "webhooks", "alerts")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _modules(*, outside: tuple[str, ...] = (), inside: tuple[str, ...] = ()) -> list[Path]:
    paths = sorted(PACKAGE.rglob("*.py"))
    if inside:
        paths = [p for p in paths if p.relative_to(PACKAGE).parts[0] in inside]
    return [p for p in paths if p.relative_to(PACKAGE).parts[0] not in outside]


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_nothing_but_the_cli_imports_the_sandbox() -> None:
    offenders = {
        str(path.relative_to(PACKAGE)): sorted(m for m in _imports(path) if _within(m, "ycpipeline_sandbox"))
        for path in _modules(outside=("cli",))
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_sandbox_takes_only_the_client_from_the_pipeline() -> None:
    """`sandbox_client` hands out the pipeline's own client; nothing else of `ycpipeline` (above all its
    settings, warehouse or Dagster code) may leak into the fake API."""
    paths = sorted(SANDBOX.rglob("*.py"))
    assert len(paths) > 10
    taken = {
        str(path.relative_to(SANDBOX)): sorted(m for m in _imports(path) if _within(m, "ycpipeline"))
        for path in paths
    }
    assert {k: v for k, v in taken.items() if v} == {"tokens.py": ["ycpipeline.client.http"]}


@pytest.mark.parametrize("forbidden", ["dagster", "ycpipeline.defs", "ycpipeline.cli"])
def test_domain_code_knows_no_orchestrator_and_no_command(forbidden: str) -> None:
    offenders = {
        str(path.relative_to(PACKAGE)): sorted(
            m for m in _imports(path) if m == forbidden or m.startswith(forbidden + ".")
        )
        for path in _modules(inside=DOMAIN)
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_completed_visit_rule_is_spelled_once() -> None:
    spelled = [
        str(path.relative_to(PACKAGE))
        for path in _modules()
        if "attendance = 1" in path.read_text() or "attendance == 1" in path.read_text()
    ]
    assert spelled == ["warehouse/rules.py"]


def test_migrations_import_nothing_above_the_warehouse() -> None:
    """A migration must produce the same database whatever the live code becomes: it carries frozen copies
    of what it needs (as 0006 and 0010 do) instead of importing the packages that build on the warehouse."""
    offenders = {
        path.name: sorted(
            m
            for m in _imports(path)
            if m.startswith("ycpipeline.") and not m.startswith("ycpipeline.warehouse.")
        )
        for path in (PACKAGE / "warehouse" / "migrations" / "versions").glob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}
