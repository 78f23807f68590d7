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

    def __init__(
        self, problem: Problem, message: str | None = None, details: dict | None = None, headers: dict | None = None
    ):
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
LOGIN_THROTTLED = problem(
    "auth.login_throttled", 429, "Too many failed logins for this account from this address; wait and retry."
)
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
ENROLMENT_CODE_UNKNOWN = problem("enrolment.code_unknown", 404, "No enrolment code like this; check the 8 characters.")
ENROLMENT_CODE_EXPIRED = problem("enrolment.code_expired", 410, "The enrolment code has expired; ask for a new one.")
ENROLMENT_CODE_USED = problem("enrolment.code_used", 409, "The enrolment code was already used; ask for a new one.")

# --- customers and import ------------------------------------------------------------------
INVALID_ACCOUNT_NO = problem("customer.invalid_account_no", 400, "Invalid account number (户号).")
UNKNOWN_CUSTOMER = problem("customer.unknown", 404, "No customer with this account number.")
IMPORT_UNREADABLE = problem("import.unreadable", 400, "The import file cannot be read.")
IMPORT_TOO_LARGE = problem("import.too_large", 413, "The import file is too large.")
IMPORT_MISSING_COLUMNS = problem("import.missing_columns", 400, "Required columns are missing.")
IMPORT_UNSUPPORTED_FORMAT = problem(
    "import.unsupported_format", 400, "Only CSV (UTF-8 or GB18030) and XLSX files can be imported."
)

# --- archive lifecycle: deadlines, use, retention, destruction, boxes -----------------------
CALENDAR_OUT_OF_COVERAGE = problem(
    "calendar.out_of_coverage", 422, "The statutory working-day calendar does not cover this date."
)
UNKNOWN_EVENT_KIND = problem("lifecycle.unknown_event_kind", 400, "Unknown business event kind.")
EVENT_IN_FUTURE = problem("lifecycle.event_in_future", 400, "A business event cannot lie in the future.")
CALENDAR_BAD_ARRANGEMENT = problem("calendar.bad_arrangement", 400, "The holiday arrangement file is not valid.")
BAD_WORKING_DAYS = problem("lifecycle.bad_working_days", 400, "The number of working days must be between 1 and 366.")
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
HOLD_UNKNOWN_ITEM = problem("hold.unknown_item", 400, "The item named for the hold is not in this customer's dossier.")
HOLD_CUSTOMER_DESTROYED = problem(
    "hold.customer_destroyed", 409, "The dossier was destroyed; there is nothing left to hold."
)
HOLD_LIFTED = problem("hold.already_lifted", 409, "The legal hold has already been lifted.")
UNKNOWN_DISPOSAL_LIST = problem("disposal.unknown", 404, "No such disposal list.")
DISPOSAL_EMPTY = problem("disposal.empty", 400, "A disposal list needs at least one dossier.")
DISPOSAL_BAD_STATE = problem(
    "disposal.invalid_transition", 409, "The disposal list is not in a state that allows this."
)
DISPOSAL_SELF_APPROVAL = problem(
    "disposal.self_approval", 403, "A disposal list cannot be approved by the person who proposed it."
)
DISPOSAL_ALREADY_LISTED = problem(
    "disposal.already_listed", 409, "The dossier is already on an open disposal list or destroyed."
)
DISPOSAL_ON_HOLD = problem("disposal.legal_hold", 409, "A legal hold blocks the destruction of this dossier.")
DISPOSAL_EXPORT_ON_HOLD = problem(
    "disposal.export_on_hold",
    409,
    "An evidence bundle kept on the server holds these photos together with "
    "photos of a customer under a legal hold; it cannot be removed.",
)
UNKNOWN_DESTRUCTION_RECORD = problem("destruction.unknown", 404, "No such destruction record.")
BOX_CUSTOMER_DESTROYED = problem(
    "box.customer_destroyed", 409, "The dossier was destroyed; it no longer takes a box position."
)

