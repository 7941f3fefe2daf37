"""Files a newcomer reads or installs from: the lock matches pyproject.toml, the docs' links resolve."""

from __future__ import annotations

import re
import tomllib
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from ycpipeline_tests.conftest import ANCHOR

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements" / "dev.lock"
RUNTIME_LOCK = ROOT / "requirements" / "runtime.lock"
# [text](target): the target up to a space, a closing parenthesis or a `#fragment`.
LINK = re.compile(r"\[[^\]]*\]\(([^)\s#]*)(?:#[^)\s]*)?\)")


def _locked(lock: Path = LOCK) -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in lock.read_text().splitlines():
        requirement = line.split(";")[0].strip()
        if "==" in requirement and not requirement.startswith("#"):
            name, version = requirement.split("==", 1)
            pins[canonicalize_name(name)] = version.strip()
    return pins


def test_the_lock_pins_every_dependency_within_its_bounds() -> None:
    """`make lock` was run after the last change of pyproject.toml's dependencies (main and dev)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = _locked()
    for spec in [*project["dependencies"], *project["optional-dependencies"]["dev"]]:
        requirement = Requirement(spec)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement.name} is not in {LOCK.name}: run `make lock`"
        assert requirement.specifier.contains(pins[name]), f"{name}=={pins[name]} breaks {spec}: `make lock`"
    # The bench extra stays out of the default install.
    for spec in project["optional-dependencies"]["bench"]:
        assert canonicalize_name(Requirement(spec).name) not in pins


def test_the_runtime_lock_pins_what_the_image_runs_and_no_dev_tool() -> None:
    """The image installs requirements/runtime.lock: every runtime dependency and the k8s extra, within
    their bounds, and nothing of the dev extra that the runtime does not itself need."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = _locked(RUNTIME_LOCK)
    for spec in [*project["dependencies"], *project["optional-dependencies"]["k8s"]]:
        requirement = Requirement(spec)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement.name} is not in {RUNTIME_LOCK.name}: run `make lock`"
        assert requirement.specifier.contains(pins[name]), f"{name}=={pins[name]} breaks {spec}: `make lock`"
    for tool in (
        "pytest",
        "pytest-xdist",
        "hypothesis",
        "ruff",
        "mypy",
        "pandas-stubs",
        "kubernetes-validate",
    ):
        assert tool not in pins, f"{tool} is a dev tool, yet in {RUNTIME_LOCK.name}"


def test_the_runtime_lock_agrees_with_the_dev_lock_on_every_shared_package() -> None:
    """The tests run the versions the image runs."""
    runtime, dev = _locked(RUNTIME_LOCK), _locked()
    shared = runtime.keys() & dev.keys()
    assert len(shared) > 50
    assert {name: runtime[name] for name in shared} == {name: dev[name] for name in shared}


def test_the_image_installs_the_runtime_lock_and_nothing_unpinned() -> None:
    steps = [line for line in (ROOT / "Dockerfile").read_text().splitlines() if "pip install" in line]
    assert any("-r requirements/runtime.lock" in step for step in steps), steps
    assert all("-r requirements/runtime.lock" in step or "--no-deps" in step for step in steps), steps


def test_dg_is_locked_beside_dagster() -> None:
    pins = _locked()
    assert pins["dagster-dg-cli"] == pins["dagster"]


def test_relative_links_in_readme_and_docs_resolve() -> None:
    documents = [ROOT / "README.md", ROOT / "README.ru.md", *sorted((ROOT / "docs").glob("*.md"))]
    checked = 0
    for document in documents:
        for target in LINK.findall(document.read_text()):
            if not target or re.match(r"^[a-z][a-z0-9+.-]*:", target):
                continue  # a fragment within the page, or an absolute URL
            assert (document.parent / target).exists(), f"{document.name} links to {target}, which is missing"
            checked += 1
    assert checked >= 5


def test_every_sandbox_in_the_suite_lives_on_todays_date() -> None:
    """The sandbox's "today" and the pipeline's (the wall clock) agree in every test and bench.

    A sandbox anchored on a literal date passes on the day its test is written and fails once the pipeline's
    reconciliation window, which follows the wall clock, has moved past it.
    """
    assert datetime.now(ZoneInfo("Europe/Moscow")).date() == ANCHOR
    literal = re.compile(r"\banchor\s*=\s*(date|datetime)\b")
    offenders = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for folder in ("ycpipeline_tests", "bench")
        for path in sorted((ROOT / folder).rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if literal.search(line)
    ]
    assert not offenders, "anchor sandboxes on ANCHOR (today), not a fixed date:\n" + "\n".join(offenders)
