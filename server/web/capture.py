"""The inspectors' capture app at /capture/: HTML shell, web app manifest, service worker, assets.

The app itself is static (``server/web/capture/``: our modules plus the vendored libraries that
``capture_app/build.mjs`` copies from npm); it talks to the same sync and tus API as any tablet.
The service worker is served from ``/capture/sw.js`` so that its scope covers ``/capture/``; it
lists every asset with a version derived from their bytes, so a server upgrade updates tablets.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

from flask import Blueprint, Response, render_template, url_for

APP_DIR = Path(__file__).resolve().parent / "capture"

bp = Blueprint("capture", __name__, url_prefix="/capture", static_folder="capture", static_url_path="/assets")


@lru_cache(maxsize=1)
def assets() -> tuple[tuple[str, ...], str]:
    """Every asset path below ``server/web/capture/`` and a version hash of their bytes."""
    digest = hashlib.sha256()
    names = []
    for path in sorted(p for p in APP_DIR.rglob("*") if p.is_file() and p.name != "LICENSES.txt"):
        name = path.relative_to(APP_DIR).as_posix()
        names.append(name)
        digest.update(name.encode() + b"\0" + path.read_bytes())
    return tuple(names), digest.hexdigest()[:16]


def enrol_url(code: str) -> str:
    """The address a QR code carries: opening it starts the capture app with the code filled in."""
    return url_for("capture.shell", _external=True) + "#enrol=" + code


@bp.route("/")
def shell():
    """The app shell (zh-CN); everything else is loaded by its modules."""
    return render_template("capture/index.html", version=assets()[1])


@bp.route("/manifest.webmanifest")
def manifest():
    """The web app manifest that makes the app installable."""
    body = {
        "name": "档案 · 现场采集",
        "short_name": "现场采集",
        "lang": "zh-CN",
        "start_url": url_for("capture.shell"),
        "scope": url_for("capture.shell"),
        "display": "standalone",
        "orientation": "any",
        "background_color": "#ffffff",
        "theme_color": "#0b3d91",
        "icons": [
            {
                "src": url_for("capture.static", filename=f"icon-{size}.png"),
                "sizes": f"{size}x{size}",
                "type": "image/png",
                "purpose": "any maskable",
            }
            for size in (192, 512)
        ],
    }
    return Response(json.dumps(body, ensure_ascii=False), mimetype="application/manifest+json")


@bp.route("/sw.js")
def service_worker():
    """The service worker: caches the shell and assets, answers from the cache when offline."""
    names, version = assets()
    urls = [url_for("capture.shell"), url_for("capture.manifest")]
    urls += [url_for("capture.static", filename=name) for name in names]
    script = render_template(
        "capture/sw.js", version=version, urls=json.dumps(urls), shell=json.dumps(url_for("capture.shell"))
    )
    response = Response(script, mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = url_for("capture.shell")
    return response