# --- archivist review, linking and dossiers ---------------------------------------------------
UNKNOWN_CAPTURE = problem("capture.unknown", 404, "No such capture.")
UNKNOWN_PHOTO = problem("photo.unknown", 404, "No such photo, or its image is not available.")
PHOTO_DESTROYED = problem(
    "photo.destroyed", 410, "The photo was destroyed with its dossier; only the destruction record remains."
)
DOSSIER_DESTROYED = problem(
    "dossier.destroyed", 409, "The customer's dossier was destroyed; nothing can be filed into it or linked to it."
)
REVIEW_CONFLICT = problem(
    "review.conflict", 409, "Someone else acted on this capture first; reload it and decide again."
)
REVIEW_NOT_PENDING = problem("review.not_pending", 409, "This capture is no longer waiting for review.")
REVIEW_UNLINKED = problem("review.unlinked", 409, "Link the capture to a customer before approving it.")
REVIEW_INCOMPLETE = problem(
    "review.incomplete", 409, "Expected photos are still missing; the capture cannot be filed yet."
)
UNKNOWN_DOC_TYPE = problem("review.unknown_doc_type", 400, "The document type is not in the filing scope table.")
UNKNOWN_REJECT_REASON = problem("review.unknown_reason", 400, "Unknown rejection reason.")
REASON_TEXT_REQUIRED = problem("review.reason_text_required", 400, "This rejection reason needs an explanation.")
EMPTY_COMMENT = problem("review.empty_comment", 400, "A comment cannot be empty.")
BAD_CURSOR = problem("review.bad_cursor", 400, "The page cursor is malformed or belongs to another sort.")
BAD_FILTER = problem("review.bad_filter", 400, "A queue filter has an invalid value.")
BULK_TOO_LARGE = problem("review.bulk_too_large", 400, "Too many captures in one bulk approval.")
ALREADY_LINKED = problem("link.already_linked", 409, "The capture is already linked to a customer.")
UNKNOWN_BUSINESS_EVENT = problem(
    "dossier.unknown_business_event", 400, "The business event does not belong to this customer."
)
FILING_SCOPE_INVALID = problem(
    "filing_scope.invalid", 500, "The filing scope table is invalid; fix the configured file."
)

# --- scanned paper documents ------------------------------------------------------------------
SCAN_UNKNOWN = problem("scan.unknown", 404, "No such scan for this customer.")
SCAN_UNREADABLE = problem("scan.unreadable", 400, "The file is not a readable PDF, TIFF, JPEG or PNG scan.")
SCAN_TOO_LARGE = problem("scan.too_large", 413, "The scan file is larger than allowed.")
SCAN_NO_FILE = problem("scan.no_file", 400, "No scan file was sent (multipart field \"files\").")
SCAN_UNKNOWN_DOC_TYPE = problem("scan.unknown_doc_type", 400, "The document type is not in the filing scope table.")
SCAN_PREVIEW_MISSING = problem(
    "scan.preview_missing", 404, "The thumbnail or preview is not made yet, or the first page could not be rendered."
)
SCAN_MANIFEST_ROW_INVALID = problem(
    "scan.manifest_row_invalid", 400, "A manifest row of the scan import is invalid (see its column and reason)."
)
SCAN_ALREADY_FILED = problem("scan.already_filed", 409, "The scan is already filed in the dossier.")
SCAN_INTEGRITY_FAILED = problem(
    "scan.integrity_failed", 409, "The stored bytes of the scan do not match its hash; it cannot be filed."
)

