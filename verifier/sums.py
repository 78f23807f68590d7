"""SHA256SUMS files in the format ``sha256sum -c`` reads: ``<hex>  <path>`` per line."""

from __future__ import annotations

import re

_LINE = re.compile(r"^([0-9a-f]{64}) [ *](.+)$")


def format_sums(entries: list[tuple[str, str]]) -> bytes:
    """The file text for (path, hex digest) pairs, sorted by path."""
    return "".join(f"{digest}  {path}\n" for path, digest in sorted(entries)).encode("utf-8")


def parse_sums(data: bytes) -> tuple[dict[str, str], list[str]]:
    """Map path → digest, and the lines that could not be read."""
    entries: dict[str, str] = {}
    bad: list[str] = []
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return {}, ["SHA256SUMS is not UTF-8 text"]
    for number, line in enumerate(text.splitlines(), start=1):
        match = _LINE.match(line)
        if not match:
            bad.append(f"line {number} is not '<sha256>  <path>'")
            continue
        digest, path = match.groups()
        if path in entries:
            bad.append(f"line {number} lists {path} twice")
        entries[path] = digest
    return entries, bad
