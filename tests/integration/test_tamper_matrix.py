"""Every kind of file in an evidence bundle, altered: the verifier must fail and name what failed.

Two kinds of tampering: a careless one (one byte changed, SHA256SUMS left alone) and a careful
one (the change is made and SHA256SUMS is recomputed to match), which only the cryptographic
checks — tokens, Merkle proofs, signatures, the manifest hash in the log — can catch.
"""

from __future__ import annotations

import base64
import hashlib
import json
import zipfile

import pytest

from ports.tsa import LocalTsa
from tests.helpers.legal_world import export_bundle, pins_of
from verifier import layout, merkle
from verifier.check import EXIT_FAILED, EXIT_NOT_PINNED, EXIT_VERIFIED, key_fingerprint, raw_key_from_pem, verify_bundle
from verifier.sums import format_sums


@pytest.fixture
def members(app, client, clock, tmp_path):
    export, _ = export_bundle(app, client, clock, tmp_path)
    with zipfile.ZipFile(export.bundle_path) as zf:
        return {info.filename: zf.read(info.filename) for info in zf.infolist()}


def first(members: dict, prefix: str) -> str:
    return sorted(name for name in members if name.startswith(prefix))[0]


def flip(data: bytes, at: int | None = None) -> bytes:
    """The same bytes with one byte changed (in the middle unless told)."""
    position = len(data) // 2 if at is None else at
    return data[:position] + bytes([data[position] ^ 0x01]) + data[position + 1 :]


def write(members: dict, path, resum: bool) -> None:
    files = dict(members)
    if resum:
        files[layout.SUMS] = format_sums(
            [(name, hashlib.sha256(data).hexdigest()) for name, data in files.items() if name != layout.SUMS]
        )
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)


def edit_json(data: bytes, change) -> bytes:
    value = json.loads(data)
    change(value)
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True).encode() + b"\n"


def _other_root(data: bytes) -> bytes:
    origin, size, root, rest = data.decode().split("\n", 3)
    forged = base64.b64encode(hashlib.sha256(b"forged").digest()).decode()
    return "\n".join([origin, size, forged, rest]).encode()


def _forged_key(data: bytes) -> bytes:
    def change(key):
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        raw = (
            Ed25519PrivateKey.generate()
            .public_key()
            .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        )
        key["public_key"] = base64.b64encode(raw).decode()

    return edit_json(data, change)


def _proof_path_changed(data: bytes) -> bytes:
    def change(proof):
        event = proof["events"][0]
        event["path"][0] = hashlib.sha256(b"x").hexdigest()

    return edit_json(data, change)


def _custody_event_changed(data: bytes) -> bytes:
    def change(custody):
        event = next(e for e in custody["entries"] if e["source"] == "evidence_log")
        event["entry"] = event["entry"].replace('"received"', '"accessed"')

    return edit_json(data, change)


def _manifest_changed(data: bytes) -> bytes:
    def change(manifest):
        manifest["items"][0]["customer"]["name"] = "另一家公司"
        manifest["items"][0]["times"]["estimated_capture_at"] = "2026-02-01T00:00:00Z"

    return edit_json(data, change)


# (kind, file chosen from the bundle, careless change)
CARELESS = [
    ("photo", lambda m: first(m, "originals/"), flip),
    ("manifest", lambda m: layout.MANIFEST, lambda d: flip(d, d.index(b"account_no") + 20)),
    ("SHA256SUMS", lambda m: layout.SUMS, lambda d: flip(d, 10)),
    ("token", lambda m: first(m, "tokens/"), flip),
    ("proof", lambda m: first(m, "proofs/"), lambda d: flip(d, d.index(b'"path"') + 15)),
    ("checkpoint", lambda m: layout.CHECKPOINT, lambda d: flip(d, d.index(b"\n") + 1)),
    ("checkpoint token", lambda m: layout.CHECKPOINT_TOKEN, flip),
    ("custody log", lambda m: first(m, "custody/"), lambda d: flip(d, d.index(b'"action"') + 12)),
    ("public key", lambda m: layout.PUBLIC_KEY_JSON, lambda d: flip(d, d.index(b'"public_key"') + 20)),
    ("public key PEM", lambda m: layout.PUBLIC_KEY_PEM, lambda d: flip(d, 40)),
    ("TSA root certificate", lambda m: first(m, "tsa/roots/"), lambda d: flip(d, 100)),
    ("checkpoint timestamp binding", lambda m: layout.CHECKPOINT_BINDING, lambda d: flip(d, d.index(b'"path"') + 15)),
    ("timestamped checkpoint", lambda m: layout.CHECKPOINT_TIMESTAMPED, lambda d: flip(d, d.index(b"\n") + 1)),
    ("report", lambda m: layout.REPORT, flip),
    ("guide", lambda m: layout.VERIFY_GUIDE, flip),
    ("verifier source", lambda m: "tools/verifier/check.py", flip),
]