# --- resumable photo uploads (tus 1.0) ------------------------------------------------------
UPLOAD_TUS_VERSION = problem("upload.tus_version", 412, "Only tus protocol version 1.0.0 is supported.")
UPLOAD_CONTENT_TYPE = problem(
    "upload.content_type", 415, "Upload bodies must be sent as application/offset+octet-stream."
)
UPLOAD_UNKNOWN = problem("upload.unknown", 404, "No such upload.")
UPLOAD_NOT_OWNER = problem("upload.not_owner", 403, "This upload belongs to another device.")
UPLOAD_OFFSET_INVALID = problem("upload.offset_invalid", 400, "Upload-Offset is missing or not a non-negative integer.")
UPLOAD_OFFSET_MISMATCH = problem(
    "upload.offset_mismatch", 409, "Upload-Offset differs from the stored offset; ask with HEAD and resume."
)
UPLOAD_LENGTH_INVALID = problem(
    "upload.length_invalid", 400, "Upload-Length (or Upload-Defer-Length) is missing, malformed or contradictory."
)
UPLOAD_TOO_LARGE = problem("upload.too_large", 413, "The upload is larger than Tus-Max-Size.")
UPLOAD_EXCEEDS_LENGTH = problem(
    "upload.exceeds_length", 413, "The body goes past the declared Upload-Length; the chunk was discarded."
)
UPLOAD_METADATA_INVALID = problem(
    "upload.metadata_invalid", 400, "Upload-Metadata is malformed or lacks photo_id and sha256."
)
UPLOAD_FILENAME_INVALID = problem("upload.filename_invalid", 400, "The filename contains path or control characters.")
UPLOAD_PHOTO_CONFLICT = problem(
    "upload.photo_conflict", 409, "The photo is declared with another SHA-256 or by a tablet of another inspector."
)
UPLOAD_CHECKSUM_UNSUPPORTED = problem(
    "upload.checksum_unsupported", 400, "Upload-Checksum names an unsupported algorithm or is malformed."
)
UPLOAD_CHECKSUM_MISMATCH = problem(
    "upload.checksum_mismatch", 460, "The chunk does not match Upload-Checksum; it was discarded, send it again."
)
UPLOAD_SHA256_MISMATCH = problem(
    "upload.sha256_mismatch", 422, "The file does not match its declared SHA-256; it was rejected, upload it again."
)
UPLOAD_LOCKED = problem("upload.locked", 423, "Another request is writing to this upload; retry shortly.")
UPLOAD_EXPIRED = problem("upload.expired", 410, "The upload expired; start a new one.")
UPLOAD_TERMINATED = problem("upload.terminated", 410, "The upload was terminated.")
UPLOAD_REJECTED = problem(
    "upload.rejected", 410, "The upload was rejected (its bytes did not verify); start a new one."
)
UPLOAD_FINISHED = problem(
    "upload.finished", 409, "The upload is complete; its verified bytes are kept and cannot be terminated."
)
UPLOAD_STORAGE_FULL = problem(
    "upload.storage_full",
    507,
    "The server's storage is full; this chunk was not kept. Resume later from Upload-Offset.",
)
UPLOAD_TOO_MANY_PARALLEL = problem(
    "upload.too_many_parallel", 429, "This tablet already sends the most uploads at once; retry after Retry-After."
)

# --- sync protocol (push, pull, assignments) ---------------------------------------------------
SYNC_BATCH_TOO_LARGE = problem(
    "sync.batch_too_large", 413, "The push batch is too large; split it (details give the limits)."
)
SYNC_PROTOCOL_UNSUPPORTED = problem("sync.protocol_unsupported", 400, "This sync protocol version is not supported.")
SYNC_CAPTURE_INVALID = problem(
    "sync.capture_invalid", 422, "The capture failed validation; details.fields name the fields."
)
SYNC_UNKNOWN_KIND = problem("sync.unknown_kind", 422, "Unknown capture kind.")
SYNC_UNKNOWN_VERSION = problem("sync.unknown_version", 422, "Unknown version of this capture kind.")
SYNC_ID_REUSED = problem(
    "sync.id_reused", 409, "This id was already used with different content; it is not applied again."
)
SYNC_NOT_OWNER = problem("sync.not_owner", 403, "The capture belongs to another inspector.")
SYNC_BASE_UNKNOWN = problem(
    "sync.base_unknown", 409, "The revision this amendment is based on has not arrived; push it first."
)
SYNC_ITEM_FAILED = problem("sync.item_failed", 500, "The item could not be stored this time; retry it.")
SYNC_CURSOR_INVALID = problem(
    "sync.cursor_invalid", 400, "The cursor is malformed, tampered with or from another device."
)
SYNC_RESET_REQUIRED = problem(
    "sync.reset_required", 410, "The cursor can no longer be served; drop local data and pull from the start."
)
ASSIGNMENT_NOT_INSPECTOR = problem("assignment.not_inspector", 400, "Customers can only be assigned to inspectors.")

