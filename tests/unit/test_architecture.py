"""The package layers point one way only, and first-party imports sit at the top of each module."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

from tests.helpers.live import ROOT

LINT_IMPORTS = str(Path(sys.executable).with_name("lint-imports"))
PACKAGES = ("capture_schema", "verifier", "core", "ports", "models", "sync", "services", "server", "workers", "clients")


def _lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([LINT_IMPORTS, "--no-cache"], cwd=cwd, capture_output=True, text=True, timeout=240)


def test_the_import_contracts_hold():
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "BROKEN" not in result.stdout


def test_an_upward_import_breaks_the_layer_contract(tmp_path):
    """A copy of the tree with one domain module importing the web layer fails the check, naming it."""
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy(ROOT / ".importlinter", tmp_path / ".importlinter")
    (tmp_path / "core" / "upward_probe.py").write_text('"""Reaches up into the web layer."""\nimport server.app\n')
    result = _lint_imports(tmp_path)
    assert result.returncode != 0
    assert "core.upward_probe -> server.app" in result.stdout


def _function_level_first_party_imports(path: Path) -> list[str]:
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for inner in ast.walk(node):
            if isinstance(inner, ast.Import):
                names = [alias.name for alias in inner.names]
            elif isinstance(inner, ast.ImportFrom) and inner.level == 0 and inner.module:
                names = [inner.module]
            else:
                continue
            if not any(name.split(".")[0] in PACKAGES for name in names):
                continue
            line, above = lines[inner.lineno - 1], lines[inner.lineno - 2].strip()
            if "#" in line or above.startswith("#"):
                continue  # the comment says why this import must wait
            found.append(f"{path.relative_to(ROOT)}:{inner.lineno}: {line.strip()}")
    return found


def test_first_party_imports_sit_at_the_top_unless_a_comment_says_why():
    offenders = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            offenders += _function_level_first_party_imports(path)
    assert offenders == []
