"""The clock port: services read time through it so tests can fix or move it."""

from datetime import datetime, timedelta, timezone


class Clock:
    """Interface: ``now()`` returns an aware UTC datetime."""

    def now(self) -> datetime:  # pragma: no cover - interface
        raise NotImplementedError


class SystemClock(Clock):
    """The real wall clock of the server."""

    def now(self) -> datetime:
        """Return the current UTC time."""
        return datetime.now(timezone.utc)


class FakeClock(Clock):
    """A clock the tests set and advance by hand."""

    def __init__(self, start: datetime | None = None):
        self.current = start or datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)

    def now(self) -> datetime:
        """Return the fixed current time."""
        return self.current

    def advance(self, **kwargs) -> datetime:
        """Move the clock forward by ``timedelta(**kwargs)`` and return the new time."""
        self.current += timedelta(**kwargs)
        return self.current
