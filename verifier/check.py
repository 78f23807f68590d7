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

from ports.tsa import verify_response
from verifier import layout
from verifier.source import CHUNK, BundleSource, BundleUnreadable
from verifier.sums import parse_sums
from core import merkle


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


@dataclass
class Report:
    """The verdict on a whole bundle."""

    source: str
    failures: list[Finding] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    passed: list[str] = field(default_factory=list)
    items: list[ItemVerdict] = field(default_factory=list)

    @property
    def all_failures(self) -> list[Finding]:
        """Bundle-level and per-item failures together."""
        return self.failures + [f for item in self.items for f in item.failures]

    @property
    def ok(self) -> bool:
        """True only when every check passed."""
        return not self.all_failures

    def failed_files(self) -> set[str]:
        """The bundle files named by at least one failure."""
        return {f.where for f in self.all_failures}

    def lines(self) -> list[str]:
        """A human-readable report, one verdict per item, then every failure."""
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
        else:
            out.append(f"ALL CHECKS PASSED 全部校验通过 ({len(self.items)} items)")
        return out


def _digests(source: BundleSource, name: str, with_sm3: bool) -> tuple[str, str | None, int]:
    sha256 = hashlib.sha256()
    sm3 = hashlib.new("sm3") if with_sm3 else None
    size = 0
    with source.open(name) as stream:
        while chunk := stream.read(CHUNK):
            sha256.update(chunk)
            if sm3 is not None:
                sm3.update(chunk)
            size += len(chunk)
    return sha256.hexdigest(), sm3.hexdigest() if sm3 else None, size


