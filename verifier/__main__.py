"""``python -m verifier BUNDLE.zip [BUNDLE…]``: exit 0 only when every bundle checks."""
from __future__ import annotations

import sys

from verifier.check import verify_bundle


def main(argv: list[str] | None = None) -> int:
    """Verify each bundle named on the command line; print the reports; return the exit status."""
    args = sys.argv[1:] if argv is None else argv
    if not args:
        print("usage: python -m verifier BUNDLE.zip|BUNDLE_DIR …", file=sys.stderr)
        return 2
    status = 0
    for path in args:
        report = verify_bundle(path)
        print("\n".join(report.lines()))
        if not report.ok:
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
