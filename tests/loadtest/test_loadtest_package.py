"""The load tester as a package: a client that imports nothing of the server, whose every third-party
import is declared in its `loadtest` extra, with its own console command."""

from __future__ import annotations

import ast
import importlib
import importlib.metadata
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
# What the client may import of the project: itself, the browser protocol's models, aiortc helpers and the
# owned-task helpers (none of them imports the server).
CLIENT_PACKAGES = {"loadtest", "wire", "rtc", "aio"}
SERVER_MODULES = {"sqlalchemy", "web", "matcher", "sfu", "alembic", "cv2", "effects", "mediapipe"}


def _pyproject() -> dict[str, Any]:
    with (ROOT / "pyproject.toml").open("rb") as f:
        return tomllib.load(f)


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert match, requirement
    return _normalise(match.group(0))


def _imports(package: str) -> set[str]:
    """Top-level names of every module the package's source files import (at any depth in the file)."""
    names: set[str] = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names


def test_importing_the_client_loads_nothing_of_the_server() -> None:
    # A fresh interpreter: other tests' imports would otherwise be in sys.modules already.
    check = (
        "import loadtest, loadtest.cli, loadtest.runner, loadtest.synthetic_peer, sys; "
        f"bad = set({sorted(SERVER_MODULES)!r}) & set(sys.modules); assert not bad, bad; print('clean')"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", check], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "clean"


def test_the_client_imports_only_itself_of_the_project() -> None:
    project = {p.parent.name for p in ROOT.glob("*/__init__.py")}
    assert CLIENT_PACKAGES <= project
    for package in CLIENT_PACKAGES:
        assert _imports(package) & project <= CLIENT_PACKAGES, package


def test_every_third_party_import_is_declared_in_the_loadtest_extra() -> None:
    declared = {_requirement_name(r) for r in _pyproject()["project"]["optional-dependencies"]["loadtest"]}
    project = {p.parent.name for p in ROOT.glob("*/__init__.py")}
    third_party = set().union(*(_imports(p) for p in CLIENT_PACKAGES)) - project - sys.stdlib_module_names
    assert third_party, "found no imports at all"
    providers = importlib.metadata.packages_distributions()
    undeclared = {
        name: sorted(providers.get(name, ["(not installed)"]))
        for name in third_party
        if not {_normalise(d) for d in providers.get(name, [])} & declared
    }
    assert not undeclared, f"imported by the load tester but not in its extra: {undeclared}"


def test_the_test_extra_installs_the_load_tester_and_the_command_is_its_cli() -> None:
    project = _pyproject()["project"]
    assert "speedmeet[loadtest]" in project["optional-dependencies"]["test"]
    module, _, function = project["scripts"]["speedmeet-loadtest"].partition(":")
    assert callable(getattr(importlib.import_module(module), function))