# (kind, file, careful change, files of which at least one must be named)
CAREFUL = [
    ("photo", lambda m: first(m, "originals/"), flip, "originals/"),
    ("manifest", lambda m: layout.MANIFEST, _manifest_changed, layout.MANIFEST),
    ("token", lambda m: first(m, "tokens/"), flip, "tokens/"),
    ("proof", lambda m: first(m, "proofs/"), _proof_path_changed, "proofs/"),
    ("checkpoint", lambda m: layout.CHECKPOINT, _other_root, layout.CHECKPOINT),
    ("checkpoint token", lambda m: layout.CHECKPOINT_TOKEN, flip, layout.CHECKPOINT_TOKEN),
    ("custody log", lambda m: first(m, "custody/"), _custody_event_changed, "custody/"),
    ("public key", lambda m: layout.PUBLIC_KEY_JSON, _forged_key, layout.CHECKPOINT),
]


@pytest.fixture
def pins(app, tmp_path):
    return pins_of(app, tmp_path)


def test_the_untouched_bundle_passes_with_pins_and_is_only_consistent_without(members, pins, tmp_path):
    write(members, tmp_path / "same.zip", resum=False)
    report = verify_bundle(tmp_path / "same.zip", pins)
    assert report.exit_code == EXIT_VERIFIED, "\n".join(report.lines())
    unpinned = verify_bundle(tmp_path / "same.zip")
    assert unpinned.exit_code == EXIT_NOT_PINNED, "\n".join(unpinned.lines())


@pytest.mark.parametrize("kind,choose,change", CARELESS, ids=[c[0] for c in CARELESS])
def test_one_changed_byte_in_any_kind_of_file_fails_and_names_the_file(members, tmp_path, kind, choose, change):
    name = choose(members)
    altered = dict(members, **{name: change(members[name])})
    assert altered[name] != members[name]
    write(altered, tmp_path / "altered.zip", resum=False)
    report = verify_bundle(tmp_path / "altered.zip")
    assert not report.ok
    named = report.failed_files()
    assert name in named or (name == layout.SUMS and named), "\n".join(report.lines())
    assert any(name in line for line in report.lines() if "FAIL" in line) or name == layout.SUMS


@pytest.mark.parametrize("kind,choose,change,expected", CAREFUL, ids=[c[0] for c in CAREFUL])
def test_a_change_with_recomputed_sha256sums_is_still_caught(members, tmp_path, kind, choose, change, expected):
    name = choose(members)
    altered = dict(members, **{name: change(members[name])})
    write(altered, tmp_path / "forged.zip", resum=True)
    report = verify_bundle(tmp_path / "forged.zip")
    assert not report.ok, "\n".join(report.lines())
    assert not any(f.where == layout.SUMS for f in report.all_failures)  # the sums themselves agree
    assert any(f.where.startswith(expected) for f in report.all_failures), "\n".join(report.lines())


def test_a_photo_swapped_together_with_its_manifest_hashes_is_caught(members, tmp_path):
    name = first(members, "originals/")
    swapped = flip(members[name])
    manifest = json.loads(members[layout.MANIFEST])
    for item in manifest["items"]:
        if item["files"]["original"] == name:
            item["sha256"] = hashlib.sha256(swapped).hexdigest()
            item["sm3"] = hashlib.new("sm3", swapped).hexdigest()
    altered = dict(members, **{name: swapped, layout.MANIFEST: json.dumps(manifest).encode()})
    write(altered, tmp_path / "swapped.zip", resum=True)
    report = verify_bundle(tmp_path / "swapped.zip")
    named = report.failed_files()
    assert layout.MANIFEST in named  # its hash is not the one logged at export
    assert any(n.startswith("tokens/") for n in named)  # the token covers the old bytes
    assert name in named  # the bytes differ from those logged as received


