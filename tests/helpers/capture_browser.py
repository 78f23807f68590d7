"""Driving the capture app (/capture/) in Chromium like an inspector: shared by the browser tests
and the bench."""

from __future__ import annotations

import time
from contextlib import contextmanager

from tests.helpers.browser import CHROMIUM_ARGS, require_chromium

TABLET = {"width": 1280, "height": 800}


@contextmanager
def chromium():
    """A headless Chromium (the system's) for several contexts: an office PC and a tablet."""
    from playwright.sync_api import sync_playwright

    executable = require_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def tablet_context(browser, base_url: str, position=(30.2102, 120.2106)):
    """A 10-inch tablet: 1280×800, touch, zh-CN, location allowed at ``position``."""
    context = browser.new_context(
        locale="zh-CN",
        viewport=TABLET,
        has_touch=True,
        timezone_id="Asia/Shanghai",
        geolocation={"latitude": position[0], "longitude": position[1], "accuracy": 8},
        permissions=["geolocation"],
    )
    context.set_default_timeout(20000)
    return context


def open_app(context, base_url: str):
    """Open /capture/ in a new page and wait until the app has started."""
    page = context.new_page()
    page.goto(f"{base_url}/capture/")
    page.wait_for_selector("body[data-ready='1']")
    return page


def enrol(page, code: str) -> None:
    """Type the enrolment code and wait for the first sync to have pulled the scope."""
    page.fill("#enrol-code", code)
    page.click("#enrol-submit")
    page.wait_for_selector("#search")
    page.wait_for_selector("body[data-synced]")


def wait_js(page, condition: str, timeout: float = 60.0) -> None:
    """Poll a JavaScript condition from outside the page (the app's CSP forbids the in-page eval
    that ``page.wait_for_function`` uses)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(condition):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {condition}")
        page.wait_for_timeout(200)


def wait_for_service_worker(page) -> None:
    """Wait until the service worker controls the page (the app's files are then cached)."""
    wait_js(page, "!!(navigator.serviceWorker && navigator.serviceWorker.controller)")


def sync(page, until: str | None = None, timeout: float = 240.0) -> None:
    """Press 同步 until the JavaScript condition ``until`` holds (or one round finishes)."""
    deadline = time.monotonic() + timeout
    while True:
        before = page.evaluate("document.body.dataset.synced || ''")
        page.click("#sync")
        wait_js(page, f"(document.body.dataset.synced || '') !== {before!r}")
        if until is None or page.evaluate(until):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached after syncing for {timeout}s: {until}")
        page.wait_for_timeout(1000)


def state_is(capture_id: str, state: str) -> str:
    """A JavaScript condition: the home screen shows ``state`` for the capture."""
    return (
        f"(document.querySelector(\"li.capture[data-capture-id='{capture_id}']\") || {{dataset: {{}}}})"
        f".dataset.state === {state!r}"
    )


def states(page) -> dict[str, str]:
    """The state shown for each capture on the home screen, by capture id."""
    page.goto(page.url.split("#")[0] + "#/home")
    page.wait_for_selector("#search")
    return page.eval_on_selector_all(
        "li.capture", "els => Object.fromEntries(els.map(e => [e.dataset.captureId, e.dataset.state]))"
    )


def start_capture(page, account_no: str, kind: str, search: str | None = None) -> str:
    """Find the customer (by search words, or as an unknown 户号), choose the form; return the capture id."""
    page.goto(page.url.split("#")[0] + "#/home")
    page.wait_for_selector("#search")
    if search is not None:
        page.fill("#search", search)
        page.click(f"button.customer[data-account='{account_no}']")
    else:
        page.click("details summary")
        page.fill("#unknown-account", account_no)
        page.click("#unknown-go")
    page.click(f"button.form-kind[data-kind='{kind}']")
    page.wait_for_selector("#capture-form")
    return page.get_attribute("section.form", "data-capture-id")


def photo(page, slot: str, path) -> None:
    """Take the photo of ``slot`` (the file input the camera fills) and wait until it is kept."""
    page.set_input_files(f"#slot-{slot}", str(path))
    page.wait_for_selector(f".slot.filled[data-slot='{slot}']")


def choose(page, field: str, label: str) -> None:
    """Tap a choice (radio button) of a field."""
    page.click(f"#f-{field} label.choice:has-text('{label}')")


def submit(page) -> None:
    """Submit the form and wait for the home screen."""
    page.click("#submit")
    page.wait_for_selector("#search")
