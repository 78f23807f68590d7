"""Security headers on every response and rate limits on login, refused credentials and each tablet."""

from __future__ import annotations

from flask import Flask, current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from core import errors
from ports import embedded_redis
from server import auth
from services.scans import max_scan_bytes
from services.sync_push import PushLimits
from sync.uploads import settings_from

limiter = Limiter(key_func=get_remote_address, strategy="moving-window")

# Pages: only our own scripts, styles and images; no inline script can run, nothing can frame us.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
API_CSP = "default-src 'none'; frame-ancestors 'none'"


def _upload_limit(config) -> int:

    # one byte more than Tus-Max-Size, so a PATCH of exactly Tus-Max-Size bytes is read to its end
    return settings_from(config).max_size + 1


def _push_limit(config) -> int:

    # one byte more than the batch cap, so the push route itself answers 413 with its limit
    return int(config.get("SYNC_MAX_PUSH_BYTES", PushLimits().max_bytes)) + 1


def _import_limit(config) -> int:
    return int(config["IMPORT_MAX_BYTES"]) + 64 * 1024  # the file plus its multipart envelope


def _scan_limit(config) -> int:

    # several files of at most SCAN_MAX_BYTES each go in one intake request
    return int(config.get("SCAN_MAX_REQUEST_BYTES", 4 * max_scan_bytes(config))) + 64 * 1024


# Routes whose bodies may exceed MAX_CONTENT_LENGTH, by blueprint or endpoint, with their limit.
BODY_LIMITS = {
    "uploads": _upload_limit,
    "scans_api.ScanList": _scan_limit,
    "dossiers.scan_upload": _scan_limit,
    "sync": _push_limit,
    "lifecycle.import_events": _import_limit,
}

LOGIN_LIMIT = "20 per minute"
BAD_TOKEN_LIMIT = "30 per minute"
# Wrong enrolment codes: 8 characters of 31 symbols cannot be guessed at this pace.
ENROL_LIMIT = "10 per minute"


def limiter_storage_uri(app: Flask) -> str:
    """The limits storage: the app's Redis (shared by all web processes)."""
    url = app.config.get("REDIS_URL") or embedded_redis.url_for(app.config["DANGAN_DATA_DIR"])
    return "redis+unix://" + url[len("unix://") :] if url.startswith("unix://") else url


def init_app(app: Flask) -> None:
    """Wire the limiter and the security headers into the app."""
    app.config.setdefault("RATELIMIT_STORAGE_URI", limiter_storage_uri(app))
    # A Redis outage must not lock everybody out: count in memory until it is back.
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    # No X-RateLimit-*/Retry-After on every answer: the limiter would overwrite the Retry-After of
    # 503/423/507 answers with its window; a 429 gets its own Retry-After (server.http_errors).
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", False)
    limiter.init_app(app)

    @app.before_request
    def route_body_limit():
        for key in (request.endpoint, request.blueprint):
            if key in BODY_LIMITS:
                request.max_content_length = BODY_LIMITS[key](app.config)
                return

    @app.after_request
    def secure_headers(response):
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Content-Security-Policy", API_CSP if request.path.startswith("/api/") else PAGE_CSP)
        if request.path.startswith("/api/") or response.mimetype == "text/html":
            headers.setdefault("Cache-Control", "no-store")
        return response


_limited_blueprints: set[str] = set()


def _refused(response) -> bool:
    return response.status_code == 401


def _valid_device() -> object | None:
    try:
        return auth.bearer_device()
    except errors.DomainError:
        return None


def refused_enrolment(response) -> bool:
    """Count only refused enrolment codes against the limit."""
    return response.status_code in (404, 409, 410)


def _valid_device_key() -> str:
    device = _valid_device()
    return "device:" + (device.id if device is not None else "-")  # "-": exempt anyway


def _device_limit() -> str:
    return current_app.config["DEVICE_RATE_LIMIT"]


def _without_valid_device() -> bool:
    return _valid_device() is None


def limit_refused_tokens(blueprint) -> None:
    """Attach the API limits to a blueprint: refused credentials per address, valid tablets per device.

    Requests whose bearer token was refused (someone guessing device tokens) count against their
    address, across all API blueprints, and only they are held back by that count: a tablet with
    a valid token behind the guesser's NAT address keeps syncing, and requests without a token
    (health checks, logged-in users) are not concerned. Each valid tablet has its own allowance
    (``DEVICE_RATE_LIMIT``) that no other client consumes.
    Blueprints are module singletons shared by every app built in one process, so the limits are
    attached once.
    """
    if blueprint.name not in _limited_blueprints:
        limiter.shared_limit(
            BAD_TOKEN_LIMIT,
            scope="refused-token",
            key_func=get_remote_address,
            deduct_when=_refused,
            exempt_when=auth.carries_no_refused_token,
        )(blueprint)
        limiter.shared_limit(
            _device_limit, scope="device", key_func=_valid_device_key, exempt_when=_without_valid_device
        )(blueprint)
        _limited_blueprints.add(blueprint.name)
