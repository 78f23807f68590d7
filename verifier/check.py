"""Checking one evidence bundle: hashes, SHA256SUMS, timestamp tokens, Merkle proofs, signatures.

Every problem is a :class:`Finding` naming the file it concerns, so a reader knows exactly what
failed. Nothing here touches a database or the network.
"""

from __future__ import annotations

import base64
import hashlib
import json
import zipfile
import zlib
from dataclasses import dataclass, field

from verifier import layout, merkle
from verifier.source import CHUNK, BundleSource, BundleUnreadable
from verifier.sums import parse_sums
from verifier.timestamps import TokenInvalid, certificate_fingerprint, load_certificates, pem_of, verify_response


@dataclass(frozen=True)
class Finding:
    """One failed check: the bundle file concerned and what is wrong with it."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass
class ItemVerdict:
    """What was established about one exported photo."""

    evidence_no: str
    photo_id: str
    passed: list[str] = field(default_factory=list)
    failures: list[Finding] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no check of this item failed."""
        return not self.failures


EXIT_VERIFIED = 0  # every check passed, against pinned trust anchors
EXIT_FAILED = 1  # at least one check failed; each failure names its file
EXIT_NOT_PINNED = 2  # consistent, but trust rests on anchors found in the bundle (or something was not checked)


@dataclass
class Report:
    """The verdict on a whole bundle."""

    source: str
    failures: list[Finding] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    passed: list[str] = field(default_factory=list)
    items: list[ItemVerdict] = field(default_factory=list)
    # trust anchors found in the bundle and relied on because none was pinned: (what, SHA-256 fingerprint)
    unpinned: list[tuple[str, str]] = field(default_factory=list)
    # checks that could not be made at all (e.g. a token with no anchor, a checkpoint without timestamp)
    unchecked: list[str] = field(default_factory=list)

    @property
    def all_failures(self) -> list[Finding]:
        """Bundle-level and per-item failures together."""
        return self.failures + [f for item in self.items for f in item.failures]

    @property
    def ok(self) -> bool:
        """True when no check failed (the bundle is consistent; see :attr:`exit_code` for trust)."""
        return not self.all_failures

    @property
    def exit_code(self) -> int:
        """0 verified against pinned anchors, 2 consistent but not pinned or not fully checked, 1 failed."""
        if not self.ok:
            return EXIT_FAILED
        return EXIT_NOT_PINNED if self.unpinned or self.unchecked else EXIT_VERIFIED

    def failed_files(self) -> set[str]:
        """The bundle files named by at least one failure."""
        return {f.where for f in self.all_failures}

    def lines(self) -> list[str]:
        """A human-readable report, one verdict per item, then every failure and the final verdict."""
        out = [f"证据包 bundle: {self.source}"]
        out += [f"  ok  {line}" for line in self.passed]
        out += [f"  注意 warning: {w}" for w in self.warnings]
        for item in self.items:
            verdict = "OK 通过" if item.ok else "FAILED 未通过"
            out.append(f"item {item.evidence_no} ({item.photo_id}): {verdict}")
            out += [f"    ok  {line}" for line in item.passed]
            out += [f"    注意 warning: {w}" for w in item.warnings]
            out += [f"    FAIL {f}" for f in item.failures]
        failures = self.all_failures
        if failures:
            out.append(f"FAILED 校验未通过: {len(failures)} problem(s)")
            out += [f"  FAIL {f}" for f in failures]
            return out
        if self.unchecked:
            out.append("NOT CHECKED 未能校验的项目:")
            out += [f"  - {line}" for line in self.unchecked]
        if self.unpinned:
            out.append(
                "ANCHORS FOUND IN THE BUNDLE 包内信任锚（未与独立获得的锚比对）— compare these SHA-256 "
                "fingerprints with the ones the archive publishes (flask --app wsgi evidence anchors):"
            )
            for what, fingerprint in sorted(set(self.unpinned)):
                out.append(f"  {what}: SHA256 {fingerprint}")
        if self.exit_code == EXIT_VERIFIED:
            out.append(
                f"ALL CHECKS PASSED AGAINST PINNED ANCHORS 全部校验通过（已用固定的信任锚） ({len(self.items)} items)"
            )
        else:
            out.append(
                f"CONSISTENT, NOT VERIFIED AGAINST PINNED ANCHORS 内容一致，但未全部用固定的信任锚校验 "
                f"({len(self.items)} items); pass --tsa-ca and --log-key to pin them"
            )
        return out


