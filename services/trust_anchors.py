"""The trust anchors the archive publishes: the TSA roots its tokens were verified against, and the log key.

A verifier pins these (``evidence verify --tsa-ca … --log-key …``) instead of trusting the copies
inside a bundle; the legal pages and ``flask --app wsgi evidence anchors`` show their fingerprints.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import LogCheckpoint, PhotoEvidence
from services import translog
from verifier.check import key_fingerprint
from verifier.timestamps import TokenInvalid, certificate_fingerprint, load_certificates, pem_of


def _root(pem: str, source: str) -> dict:
    certificate = load_certificates(pem.encode())[0]
    return {
        "subject": certificate.subject.rfc4514_string(),
        "sha256": certificate_fingerprint(certificate),
        "not_valid_after": certificate.not_valid_after_utc,
        "pem": pem,
        "source": source,
        "tokens": 0,
        "issuers": [],
    }


def tsa_roots(session: Session, tsa) -> list[dict]:
    """Every root certificate a stored token was verified against, plus the configured TSA's roots."""
    roots: dict[str, dict] = {}
    configured = tsa.roots_pem() if tsa is not None else None
    try:
        for certificate in load_certificates(configured):
            entry = _root(pem_of([certificate]).decode(), "configured")
            roots[entry["sha256"]] = entry
    except TokenInvalid:
        pass
    for model in (PhotoEvidence, LogCheckpoint):
        rows = session.execute(
            select(model.tsa_anchor_pem, model.tsa_kind, model.tsa_url, func.count())
            .where(model.tsa_anchor_pem.is_not(None))
            .group_by(model.tsa_anchor_pem, model.tsa_kind, model.tsa_url)
        ).all()
        for pem, kind, url, count in rows:
            entry = _root(pem, "recorded")
            entry = roots.setdefault(entry["sha256"], entry)
            entry["tokens"] += count
            issuer = url or ("local" if kind == "local" else kind)
            if issuer not in entry["issuers"]:
                entry["issuers"].append(issuer)
    return sorted(roots.values(), key=lambda r: (r["source"] != "configured", r["subject"]))


def log_key(signer) -> dict:
    """The evidence log's public key and its SHA-256 fingerprint (DER SubjectPublicKeyInfo)."""
    info = translog.public_key_info(signer)
    return {
        "name": info["name"],
        "algorithm": info["algorithm"],
        "key_hint": info["key_hint"],
        "sha256": key_fingerprint(signer.public_key_raw()),
        "public_key_pem": info["public_key_pem"],
    }


def describe(session: Session, env) -> dict:
    """Both kinds of anchor, as ``evidence anchors`` prints them and the legal pages show them."""
    return {"tsa_roots": tsa_roots(session, env.tsa), "log_key": log_key(env.signer)}
