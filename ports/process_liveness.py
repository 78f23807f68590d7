"""Whether the process behind a lock or lease owner (``<host>:<pid>``) is gone from this host."""

from __future__ import annotations

import os
import socket
from pathlib import Path


def is_gone(host: str, pid: str) -> bool:
    """True only when the owner ran on this host and its process no longer runs (e.g. after kill -9).

    An owner on another host, this very process, or a process we may not signal counts as alive:
    its lease simply runs out.
    """
    hostname = socket.gethostname()
    if host not in (hostname, hostname[:32]) or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    # a killed worker whose parent has not reaped it yet lingers as a zombie
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[:1] == ["Z"]


def owner_is_gone(owner: str | None) -> bool:
    """:func:`is_gone` for an owner string ending in ``<host>:<pid>`` (anything before an ``@`` is a label)."""
    host, _, pid = (owner or "").rpartition("@")[2].rpartition(":")
    return bool(host) and is_gone(host, pid)