class _Checker:
    def __init__(self, source: BundleSource, report: Report):
        self.source = source
        self.report = report
        self.names = source.names()
        self.files: dict[str, tuple[str, str | None, int]] = {}
        self.manifest: dict = {}
        self.manifest_sha256 = ""
        self.checkpoint: merkle.Checkpoint | None = None
        self.checkpoint_trusted = False
        self.roots: bytes | None = None

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
                self.fail(path, "listed in SHA256SUMS but missing from the bundle"
                          if path not in self.names else "unreadable")
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
        if not isinstance(self.manifest, dict) or self.manifest.get("format") != layout.FORMAT \
                or not isinstance(self.manifest.get("items"), list):
            self.fail(layout.MANIFEST, f"not a {layout.FORMAT} manifest")
            return False
        return True

    def check_log_key_and_checkpoint(self) -> None:
        try:
            key_info = json.loads(self.source.read(layout.PUBLIC_KEY_JSON))
            name, raw = key_info["name"], base64.b64decode(key_info["public_key"], validate=True)
        except (KeyError, ValueError, TypeError) as exc:
            self.fail(layout.PUBLIC_KEY_JSON, f"unreadable public key ({exc})")
            name, raw = None, None
        if raw is not None and layout.PUBLIC_KEY_PEM in self.files:
            self._compare_pem(raw)
        try:
            note = self.source.read(layout.CHECKPOINT).decode("utf-8")
            self.checkpoint, _ = merkle.parse_checkpoint(note)
        except (KeyError, ValueError, UnicodeDecodeError) as exc:
            self.fail(layout.CHECKPOINT, f"not a readable signed checkpoint ({exc})")
            return
        if raw is not None:
            try:
                merkle.verify_checkpoint(note, name, raw)
                self.checkpoint_trusted = True
                self.report.passed.append(f"checkpoint: tree size {self.checkpoint.size}, root "
                                          f"{self.checkpoint.root.hex()[:16]}…, Ed25519 signature by {name} verified")
            except ValueError as exc:
                self.fail(layout.CHECKPOINT, f"signature does not verify with {layout.PUBLIC_KEY_JSON} ({exc})")
        expected = (self.manifest.get("log") or {})
        if expected.get("tree_size") not in (None, self.checkpoint.size) or \
                expected.get("root_hash") not in (None, self.checkpoint.root.hex()):
            self.fail(layout.CHECKPOINT, "differs from the checkpoint named in the manifest")
        self._check_checkpoint_token(note)

    def _compare_pem(self, raw: bytes) -> None:
        try:
            from cryptography.hazmat.primitives import serialization

            key = serialization.load_pem_public_key(self.source.read(layout.PUBLIC_KEY_PEM))
            pem_raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        except Exception as exc:  # any malformed PEM is a finding
            self.fail(layout.PUBLIC_KEY_PEM, f"unreadable PEM public key ({exc})")
            return
        if pem_raw != raw:
            self.fail(layout.PUBLIC_KEY_PEM, f"differs from the key in {layout.PUBLIC_KEY_JSON}")

    def _check_checkpoint_token(self, note: str) -> None:
        if layout.CHECKPOINT_TOKEN not in self.names:
            if (self.manifest.get("log") or {}).get("checkpoint_token"):
                self.fail(layout.CHECKPOINT_TOKEN, "named in the manifest but missing")
            else:
                self.report.warnings.append("the checkpoint has no RFC 3161 timestamp (TSA was unavailable)")
            return
        try:
            gen_time, _serial, chained = verify_response(self.source.read(layout.CHECKPOINT_TOKEN),
                                                         hashlib.sha256(note.encode("utf-8")).digest(), self.roots)
        except Exception as exc:  # TokenInvalid, or a parser error on a damaged token
            self.fail(layout.CHECKPOINT_TOKEN, f"timestamp token does not verify for the checkpoint ({exc})")
            return
        self.report.passed.append(f"checkpoint timestamp: {gen_time.isoformat()} "
                                  f"({'certificate chain verified' if chained else 'chain NOT checked'})")

    def load_roots(self) -> None:
        if layout.TSA_CA in self.files:
            self.roots = self.source.read(layout.TSA_CA)
        else:
            self.report.warnings.append("no TSA root certificate in the bundle: token signatures are "
                                        "checked for content only, not against a certificate chain")
        if (self.manifest.get("tsa") or {}).get("kind") == "local":
            self.report.warnings.append("timestamps come from the server's built-in LOCAL TSA (its own clock), "
                                        "not from a trusted third-party TSA")

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
            problems = [label for label, ok in (("SHA-256", sha256 == item.get("sha256")),
                                                 ("SM3", sm3 == item.get("sm3")),
                                                 ("size", size == item.get("size"))) if not ok]
            if problems:
                verdict.failures.append(Finding(original, f"{', '.join(problems)} differ from the manifest"))
            else:
                verdict.passed.append(f"original: SHA-256 {sha256[:16]}…, SM3 {sm3[:16]}…, {size} bytes")
        self._check_token(item, files, computed, verdict)
        events = self._check_proofs(item, files, computed, verdict)
        self._check_custody(files, events, verdict)
        return verdict

    def _check_token(self, item: dict, files: dict, computed, verdict: ItemVerdict) -> None:
        token_file = files.get("token")
        if not token_file:
            verdict.warnings.append(f"no RFC 3161 token (timestamp status: {item.get('timestamp', {}).get('status')})")
            return
        if token_file not in self.files:
            verdict.failures.append(Finding(token_file, "timestamp token missing"))
            return
        digest = bytes.fromhex(computed[0] if computed else item.get("sha256", "00" * 32))
        try:
            gen_time, _serial, chained = verify_response(self.source.read(token_file), digest, self.roots)
        except Exception as exc:  # TokenInvalid, or a parser error on a damaged token
            verdict.failures.append(Finding(token_file, f"timestamp token does not verify for the original ({exc})"))
            return
        verdict.passed.append(f"RFC 3161 token: time {gen_time.isoformat()}, "
                              f"{'certificate chain verified' if chained else 'chain NOT checked'}")

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
                verdict.failures.append(Finding(proof_file, f"leaf {index}: inclusion proof does not lead to the "
                                                            "checkpoint root"))
            elif parsed.get("subject") not in subjects:
                verdict.failures.append(Finding(proof_file, f"leaf {index}: event concerns another subject"))
            else:
                proven[index] = entry
                payloads.append(parsed)
        if any(f.where == proof_file for f in verdict.failures):
            return proven
        self._check_event_contents(item, payloads, computed, proof_file, verdict)
        if self.checkpoint_trusted:
            verdict.passed.append(f"{len(proven)} evidence log events proven against the signed checkpoint "
                                  f"({', '.join(p['type'] for p in payloads)})")
        return proven

    def _check_event_contents(self, item: dict, payloads: list[dict], computed, proof_file: str,
                              verdict: ItemVerdict) -> None:
        sha256 = computed[0] if computed else None
        # a scanned paper document (item kind "scan") is logged as scan_received / scan_stamped
        scan = item.get("kind") == "scan"
        received = [p for p in payloads if p.get("type") == ("scan_received" if scan else "received")
                    and p.get("subject") == item.get("scan_id" if scan else "photo_id")]
        if not received:
            verdict.failures.append(Finding(proof_file, f"no proven '{'scan_received' if scan else 'received'}' "
                                                        "event for this item"))
        elif sha256 and received[0]["payload"].get("sha256") != sha256:
            verdict.failures.append(Finding(item["files"]["original"],
                                            "bytes differ from those logged as received"))
        export_id = (self.manifest.get("export") or {}).get("id")
        exported = [p for p in payloads if p.get("type") == "exported"
                    and p["payload"].get("export_id") == export_id]
        if not exported:
            verdict.failures.append(Finding(proof_file, f"no proven 'exported' event for export {export_id}"))
        elif exported[0]["payload"].get("manifest_sha256") != self.manifest_sha256:
            verdict.failures.append(Finding(layout.MANIFEST, "differs from the manifest whose hash the evidence "
                                                             "log recorded at export"))
        token_file = (item.get("files") or {}).get("token")
        if token_file and token_file in self.files:
            logged = {p["payload"].get("tsa_token_sha256") for p in payloads
                      if p.get("type") in ("stamped", "timestamped", "scan_stamped", "scan_timestamped")} - {None}
            if logged and self.files[token_file][0] not in logged:
                verdict.failures.append(Finding(token_file, "differs from the token whose hash the evidence log "
                                                            "recorded"))

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
            verdict.failures.append(Finding(custody_file, f"evidence log events {differing} differ from the proven "
                                                          "events"))
        else:
            verdict.passed.append(f"custody log: {len(custody['entries'])} entries, its log events match the proofs")


def verify_bundle(path) -> Report:
    """Check a bundle (ZIP file or unpacked directory) and return the full report."""
    report = Report(str(path))
    try:
        source = BundleSource(path)
    except BundleUnreadable as exc:
        report.failures.append(Finding("bundle", str(exc)))
        return report
    try:
        checker = _Checker(source, report)
        checker.hash_files()
        checker.check_sums()
        if not checker.load_manifest():
            return report
        checker.load_roots()
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
