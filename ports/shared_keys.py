"""Where a node finds the secrets every node of a deployment must share.

Three secrets sign what outlives a process: ``SECRET_KEY`` (sessions, signed cursors), the evidence
log's Ed25519 key and the built-in local TSA (CA, signing key, certificate). On one machine they are
made on first use under ``DANGAN_KEYS_DIR`` (default: the data dir). In a cluster
(``DANGAN_CLUSTER=1``) every node must sign with the same ones, so a node never makes its own: it
reads them from ``DANGAN_KEYS_DIR`` (or ``SECRET_KEY`` from the environment), and refuses to start
without them. ``python -m server.keys init DIR`` makes a set once, to be copied to every node.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

SECRET_KEY_FILE = "secret_key"
LOG_KEY_FILE = Path("keys") / "evidence-log.ed25519.pem"
TSA_DIR = "tsa"
INIT_COMMAND = "python -m server.keys init DIR"


class SharedKeyMissing(RuntimeError):
    """A cluster node found no shared secret where its configuration points (it never makes one itself)."""

    def __init__(self, what: str, path: Path | str):
        super().__init__(
            f"DANGAN_CLUSTER=1 and no {what} at {path}: make the shared keys once with `{INIT_COMMAND}`, "
            "copy that directory to every node and point DANGAN_KEYS_DIR at it"
        )
        self.what = what
        self.path = str(path)


def cluster_from_env() -> bool:
    """True when ``DANGAN_CLUSTER=1``: this node is one of several and must not make its own secrets."""
    return os.environ.get("DANGAN_CLUSTER", "").strip() == "1"


def keys_dir_from_env(data_dir: str | os.PathLike) -> Path:
    """The directory of the shared secrets (``DANGAN_KEYS_DIR``, default the data dir) as an absolute path."""
    value = os.environ.get("DANGAN_KEYS_DIR", "").strip()
    return Path(value).resolve() if value else Path(data_dir).resolve()


def log_key_path(keys_dir: str | os.PathLike) -> Path:
    """The evidence log's private key file under ``keys_dir``."""
    return Path(keys_dir) / LOG_KEY_FILE


def tsa_dir(keys_dir: str | os.PathLike) -> Path:
    """The built-in local TSA's directory under ``keys_dir``."""
    return Path(keys_dir) / TSA_DIR


def _write_new(path: Path, data: bytes) -> bool:
    """Write ``data`` to a new file readable by its owner only; False if the file exists (another process won)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    return True


def secret_key(keys_dir: str | os.PathLike, create: bool = True) -> str:
    """``SECRET_KEY`` from the environment, else the key file under ``keys_dir`` (made on first use unless not ``create``)."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = Path(keys_dir) / SECRET_KEY_FILE
    if not path.exists():
        if not create:
            raise SharedKeyMissing("SECRET_KEY (environment) or secret key file", path)
        _write_new(path, secrets.token_urlsafe(48).encode())
    return path.read_text().strip()


def new_log_key_pem() -> bytes:
    """A new Ed25519 private key as unencrypted PKCS#8 PEM."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def ensure_log_key(path: Path, create: bool = True) -> Path:
    """Make sure the log key file exists (O_EXCL: two processes never make two keys)."""
    if not path.exists():
        if not create:
            raise SharedKeyMissing("evidence log key", path)
        _write_new(path, new_log_key_pem())
    return path
