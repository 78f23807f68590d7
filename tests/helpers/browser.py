"""Browser tests: Debian's Chromium driven by Playwright, against a live gunicorn server.

Chromium comes from the system (``.ci/apt-packages.txt``), never from ``playwright install``.
Without it the tests skip locally, and fail when ``CI`` is set.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

from tests.helpers.live import ROOT, free_port, wait_for
from tests.helpers.tools import missing

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = ROOT / "var" / "screenshots"


def require_chromium() -> str:
    """The Chromium binary; skip the test without it (fail instead when ``CI`` is set)."""
    if os.path.exists(CHROMIUM):
        return CHROMIUM
    missing(f"{CHROMIUM} is missing (apt-get install chromium)")


def _env(database_url: str, redis_url: str, data_dir: Path, extra: dict | None) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "DANGAN_DATA_DIR": str(data_dir),
            "SECRET_KEY": "browser-test-secret",
            "DANGAN_INSECURE_COOKIES": "1",
            "DANGAN_LOG_FORMAT": "text",
            "DANGAN_LOG_LEVEL": "WARNING",
            **(extra or {}),
        }
    )
    return env


def _stop(proc: subprocess.Popen) -> str:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    return proc.stdout.read() if proc.stdout else ""


@contextmanager
def live_server(
    database_url: str, redis_url: str, data_dir: Path, *, worker: bool = False, extra_env: dict | None = None
):
    """Run gunicorn (and optionally the RQ worker) on an already migrated database; yield the base URL."""
    port = free_port()
    env = _env(database_url, redis_url, data_dir, extra_env)
    web = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--timeout",
            "60",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    procs = [web]
    if worker:
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "workers.run"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{base}/api/v1/health", timeout=60, proc=web)
        yield base
    finally:
        for proc in reversed(procs):
            _stop(proc)


@contextmanager
def chromium_page(viewport=(1440, 900)):
    """A fresh Chromium page (zh-CN, office-screen size)."""
    from playwright.sync_api import sync_playwright

    executable = require_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        try:
            context = browser.new_context(locale="zh-CN", viewport={"width": viewport[0], "height": viewport[1]})
            page = context.new_page()
            page.set_default_timeout(15000)
            yield page
        finally:
            browser.close()


def login(page, base_url: str, username: str, password: str) -> None:
    """Log in through the login form."""
    page.goto(f"{base_url}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/")


def screenshot(page, name: str, full_page: bool = True) -> Path:
    """Save a screenshot under ``var/screenshots/`` (kept as a CI artifact)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
