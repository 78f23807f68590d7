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
    # legal holds block destruction: legal staff place them, archivists and managers too
    "lifecycle.hold": frozenset({"legal", "archivist", "manager"}),
    "users.manage": frozenset({"admin"}),
    "devices.manage": frozenset({"admin", "manager"}),
    "system.jobs": frozenset({"admin", "manager"}),
    # the working-day calendar: load a year's holiday arrangement (放假安排)
    "calendar.manage": frozenset({"admin", "manager"}),
    "evidence_log.read": frozenset({"archivist", "legal", "manager", "admin"}),
    "audit.read": frozenset({"admin", "manager"}),
    # archivist review: every capture (and its evidence) for office roles; inspectors use
    # captures.read_own and see only their own
    "captures.read": frozenset({"archivist", "legal", "manager", "admin"}),
    "captures.list": frozenset({"inspector", "archivist", "legal", "manager", "admin"}),
    "filing_scope.read": frozenset({"archivist", "legal", "manager", "admin"}),
    # legal retrieval: exports of originals beyond the configured size need a manager's approval;
    # the use register (档案利用登记) is read by those who answer for the archive
    "evidence.export_approve": frozenset({"manager"}),
    "evidence.uses_read": frozenset({"legal", "manager", "admin"}),
}


def can(role: str | None, permission: str) -> bool:
    """True when ``role`` holds ``permission``; unknown permissions are a programming error."""
    if permission not in PERMISSIONS:
        raise KeyError(f"unknown permission {permission!r}")
    return role is not None and role in PERMISSIONS[permission]


def permissions_of(role: str) -> list[str]:
    """All permissions a role holds, sorted (for the admin page and the tests)."""
    return sorted(p for p, roles in PERMISSIONS.items() if role in roles)
