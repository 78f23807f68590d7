"""The one catalogue of domain errors and the one JSON error shape ``{code, message, details}``.

Codes are stable strings promised to integrators (``docs/errors.md`` lists them); the HTTP
status lives with the code so that every layer raising an error agrees on it. Services,
``sync/`` and ``workers/`` raise :class:`DomainError`; only the web layer turns it into HTTP.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """A catalogued error: stable code, HTTP status and a default message."""

    code: str
    status: int
    message: str


class DomainError(Exception):
    """An expected failure of a use case, carrying a catalogued :class:`Problem`."""

    def __init__(self, problem: Problem, message: str | None = None, details: dict | None = None,
                 headers: dict | None = None):
        super().__init__(message or problem.message)
        self.problem = problem
        self.message = message or problem.message
        self.details = details or {}
        self.headers = headers or {}

    @property
    def code(self) -> str:
        """The stable error code."""
        return self.problem.code

    @property
    def status(self) -> int:
        """The HTTP status that goes with the code."""
        return self.problem.status

    def to_dict(self) -> dict:
        """Return the JSON error shape."""
        return {"code": self.code, "message": self.message, "details": self.details}


CATALOGUE: dict[str, Problem] = {}


def problem(code: str, status: int, message: str) -> Problem:
    """Register a problem in the catalogue; codes must be unique."""
    if code in CATALOGUE:
        raise ValueError(f"duplicate error code {code}")
    CATALOGUE[code] = Problem(code, status, message)
    return CATALOGUE[code]


# --- generic HTTP-level problems -------------------------------------------------------
BAD_REQUEST = problem("request.bad", 400, "The request could not be understood.")
INVALID_JSON = problem("request.invalid_json", 400, "The request body is not valid JSON.")
VALIDATION_FAILED = problem("request.validation_failed", 422, "The request has invalid fields.")
BODY_TOO_LARGE = problem("request.too_large", 413, "The request body is too large.")
NOT_FOUND = problem("request.not_found", 404, "No such resource.")
METHOD_NOT_ALLOWED = problem("request.method_not_allowed", 405, "Method not allowed here.")
UNSUPPORTED_MEDIA_TYPE = problem("request.unsupported_media_type", 415, "Unsupported content type.")
RATE_LIMITED = problem("request.rate_limited", 429, "Too many requests; slow down and retry later.")
CSRF_FAILED = problem("auth.csrf_failed", 400, "The form's CSRF token is missing or wrong.")
INTERNAL = problem("server.internal", 500, "Internal error; it has been logged.")
UNAVAILABLE = problem("server.unavailable", 503, "A backing service is unavailable; retry later.")

# --- authentication and authorisation ---------------------------------------------------
AUTH_REQUIRED = problem("auth.required", 401, "Authentication is required.")
BAD_CREDENTIALS = problem("auth.bad_credentials", 401, "Wrong user name or password.")
ACCOUNT_LOCKED = problem("auth.locked", 403, "The account is locked after repeated failures.")
ACCOUNT_DISABLED = problem("auth.disabled", 403, "The account is disabled.")
FORBIDDEN = problem("auth.forbidden", 403, "Your role may not do this.")
TOKEN_INVALID = problem("auth.token_invalid", 401, "The device token is unknown or malformed.")
TOKEN_REVOKED = problem("auth.token_revoked", 401, "The device token has been revoked.")

# --- accounts and devices ----------------------------------------------------------------
UNKNOWN_ROLE = problem("user.unknown_role", 400, "Unknown role.")
DUPLICATE_USER = problem("user.duplicate", 409, "A user with this name already exists.")
UNKNOWN_USER = problem("user.unknown", 404, "No such user.")
NOT_AN_INSPECTOR = problem("device.not_inspector", 400, "Devices can only be bound to inspectors.")
UNKNOWN_DEVICE = problem("device.unknown", 404, "No such device.")
WEAK_PASSWORD = problem("user.weak_password", 400, "The password is too short.")

# --- customers and import ------------------------------------------------------------------
INVALID_ACCOUNT_NO = problem("customer.invalid_account_no", 400, "Invalid account number (户号).")
UNKNOWN_CUSTOMER = problem("customer.unknown", 404, "No customer with this account number.")
IMPORT_UNREADABLE = problem("import.unreadable", 400, "The import file cannot be read.")
IMPORT_TOO_LARGE = problem("import.too_large", 413, "The import file is too large.")
IMPORT_MISSING_COLUMNS = problem("import.missing_columns", 400, "Required columns are missing.")
IMPORT_UNSUPPORTED_FORMAT = problem("import.unsupported_format", 400,
                                    "Only CSV (UTF-8 or GB18030) and XLSX files can be imported.")
