"""Debian's nginx in front of a live gunicorn, configured by ``deploy/nginx.conf``.

nginx comes from the system (``.ci/apt-packages.txt``). Without it the tests skip locally, and
fail when ``CI`` is set.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.helpers.live import ROOT, free_port, wait_for

NGINX = "/usr/sbin/nginx"
SITE = ROOT / "deploy" / "nginx.conf"


def require_nginx() -> str:
    """The nginx binary; skip the test without it (fail instead when ``CI`` is set)."""
    if os.path.exists(NGINX):
        return NGINX
    reason = f"{NGINX} is missing (apt-get install nginx)"
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def site_config(upstream_port: int | list[int], listen_port: int) -> str:
    """``deploy/nginx.conf`` as shipped, with only the ports changed (one ``server`` line per web node)."""
    text = SITE.read_text()
    ports = upstream_port if isinstance(upstream_port, list) else [upstream_port]
    servers = "\n    ".join(f"server 127.0.0.1:{port};" for port in ports)
    text, upstreams = re.subn(r"server 127\.0\.0\.1:8000;", servers, text)
    text, listens = re.subn(r"listen 80;", f"listen 127.0.0.1:{listen_port};", text)
    assert upstreams == 1 and listens == 1, "deploy/nginx.conf changed shape"
    return text


@contextmanager
def nginx_in_front(upstream_port: int | list[int], work: Path):
    """Run nginx (foreground, its own prefix under ``work``) proxying to ``upstream_port`` (round robin over several); yield its URL."""
    binary = require_nginx()
    work.mkdir(parents=True, exist_ok=True)
    port = free_port()
    user = "user root;\n" if os.geteuid() == 0 else ""
    temp = "\n".join(
        f"    {name}_temp_path {work / name};" for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (work / "nginx.conf").write_text(
        f"{user}worker_processes 1;\npid {work / 'nginx.pid'};\nerror_log {work / 'error.log'} warn;\n"
        f"events {{ worker_connections 1024; }}\nhttp {{\n    access_log {work / 'access.log'};\n{temp}\n"
        f"{site_config(upstream_port, port)}\n}}\n"
    )
    proc = subprocess.Popen(
        [binary, "-p", str(work), "-c", str(work / "nginx.conf"), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(f"{url}/api/v1/health", proc=proc, timeout=30)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
