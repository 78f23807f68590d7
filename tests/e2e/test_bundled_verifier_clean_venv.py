"""The verifier shipped in a bundle, in a fresh virtualenv holding only the packages VERIFY.md lists, without fcntl."""

from __future__ import annotations

import subprocess
import sys
import zipfile

import pytest

from tests.helpers.legal_world import export_bundle, pinned_anchor_files
from verifier import REQUIREMENTS, layout
from verifier.check import EXIT_NOT_PINNED, EXIT_VERIFIED

pytestmark = pytest.mark.e2e

# Runs the bundled verifier with the project out of reach (-I: no PYTHONPATH, no user site, no cwd on the
# path) and with fcntl made unavailable, as on Windows.
RUN_WITHOUT_FCNTL = """\
import runpy, sys
sys.modules["fcntl"] = None
sys.path.insert(0, ".")
sys.argv = ["verifier"] + sys.argv[1:]
runpy.run_module("verifier", run_name="__main__", alter_sys=True)
"""


@pytest.fixture(scope="module")
def clean_venv(tmp_path_factory):
    directory = tmp_path_factory.mktemp("clean-venv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(directory)], check=True, capture_output=True)
    python = directory / "bin" / "python"
    installed = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", *REQUIREMENTS], capture_output=True, text=True
    )
    assert installed.returncode == 0, installed.stderr
    return python


def test_the_bundled_verifier_runs_in_a_clean_venv_with_only_the_listed_packages_and_no_fcntl(
    app, client, clock, tmp_path, clean_venv
):
    export, _ = export_bundle(app, client, clock, tmp_path)
    unpacked = tmp_path / "bundle"
    with zipfile.ZipFile(export.bundle_path) as zf:
        zf.extractall(unpacked)
    guide = (unpacked / layout.VERIFY_GUIDE).read_text(encoding="utf-8")
    assert f"pip install {' '.join(REQUIREMENTS)}" in guide
    listed = {
        line.split("==")[0].lower()
        for line in subprocess.run(
            [str(clean_venv), "-m", "pip", "freeze"], capture_output=True, text=True, check=True
        ).stdout.split()
    }
    assert listed <= {"cryptography", "rfc3161-client", "rfc3161_client", "cffi", "pycparser"}, listed
    root, key = pinned_anchor_files(app, tmp_path)
    script = tmp_path / "run_verifier.py"
    script.write_text(RUN_WITHOUT_FCNTL)
    tools = unpacked / "tools"
    pinned = subprocess.run(
        [str(clean_venv), "-I", str(script), "..", "--tsa-ca", root, "--log-key", key],
        cwd=tools,
        capture_output=True,
        text=True,
    )
    assert pinned.returncode == EXIT_VERIFIED, pinned.stdout + pinned.stderr
    assert "ALL CHECKS PASSED AGAINST PINNED ANCHORS" in pinned.stdout
    unpinned = subprocess.run(
        [str(clean_venv), "-I", str(script), str(export.bundle_path)], cwd=tools, capture_output=True, text=True
    )
    assert unpinned.returncode == EXIT_NOT_PINNED, unpinned.stdout + unpinned.stderr
    blocked = subprocess.run(
        [
            str(clean_venv),
            "-I",
            "-c",
            "import sys; sys.modules['fcntl'] = None; "
            "sys.path.insert(0, '.'); import verifier.check, verifier.__main__; "
            "print(sorted(m for m, v in sys.modules.items() if v is not None and m.split('.')[0] in "
            "('server', 'workers', 'sync', 'fcntl')))",
        ],
        cwd=tools,
        capture_output=True,
        text=True,
    )
    assert blocked.returncode == 0 and blocked.stdout.strip() == "[]", blocked.stdout + blocked.stderr