def key_fingerprint(raw: bytes) -> str:
    """SHA-256 of the Ed25519 key's DER SubjectPublicKeyInfo (``openssl pkey -pubin -outform DER | sha256sum``)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    der = Ed25519PublicKey.from_public_bytes(raw).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()


def raw_key_from_pem(pem: bytes) -> bytes:
    """The raw 32-byte Ed25519 key of a PEM public key; ValueError if it is not one."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


@dataclass(frozen=True)
class Pins:
    """Trust anchors obtained outside the bundle: TSA root certificates (PEM) and the log's public key (PEM)."""

    tsa_roots_pem: bytes | None = None
    log_key_pem: bytes | None = None


def sm3_available() -> bool:
    """Whether this Python's OpenSSL offers SM3 (GB/T 32905)."""
    return "sm3" in hashlib.algorithms_available


def _digests(source: BundleSource, name: str, with_sm3: bool) -> tuple[str, str | None, int]:
    sha256 = hashlib.sha256()
    sm3 = hashlib.new("sm3") if with_sm3 and sm3_available() else None
    size = 0
    with source.open(name) as stream:
        while chunk := stream.read(CHUNK):
            sha256.update(chunk)
            if sm3 is not None:
                sm3.update(chunk)
            size += len(chunk)
    return sha256.hexdigest(), sm3.hexdigest() if sm3 else None, size


