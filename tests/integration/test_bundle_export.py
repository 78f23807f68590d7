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
from tests.helpers.legal_world import ACCOUNT, export_bundle
from tests.helpers.tools import require_command
from verifier import layout
from verifier.check import verify_bundle


def need_tool(name: str) -> str:
    """The path of an external tool; skip without it, except under CI where it must be there."""
    return require_command(name)


@pytest.fixture
def bundle(app, client, clock, tmp_path):
    return export_bundle(app, client, clock, tmp_path)


def test_a_bundle_of_pushed_photos_verifies_with_the_bundled_verifier(bundle):
    export, photos = bundle
    report = verify_bundle(export.bundle_path)
    assert report.ok, "\n".join(report.lines())
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
        assert manifest["tsa"]["kind"] == "local" and "LOCAL" in zf.read(layout.TSA_STATEMENT).decode()
        custody = json.loads(zf.read(manifest["items"][0]["files"]["custody"]))
        events = [e["event_type"] for e in custody["entries"] if e["source"] == "evidence_log"]
        assert events[:2] == ["received", "stamped"] and "approved" in events and events[-1] == "exported"
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
        done = subprocess.run([openssl, "ts", "-verify", "-data", item["files"]["original"],
                               "-in", item["files"]["token"], "-CAfile", layout.TSA_CA,
                               "-untrusted", layout.TSA_CERT], cwd=unpacked, capture_output=True, text=True)
        assert done.returncode == 0 and "Verification: OK" in done.stdout, done.stdout + done.stderr
    checkpoint = subprocess.run([openssl, "ts", "-verify", "-data", layout.CHECKPOINT, "-in", layout.CHECKPOINT_TOKEN,
                                 "-CAfile", layout.TSA_CA, "-untrusted", layout.TSA_CERT], cwd=unpacked,
                                capture_output=True, text=True)
    assert checkpoint.returncode == 0 and "Verification: OK" in checkpoint.stdout, checkpoint.stderr
    # the verifier shipped inside the bundle runs on its own, from tools/, against the unpacked directory
    shipped = subprocess.run([sys.executable, "-m", "verifier", str(unpacked)], cwd=unpacked / "tools", capture_output=True, text=True,
                             env={**os.environ, "PYTHONPATH": ""})
    assert shipped.returncode == 0, shipped.stdout + shipped.stderr
    assert "ALL CHECKS PASSED" in shipped.stdout
