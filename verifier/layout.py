"""Where things live inside an evidence bundle; shared by the exporter and the verifier."""

from __future__ import annotations

FORMAT = "dangan-evidence-bundle/1"

MANIFEST = "manifest.json"
SUMS = "SHA256SUMS"
VERIFY_GUIDE = "VERIFY.md"
REPORT = "report.pdf"
TSA_STATEMENT = "tsa/STATEMENT.txt"
CHECKPOINT = "log/checkpoint.txt"
# the checkpoint the TSA stamped, its token, and the proofs binding that token into the signed log
CHECKPOINT_TIMESTAMPED = "log/timestamped-checkpoint.txt"
CHECKPOINT_TOKEN = "log/checkpoint.tsr"
CHECKPOINT_BINDING = "log/checkpoint-timestamp.json"
PUBLIC_KEY_PEM = "log/public-key.pem"
PUBLIC_KEY_JSON = "log/public-key.json"
TOOLS = "tools/"


def original_path(evidence_no: str, photo_id: str, extension: str) -> str:
    """Path of an original photo inside the bundle."""
    return f"originals/{evidence_no}-{photo_id[:8]}{extension}"


def token_path(evidence_no: str) -> str:
    """Path of a photo's RFC 3161 token (DER TimeStampResp)."""
    return f"tokens/{evidence_no}.tsr"


def proof_path(evidence_no: str) -> str:
    """Path of a photo's inclusion proofs."""
    return f"proofs/{evidence_no}.json"


def custody_path(evidence_no: str) -> str:
    """Path of a photo's custody log."""
    return f"custody/{evidence_no}.json"


def tsa_root_path(fingerprint: str) -> str:
    """Path of a TSA root certificate (PEM), named by its SHA-256 fingerprint's first 16 hex digits."""
    return f"tsa/roots/{fingerprint[:16]}.pem"


def tsa_chain_path(fingerprint: str) -> str:
    """Path of a TSA's certificate chain (PEM, signer first), named by the signer certificate's fingerprint."""
    return f"tsa/chains/{fingerprint[:16]}.pem"
