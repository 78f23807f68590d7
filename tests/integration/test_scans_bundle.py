"""Scanned paper documents in evidence bundles: verified like photos (sha256sum, openssl ts, proofs)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile

import pytest
from sqlalchemy import select

from core.actor import CLI, Actor
from models import EvidenceExport, LogLeaf, User
from models.database import db
from services import evidence_export, export_approval, scans
from services.lifecycle.settings import settings_from
from services.ports_access import ports
from tests.helpers.factories import make_user
from tests.helpers.legal_world import ACCOUNT, pinned_anchor_files, push_photos, run_jobs
from tests.helpers.scans import make_pdf, make_tiff
from verifier import layout
from verifier.check import verify_bundle


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is required under CI")
        pytest.skip(f"{name} is not installed")
    return path


def _scan(app, data: bytes, name: str, doc_type: str, file_it: bool) -> str:
    kept = scans.intake(
        db.session,
        CLI,
        None,
        ACCOUNT,
        data,
        name,
        scans.ScanRequest(doc_type=doc_type),
        ports().clock.now(),
        ports().blobs,
    )
    if file_it:
        scans.file_scan(db.session, CLI, None, kept.scan.id, ports().clock.now(), settings_from(app.config))
    return kept.scan.id


def test_a_bundle_with_photos_and_scans_verifies_three_ways(app, client, clock, tmp_path):
    sha256sum, openssl = _tool("sha256sum"), _tool("openssl")
    photos = push_photos(app, client, tmp_path, count=1)
    contract = _scan(app, make_pdf(pages=3, label="contract"), "供用电合同.pdf", "supply_contract", True)
    application = _scan(app, make_tiff(pages=2, dpi=150), "申请书.tif", "application", False)
    run_jobs(app)
    clock.advance(minutes=5)
    lawyer = make_user("lawyer", "legal", display_name="李律师")
    export = evidence_export.request_export(
        db.session,
        Actor("user", str(lawyer.id), None, "legal"),
        db.session.get(User, lawyer.id),
        evidence_export.Criteria(account_no=ACCOUNT),
        "合同纠纷（2026）浙0106民初9号",
        clock.now(),
        export_approval.ApprovalLimits(),
    )
    assert export.item_count == 3 and sorted(export.scan_ids) == sorted([contract, application])
    run_jobs(app, "exports")
    db.session.expire_all()
    export = db.session.get(EvidenceExport, export.id)
    assert export.state == "done", export.error

    report = verify_bundle(export.bundle_path)
    assert report.ok, "\n".join(report.lines())
    assert {item.photo_id for item in report.items} == {*photos, contract, application}

    unpacked = tmp_path / "unpacked"
    with zipfile.ZipFile(export.bundle_path) as zf:
        zf.extractall(unpacked)
        manifest = json.loads(zf.read(layout.MANIFEST))
    items = {item.get("scan_id"): item for item in manifest["items"] if item.get("kind") == "scan"}
    assert set(items) == {contract, application}
    filed = items[contract]
    assert filed["document"]["doc_type"] == "supply_contract" and filed["filing"]["page_from"] == 1
    assert filed["quality"]["pages"] == 3 and items[application]["quality"]["flags"] == ["low_resolution"]
    original = (unpacked / filed["files"]["original"]).read_bytes()
    assert hashlib.sha256(original).hexdigest() == filed["sha256"]
    assert ports().blobs.open(filed["sha256"]).read() == original  # byte for byte
    custody = json.loads((unpacked / filed["files"]["custody"]).read_text())
    events = [e["event_type"] for e in custody["entries"] if e["source"] == "evidence_log"]
    # filed at once, stamped by the workers afterwards: the log keeps the order things happened in
    assert events == ["scan_filed", "scan_received", "scan_timestamped", "scan_stamped", "exported"]
    assert "scan.received" in [e.get("action") for e in custody["entries"]]

    sums = subprocess.run([sha256sum, "-c", layout.SUMS], cwd=unpacked, capture_output=True, text=True)
    assert sums.returncode == 0, sums.stdout + sums.stderr
    for item in items.values():
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
                item["timestamp"]["anchor"],
                "-untrusted",
                item["timestamp"]["chain"],
            ],
            cwd=unpacked,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0 and "Verification: OK" in done.stdout, done.stdout + done.stderr
    root, key = pinned_anchor_files(app, tmp_path)
    shipped = subprocess.run(
        [sys.executable, "-m", "verifier", str(unpacked), "--tsa-ca", root, "--log-key", key],
        cwd=unpacked / "tools",
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": ""},
    )
    assert shipped.returncode == 0 and "ALL CHECKS PASSED AGAINST PINNED ANCHORS" in shipped.stdout, (
        shipped.stdout + shipped.stderr
    )
    exported = db.session.scalars(select(LogLeaf.subject_id).where(LogLeaf.event_type == "exported")).all()
    assert {contract, application} <= set(exported)


def test_a_scan_whose_bundled_bytes_were_changed_fails_verification(app, client, clock, tmp_path):
    push_photos(app, client, tmp_path, count=1)
    scan_id = _scan(app, make_pdf(pages=1, label="tamper"), "a.pdf", "application", True)
    run_jobs(app)
    lawyer = make_user("lawyer", "legal")
    export = evidence_export.request_export(
        db.session,
        Actor("user", str(lawyer.id), None, "legal"),
        db.session.get(User, lawyer.id),
        evidence_export.Criteria(account_no=ACCOUNT),
        "核对",
        clock.now(),
        export_approval.ApprovalLimits(),
    )
    run_jobs(app, "exports")
    db.session.expire_all()
    export = db.session.get(EvidenceExport, export.id)
    unpacked = tmp_path / "tampered"
    with zipfile.ZipFile(export.bundle_path) as zf:
        zf.extractall(unpacked)
        manifest = json.loads(zf.read(layout.MANIFEST))
    item = next(i for i in manifest["items"] if i.get("scan_id") == scan_id)
    path = unpacked / item["files"]["original"]
    path.write_bytes(path.read_bytes() + b"\n%%EOF\n")
    report = verify_bundle(unpacked)
    assert not report.ok
    bad = next(v for v in report.items if v.photo_id == scan_id)
    assert any("differ" in f.message for f in bad.failures)
