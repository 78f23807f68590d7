"""``python -m verifier BUNDLE [BUNDLE…] [--tsa-ca PEM…] [--log-key PEM]``: 0 verified, 2 not pinned, 1 failed."""

from __future__ import annotations

import argparse
import sys

from verifier.check import EXIT_FAILED, Pins, verify_bundle


def read_pins(tsa_ca: list[str] | None, log_key: str | None) -> Pins:
    """The pinned anchors from their files (several ``--tsa-ca`` files are joined)."""
    roots = None
    if tsa_ca:
        roots = b""
        for name in tsa_ca:
            with open(name, "rb") as fh:
                roots += fh.read().rstrip(b"\n") + b"\n"
    key = None
    if log_key:
        with open(log_key, "rb") as fh:
            key = fh.read()
    return Pins(tsa_roots_pem=roots, log_key_pem=key)


def main(argv: list[str] | None = None) -> int:
    """Verify each bundle named on the command line; print the reports; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m verifier", description="Verify Dangan evidence bundles offline.")
    parser.add_argument(
        "bundles", nargs="+", metavar="BUNDLE", help="a bundle ZIP or the directory it was unpacked into"
    )
    parser.add_argument(
        "--tsa-ca",
        action="append",
        metavar="PEM",
        help="a TSA root certificate obtained outside the bundle (repeatable)",
    )
    parser.add_argument(
        "--log-key", metavar="PEM", help="the evidence log's Ed25519 public key (PEM), obtained outside the bundle"
    )
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        pins = read_pins(args.tsa_ca, args.log_key)
    except OSError as exc:
        print(f"cannot read a pinned anchor: {exc}", file=sys.stderr)
        return EXIT_FAILED
    codes = []
    for path in args.bundles:
        report = verify_bundle(path, pins)
        print("\n".join(report.lines()))
        codes.append(report.exit_code)
    return EXIT_FAILED if EXIT_FAILED in codes else max(codes)


if __name__ == "__main__":
    sys.exit(main())
