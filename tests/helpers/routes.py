"""Every route of the app with the permission its view demands, read from ``server.auth.require``.

The access-matrix tests derive "allowed" from these permissions and ``core.policy``; a route
whose view carries no ``required_permission`` must be listed in ``PUBLIC`` with the reason it is
open, or the tests fail.
"""

from __future__ import annotations

from dataclasses import dataclass

# (method, rule) of routes open to everybody, and why
PUBLIC: dict[tuple[str, str], str] = {
    ("GET", "/"): "start page; sends anonymous visitors to the login form",
    ("GET", "/login"): "the login form",
    ("POST", "/login"): "logging in (rate limited)",
    ("POST", "/logout"): "logging out ends one's own session only (CSRF protected)",
    ("GET", "/static/<path:filename>"): "style sheet and script files",
    ("GET", "/api/v1/health"): "health check for load balancers",
    ("GET", "/api/v1/openapi.json"): "the published API description",
    ("GET", "/api/v1/me"): "answers who the caller is; 401 without credentials",
    ("POST", "/api/v1/devices/enrol"): "a tablet exchanges a one-time enrolment code (the code is the "
    "credential; wrong codes are rate limited)",
    ("GET", "/capture/"): "the capture app's shell; it holds no data (the app asks for an enrolment code)",
    ("GET", "/capture/assets/<path:filename>"): "the capture app's scripts, styles and icons",
    ("GET", "/capture/manifest.webmanifest"): "the capture app's web app manifest",
    ("GET", "/capture/sw.js"): "the capture app's service worker script",
    ("OPTIONS", "/api/v1/uploads"): "tus discovery and CORS preflight carry no credentials",
    ("OPTIONS", "/api/v1/uploads/<string:upload_id>"): "tus discovery and CORS preflight carry no credentials",
}


@dataclass(frozen=True)
class Route:
    """One method of one URL rule and the permission its view requires (None: public)."""

    method: str
    rule: str
    endpoint: str
    permission: str | None

    @property
    def is_api(self) -> bool:
        """True for JSON API routes (they answer 401 instead of redirecting to the login page)."""
        return self.rule.startswith("/api/")


def _view_methods(app, rule) -> list[tuple[str, object]]:
    view = app.view_functions[rule.endpoint]
    view_class = getattr(view, "view_class", None)
    methods = set(rule.methods) - {"HEAD", "OPTIONS"}
    if view_class is None:
        return [(m, view) for m in sorted(methods)]
    out = [(m, getattr(view_class, m.lower(), None)) for m in sorted(methods)]
    # HEAD and OPTIONS count only where the view answers them itself (tus does)
    for extra in ("HEAD", "OPTIONS"):
        handler = view_class.__dict__.get(extra.lower())
        if handler is not None:
            out.append((extra, handler))
    return out


def all_routes(app) -> list[Route]:
    """Every (method, rule) of ``app.url_map`` with the permission of its handler."""
    routes = []
    for rule in app.url_map.iter_rules():
        for method, handler in _view_methods(app, rule):
            routes.append(Route(method, rule.rule, rule.endpoint, getattr(handler, "required_permission", None)))
    return sorted(routes, key=lambda r: (r.rule, r.method))