# --- evidence stamping and the transparency log ------------------------------------------------
LOG_BAD_RANGE = problem(
    "evidence_log.bad_range", 400, "The leaf index or tree sizes are outside the log (0 ≤ index < size ≤ current size)."
)
LOG_NO_CHECKPOINT = problem("evidence_log.no_checkpoint", 404, "The evidence log has no signed checkpoint yet.")
UNKNOWN_PIPELINE_RUN = problem("stamping.unknown_run", 404, "No such stamping job.")
RUN_NOT_RETRYABLE = problem("stamping.not_retryable", 409, "Only failed or waiting stamping jobs can be retried.")

# --- legal retrieval: search, evidence exports, use register ------------------------------------
LEGAL_BAD_CURSOR = problem("legal.bad_cursor", 400, "The search page cursor is malformed or belongs to another sort.")
LEGAL_BAD_FILTER = problem("legal.bad_filter", 400, "A search filter has an invalid value.")
PURPOSE_REQUIRED = problem(
    "legal.purpose_required", 400, "State the purpose of this use (at least 2 characters) before going on."
)
EXPORT_EMPTY = problem("export.empty", 400, "The selection holds no photo that can be exported.")
EXPORT_UNKNOWN_PHOTO = problem("export.unknown_photo", 400, "A photo named for export does not exist.")
EXPORT_NOT_READY = problem(
    "export.photo_not_ready", 409, "A photo named for export has no stored original or evidence record yet."
)
EXPORT_TOO_LARGE = problem("export.too_large", 400, "Too many photos in one export; split the selection.")
UNKNOWN_EXPORT = problem("export.unknown", 404, "No such evidence export.")
EXPORT_BAD_STATE = problem("export.invalid_transition", 409, "The export is not in a state that allows this.")
EXPORT_SELF_APPROVAL = problem(
    "export.self_approval", 403, "An export cannot be approved by the person who requested it."
)
EXPORT_NOT_OWNER = problem("export.not_owner", 403, "This export belongs to another user.")
EXPORT_NOT_FINISHED = problem("export.not_finished", 409, "The evidence bundle is not ready yet.")
EXPORT_SELF_CHECK_FAILED = problem(
    "export.self_check_failed", 500, "The evidence bundle did not pass its own verifier; nothing was shipped."
)


EXPORT_ITEMS_DESTROYED = problem(
    "export.items_destroyed",
    409,
    "Photos named for export were destroyed; leave them out (skip_destroyed) or change the selection.",
)
EXPORT_DESTROYED = problem("export.destroyed", 410, "The evidence bundle was removed when photos in it were destroyed.")
EXPORT_EXPIRED = problem(
    "export.expired", 410, "The evidence bundle was kept for its retention period and removed; ask for a new export."
)
EXPORT_FAILED = problem("export.failed", 409, "Building the evidence bundle failed; the error is logged.")