class _Checker:
    def __init__(self, source: BundleSource, report: Report, pins: Pins):
        self.source = source
        self.report = report
        self.pins = pins
        self.pinned_key: bytes | None = None
        self.pinned_roots: list = []
        self.names = source.names()
        self.files: dict[str, tuple[str, str | None, int]] = {}
        self.manifest: dict = {}
        self.manifest_sha256 = ""
        self.checkpoint: merkle.Checkpoint | None = None
        self.checkpoint_trusted = False
        self.key_name: str | None = None
        self.key_raw: bytes | None = None

    def fail(self, where: str, message: str) -> None:
        self.report.failures.append(Finding(where, message))

    # --- whole-bundle checks ------------------------------------------------------------------
    def hash_files(self) -> None:
        for name in self.names:
            try:
                self.files[name] = _digests(self.source, name, name.startswith("originals/"))
            except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as exc:
                self.fail(name, f"cannot be read from the bundle (damaged: {exc})")

    def check_sums(self) -> None:
        if layout.SUMS not in self.files:
            self.fail(layout.SUMS, "missing")
            return
        entries, bad = parse_sums(self.source.read(layout.SUMS))
        for problem in bad:
            self.fail(layout.SUMS, problem)
        mismatched = 0
        for path, digest in entries.items():
            if path not in self.files:
                self.fail(
                    path, "listed in SHA256SUMS but missing from the bundle" if path not in self.names else "unreadable"
                )
            elif self.files[path][0] != digest:
                mismatched += 1
                self.fail(path, "SHA-256 differs from SHA256SUMS (altered, or SHA256SUMS altered)")
        for name in self.names:
            if name != layout.SUMS and name not in entries:
                self.fail(name, "not listed in SHA256SUMS (added or renamed)")
        if not bad and not mismatched:
            self.report.passed.append(f"SHA256SUMS: {len(entries)} files match")

    def load_manifest(self) -> bool:
        if layout.MANIFEST not in self.files:
            self.fail(layout.MANIFEST, "missing or unreadable")
            return False
        data = self.source.read(layout.MANIFEST)
        self.manifest_sha256 = hashlib.sha256(data).hexdigest()
        try:
            self.manifest = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            self.fail(layout.MANIFEST, f"not valid JSON ({exc})")
            return False
        if (
            not isinstance(self.manifest, dict)
            or self.manifest.get("format") != layout.FORMAT
            or not isinstance(self.manifest.get("items"), list)
        ):
            self.fail(layout.MANIFEST, f"not a {layout.FORMAT} manifest")
            return False
        return True

    def load_pins(self) -> bool:
        """Read the pinned anchors; an unreadable pin is a failure of the pin file itself."""
        if self.pins.tsa_roots_pem is not None:
            try:
                self.pinned_roots = load_certificates(self.pins.tsa_roots_pem)
            except TokenInvalid as exc:
                self.fail("--tsa-ca", str(exc))
                return False
            if not self.pinned_roots:
                self.fail("--tsa-ca", "no PEM certificate in the pinned TSA root file(s)")
                return False
            for root in self.pinned_roots:
                self.report.passed.append(
                    f"pinned TSA root: {root.subject.rfc4514_string()} SHA256 {certificate_fingerprint(root)}"
                )
        if self.pins.log_key_pem is not None:
            try:
                self.pinned_key = raw_key_from_pem(self.pins.log_key_pem)
            except (ValueError, TypeError) as exc:
                self.fail("--log-key", f"not a PEM Ed25519 public key ({exc})")
                return False
            self.report.passed.append(f"pinned log key: SHA256 {key_fingerprint(self.pinned_key)}")
        return True

    def check_log_key_and_checkpoint(self) -> None:
        try:
            key_info = json.loads(self.source.read(layout.PUBLIC_KEY_JSON))
            name, raw = key_info["name"], base64.b64decode(key_info["public_key"], validate=True)
        except (KeyError, ValueError, TypeError) as exc:
            self.fail(layout.PUBLIC_KEY_JSON, f"unreadable public key ({exc})")
            name, raw = (self.manifest.get("log") or {}).get("name"), None
        if raw is not None and layout.PUBLIC_KEY_PEM in self.files:
            self._compare_pem(raw)
        if self.pinned_key is not None:
            if raw is not None and raw != self.pinned_key:
                self.fail(
                    layout.PUBLIC_KEY_JSON,
                    f"the bundled log key (SHA256 {key_fingerprint(raw)}) is not the "
                    f"pinned one (SHA256 {key_fingerprint(self.pinned_key)})",
                )
            raw = self.pinned_key
        elif raw is not None:
            try:
                self.report.unpinned.append((f"evidence log key ({layout.PUBLIC_KEY_PEM})", key_fingerprint(raw)))
            except ValueError as exc:
                self.fail(layout.PUBLIC_KEY_JSON, f"not an Ed25519 public key ({exc})")
                raw = None
        self.key_name, self.key_raw = name, raw
        try:
            note = self.source.read(layout.CHECKPOINT).decode("utf-8")
            self.checkpoint, _ = merkle.parse_checkpoint(note)
        except (KeyError, ValueError, UnicodeDecodeError) as exc:
            self.fail(layout.CHECKPOINT, f"not a readable signed checkpoint ({exc})")
            return
        if raw is not None and name:
            try:
                merkle.verify_checkpoint(note, name, raw)
                self.checkpoint_trusted = True
                pinned = "pinned" if self.pinned_key is not None else "bundled"
                self.report.passed.append(
                    f"checkpoint: tree size {self.checkpoint.size}, root "
                    f"{self.checkpoint.root.hex()[:16]}…, Ed25519 signature by {name} "
                    f"verified with the {pinned} key"
                )
            except ValueError as exc:
                self.fail(
                    layout.CHECKPOINT,
                    "signature does not verify with the "
                    f"{'pinned log key' if self.pinned_key else layout.PUBLIC_KEY_JSON} "
                    f"({exc})",
                )
        expected = self.manifest.get("log") or {}
        if expected.get("tree_size") not in (None, self.checkpoint.size) or expected.get("root_hash") not in (
            None,
            self.checkpoint.root.hex(),
        ):
            self.fail(layout.CHECKPOINT, "differs from the checkpoint named in the manifest")
        self._check_checkpoint_timestamp()

    def _compare_pem(self, raw: bytes) -> None:
        try:
            pem_raw = raw_key_from_pem(self.source.read(layout.PUBLIC_KEY_PEM))
        except Exception as exc:  # any malformed PEM is a finding
            self.fail(layout.PUBLIC_KEY_PEM, f"unreadable PEM public key ({exc})")
            return
        if pem_raw != raw:
            self.fail(layout.PUBLIC_KEY_PEM, f"differs from the key in {layout.PUBLIC_KEY_JSON}")

    def check_token(self, where: str, response: bytes, digest: bytes, issuer: dict) -> tuple[str, str] | None:
        """Verify a token over a digest against the pinned roots, else against the root recorded for it.

        Returns (genTime ISO, how the chain was checked), or None after recording the failure.
        """
        try:
            gen_time, _serial, _ = verify_response(response, digest, None)
        except Exception as exc:  # TokenInvalid, or a parser error on a damaged token
            self.fail(where, f"timestamp token does not verify for what it should cover ({exc})")
            return None
        anchor_file = issuer.get("anchor")
        anchors = []
        if anchor_file:
            try:
                anchors = load_certificates(self.source.read(anchor_file))
            except (KeyError, OSError, TokenInvalid) as exc:
                self.fail(anchor_file, f"TSA root certificate missing or unreadable ({exc})")
                return None
            if len(anchors) != 1 or certificate_fingerprint(anchors[0]) != issuer.get("anchor_sha256"):
                self.fail(anchor_file, "is not the TSA root recorded for this token (fingerprint differs)")
                return None
        if self.pinned_roots:
            try:
                verify_response(response, digest, pem_of(self.pinned_roots))
            except Exception as exc:  # any chain failure is a finding
                self.fail(where, f"token does not chain to any pinned TSA root ({exc})")
                return None
            return gen_time.isoformat(), "certificate chain verified against a pinned TSA root"
        if not anchors:
            self.report.unchecked.append(
                f"{where}: certificate chain not checked (no TSA root recorded for "
                f"{issuer.get('tsa_url') or issuer.get('tsa_name') or 'this TSA'}; "
                "pass --tsa-ca)"
            )
            return gen_time.isoformat(), "certificate chain NOT checked"
        try:
            verify_response(response, digest, pem_of(anchors))
        except Exception as exc:  # any chain failure is a finding
            self.fail(where, f"token does not chain to its TSA root {anchor_file} ({exc})")
            return None
        self.report.unpinned.append(
            (f"TSA root {anchors[0].subject.rfc4514_string()} ({anchor_file})", certificate_fingerprint(anchors[0]))
        )
        return gen_time.isoformat(), f"certificate chain verified against the bundled root {anchor_file}"

    def _check_checkpoint_timestamp(self) -> None:
        if layout.CHECKPOINT_BINDING not in self.names:
            if layout.CHECKPOINT_TOKEN in self.names:
                self.fail(
                    layout.CHECKPOINT_TOKEN,
                    f"present without {layout.CHECKPOINT_BINDING}, which binds it into the evidence log",
                )
            else:
                self.report.unchecked.append(
                    "the checkpoint has no RFC 3161 timestamp (the TSA was unavailable at export)"
                )
            return
        where = layout.CHECKPOINT_BINDING
        try:
            binding = json.loads(self.source.read(where))
            stamped_note = self.source.read(binding["note"]).decode("utf-8")
            token = self.source.read(binding["token"])
            event = binding["event"]
            index, entry = int(event["leaf_index"]), event["entry"]
            event_path = [bytes.fromhex(h) for h in event["path"]]
            consistency = [bytes.fromhex(h) for h in binding["consistency"]["path"]]
            logged = json.loads(entry)
            payload = logged["payload"]
            stamped, _ = merkle.parse_checkpoint(stamped_note)
        except (KeyError, TypeError, ValueError, AttributeError, UnicodeDecodeError) as exc:
            self.fail(where, f"unreadable binding of the checkpoint timestamp ({exc})")
            return
        if self.checkpoint is None:
            return
        size, root = self.checkpoint.size, self.checkpoint.root
        if self.key_raw is not None and self.key_name:
            try:
                merkle.verify_checkpoint(stamped_note, self.key_name, self.key_raw)
            except ValueError as exc:
                self.fail(binding["note"], f"signature of the timestamped checkpoint does not verify ({exc})")
                return
        if not merkle.verify_consistency(stamped.size, size, stamped.root, root, consistency):
            self.fail(
                where,
                f"the timestamped checkpoint (size {stamped.size}) is not a prefix of the bundled "
                "checkpoint (consistency proof fails)",
            )
            return
        if not merkle.verify_inclusion(merkle.leaf_hash(entry.encode("utf-8")), index, size, event_path, root):
            self.fail(where, f"leaf {index} binding the checkpoint timestamp is not in the signed checkpoint")
            return
        note_sha256 = hashlib.sha256(stamped_note.encode("utf-8"))
        if (
            logged.get("type") != "timestamped"
            or logged.get("subject") != f"checkpoint-{stamped.size}"
            or payload.get("note_sha256") != note_sha256.hexdigest()
        ):
            self.fail(where, "the logged binding names another checkpoint")
            return
        if payload.get("tsa_token_sha256") != hashlib.sha256(token).hexdigest():
            self.fail(binding["token"], "differs from the checkpoint token whose hash the evidence log recorded")
            return
        issuer = binding.get("tsa") or {}
        if issuer.get("anchor_sha256") != payload.get("tsa_anchor_sha256"):
            self.fail(where, "its TSA root differs from the one the evidence log recorded for the token")
            return
        checked = self.check_token(binding["token"], token, note_sha256.digest(), issuer)
        if checked:
            self.report.passed.append(
                f"checkpoint timestamp: the log's first {stamped.size} entries existed at "
                f"{checked[0]} ({checked[1]}; TSA {issuer.get('tsa_url') or issuer.get('tsa_name')}"
                f"), bound into the log by leaf {index}"
            )

    # --- per item -----------------------------------------------------------------------------
    def check_item(self, item: dict) -> ItemVerdict:
        verdict = ItemVerdict(str(item.get("evidence_no")), str(item.get("photo_id") or item.get("scan_id")))
        files = item.get("files") or {}
        original = files.get("original")
        computed = self.files.get(original) if original else None
        if computed is None:
            verdict.failures.append(Finding(original or layout.MANIFEST, "original photo missing or unreadable"))
        else:
            sha256, sm3, size = computed
            problems = [
                label
                for label, ok in (
                    ("SHA-256", sha256 == item.get("sha256")),
                    ("SM3", sm3 is None or sm3 == item.get("sm3")),
                    ("size", size == item.get("size")),
                )
                if not ok
            ]
            if problems:
                verdict.failures.append(Finding(original, f"{', '.join(problems)} differ from the manifest"))
            else:
                verdict.passed.append(
                    f"original: SHA-256 {sha256[:16]}…, SM3 {(sm3 or 'not checked')[:16]}…, {size} bytes"
                )
        self._check_token(item, files, computed, verdict)
        events = self._check_proofs(item, files, computed, verdict)
        self._check_custody(files, events, verdict)
        return verdict

    def _check_token(self, item: dict, files: dict, computed, verdict: ItemVerdict) -> None:
        token_file = files.get("token")
        stamp = item.get("timestamp") or {}
        if not token_file:
            self.report.unchecked.append(
                f"{item.get('evidence_no')}: no RFC 3161 token (timestamp status: {stamp.get('status')})"
            )
            return
        if token_file not in self.files:
            verdict.failures.append(Finding(token_file, "timestamp token missing"))
            return
        digest = bytes.fromhex(computed[0] if computed else item.get("sha256", "00" * 32))
        before = len(self.report.failures)
        checked = self.check_token(token_file, self.source.read(token_file), digest, stamp)
        verdict.failures += self.report.failures[before:]  # named under the item they concern
        del self.report.failures[before:]
        if checked:
            kind = (
                "LOCAL TSA (this server's clock)"
                if stamp.get("kind") == "local"
                else f"external TSA {stamp.get('tsa_url') or stamp.get('tsa_name')}"
            )
            verdict.passed.append(f"RFC 3161 token: time {checked[0]}, {kind}, {checked[1]}")

    def _check_proofs(self, item: dict, files: dict, computed, verdict: ItemVerdict) -> dict[int, str]:
        proof_file = files.get("proof")
        try:
            proof = json.loads(self.source.read(proof_file))
            events = proof["events"]
            size, root = int(proof["checkpoint"]["tree_size"]), bytes.fromhex(proof["checkpoint"]["root_hash"])
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            verdict.failures.append(Finding(str(proof_file), f"unreadable inclusion proofs ({exc})"))
            return {}
        if self.checkpoint is None or (size, root) != (self.checkpoint.size, self.checkpoint.root):
            verdict.failures.append(Finding(proof_file, "proofs are not against the bundled checkpoint"))
            return {}
        subjects = {item.get("photo_id"), item.get("capture_id"), item.get("scan_id")} - {None}
        proven: dict[int, str] = {}
        payloads: list[dict] = []
        for event in events:
            try:
                index, entry = int(event["leaf_index"]), event["entry"]
                leaf = merkle.leaf_hash(entry.encode("utf-8"))
                path = [bytes.fromhex(h) for h in event["path"]]
                parsed = json.loads(entry)
            except (KeyError, TypeError, ValueError) as exc:
                verdict.failures.append(Finding(proof_file, f"malformed event ({exc})"))
                continue
            if leaf.hex() != event.get("leaf_hash"):
                verdict.failures.append(Finding(proof_file, f"leaf {index}: entry does not hash to its leaf hash"))
            elif not merkle.verify_inclusion(leaf, index, size, path, root):
                verdict.failures.append(
                    Finding(proof_file, f"leaf {index}: inclusion proof does not lead to the checkpoint root")
                )
            elif parsed.get("subject") not in subjects:
                verdict.failures.append(Finding(proof_file, f"leaf {index}: event concerns another subject"))
            else:
                proven[index] = entry
                payloads.append(parsed)
        if any(f.where == proof_file for f in verdict.failures):
            return proven
        self._check_event_contents(item, payloads, computed, proof_file, verdict)
        if self.checkpoint_trusted:
            verdict.passed.append(
                f"{len(proven)} evidence log events proven against the signed checkpoint "
                f"({', '.join(p['type'] for p in payloads)})"
            )
        return proven

    def _check_event_contents(
        self, item: dict, payloads: list[dict], computed, proof_file: str, verdict: ItemVerdict
    ) -> None:
        sha256 = computed[0] if computed else None
        # a scanned paper document (item kind "scan") is logged as scan_received / scan_stamped
        scan = item.get("kind") == "scan"
        received = [
            p
            for p in payloads
            if p.get("type") == ("scan_received" if scan else "received")
            and p.get("subject") == item.get("scan_id" if scan else "photo_id")
        ]
        if not received:
            verdict.failures.append(
                Finding(proof_file, f"no proven '{'scan_received' if scan else 'received'}' event for this item")
            )
        elif sha256 and received[0]["payload"].get("sha256") != sha256:
            verdict.failures.append(Finding(item["files"]["original"], "bytes differ from those logged as received"))
        export_id = (self.manifest.get("export") or {}).get("id")
        exported = [p for p in payloads if p.get("type") == "exported" and p["payload"].get("export_id") == export_id]
        if not exported:
            verdict.failures.append(Finding(proof_file, f"no proven 'exported' event for export {export_id}"))
        elif exported[0]["payload"].get("manifest_sha256") != self.manifest_sha256:
            verdict.failures.append(
                Finding(layout.MANIFEST, "differs from the manifest whose hash the evidence log recorded at export")
            )
        token_file = (item.get("files") or {}).get("token")
        if token_file and token_file in self.files:
            logged = {
                p["payload"].get("tsa_token_sha256")
                for p in payloads
                if p.get("type") in ("stamped", "timestamped", "scan_stamped", "scan_timestamped")
            } - {None}
            if logged and self.files[token_file][0] not in logged:
                verdict.failures.append(
                    Finding(token_file, "differs from the token whose hash the evidence log recorded")
                )

    def _check_custody(self, files: dict, proven: dict[int, str], verdict: ItemVerdict) -> None:
        custody_file = files.get("custody")
        try:
            custody = json.loads(self.source.read(custody_file))
            logged = {int(e["leaf_index"]): e["entry"] for e in custody["entries"] if e.get("source") == "evidence_log"}
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            verdict.failures.append(Finding(str(custody_file), f"unreadable custody log ({exc})"))
            return
        if not proven:
            return
        differing = sorted(i for i in set(logged) | set(proven) if logged.get(i) != proven.get(i))
        if differing:
            verdict.failures.append(
                Finding(custody_file, f"evidence log events {differing} differ from the proven events")
            )
        else:
            verdict.passed.append(f"custody log: {len(custody['entries'])} entries, its log events match the proofs")


