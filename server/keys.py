"""``python -m server.keys``: make and check the secrets all nodes of a cluster share.

``init DIR`` makes what is missing in DIR (``secret_key``, ``keys/evidence-log.ed25519.pem``, the
local TSA under ``tsa/``) and prints their fingerprints; copy DIR to every node (a secrets mount,
configuration management) and set ``DANGAN_KEYS_DIR=DIR`` and ``DANGAN_CLUSTER=1`` there.
``check [DIR]`` (default ``DANGAN_KEYS_DIR``) prints the same fingerprints without making anything,
so two nodes can be compared; it exits 1 when something is missing. Neither needs the database.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path

from ports import shared_keys
from ports.tsa import LocalTsa


def _sha256(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


def fingerprints(keys_dir: Path) -> dict:
    """What the keys dir holds: path and SHA-256 of each shared secret (None when missing)."""
    tsa = shared_keys.tsa_dir(keys_dir)
    public = None
    log_key = shared_keys.log_key_path(keys_dir)
    if log_key.exists():
        from cryptography.hazmat.primitives import serialization  # heavy import, only for a present key

        key = serialization.load_pem_private_key(log_key.read_bytes(), password=None)
        raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        public = hashlib.sha256(raw).hexdigest()
    return {
        "keys_dir": str(keys_dir),
        "secret_key": _sha256(keys_dir / shared_keys.SECRET_KEY_FILE),
        "log_key_public_sha256": public,
        "tsa_root_sha256": _sha256(tsa / "ca.pem"),
        "tsa_certificate_sha256": _sha256(tsa / "tsa.pem"),
    }


def init(keys_dir: Path) -> dict:
    """Make every missing shared secret in ``keys_dir`` (existing ones are kept) and describe them."""
    keys_dir.mkdir(parents=True, exist_ok=True)
    _make_secret_file(keys_dir)
    shared_keys.ensure_log_key(shared_keys.log_key_path(keys_dir))
    LocalTsa(shared_keys.tsa_dir(keys_dir)).roots_pem()
    return fingerprints(keys_dir)


def _make_secret_file(keys_dir: Path) -> None:
    # SECRET_KEY set in this shell must not stop the file from being made for the other nodes
    saved = os.environ.pop("SECRET_KEY", None)
    try:
        shared_keys.secret_key(keys_dir)
    finally:
        if saved is not None:
            os.environ["SECRET_KEY"] = saved


def main(argv: list[str] | None = None) -> int:
    """Run ``init DIR`` or ``check [DIR]``; print JSON; exit 0, or 1 when ``check`` finds something missing."""
    parser = argparse.ArgumentParser(prog="python -m server.keys", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("init", help="make the missing shared secrets in DIR").add_argument("dir")
    sub.add_parser("check", help="describe the shared secrets in DIR").add_argument("dir", nargs="?")
    args = parser.parse_args(argv)
    if args.command == "init":
        report = init(Path(args.dir).resolve())
    else:
        given = args.dir or os.environ.get("DANGAN_KEYS_DIR")
        if not given:
            parser.error("give DIR or set DANGAN_KEYS_DIR")
        report = fingerprints(Path(given).resolve())
    missing = [name for name, value in report.items() if value is None]
    report["missing"] = missing
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
