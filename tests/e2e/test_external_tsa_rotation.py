"""Two external TSAs the product has never seen, a rotation midway, an export from a shell with no TSA settings.

The bundle is then checked the way the other side's expert would: ``openssl ts -verify`` per token with
each TSA's own root (taken from the TSA, not from the bundle), an independent RFC 6962 computation of
every inclusion proof, the checkpoint signature with ``openssl pkeyutl`` and the pinned log key, and
``evidence verify --tsa-ca A --tsa-ca B --log-key KEY`` (exit 0).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile

import pytest
from sqlalchemy import select

from models import LogCheckpoint, PhotoEvidence
from models.database import db
from services import dispatch, stamping_env
from tests.helpers import openssl_tsa
from tests.helpers.legal_world import ACCOUNT, approve_capture_of, push_photos
from tests.helpers.live import ROOT
from tests.helpers.rfc6962 import root_from_inclusion_proof

pytestmark = pytest.mark.e2e


def use_tsa(app, tsa: openssl_tsa.TsaProcess) -> None:
    """Point the product at an external TSA, as TSA_URL and TSA_CA_FILE do."""
    app.config["TSA_URL"], app.config["TSA_CA_FILE"] = tsa.url, str(tsa.root)
    app.extensions.pop("dangan.stamping_env", None)


def shell_without_tsa_settings(database_url: str, redis_url: str, data_dir) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TSA_") and k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "DANGAN_DATA_DIR": str(data_dir),
            "SECRET_KEY": "test",
            "DANGAN_LOG_FORMAT": "text",
            "DANGAN_LOG_LEVEL": "WARNING",
        }
    )
    return env


def flask(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.timeout(600)
def test_two_external_tsas_and_an_export_from_a_bare_shell_verify_against_pinned_anchors(
    app, client, clock, database_url, redis_url, tmp_path
):
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed")
    first_tsa = openssl_tsa.start(tmp_path / "tsa-a", "Example TSA A")
    second_tsa = openssl_tsa.start(tmp_path / "tsa-b", "Example TSA B")
    try:
        (tmp_path / "early").mkdir()
        (tmp_path / "late").mkdir()
        use_tsa(app, first_tsa)
        early = push_photos(app, client, tmp_path / "early", count=2)
        clock.advance(minutes=10)
        dispatch.tick(app)  # the worker's periodic checkpoint, stamped by TSA A
        use_tsa(app, second_tsa)  # TSA A's certificate expires: the deployment moves to TSA B
        late = push_photos(app, client, tmp_path / "late", count=2, inspector="inspector2")
        approve_capture_of(late[0], clock.now())
        clock.advance(minutes=10)
        dispatch.tick(app)  # a checkpoint stamped by TSA B, bound into the log
        issuers = {pid: db.session.get(PhotoEvidence, pid).tsa_url for pid in early + late}
        assert issuers == {**{p: first_tsa.url for p in early}, **{p: second_tsa.url for p in late}}

        bare = shell_without_tsa_settings(database_url, redis_url, app.config["DANGAN_DATA_DIR"])
        out = tmp_path / "case.zip"
        done = flask(bare, "evidence", "export", "--customer", ACCOUNT, "--purpose", "窃电案取证", "--out", str(out))
        assert done.returncode == 0, done.stdout + done.stderr
    finally:
        first_tsa.stop()
        second_tsa.stop()
    db.session.expire_all()
    # the bare shell added no token of the built-in local TSA to the log
    assert not db.session.scalars(select(LogCheckpoint).where(LogCheckpoint.tsa_kind == "local")).all()

    unpacked = tmp_path / "bundle"
    with zipfile.ZipFile(out) as zf:
        zf.extractall(unpacked)
    manifest = json.loads((unpacked / "manifest.json").read_text())
    statement = (unpacked / "tsa/STATEMENT.txt").read_text()
    assert first_tsa.url in statement and second_tsa.url in statement and "LOCAL" not in statement
    roots = {first_tsa.url: first_tsa.root, second_tsa.url: second_tsa.root}
    for item in manifest["items"]:
        stamp = item["timestamp"]
        assert stamp["kind"] == "external" and stamp["tsa_url"] == issuers[item["photo_id"]]
        checked = subprocess.run(
            [
                openssl,
                "ts",
                "-verify",
                "-data",
                item["files"]["original"],
                "-in",
                item["files"]["token"],
                "-CAfile",
                str(roots[stamp["tsa_url"]]),
            ],
            cwd=unpacked,
            capture_output=True,
            text=True,
        )
        assert checked.returncode == 0 and "Verification: OK" in checked.stdout, checked.stdout + checked.stderr
        wrong = first_tsa.root if stamp["tsa_url"] == second_tsa.url else second_tsa.root
        assert (
            subprocess.run(
                [
                    openssl,
                    "ts",
                    "-verify",
                    "-data",
                    item["files"]["original"],
                    "-in",
                    item["files"]["token"],
                    "-CAfile",
                    str(wrong),
                ],
                cwd=unpacked,
                capture_output=True,
            ).returncode
            != 0
        )
    binding = json.loads((unpacked / "log/checkpoint-timestamp.json").read_text())
    assert binding["tsa"]["tsa_url"] == second_tsa.url
    checked = subprocess.run(
        [openssl, "ts", "-verify", "-data", binding["note"], "-in", binding["token"], "-CAfile", str(second_tsa.root)],
        cwd=unpacked,
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0 and "Verification: OK" in checked.stdout, checked.stderr

    # an independent RFC 6962 computation of every proof, and the checkpoint signature with openssl
    note = (unpacked / "log/checkpoint.txt").read_text()
    body, _, signature_line = note.partition("\n\n")
    _origin, size, root = body.split("\n")[:3]
    for item in manifest["items"]:
        proof = json.loads((unpacked / item["files"]["proof"]).read_text())
        for event in proof["events"]:
            leaf = hashlib.sha256(b"\x00" + event["entry"].encode()).digest()
            computed = root_from_inclusion_proof(
                leaf, event["leaf_index"], int(size), [bytes.fromhex(h) for h in event["path"]]
            )
            assert computed == base64.b64decode(root), (item["evidence_no"], event["leaf_index"])
    key = tmp_path / "log-key.pem"
    key.write_text(stamping_env.env_for(app).signer.public_key_pem())  # as /api/v1/evidence-log/public-key serves it
    (tmp_path / "body").write_bytes((body + "\n").encode())
    (tmp_path / "sig").write_bytes(base64.b64decode(signature_line.strip().rsplit(" ", 1)[1])[4:])
    signed = subprocess.run(
        [
            openssl,
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            str(key),
            "-rawin",
            "-in",
            str(tmp_path / "body"),
            "-sigfile",
            str(tmp_path / "sig"),
        ],
        capture_output=True,
        text=True,
    )
    assert signed.returncode == 0 and "Signature Verified Successfully" in signed.stdout, signed.stderr

    verified = flask(
        bare,
        "evidence",
        "verify",
        str(out),
        "--tsa-ca",
        str(first_tsa.root),
        "--tsa-ca",
        str(second_tsa.root),
        "--log-key",
        str(key),
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "ALL CHECKS PASSED AGAINST PINNED ANCHORS" in verified.stdout
    only_one = flask(bare, "evidence", "verify", str(out), "--tsa-ca", str(second_tsa.root), "--log-key", str(key))
    assert only_one.returncode == 1 and "does not chain to any pinned TSA root" in only_one.stdout