def verify_bundle(path, pins: Pins | None = None) -> Report:
    """Check a bundle (ZIP file or unpacked directory), against pinned anchors if given; return the report."""
    report = Report(str(path))
    try:
        source = BundleSource(path)
    except BundleUnreadable as exc:
        report.failures.append(Finding("bundle", str(exc)))
        return report
    try:
        checker = _Checker(source, report, pins or Pins())
        if not sm3_available():
            report.unchecked.append("SM3 hashes (this Python's OpenSSL has no SM3; SHA-256 was checked)")
        checker.hash_files()
        checker.check_sums()
        if not checker.load_manifest():
            return report
        if not checker.load_pins():
            return report
        if any(
            (i.get("timestamp") or {}).get("kind") == "local" for i in checker.manifest["items"] if isinstance(i, dict)
        ):
            report.warnings.append(
                "some timestamps come from the server's built-in LOCAL TSA (its own clock), "
                "not from a trusted third-party TSA"
            )
        checker.check_log_key_and_checkpoint()
        seen = set()
        for item in checker.manifest["items"]:
            if not isinstance(item, dict):
                checker.fail(layout.MANIFEST, "an item is not an object")
                continue
            verdict = checker.check_item(item)
            seen.add((item.get("files") or {}).get("original"))
            report.items.append(verdict)
        for name in checker.names:
            if name.startswith("originals/") and name not in seen:
                checker.fail(name, "original not described in the manifest")
        if not report.items:
            checker.fail(layout.MANIFEST, "lists no items")
    finally:
        source.close()
    return report