def test_a_flipped_byte_in_the_zip_file_itself_names_the_damaged_member(app, client, clock, tmp_path):
    export, _ = export_bundle(app, client, clock, tmp_path)
    raw = bytearray(open(export.bundle_path, "rb").read())
    with zipfile.ZipFile(export.bundle_path) as zf:
        info = next(i for i in zf.infolist() if i.filename.startswith("originals/"))
    raw[info.header_offset + 30 + len(info.filename) + info.file_size // 2] ^= 0x01
    damaged = tmp_path / "damaged.zip"
    damaged.write_bytes(bytes(raw))
    report = verify_bundle(damaged)
    assert not report.ok and info.filename in report.failed_files(), "\n".join(report.lines())


def test_removed_and_added_files_are_named(members, tmp_path):
    token = first(members, "tokens/")
    altered = {k: v for k, v in members.items() if k != token}
    altered["originals/extra.jpg"] = b"\xff\xd8 not part of the export"
    write(altered, tmp_path / "changed.zip", resum=False)
    named = verify_bundle(tmp_path / "changed.zip").failed_files()
    assert token in named and "originals/extra.jpg" in named


# --- forgeries only pinned anchors (or the signed log) can expose ------------------------------------------


@pytest.fixture
def rogue_tsa(tmp_path):
    return LocalTsa(tmp_path / "rogue-tsa")


def _rogue_checkpoint_token(members: dict, rogue: LocalTsa) -> dict:
    """The checkpoint's timestamp re-issued by another TSA, for the same checkpoint."""
    token = rogue.stamp(hashlib.sha256(members[layout.CHECKPOINT_TIMESTAMPED]).digest()).response
    return dict(members, **{layout.CHECKPOINT_TOKEN: token})


def _rogue_ca_in_bundle(members: dict, rogue: LocalTsa) -> dict:
    """The rogue TSA's root put where the bundle keeps the TSA root, and the checkpoint token re-issued by it."""
    altered = _rogue_checkpoint_token(members, rogue)
    altered[first(members, "tsa/roots/")] = rogue.roots_pem()
    return altered


def _tokens_swapped(members: dict, _rogue) -> dict:
    one, two = sorted(name for name in members if name.startswith("tokens/"))[:2]
    return dict(members, **{one: members[two], two: members[one]})


def _log_key_replaced(members: dict, _rogue) -> dict:
    """A new log key in the bundle, with both checkpoints re-signed by it."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    info = json.loads(members[layout.PUBLIC_KEY_JSON])
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    info["public_key"] = base64.b64encode(raw).decode()
    info["key_hint"] = merkle.key_hint(info["name"], raw).hex()
    altered = dict(members)
    for name in (layout.CHECKPOINT, layout.CHECKPOINT_TIMESTAMPED):
        checkpoint, _ = merkle.parse_checkpoint(members[name].decode())
        altered[name] = merkle.sign_checkpoint(checkpoint, info["name"], key).encode()
    altered[layout.PUBLIC_KEY_JSON] = json.dumps(info).encode()
    altered[layout.PUBLIC_KEY_PEM] = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return altered


# (kind, forgery, files of which one must be named with pins)
FORGERIES = [
    ("checkpoint token from a rogue TSA", _rogue_checkpoint_token, {layout.CHECKPOINT_TOKEN}),
    ("rogue CA placed in the bundle", _rogue_ca_in_bundle, {"tsa/roots/", layout.CHECKPOINT_TOKEN}),
    ("token swapped between photos", _tokens_swapped, {"tokens/"}),
    ("log key replaced inside the bundle", _log_key_replaced, {layout.PUBLIC_KEY_JSON, layout.CHECKPOINT}),
]


@pytest.mark.parametrize("kind,forge,named", FORGERIES, ids=[f[0] for f in FORGERIES])
def test_a_forgery_with_recomputed_sums_fails_with_pins_and_never_fully_passes_without(
    members, pins, rogue_tsa, tmp_path, kind, forge, named
):
    write(forge(members, rogue_tsa), tmp_path / "forged.zip", resum=True)
    pinned = verify_bundle(tmp_path / "forged.zip", pins)
    assert pinned.exit_code == EXIT_FAILED, "\n".join(pinned.lines())
    assert any(f.where.startswith(prefix) for f in pinned.all_failures for prefix in named), "\n".join(pinned.lines())
    assert not any(f.where == layout.SUMS for f in pinned.all_failures)
    unpinned = verify_bundle(tmp_path / "forged.zip")
    assert unpinned.exit_code != EXIT_VERIFIED
    assert not any("ALL CHECKS PASSED" in line for line in unpinned.lines()), "\n".join(unpinned.lines())


def test_a_wholly_re_signed_log_passes_only_as_consistent_and_shows_the_forged_key_fingerprint(members, pins, tmp_path):
    # no checkpoint timestamp to betray the old signature: only the pinned key can expose the new one
    stripped = {
        k: v
        for k, v in members.items()
        if k not in (layout.CHECKPOINT_TIMESTAMPED, layout.CHECKPOINT_TOKEN, layout.CHECKPOINT_BINDING)
    }
    forged = _log_key_replaced(dict(stripped, **{layout.CHECKPOINT_TIMESTAMPED: members[layout.CHECKPOINT]}), None)
    del forged[layout.CHECKPOINT_TIMESTAMPED]
    write(forged, tmp_path / "forged.zip", resum=True)
    report = verify_bundle(tmp_path / "forged.zip")
    assert report.exit_code == EXIT_NOT_PINNED, "\n".join(report.lines())
    fingerprint = key_fingerprint(raw_key_from_pem(forged[layout.PUBLIC_KEY_PEM]))
    assert key_fingerprint(raw_key_from_pem(members[layout.PUBLIC_KEY_PEM])) != fingerprint
    assert any(fingerprint in line for line in report.lines())
    assert any("no RFC 3161 timestamp" in line for line in report.lines())
    pinned = verify_bundle(tmp_path / "forged.zip", pins)
    assert pinned.exit_code == EXIT_FAILED
    assert {layout.PUBLIC_KEY_JSON, layout.CHECKPOINT} <= pinned.failed_files(), "\n".join(pinned.lines())
