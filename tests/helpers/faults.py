"""Injected faults for the reliability tests: a database that goes away, a disk that fills up.

``DatabaseOutage`` makes chosen SQL statements fail with ``OperationalError`` (what a dropped
PostgreSQL connection or a locked/full SQLite file raises), on SQLite and PostgreSQL alike.
``small_disk`` mounts a tiny tmpfs when running as root and says so; otherwise the tests fall
back to a write that raises ENOSPC once a byte budget is spent.
"""

from __future__ import annotations

import errno
import os
import re
import subprocess
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
import sqlalchemy.exc


class DatabaseOutage:
    """Fail SQL statements on an engine: all of them (``down``) or the n-th one matching a pattern."""

    def __init__(self, engine: sa.engine.Engine):
        self.engine = engine
        self.pattern: re.Pattern | None = None
        self.countdown = 0
        self.remaining: int | None = None
        self.failures = 0
        sa.event.listen(engine, "before_cursor_execute", self._before)

    def _before(self, _conn, _cursor, statement, _params, _context, _many):
        if self.pattern is None or not self.pattern.search(statement):
            return
        self.countdown -= 1
        if self.countdown > 0:
            return
        if self.remaining is not None:
            if self.remaining <= 0:
                return
            self.remaining -= 1
        self.failures += 1
        raise sqlalchemy.exc.OperationalError(
            statement, None, ConnectionError("server closed the connection unexpectedly")
        )

    def down(self) -> None:
        """Every statement fails from now on."""
        self.fail_at(r".", 1)

    def fail_at(self, pattern: str, nth: int = 1, times: int | None = None) -> None:
        """From the ``nth`` statement matching ``pattern`` (case-insensitive) on, fail ``times`` of them (None: all)."""
        self.pattern, self.countdown, self.remaining = re.compile(pattern, re.I | re.S), nth, times

    def up(self) -> None:
        """The database answers again."""
        self.pattern = None

    def remove(self) -> None:
        """Detach from the engine."""
        self.up()
        sa.event.remove(self.engine, "before_cursor_execute", self._before)


def can_mount() -> bool:
    """True when this process may mount a tmpfs (root on Linux)."""
    return hasattr(os, "geteuid") and os.geteuid() == 0 and Path("/bin/mount").exists()


@contextmanager
def small_disk(path: Path, size_kb: int):
    """Mount a tmpfs of ``size_kb`` at ``path``; yields a function that grows it (free space returns)."""
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_kb}k,mode=0700", "tmpfs", str(path)],
        check=True,
        capture_output=True,
    )

    def grow(new_kb: int) -> None:
        subprocess.run(["mount", "-o", f"remount,size={new_kb}k", str(path)], check=True, capture_output=True)

    try:
        yield grow
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False, capture_output=True)


class WriteBudget:
    """Stands in for a full disk where no tmpfs can be mounted: ``os.write`` raises ENOSPC past a budget."""

    def __init__(self, budget: int):
        self.budget = budget
        self.real_write = os.write

    def write(self, fd: int, data) -> int:
        """Write like ``os.write`` until the budget is spent, then fail as a full disk does."""
        if self.budget <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        part = bytes(data[: self.budget])
        written = self.real_write(fd, part)
        self.budget -= written
        return written
