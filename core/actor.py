"""Who is acting, as recorded in the audit log."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    """The principal behind a state change: a user, a device, the CLI or the system itself."""

    kind: str  # user | device | cli | system
    id: str | None = None
    ip: str | None = None
    role: str | None = None


SYSTEM = Actor("system")
CLI = Actor("cli")
