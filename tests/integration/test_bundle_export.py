"""Evidence bundles from photos pushed by a tablet, built by the export job, checked three ways."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zipfile

import pytest
from sqlalchemy import select

from models import AuditEntry, EvidenceUse, LogLeaf, PhotoEvidence
from models.database import db
from services.ports_access import ports
from tests.helpers.legal_world import ACCOUNT, export_bundle, pinned_anchor_files, pins_of
from tests.helpers.tools import require_command
from verifier import layout
from verifier.check import EXIT_NOT_PINNED, EXIT_VERIFIED, verify_bundle


def need_tool(name: str) -> str:
    """The path of an external tool; skip without it, except under CI where it must be there."""
    return require_command(name)


@pytest.fixture
def bundle(app, client, clock, tmp_path):
    return export_bundle(app, client, clock, tmp_path)


def test_a_bundle_of_pushed_photos_verifies_with_the_bundled_verifier(app, bundle, tmp_path):
    export, photos = bundle
    report = verify_bundle(export.bundle_path, pins_of(app, tmp_path))
    assert report.exit_code == EXIT_VERIFIED, "\n".join(report.lines())
    assert "ALL CHECKS PASSED AGAINST PINNED ANCHORS" in report.lines()[-1]
    unpinned = verify_bundle(export.bundle_path)
    assert unpinned.ok and unpinned.exit_code == EXIT_NOT_PINNED, "\n".join(unpinned.lines())
    assert not any("ALL CHECKS PASSED" in line for line in unpinned.lines())
    assert {item.photo_id for item in report.items} == set(photos)
    with zipfile.ZipFile(export.bundle_path) as zf:
        manifest = json.loads(zf.read(layout.MANIFEST))
        for item in manifest["items"]:
            evidence = db.session.get(PhotoEvidence, item["photo_id"])
            original = zf.read(item["files"]["original"])
            assert hashlib.sha256(original).hexdigest() == evidence.sha256 == item["sha256"]
            assert hashlib.new("sm3", original).hexdigest() == item["sm3"]
            assert ports().blobs.open(evidence.sha256).read() == original  # byte for byte
            assert item["customer"]["account_no"] == ACCOUNT
            assert item["inspector"]["username"] == "inspector1"
            assert item["metadata"]["exif_raw"]["EXIF DateTimeOriginal"].startswith("2026:03:02 09:")
            assert item["times"]["estimated_capture_at"] and item["timestamp"]["status"] == "granted"
        decisions = [d for item in manifest["items"] for d in item["review"]]
        assert decisions and decisions[0]["decision"] == "approved"
        assert decisions[0]["decided_by"]["username"] == "archivist1" and decisions[0]["decided_at"]
        assert manifest["export"]["purpose"].startswith("张三窃电案")
        assert [i["kind"] for i in manifest["tsa"]["issuers"]] == ["local"]
        assert "LOCAL" in zf.read(layout.TSA_STATEMENT).decode()
        custody = json.loads(zf.read(manifest["items"][0]["files"]["custody"]))
        events = [e["event_type"] for e in custody["entries"] if e["source"] == "evidence_log"]
        assert (
            events[:3] == ["received", "timestamped", "stamped"] and "approved" in events and events[-1] == "exported"
        )
        assert zf.read(layout.REPORT).startswith(b"%PDF")
    exported = db.session.scalars(select(LogLeaf).where(LogLeaf.event_type == "exported")).all()
    assert sorted(leaf.subject_id for leaf in exported) == sorted(photos)
    uses = db.session.scalars(select(EvidenceUse.action).where(EvidenceUse.export_id == export.id)).all()
    assert set(uses) == {"export_request", "export"}
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "evidence.exported")) is not None


def test_the_bundle_checks_with_sha256sum_and_openssl_as_real_processes(bundle, tmp_path):
    sha256sum, openssl = need_tool("sha256sum"), need_tool("openssl")
    export, _ = bundle
    unpacked = tmp_path / "unpacked"
    with zipfile.ZipFile(export.bundle_path) as zf:
        zf.extractall(unpacked)
        manifest = json.loads(zf.read(layout.MANIFEST))
    sums = subprocess.run([sha256sum, "-c", layout.SUMS], cwd=unpacked, capture_output=True, text=True)
    assert sums.returncode == 0, sums.stdout + sums.stderr
    assert sums.stdout.count(": OK") == len((unpacked / layout.SUMS).read_text().splitlines())
    for item in manifest["items"]:
        stamp = item["timestamp"]
        done = subprocess.run(
            [
                openssl,
                "ts",
                "-verify",
                "-data",
                item["files"]["original"],
                "-in",
                item["files"]["token"],
                "-CAfile",
                stamp["anchor"],
                "-untrusted",
                stamp["chain"],
            ],
            cwd=unpacked,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0 and "Verification: OK" in done.stdout, done.stdout + done.stderr
    binding = json.loads((unpacked / layout.CHECKPOINT_BINDING).read_text())
    checkpoint = subprocess.run(
        [
            openssl,
            "ts",
            "-verify",
            "-data",
            binding["note"],
            "-in",
            binding["token"],
            "-CAfile",
            binding["tsa"]["anchor"],
            "-untrusted",
            binding["tsa"]["chain"],
        ],
        cwd=unpacked,
        capture_output=True,
        text=True,
    )
    assert checkpoint.returncode == 0 and "Verification: OK" in checkpoint.stdout, checkpoint.stderr


def test_the_bundled_verifier_runs_alone_from_tools_with_the_same_flags_and_exit_statuses(app, bundle, tmp_path):
    export, _ = bundle
    unpacked = tmp_path / "unpacked"
    with zipfile.ZipFile(export.bundle_path) as zf:
        zf.extractall(unpacked)
    root, key = pinned_anchor_files(app, tmp_path)
    env = {**os.environ, "PYTHONPATH": ""}
    unpinned = subprocess.run(
        [sys.executable, "-m", "verifier", ".."], cwd=unpacked / "tools", capture_output=True, text=True, env=env
    )
    assert unpinned.returncode == EXIT_NOT_PINNED, unpinned.stdout + unpinned.stderr
    assert "ALL CHECKS PASSED" not in unpinned.stdout and "SHA256" in unpinned.stdout
    pinned = subprocess.run(
        [sys.executable, "-m", "verifier", "..", "--tsa-ca", root, "--log-key", key],
        cwd=unpacked / "tools",
        capture_output=True,
        text=True,
        env=env,
    )
    assert pinned.returncode == EXIT_VERIFIED, pinned.stdout + pinned.stderr
    assert "ALL CHECKS PASSED AGAINST PINNED ANCHORS" in pinned.stdout


def _guide_blocks(guide: str) -> list[tuple[str, str]]:
    blocks, lines, language, inside = [], [], "", False
    for line in guide.splitlines():
        if line.startswith("```"):
            if inside:
                blocks.append((language, "\n".join(lines)))
                lines = []
            else:
                language = line[3:].strip()
            inside = not inside
        elif inside:
            lines.append(line)
    return blocks


def test_every_command_of_verify_md_runs_literally_in_the_unpacked_bundle(bundle, tmp_path):
    need_tool("sha256sum"), need_tool("openssl")
    export, _ = bundle
    unpacked = tmp_path / "bundle"
    with zipfile.ZipFile(export.bundle_path) as zf:
        zf.extractall(unpacked)
    guide = (unpacked / layout.VERIFY_GUIDE).read_text(encoding="utf-8")
    assert "<" not in "".join(code for _, code in _guide_blocks(guide) if _ != "python").replace("< ", "")
    script = next(code for language, code in _guide_blocks(guide) if language == "python")
    (tmp_path / "check_log.py").write_text(script + "\n", encoding="utf-8")  # ../check_log.py, as the guide says
    commands = [
        line
        for language, code in _guide_blocks(guide)
        if language != "python"
        for line in code.splitlines()
        if line.split(" ")[0] in ("sha256sum", "openssl", "python3") and "pip" not in line and "-m verifier" not in line
    ]
    assert sum(c.startswith("openssl ts -verify") for c in commands) == len(export.photo_ids) + 1
    for command in commands:
        command = command.replace("python3 ../check_log.py", f"{sys.executable} ../check_log.py")
        done = subprocess.run(command, shell=True, cwd=unpacked, capture_output=True, text=True)
        assert done.returncode == 0, f"{command}\n{done.stdout}{done.stderr}"
        if command.startswith("openssl ts -verify"):
            assert "Verification: OK" in done.stdout
        if "check_log.py" in command:
            assert done.stdout.rstrip().endswith("ALL PROOFS OK"), done.stdout
        if command.startswith("openssl pkeyutl"):
            assert "Signature Verified Successfully" in done.stdout
    # following the guide leaves the unpacked bundle as it was: it still verifies as a directory
    assert verify_bundle(unpacked).ok
