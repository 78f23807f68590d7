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
URI_TOO_LONG = problem("request.uri_too_long", 414, "The request line is too long.")
HEADERS_TOO_LARGE = problem("request.headers_too_large", 431, "The request headers are too many or too large.")

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

# --- archive lifecycle: deadlines, use, retention, destruction, boxes -----------------------
CALENDAR_OUT_OF_COVERAGE = problem("calendar.out_of_coverage", 422,
                                   "The statutory working-day calendar does not cover this date.")
UNKNOWN_EVENT_KIND = problem("lifecycle.unknown_event_kind", 400, "Unknown business event kind.")
EVENT_IN_FUTURE = problem("lifecycle.event_in_future", 400, "A business event cannot lie in the future.")
BAD_WORKING_DAYS = problem("lifecycle.bad_working_days", 400,
                           "The number of working days must be between 1 and 366.")
UNKNOWN_USE_REQUEST = problem("use.unknown", 404, "No such use request.")
UNKNOWN_USE_FORM = problem("use.unknown_form", 400, "Unknown form of use.")
USE_NO_ITEMS = problem("use.no_items", 400, "Name at least one item of the dossier.")
USE_UNKNOWN_ITEM = problem("use.unknown_item", 400, "An item named is not in this customer's dossier.")
USE_BAD_STATE = problem("use.invalid_transition", 409, "The use request is not in a state that allows this.")
USE_SELF_APPROVAL = problem("use.self_approval", 403, "A request cannot be approved by the person who registered it.")
USE_BAD_DUE_DATE = problem("use.bad_due_date", 400, "The return date must lie after today.")
ALREADY_CLOSED = problem("retention.already_closed", 409, "The account is already closed.")
BAD_CLOSING_DATE = problem("retention.bad_closing_date", 400, "The closing date cannot lie in the future.")
NOT_ELIGIBLE = problem("retention.not_eligible", 409, "The dossier is not yet eligible for destruction.")
UNKNOWN_HOLD = problem("hold.unknown", 404, "No such legal hold.")
HOLD_LIFTED = problem("hold.already_lifted", 409, "The legal hold has already been lifted.")
UNKNOWN_DISPOSAL_LIST = problem("disposal.unknown", 404, "No such disposal list.")
DISPOSAL_EMPTY = problem("disposal.empty", 400, "A disposal list needs at least one dossier.")
DISPOSAL_BAD_STATE = problem("disposal.invalid_transition", 409,
                             "The disposal list is not in a state that allows this.")
DISPOSAL_SELF_APPROVAL = problem("disposal.self_approval", 403,
                                 "A disposal list cannot be approved by the person who proposed it.")
DISPOSAL_ALREADY_LISTED = problem("disposal.already_listed", 409,
                                  "The dossier is already on an open disposal list or destroyed.")
DISPOSAL_ON_HOLD = problem("disposal.legal_hold", 409, "A legal hold blocks the destruction of this dossier.")
UNKNOWN_DESTRUCTION_RECORD = problem("destruction.unknown", 404, "No such destruction record.")
BOX_CUSTOMER_DESTROYED = problem("box.customer_destroyed", 409,
                                 "The dossier was destroyed; it no longer takes a box position.")

# --- archivist review, linking and dossiers ---------------------------------------------------
UNKNOWN_CAPTURE = problem("capture.unknown", 404, "No such capture.")
UNKNOWN_PHOTO = problem("photo.unknown", 404, "No such photo, or its image is not available.")
REVIEW_CONFLICT = problem("review.conflict", 409,
                          "Someone else acted on this capture first; reload it and decide again.")
REVIEW_NOT_PENDING = problem("review.not_pending", 409, "This capture is no longer waiting for review.")
REVIEW_UNLINKED = problem("review.unlinked", 409,
                          "Link the capture to a customer before approving it.")
REVIEW_INCOMPLETE = problem("review.incomplete", 409,
                            "Expected photos are still missing; the capture cannot be filed yet.")
UNKNOWN_DOC_TYPE = problem("review.unknown_doc_type", 400,
                           "The document type is not in the filing scope table.")
