"""Where things live inside an evidence bundle; shared by the exporter and the verifier."""
from __future__ import annotations

FORMAT = "dangan-evidence-bundle/1"

MANIFEST = "manifest.json"
SUMS = "SHA256SUMS"
VERIFY_GUIDE = "VERIFY.md"
REPORT = "report.pdf"
TSA_CA = "tsa/ca.pem"
TSA_CERT = "tsa/tsa.pem"
TSA_STATEMENT = "tsa/STATEMENT.txt"
CHECKPOINT = "log/checkpoint.txt"
CHECKPOINT_TOKEN = "log/checkpoint.tsr"
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
