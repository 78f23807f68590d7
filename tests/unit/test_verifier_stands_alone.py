"""The offline verifier ships inside every bundle: it must not need any part of the server."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVER_PACKAGES = {"server", "workers", "sync", "clients", "models", "services", "core", "ports"}


def imported_top_packages(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_no_module_of_the_verifier_imports_the_server_workers_or_sync():
    offenders = {
        path.name: sorted(imported_top_packages(path) & SERVER_PACKAGES)
        for path in sorted((ROOT / "verifier").glob("*.py"))
    }
    assert not {name: found for name, found in offenders.items() if found}


def test_no_module_of_the_verifier_needs_fcntl_or_other_posix_only_modules():
    posix_only = {"fcntl", "termios", "pwd", "grp", "resource"}
    used = {
        path.name: sorted(imported_top_packages(path) & posix_only) for path in sorted((ROOT / "verifier").glob("*.py"))
    }
    assert not {name: found for name, found in used.items() if found}


def test_importing_the_verifier_loads_no_server_module():
    code = (
        "import sys, verifier.check, verifier.__main__; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & %r))" % (SERVER_PACKAGES,)
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_the_server_uses_the_verifiers_merkle_and_token_code():
    from core import merkle
    from ports import tsa
    from verifier import merkle as standalone
    from verifier import timestamps

    assert merkle.leaf_hash is standalone.leaf_hash and merkle.verify_inclusion is standalone.verify_inclusion
    assert tsa.verify_response is timestamps.verify_response and tsa.TokenInvalid is timestamps.TokenInvalid


def test_every_module_of_the_verifier_is_python_3_9_syntax():
    for path in sorted((ROOT / "verifier").glob("*.py")):
        source = path.read_text(encoding="utf-8")
        ast.parse(source, filename=str(path), feature_version=(3, 9))
        if " | " in source:  # X | Y annotations are evaluated only from Python 3.10 on
            assert "from __future__ import annotations" in source, path.name


def test_the_verifiers_packages_are_pinned_as_the_servers_are():
    from verifier import REQUIREMENTS

    pins = {line.strip() for line in (ROOT / "requirements.txt").read_text().splitlines()}
    assert set(REQUIREMENTS) <= pins