UNKNOWN_REJECT_REASON = problem("review.unknown_reason", 400, "Unknown rejection reason.")
REASON_TEXT_REQUIRED = problem("review.reason_text_required", 400,
                               "This rejection reason needs an explanation.")
EMPTY_COMMENT = problem("review.empty_comment", 400, "A comment cannot be empty.")
BAD_CURSOR = problem("review.bad_cursor", 400, "The page cursor is malformed or belongs to another sort.")
BAD_FILTER = problem("review.bad_filter", 400, "A queue filter has an invalid value.")
BULK_TOO_LARGE = problem("review.bulk_too_large", 400, "Too many captures in one bulk approval.")
ALREADY_LINKED = problem("link.already_linked", 409, "The capture is already linked to a customer.")
UNKNOWN_BUSINESS_EVENT = problem("dossier.unknown_business_event", 400,
                                 "The business event does not belong to this customer.")
FILING_SCOPE_INVALID = problem("filing_scope.invalid", 500,
                               "The filing scope table is invalid; fix the configured file.")

# --- resumable photo uploads (tus 1.0) ------------------------------------------------------
UPLOAD_TUS_VERSION = problem("upload.tus_version", 412, "Only tus protocol version 1.0.0 is supported.")
UPLOAD_CONTENT_TYPE = problem("upload.content_type", 415,
                              "Upload bodies must be sent as application/offset+octet-stream.")
UPLOAD_UNKNOWN = problem("upload.unknown", 404, "No such upload.")
UPLOAD_NOT_OWNER = problem("upload.not_owner", 403, "This upload belongs to another device.")
UPLOAD_OFFSET_INVALID = problem("upload.offset_invalid", 400,
                                "Upload-Offset is missing or not a non-negative integer.")
UPLOAD_OFFSET_MISMATCH = problem("upload.offset_mismatch", 409,
                                 "Upload-Offset differs from the stored offset; ask with HEAD and resume.")
UPLOAD_LENGTH_INVALID = problem("upload.length_invalid", 400,
                                "Upload-Length (or Upload-Defer-Length) is missing, malformed or contradictory.")
UPLOAD_TOO_LARGE = problem("upload.too_large", 413, "The upload is larger than Tus-Max-Size.")
UPLOAD_EXCEEDS_LENGTH = problem("upload.exceeds_length", 413,
                                "The body goes past the declared Upload-Length; the chunk was discarded.")
UPLOAD_METADATA_INVALID = problem("upload.metadata_invalid", 400,
                                  "Upload-Metadata is malformed or lacks photo_id and sha256.")
UPLOAD_FILENAME_INVALID = problem("upload.filename_invalid", 400,
                                  "The filename contains path or control characters.")
UPLOAD_PHOTO_CONFLICT = problem("upload.photo_conflict", 409,
                                "The photo is declared with another SHA-256 or by another device.")
UPLOAD_CHECKSUM_UNSUPPORTED = problem("upload.checksum_unsupported", 400,
                                      "Upload-Checksum names an unsupported algorithm or is malformed.")
UPLOAD_CHECKSUM_MISMATCH = problem("upload.checksum_mismatch", 460,
                                   "The chunk does not match Upload-Checksum; it was discarded, send it again.")
UPLOAD_SHA256_MISMATCH = problem("upload.sha256_mismatch", 422,
                                 "The file does not match its declared SHA-256; it was rejected, upload it again.")
UPLOAD_LOCKED = problem("upload.locked", 423, "Another request is writing to this upload; retry shortly.")
UPLOAD_EXPIRED = problem("upload.expired", 410, "The upload expired; start a new one.")
UPLOAD_TERMINATED = problem("upload.terminated", 410, "The upload was terminated.")
UPLOAD_REJECTED = problem("upload.rejected", 410,
                          "The upload was rejected (its bytes did not verify); start a new one.")
UPLOAD_FINISHED = problem("upload.finished", 409,
                          "The upload is complete; its verified bytes are kept and cannot be terminated.")
