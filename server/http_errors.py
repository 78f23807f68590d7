"""Turning every failure into the one JSON error shape (API) or a Chinese error page (web)."""

from __future__ import annotations

import logging
import time

import sqlalchemy.exc
from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from core import errors
from models.database import db
from ports.blobstore import StoreUnavailable
from server.security import limiter

log = logging.getLogger("dangan.http")

_BY_STATUS = {
    400: errors.BAD_REQUEST,
    404: errors.NOT_FOUND,
    405: errors.METHOD_NOT_ALLOWED,
    413: errors.BODY_TOO_LARGE,
    415: errors.UNSUPPORTED_MEDIA_TYPE,
    422: errors.VALIDATION_FAILED,
    429: errors.RATE_LIMITED,
    401: errors.AUTH_REQUIRED,
    403: errors.FORBIDDEN,
    500: errors.INTERNAL,
    503: errors.UNAVAILABLE,
}


def from_http_exception(exc: HTTPException) -> errors.DomainError:
    """Map a werkzeug/flask-smorest HTTP exception to a catalogued domain error."""
    if isinstance(exc, CSRFError):
        return errors.DomainError(errors.CSRF_FAILED, details={"reason": exc.description})
    problem = _BY_STATUS.get(exc.code or 500)
    if problem is None:
        problem = errors.Problem(f"http.{exc.code}", exc.code or 500, exc.name)
    details = {}
    data = getattr(exc, "data", None) or {}
    if "messages" in data:  # webargs/marshmallow validation errors from flask-smorest
        details["fields"] = data["messages"]
        if exc.code == 400 or exc.code == 422:
            problem = errors.VALIDATION_FAILED
    message = data.get("message") if isinstance(data.get("message"), str) else problem.message
    headers = {"Retry-After": _rate_limit_retry_after()} if exc.code == 429 else None
    return errors.DomainError(problem, message, details, headers)


def _rate_limit_retry_after() -> str:
    """Seconds until the breached rate-limit window lets the caller in again (at least 1)."""

    current = limiter.current_limit
    seconds = int(current.reset_at - time.time()) if current is not None else 60
    return str(max(1, seconds))


def render(error: errors.DomainError):
    """Render a domain error as JSON for the API, as a page for the web."""
    if request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json":
        response = jsonify(error.to_dict())
    else:
        response = render_template("error.html", error=error), error.status
        return response[0], error.status, error.headers
    response.status_code = error.status
    for key, value in error.headers.items():
        response.headers[key] = value
    return response


def register(app: Flask) -> None:
    """Install the error handlers on the app."""

    @app.errorhandler(errors.DomainError)
    def on_domain_error(exc: errors.DomainError):
        if exc.status >= 500:
            log.error("domain error %s: %s", exc.code, exc.message)
        return render(exc)

    @app.errorhandler(HTTPException)
    def on_http_exception(exc: HTTPException):
        return render(from_http_exception(exc))

    @app.errorhandler(sqlalchemy.exc.OperationalError)
    def on_database_unavailable(exc):
        log.error("database unavailable on %s %s: %s", request.method, request.path, exc)
        db.session.rollback()
        return render(errors.DomainError(errors.UNAVAILABLE, headers={"Retry-After": "5"}))

    @app.errorhandler(StoreUnavailable)
    def on_store_unavailable(exc):
        # the object store is down or restarting: nothing was lost (an upload keeps its staged
        # bytes and finishes on the next HEAD or PATCH), so the client is told to retry
        log.error("object store unavailable on %s %s: %s", request.method, request.path, exc)
        db.session.rollback()
        return render(errors.DomainError(errors.UNAVAILABLE, headers={"Retry-After": "5"}))

    @app.errorhandler(sqlalchemy.exc.DataError)
    @app.errorhandler(OverflowError)
    def on_value_out_of_range(exc):
        # a number (or text) from the request beyond what its database column holds (SQLite raises
        # OverflowError while binding, PostgreSQL a DataError): the caller's mistake, not a crash
        log.warning("value out of range on %s %s: %s", request.method, request.path, exc)
        db.session.rollback()
        return render(
            errors.DomainError(
                errors.VALIDATION_FAILED, "A value in the request is out of range.", {"reason": "out_of_range"}
            )
        )

    @app.errorhandler(RecursionError)
    def on_too_deep(exc: RecursionError):
        # a JSON body nested deeper than any parser recurses (a hostile request): bad JSON, not a crash
        if request.is_json:
            log.warning("JSON body nested too deeply on %s %s", request.method, request.path)
            return render(errors.DomainError(errors.INVALID_JSON, "The request body is nested too deeply."))
        log.exception("unhandled error on %s %s", request.method, request.path)
        return render(errors.DomainError(errors.INTERNAL))

    @app.errorhandler(Exception)
    def on_unexpected(exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        return render(errors.DomainError(errors.INTERNAL))
