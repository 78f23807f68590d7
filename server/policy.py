"""Who may do what: the one place where roles meet permissions.

Every page and API route names a permission; ``can`` answers for a role. Devices (tablets)
act with the pseudo-role ``device``. Nothing here grants a way to change stored evidence:
no such permission exists.
"""

PERMISSIONS: dict[str, frozenset[str]] = {
    # tablets
    "sync": frozenset({"device"}),
    "upload": frozenset({"device"}),
    # office work
    "queue.read": frozenset({"archivist", "manager", "admin"}),
    "queue.review": frozenset({"archivist"}),
    "captures.read_own": frozenset({"inspector"}),
    "dossier.read": frozenset({"archivist", "legal", "manager", "admin"}),
    "dossier.edit": frozenset({"archivist"}),
    "customers.read": frozenset({"archivist", "legal", "manager", "admin"}),
    "evidence.search": frozenset({"legal", "manager"}),
    "evidence.export": frozenset({"legal", "manager"}),
    "lifecycle.manage": frozenset({"archivist", "manager"}),
    "lifecycle.approve": frozenset({"manager"}),
    "quality.read": frozenset({"manager", "admin"}),
    "users.manage": frozenset({"admin"}),
    "devices.manage": frozenset({"admin", "manager"}),
    "system.jobs": frozenset({"admin", "manager"}),
    "audit.read": frozenset({"admin", "manager"}),
}


def can(role: str | None, permission: str) -> bool:
    """True when ``role`` holds ``permission``; unknown permissions are a programming error."""
    if permission not in PERMISSIONS:
        raise KeyError(f"unknown permission {permission!r}")
    return role is not None and role in PERMISSIONS[permission]


def permissions_of(role: str) -> list[str]:
    """All permissions a role holds, sorted (for the admin page and the tests)."""
    return sorted(p for p, roles in PERMISSIONS.items() if role in roles)