UPLOAD_STORAGE_FULL = problem("upload.storage_full", 507,
                              "The server's storage is full; this chunk was not kept. Resume later from Upload-Offset.")
UPLOAD_TOO_MANY_PARALLEL = problem("upload.too_many_parallel", 429,
                                   "This tablet already sends the most uploads at once; retry after Retry-After.")

# --- sync protocol (push, pull, assignments) ---------------------------------------------------
SYNC_BATCH_TOO_LARGE = problem("sync.batch_too_large", 413,
                               "The push batch is too large; split it (details give the limits).")
SYNC_PROTOCOL_UNSUPPORTED = problem("sync.protocol_unsupported", 400,
                                    "This sync protocol version is not supported.")
SYNC_CAPTURE_INVALID = problem("sync.capture_invalid", 422,
                               "The capture failed validation; details.fields name the fields.")
SYNC_UNKNOWN_KIND = problem("sync.unknown_kind", 422, "Unknown capture kind.")
SYNC_UNKNOWN_VERSION = problem("sync.unknown_version", 422, "Unknown version of this capture kind.")
SYNC_ID_REUSED = problem("sync.id_reused", 409,
                         "This id was already used with different content; it is not applied again.")
SYNC_NOT_OWNER = problem("sync.not_owner", 403, "The capture belongs to another inspector.")
SYNC_BASE_UNKNOWN = problem("sync.base_unknown", 409,
                            "The revision this amendment is based on has not arrived; push it first.")
SYNC_ITEM_FAILED = problem("sync.item_failed", 500,
                           "The item could not be stored this time; retry it.")
SYNC_CURSOR_INVALID = problem("sync.cursor_invalid", 400,
                              "The cursor is malformed, tampered with or from another device.")
SYNC_RESET_REQUIRED = problem("sync.reset_required", 410,
                              "The cursor can no longer be served; drop local data and pull from the start.")
ASSIGNMENT_NOT_INSPECTOR = problem("assignment.not_inspector", 400,
                                   "Customers can only be assigned to inspectors.")

# --- evidence stamping and the transparency log ------------------------------------------------
LOG_BAD_RANGE = problem("evidence_log.bad_range", 400,
                        "The leaf index or tree sizes are outside the log (0 ≤ index < size ≤ current size).")
LOG_NO_CHECKPOINT = problem("evidence_log.no_checkpoint", 404, "The evidence log has no signed checkpoint yet.")
UNKNOWN_PIPELINE_RUN = problem("stamping.unknown_run", 404, "No such stamping job.")
RUN_NOT_RETRYABLE = problem("stamping.not_retryable", 409,
                            "Only failed or waiting stamping jobs can be retried.")

# --- legal retrieval: search, evidence exports, use register ------------------------------------
LEGAL_BAD_CURSOR = problem("legal.bad_cursor", 400, "The search page cursor is malformed or belongs to another sort.")
LEGAL_BAD_FILTER = problem("legal.bad_filter", 400, "A search filter has an invalid value.")
PURPOSE_REQUIRED = problem("legal.purpose_required", 400,
                           "State the purpose of this use (at least 2 characters) before going on.")
EXPORT_EMPTY = problem("export.empty", 400, "The selection holds no photo that can be exported.")
EXPORT_UNKNOWN_PHOTO = problem("export.unknown_photo", 400, "A photo named for export does not exist.")
EXPORT_NOT_READY = problem("export.photo_not_ready", 409,
                           "A photo named for export has no stored original or evidence record yet.")
EXPORT_TOO_LARGE = problem("export.too_large", 400, "Too many photos in one export; split the selection.")
UNKNOWN_EXPORT = problem("export.unknown", 404, "No such evidence export.")
EXPORT_BAD_STATE = problem("export.invalid_transition", 409,
                           "The export is not in a state that allows this.")
EXPORT_SELF_APPROVAL = problem("export.self_approval", 403,
                               "An export cannot be approved by the person who requested it.")
EXPORT_NOT_OWNER = problem("export.not_owner", 403, "This export belongs to another user.")
EXPORT_NOT_FINISHED = problem("export.not_finished", 409, "The evidence bundle is not ready yet.")
