"""tus 1.0 at /api/v1/uploads: resumable, checksummed photo uploads for tablets and browsers.

Handlers parse tus headers, call one service function and answer with tus headers. OPTIONS
answers without credentials: tus discovery and CORS preflight requests carry none.
"""

from __future__ import annotations

import time

from flask import current_app, g, request, url_for
from flask.views import MethodView
from flask_smorest import Blueprint
from werkzeug.exceptions import ClientDisconnected

from core import errors
from models.database import db
from server.auth import current_actor, require
from services import uploads as service
from services.ports_access import ports
from sync import uploads as tus

blp = Blueprint(
    "uploads",
    __name__,
    url_prefix="/api/v1",
    description="Resumable photo uploads (tus 1.0.0: core, creation, creation-with-upload, "
    "creation-defer-length, expiration, checksum, termination)",
)


class RequestBody:
    """The request body as a plain reader; a client that goes away becomes ``BodyInterrupted``.

    The WSGI server's read blocks until it has every byte asked for, so the body is read in
    pieces, and ``read`` returns what it has after ``patience`` seconds. The piece shrinks
    (down to one byte) while bytes come slower than that and grows back (up to ``PIECE``) when
    they come fast: on any link the upload records its progress about every
    ``UPLOAD_PROGRESS_SECONDS``, and a cut loses at most the piece being read.
    """

    PIECE = 1024 * 1024  # one ``readinto`` straight from the socket (server.web_serving)

    def __init__(self, stream, patience: float = 1.0):
        self.stream = stream
        self.patience = patience
        self.piece = 1024
        self.cut: Exception | None = None

    def read(self, size: int) -> bytes:
        """Read up to ``size`` bytes; fewer when they come slower than ``patience`` allows."""
        if self.cut is not None:
            raise tus.BodyInterrupted(str(self.cut)) from self.cut
        deadline = time.monotonic() + self.patience
        parts, got = [], 0
        try:
            while got < size:
                started = time.monotonic()
                piece = self.stream.read(min(self.piece, size - got))
                if not piece:
                    break
                parts.append(piece)
                got += len(piece)
                took = time.monotonic() - started
                if took > self.patience / 2:
                    self.piece = max(1, self.piece // 4)
                elif took < self.patience / 16:
                    self.piece = min(self.PIECE, self.piece * 2)
                if time.monotonic() >= deadline:
                    break
        except (ClientDisconnected, OSError) as exc:
            self.cut = exc  # hand over what arrived first; the next read reports the cut
            if not parts:
                raise tus.BodyInterrupted(str(exc)) from exc
        return b"".join(parts)


def _settings() -> tus.UploadSettings:
    return tus.settings_from(current_app.config)


def _body() -> RequestBody:
    return RequestBody(request.stream, patience=min(1.0, max(0.1, _settings().progress_seconds)))


def _has_body() -> bool:
    return bool(request.content_length) or "chunked" in request.headers.get("Transfer-Encoding", "").lower()


def _patch_request(offset: int | None = None) -> tus.PatchRequest:
    """Parse the headers of a body-carrying request (415, 400 for bad offsets or checksums)."""
    tus.check_content_type(request.headers.get("Content-Type"))
    if offset is None:
        offset = tus.parse_offset(request.headers.get("Upload-Offset"))
    length = request.headers.get("Upload-Length")
    return tus.PatchRequest(
        offset=offset,
        content_length=request.content_length,
        checksum=tus.parse_checksum(request.headers.get("Upload-Checksum")),
        length=None if length is None else tus.parse_length(length, _settings().max_size),
    )


def _location(upload_id: str) -> str:
    return url_for("uploads.UploadResource", upload_id=upload_id)


@blp.before_request
def _check_tus_version():
    """Every tus request but OPTIONS names the protocol version."""
    if request.method != "OPTIONS":
        tus.check_version(request.headers.get("Tus-Resumable"))


@blp.after_request
def _tus_and_cors_headers(response):
    """Tus-Resumable on every answer; CORS headers so browser clients can read the tus headers."""
    response.headers["Tus-Resumable"] = tus.TUS_VERSION
    origin = request.headers.get("Origin")
    if origin:
        allowed = current_app.config.get("UPLOAD_CORS_ORIGINS", "*")
        if allowed == "*" or origin in allowed:
            response.headers["Access-Control-Allow-Origin"] = "*" if allowed == "*" else origin
            response.headers["Access-Control-Expose-Headers"] = ", ".join(tus.EXPOSED_HEADERS)
            response.headers.add("Vary", "Origin")
            if request.method == "OPTIONS":
                response.headers["Access-Control-Allow-Methods"] = ", ".join(tus.METHODS)
                response.headers["Access-Control-Allow-Headers"] = ", ".join(tus.REQUEST_HEADERS)
                response.headers["Access-Control-Max-Age"] = "86400"
    if request.method == "POST" and response.is_json:
        # a creation-with-upload whose body failed still created the upload: say where it is
        upload_id = ((response.get_json(silent=True) or {}).get("details") or {}).get("upload_id")
        if upload_id:
            response.headers["Location"] = _location(upload_id)
    return response


def _options():
    return "", 204, tus.discovery_headers(_settings())


_TUS_RESUMABLE = {
    "in": "header",
    "name": "Tus-Resumable",
    "required": True,
    "schema": {"type": "string", "enum": [tus.TUS_VERSION]},
}
_STATUS_HEADERS = {
    "Upload-Offset": {"description": "Bytes stored so far", "schema": {"type": "integer"}},
    "Upload-Length": {"description": "Total size, once known", "schema": {"type": "integer"}},
    "Upload-Expires": {
        "description": "When an unfinished upload expires (RFC 7231 date)",
        "schema": {"type": "string"},
    },
    "Tus-Resumable": {"schema": {"type": "string"}},
}
_ERROR_SHAPE = {
    "type": "object",
    "required": ["code", "message", "details"],
    "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "details": {"type": "object"}},
}
_ERRORS = {
    code: {"description": desc, "content": {"application/json": {"schema": _ERROR_SHAPE}}}
    for code, desc in {
        "400": "Malformed tus headers",
        "401": "No or bad device token",
        "403": "Another device's upload",
        "404": "Unknown upload",
        "409": "Offset mismatch",
        "410": "Expired, terminated or rejected upload",
        "412": "Unsupported Tus-Resumable",
        "413": "Larger than Tus-Max-Size or the declared length",
        "415": "Wrong content type",
        "422": "Whole-file SHA-256 differs from the declared one",
        "423": "Another request is writing to this upload",
        "460": "Chunk checksum mismatch",
    }.items()
}
_DISCOVERY = {
    "204": {
        "description": "tus discovery (no credentials needed)",
        "headers": {
            "Tus-Version": {"schema": {"type": "string"}},
            "Tus-Extension": {"schema": {"type": "string"}},
            "Tus-Max-Size": {"schema": {"type": "integer"}},
            "Tus-Checksum-Algorithm": {"schema": {"type": "string"}},
        },
    }
}
_BODY = {"required": False, "content": {tus.OFFSET_CONTENT_TYPE: {"schema": {"type": "string", "format": "binary"}}}}


@blp.route("/uploads")
class Uploads(MethodView):
    @blp.doc(summary="tus discovery and CORS preflight", responses=_DISCOVERY, security=[])
    def options(self):
        """Advertise the tus version, extensions, Tus-Max-Size and checksum algorithms."""
        return _options()

    @blp.doc(
        summary="Create an upload (creation, creation-with-upload, creation-defer-length)",
        security=[{"deviceToken": []}],
        parameters=[
            _TUS_RESUMABLE,
            {
                "in": "header",
                "name": "Upload-Length",
                "schema": {"type": "integer", "minimum": 0},
                "description": "Total size in bytes (or send Upload-Defer-Length: 1)",
            },
            {"in": "header", "name": "Upload-Defer-Length", "schema": {"type": "integer", "enum": [1]}},
            {
                "in": "header",
                "name": "Upload-Metadata",
                "required": True,
                "schema": {"type": "string"},
                "description": "Comma-separated `key base64(value)` pairs: photo_id (UUID), sha256 "
                "(hex, required), filename and filetype (labels only)",
            },
            {
                "in": "header",
                "name": "Upload-Checksum",
                "schema": {"type": "string"},
                "description": "`sha1|md5|sha256 base64(digest)` of the body, if any",
            },
        ],
        requestBody=_BODY,
        responses={
            "201": {
                "description": "Created; Location names the upload",
                "headers": {"Location": {"schema": {"type": "string"}}, **_STATUS_HEADERS},
            },
            **_ERRORS,
        },
    )
    @require("upload")
    def post(self):
        """Create an upload for one photo, optionally with its first bytes."""
        settings = _settings()
        request_ = tus.CreateRequest(
            length=tus.parse_creation_length(
                request.headers.get("Upload-Length"), request.headers.get("Upload-Defer-Length"), settings.max_size
            ),
            label=tus.photo_label(
                tus.parse_metadata(request.headers.get("Upload-Metadata"), settings.max_metadata_bytes)
            ),
        )
        first = _patch_request(offset=0) if _has_body() else None
        upload = service.create(
            db.session,
            current_actor(),
            g.device.id,
            request_,
            first,
            _body() if first else None,
            ports().clock,
            ports().blobs,
            settings,
        )
        return "", 201, {"Location": _location(upload.id), **tus.status_headers(upload)}


_UPLOAD_ID = {"in": "path", "name": "upload_id", "required": True, "schema": {"type": "string"}}


@blp.route("/uploads/<string:upload_id>")
class UploadResource(MethodView):
    @blp.doc(summary="tus discovery and CORS preflight", responses=_DISCOVERY, security=[])
    def options(self, upload_id):
        """Advertise the tus version and extensions (CORS preflight for PATCH, HEAD, DELETE)."""
        return _options()

    @blp.doc(
        summary="Where to resume: Upload-Offset and Upload-Length",
        security=[{"deviceToken": []}],
        parameters=[_TUS_RESUMABLE],
        responses={
            "200": {"description": "Offset and length; Cache-Control: no-store", "headers": _STATUS_HEADERS},
            **_ERRORS,
        },
    )
    @require("upload")
    def head(self, upload_id):
        """Report the stored offset of an upload."""
        upload = service.status(
            db.session, current_actor(), g.device.id, upload_id, ports().clock, ports().blobs, _settings()
        )
        return "", 200, {"Cache-Control": "no-store", **tus.status_headers(upload, with_metadata=True)}

    @blp.doc(
        summary="Append bytes at Upload-Offset",
        security=[{"deviceToken": []}],
        parameters=[
            _TUS_RESUMABLE,
            {"in": "header", "name": "Upload-Offset", "required": True, "schema": {"type": "integer", "minimum": 0}},
            {
                "in": "header",
                "name": "Upload-Checksum",
                "schema": {"type": "string"},
                "description": "`sha1|md5|sha256 base64(digest)`; a mismatch discards the chunk (460)",
            },
            {
                "in": "header",
                "name": "Upload-Length",
                "schema": {"type": "integer"},
                "description": "Sets a deferred length",
            },
        ],
        requestBody={**_BODY, "required": True},
        responses={"204": {"description": "Stored; the new Upload-Offset", "headers": _STATUS_HEADERS}, **_ERRORS},
    )
    @require("upload")
    def patch(self, upload_id):
        """Store one chunk; the last one verifies the SHA-256 and files the bytes."""
        upload = service.write(
            db.session,
            current_actor(),
            g.device.id,
            upload_id,
            _patch_request(),
            _body(),
            ports().clock,
            ports().blobs,
            _settings(),
        )
        return "", 204, tus.status_headers(upload)

    @blp.doc(
        summary="Terminate an unfinished upload",
        security=[{"deviceToken": []}],
        parameters=[_TUS_RESUMABLE],
        responses={"204": {"description": "Terminated"}, **_ERRORS},
    )
    @require("upload")
    def delete(self, upload_id):
        """Drop an unfinished upload and its bytes (termination)."""
        service.terminate(
            db.session, current_actor(), g.device.id, upload_id, ports().clock, ports().blobs, _settings()
        )
        return "", 204

    @blp.doc(
        summary="PATCH or DELETE for clients behind proxies that only pass POST (X-HTTP-Method-Override)",
        security=[{"deviceToken": []}],
        parameters=[
            _TUS_RESUMABLE,
            {
                "in": "header",
                "name": "X-HTTP-Method-Override",
                "required": True,
                "schema": {"type": "string", "enum": ["PATCH", "DELETE"]},
            },
        ],
        requestBody=_BODY,
        responses={"204": {"description": "As PATCH or DELETE"}, **_ERRORS},
    )
    @require("upload")
    def post(self, upload_id):
        """Dispatch X-HTTP-Method-Override: PATCH or DELETE."""
        method = request.headers.get("X-HTTP-Method-Override", "").upper()
        if method == "PATCH":
            return self.patch(upload_id)
        if method == "DELETE":
            return self.delete(upload_id)
        raise errors.DomainError(errors.METHOD_NOT_ALLOWED, details={"allowed": ["PATCH", "DELETE"]})