# --- zh-CN messages: what office pages show for a code (the API keeps ``message`` above) ----------
ZH_CN: dict[str, str] = {
    "request.bad": "请求无法识别。",
    "request.invalid_json": "请求内容不是有效的 JSON。",
    "request.validation_failed": "请检查填写的内容：有必填项缺失或格式不对。",
    "request.too_large": "提交的内容过大。",
    "request.not_found": "没有找到该页面或记录。",
    "request.method_not_allowed": "此处不允许该操作。",
    "request.unsupported_media_type": "不支持的内容类型。",
    "request.rate_limited": "请求过于频繁，请稍后再试。",
    "auth.csrf_failed": "页面已过期，请刷新后重新提交。",
    "server.internal": "服务器内部错误，已记录，请稍后再试。",
    "server.unavailable": "后台服务暂时不可用，请稍后再试。",
    "auth.required": "请先登录。",
    "auth.bad_credentials": "用户名或密码错误。",
    "auth.login_throttled": "登录失败次数过多，请稍后再试（等待时间随失败次数增加）。",
    "auth.disabled": "该账户已停用。",
    "auth.forbidden": "您的角色无权进行此操作。",
    "auth.token_invalid": "设备令牌无效。",
    "auth.token_revoked": "设备令牌已吊销。",
    "user.unknown_role": "未知的角色。",
    "user.duplicate": "该用户名已存在。",
    "user.unknown": "没有该用户。",
    "device.not_inspector": "设备只能绑定给检查员。",
    "device.unknown": "没有该设备。",
    "user.weak_password": "密码太短。",
    "customer.invalid_account_no": "户号格式不对（应为 6–20 位数字）。",
    "customer.unknown": "没有该户号的客户。",
    "import.unreadable": "文件无法读取。",
    "import.too_large": "文件过大。",
    "import.missing_columns": "缺少必需的列。",
    "import.unsupported_format": "只能导入 CSV（UTF-8 或 GB18030）或 XLSX 文件。",
    "calendar.out_of_coverage": "工作日日历未覆盖该日期，无法计算工作日期限。",
    "calendar.bad_arrangement": "放假安排文件内容有误。",
    "lifecycle.unknown_event_kind": "未知的业务类型。",
    "lifecycle.event_in_future": "业务发生日期不能晚于今天。",
    "lifecycle.bad_working_days": "工作日天数应在 1–366 之间。",
    "use.unknown": "没有该利用登记。",
    "use.unknown_form": "未知的利用方式。",
    "use.no_items": "请至少填写一个卷内序号。",
    "use.unknown_item": "所填卷内序号不在该客户档案中。",
    "use.invalid_transition": "该登记当前状态不允许此操作。",
    "use.self_approval": "登记人不能审批自己登记的借阅。",
    "use.bad_due_date": "应还日期须晚于今天。",
    "retention.already_closed": "该户已销户。",
    "retention.bad_closing_date": "销户日期不能晚于今天。",
    "retention.not_eligible": "该档案尚未满保管期限（或未销户），不能列入销毁清册。",
    "hold.unknown": "没有该保全记录。",
    "hold.already_lifted": "该保全已解除。",
    "disposal.unknown": "没有该销毁清册。",
    "disposal.empty": "销毁清册至少需要一份档案。",
    "disposal.invalid_transition": "该清册当前状态不允许此操作。",
    "disposal.self_approval": "清册的提出人不能自己审批。",
    "disposal.already_listed": "该档案已在待执行的清册中或已销毁。",
    "disposal.legal_hold": "存在未解除的法律保全，禁止销毁。",
    "destruction.unknown": "没有该销毁记录。",
    "box.customer_destroyed": "该档案已销毁，不再占用盒位。",
    "capture.unknown": "没有该采集记录。",
    "photo.unknown": "没有该照片，或照片文件不可用。",
    "review.conflict": "其他人已先处理了这条采集，请刷新后重新决定。",
    "review.not_pending": "这条采集已不在待审核状态。",
    "review.unlinked": "请先将采集关联到客户，再审核通过。",
    "review.incomplete": "还缺少应拍的照片，暂不能归档。",
    "review.unknown_doc_type": "文件类型不在归档范围表中。",
    "review.unknown_reason": "未知的退回原因。",
    "review.reason_text_required": "该退回原因需要填写说明。",
    "review.empty_comment": "批注不能为空。",
    "review.bad_cursor": "分页位置无效，请从第一页重新浏览。",
    "review.bad_filter": "筛选条件的取值无效。",
    "review.bulk_too_large": "一次批量通过的采集过多。",
    "link.already_linked": "该采集已关联到客户。",
    "dossier.unknown_business_event": "该业务事件不属于此客户。",
    "filing_scope.invalid": "归档范围表配置有误，请修正配置文件。",
    "stamping.unknown_run": "没有该证据固定任务。",
    "stamping.not_retryable": "只有失败或等待重试的任务可以重试。",
    "evidence_log.bad_range": "叶子序号或树大小超出证据日志范围。",
    "evidence_log.no_checkpoint": "证据日志尚无签名检查点。",
    "legal.bad_cursor": "分页位置无效，请从第一页重新检索。",
    "legal.bad_filter": "检索条件的取值无效。",
    "legal.purpose_required": "请先填写本次利用的目的（至少 2 个字）。",
    "export.empty": "所选内容中没有可导出的照片。",
    "export.unknown_photo": "要导出的照片不存在。",
    "export.photo_not_ready": "要导出的照片尚无原件或证据记录。",
    "export.too_large": "一次导出的照片过多，请分批导出。",
    "export.unknown": "没有该证据导出。",
    "export.invalid_transition": "该导出当前状态不允许此操作。",
    "export.self_approval": "申请人不能审批自己的导出。",
    "export.not_owner": "该导出属于其他用户。",
    "export.not_finished": "证据包尚未生成完毕。",
    "assignment.not_inspector": "客户只能分配给检查员。",
    "hold.unknown_item": "所填卷内序号不在该客户档案中，无法保全。",
    "hold.customer_destroyed": "该客户档案已销毁，无可保全的内容。",
    "disposal.export_on_hold": "服务器上保存的证据包同时含有处于法律保全中的客户的照片，不能删除，因此不能执行销毁。",
    "photo.destroyed": "该照片已随客户档案销毁，原件及其副本均已删除。",
    "dossier.destroyed": "该客户档案已销毁，不能再归档或关联采集。",
    "export.items_destroyed": "所选照片中有已销毁的照片；请勾选“略过已销毁的照片”或修改选择。",
    "export.destroyed": "该证据包所含照片已销毁，证据包已随之删除。",
    "export.expired": "该证据包已过保存期限并被删除，请重新申请导出。",
    "export.failed": "证据包生成失败，错误已记录，请联系管理员。",
    "export.self_check_failed": "证据包未通过自身校验，未交付任何文件；请联系管理员。",
    "enrolment.code_unknown": "登记码不存在，请核对后重新输入。",
    "enrolment.code_used": "该登记码已被使用，请向管理员申请新的登记码。",
    "enrolment.code_expired": "该登记码已过期（有效期 24 小时），请向管理员申请新的登记码。",
    "request.uri_too_long": "请求地址过长。",
    "request.headers_too_large": "请求头过多或过大。",
    "scan.unknown": "该客户没有这份扫描件。",
    "scan.unreadable": "文件无法读取：仅支持 PDF、TIFF、JPEG、PNG 扫描件。",
    "scan.too_large": "扫描文件超过允许的大小。",
    "scan.no_file": "请选择要上传的扫描文件。",
    "scan.unknown_doc_type": "请选择归档范围表中的文件类型。",
    "scan.preview_missing": "缩略图或预览尚未生成，或首页无法显示。",
    "scan.manifest_row_invalid": "导入清单中有一行内容有误（见所在列及原因）。",
    "scan.already_filed": "该扫描件已归档。",
    "scan.integrity_failed": "该扫描件存储内容与哈希不符，不能归档。",
}
# upload.* and sync.* are answered to tablets only; their clients show their own texts
DEVICE_ONLY_PREFIXES = ("upload.", "sync.")


def zh_message(error: DomainError | str) -> str:
    """The zh-CN message office pages show for an error (or its code)."""
    code = error if isinstance(error, str) else error.code
    return ZH_CN.get(code, "操作未完成，请联系管理员。")
