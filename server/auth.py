"""Request authentication (session users, bearer devices) and the ``require`` decorator.

Pages and API routes both use ``require(permission)``; the policy table in ``core.policy``
decides. API calls with a bearer token skip CSRF (no cookie is involved); API calls that ride
on a session cookie must carry the CSRF token like any form.
"""

from __future__ import annotations

from functools import wraps

from flask import current_app, g, redirect, request, url_for
from flask_login import current_user

from core import errors, policy
from core.actor import Actor
from server.extensions import csrf, db
from services import devices
from services.ports_access import ports


def _is_api() -> bool:
    return request.path.startswith("/api/")


def bearer_token() -> str | None:
    """Return the bearer token of the request, if any."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or ""


_BEARER_OUTCOME = "dangan.bearer_outcome"  # kept in the WSGI environ: it lives exactly one request


def bearer_device():
    """The device of this request's bearer token (None without one), checked once per request.

    The rate limits read it before ``load_principal`` runs; a refused token raises its 401 here.
    """
    outcome = request.environ.get(_BEARER_OUTCOME)
    if outcome is None:
        token = bearer_token()
        outcome = (None, None)
        if token is not None:
            try:
                outcome = (devices.authenticate_token(db.session, token, ports().clock.now()), None)
            except errors.DomainError as exc:
                outcome = (None, exc)
        request.environ[_BEARER_OUTCOME] = outcome
    device, refusal = outcome
    if refusal is not None:
        raise refusal
    return device


def carries_no_refused_token() -> bool:
    """Whether the request has no bearer token or a valid one (the refused-token limit skips it)."""
    if bearer_token() is None:
        return True
    try:
        return bearer_device() is not None
    except errors.DomainError:
        return False


def load_principal():
    """Set ``g.device`` / ``g.user`` and ``g.role`` for this request, then enforce the view's permission.

    A before_request hook: it returns a redirect to the login page for anonymous page requests.
    """
    g.device = None
    g.user = None
    g.role = None
    if request.endpoint == "static":
        return None
    if bearer_token() is not None:
        g.device = bearer_device()
        g.role = "device"
    elif current_user.is_authenticated:
        g.user = current_user._get_current_object()
        g.role = g.user.role
        if _is_api() and request.method not in ("GET", "HEAD", "OPTIONS"):
            csrf.protect()
    # Check the view's permission before anything else reads the request (argument parsing,
    # blueprint hooks): a caller without the right gets 401/403, never a validation answer.
    permission = required_permission_of(request.endpoint, request.method)
    if permission is not None:
        return _refusal(permission)
    return None


def required_permission_of(endpoint: str | None, method: str) -> str | None:
    """The permission that the view of ``endpoint`` demands for ``method`` (None: public)."""
    view = current_app.view_functions.get(endpoint) if endpoint else None
    view_class = getattr(view, "view_class", None)
    if view_class is not None:
        view = getattr(view_class, method.lower(), None)
        if view is None and method == "HEAD":
            view = getattr(view_class, "get", None)
    return getattr(view, "required_permission", None)


def _refusal(permission: str):
    """None when the current principal holds ``permission``; else a redirect to login or raise 401/403."""
    role = getattr(g, "role", None)
    if role is None:
        if _is_api():
            raise errors.DomainError(errors.AUTH_REQUIRED)
        return redirect(url_for("web.login", next=request.full_path))
    if not policy.can(role, permission):
        raise errors.DomainError(errors.FORBIDDEN, details={"permission": permission})
    return None


def current_actor() -> Actor:
    """The audit-log actor of this request."""
    ip = request.remote_addr
    if getattr(g, "device", None) is not None:
        return Actor("device", g.device.id, ip, "device")
    if getattr(g, "user", None) is not None:
        return Actor("user", str(g.user.id), ip, g.user.role)
    return Actor("anonymous", None, ip)


def require(permission: str):
    """Decorate a view so only principals whose role holds ``permission`` get in."""
    policy.PERMISSIONS[permission]  # fail at import time on a typo

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            refusal = _refusal(permission)
            if refusal is not None:
                return refusal
            return view(*args, **kwargs)

        wrapper.required_permission = permission
        return wrapper

    return decorator
