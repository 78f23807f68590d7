"""Every office page walked in Chromium as each office role, on demo-like data: no English
sentence, no raw key, no Python repr, no contradiction in the GPS plan; the compact queue fits
15 rows above the fold at 1366×768; a shortcut that cannot act says why.

Screenshots of the main pages at 1366×768 and 1280×800 go to var/screenshots/ (to
docs/screenshots/ with ``DANGAN_DOC_SCREENSHOTS=1``, the ones the README shows).
"""

from __future__ import annotations

import os
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from core.actor import CLI, Actor
from models import Capture, Customer, Device, Photo, PhotoEvidence, User
from models.database import db
from services import demo
from services.lifecycle import borrowing, boxes, destruction, obligations, retention
from services.lifecycle.settings import LifecycleSettings
from services.ports_access import ports
from tests.helpers.browser import ROOT, SCREENSHOTS, chromium_page, live_server, login
from tests.helpers.captures import make_capture, utc
from tests.helpers.legal_world import ACCOUNT, export_bundle, push_photos
from tests.helpers.page_words import VISIBLE_TEXT_JS, foreign_words, reprs

pytestmark = pytest.mark.e2e
DEMO = demo.DEMO_PASSWORD
VIEWPORTS = {"1366x768": (1366, 768), "1280x800": (1280, 800)}


def _far_capture(device: Device) -> Capture:
    """A capture whose photo says it was taken in Paris while the tablet was at the site."""
    capture = make_capture(device, ACCOUNT, gps=(30.2101, 120.2105))
    photo = db.session.scalar(select(Photo).where(Photo.capture_id == capture.id))
    db.session.add(
        PhotoEvidence(
            photo_id=photo.id,
            evidence_no="DGE-FAR-0001",
            gps_latitude=48.8566,
            gps_longitude=2.3522,
            estimated_capture_at=utc(2008, 8, 8, 12),
            flags=["gps_far_from_site", "exif_vs_device_mismatch"],
            estimate_basis="EXIF DateTimeOriginal, offset +08:00 recorded in EXIF OffsetTimeOriginal; "
            "device clock offset measured at sync: +0 s",
            time_analysis={
                "basis_code": "exif",
                "details": {
                    "exif_local": "2008-08-08T20:00:00",
                    "exif_source": "EXIF DateTimeOriginal",
                    "exif_offset": "+08:00",
                    "exif_utc": "2008-08-08T12:00:00Z",
                    "received_at": "2026-11-30T06:29:34.375260Z",
                    "device_clock_offset_s": 0,
                    "exif_vs_device_s": -571367092.793,
                    "distance_to_site_m": 9060123.4,
                    "distance_source": "EXIF GPS",
                },
            },
            tsa_status="granted",
            tsa_kind="local",
            tsa_name="Dangan LOCAL TSA (this server's clock, not a trusted third party)",
            tsa_gen_time=utc(2026, 11, 30, 6, 29, 40),
            completed_at=utc(2026, 11, 30, 6, 29, 41),
        )
    )
    db.session.commit()
    return capture


def _office_world(app, client, clock, tmp_path) -> dict:
    """Demo users and customers, stamped photos with an evidence bundle, a queue, lifecycle records."""
    clock.current = datetime(2026, 11, 30, 1, 0, tzinfo=timezone.utc)
    demo.load(db.session, CLI, clock.now())
    _export, photos = export_bundle(app, client, clock, tmp_path, count=2)
    push_photos(app, client, tmp_path, count=1, account_no="3100012347")  # stamped, waiting in the queue
    device = db.session.scalar(
        select(Device).join(User, Device.inspector_id == User.id).where(User.username == "inspector1")
    )
    far = _far_capture(device)
    for n in range(22):  # a working day's queue
        make_capture(
            device,
            "5200098761" if n % 2 else "3100012346",
            received_at=clock.now() - timedelta(minutes=5 * n),
            commit=False,
        )
    unlinked = make_capture(device, "9999999999")
    settings = LifecycleSettings()
    today = date(2026, 11, 30)
    for account, kind, day in (
        ("3100012346", "contract_signed", date(2026, 11, 25)),
        ("5200098761", "capacity_increase", date(2026, 11, 2)),
        (ACCOUNT, "contract_changed", date(2026, 10, 9)),
    ):
        obligations.record_event(
            db.session,
            CLI,
            account_no=account,
            kind=kind,
            occurred_on=day,
            today=today,
            now=clock.now(),
            settings=settings,
            reference=f"YK-2026-{account[-4:]}",
            responsible="archivist",
        )
    boxes.assign_all(db.session, CLI, clock.now(), settings)
    borrowing.register_use(
        db.session,
        CLI,
        account_no=ACCOUNT,
        item_seqs=[1],
        requester_name="周律师",
        purpose="合同纠纷诉讼取证",
        form="copy",
        now=clock.now(),
        requester_unit="浙江某律师事务所",
    )
    retention.place_hold(db.session, CLI, ACCOUNT, "（2026）浙0106民初123号 诉讼保全", clock.now())
    # a low-voltage account closed in 2022: eligible, proposed, approved and destroyed
    closed = db.session.scalar(select(Customer).where(Customer.account_no == "5200098765"))
    retention.close_customer(db.session, CLI, closed, date(2022, 6, 1), clock.now(), settings)
    archivist, manager = (
        Actor("user", str(db.session.scalar(select(User.id).where(User.username == name))), None, name)
        for name in ("archivist", "manager")
    )
    disposal = destruction.propose_list(
        db.session,
        archivist,
        title="2025 年到期销户档案",
        reason="保管期限已满",
        account_nos=["5200098765"],
        today=today,
        now=clock.now(),
    )
    destruction.decide_list(db.session, manager, disposal.id, True, clock.now(), note="同意销毁")
    db.session.commit()
    destruction.execute_list(db.session, archivist, disposal.id, today, clock.now(), ports().blobs)
    db.session.commit()
    return {"photo": photos[0], "far": far.id, "unlinked": unlinked.id, "disposal": disposal.id}


def _pages(world: dict) -> dict[str, list[str]]:
    shared = [
        "/",
        "/dossiers",
        "/dossiers?q=江南",
        f"/dossiers/{ACCOUNT}",
        f"/dossiers/{ACCOUNT}/index",
        "/dossiers/filing-scope",
    ]
    return {
        "archivist": shared
        + [
            "/review/queue",
            "/review/queue?density=compact",
            "/review/unlinked",
            f"/review/captures/{world['far']}",
            f"/review/captures/{world['unlinked']}",
            "/lifecycle/deadlines?view=all",
            "/lifecycle/use",
            "/lifecycle/retention",
            "/lifecycle/holds",
            "/lifecycle/boxes",
            "/legal/",
            f"/lifecycle/disposal/{world['disposal']}",
            "/lifecycle/destruction/1",
            "/dossiers/5200098765",
        ],
        "legal": shared
        + [
            "/legal/",
            f"/legal/?q={ACCOUNT}",
            f"/legal/photos/{world['photo']}",
            "/legal/exports",
            "/legal/exports/1",
            "/legal/uses",
            "/lifecycle/holds",
            "/review/queue",
            "/legal/?captured_from=bad",
            "/legal/anchors",
            "/legal/scans",
        ],
        "manager": shared
        + [
            "/lifecycle/deadlines",
            "/lifecycle/quality",
            "/legal/approvals",
            "/legal/uses",
            "/admin/jobs",
            "/admin/calendar",
            f"/review/captures/{world['far']}",
        ],
        "admin": [
            "/",
            "/admin/jobs",
            "/admin/calendar",
            "/admin/devices",
            "/lifecycle/quality",
            "/dossiers",
            "/legal/uses",
        ],
    }


def _shot(page, name: str) -> None:
    target = ROOT / "docs" / "screenshots" if os.environ.get("DANGAN_DOC_SCREENSHOTS") else SCREENSHOTS
    target.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target / f"{name}.png"))


def test_every_office_page_reads_in_chinese_for_every_role(app, client, clock, database_url, redis_url, tmp_path):
    world = _office_world(app, client, clock, tmp_path)
    names = {u.username for u in db.session.scalars(select(User))} | {
        d.name for d in db.session.scalars(select(Device)) if d.name
    }
    allowed = {part for name in names for part in name.split()}
    db.session.remove()
    problems: dict[str, list[str]] = {}
    with live_server(database_url, redis_url, tmp_path) as base, chromium_page((1366, 768)) as page:
        for role, paths in _pages(world).items():
            page.context.clear_cookies()
            login(page, base, role if role != "legal" else "legal", DEMO)
            for path in paths:
                page.goto(base + path)
                text = page.evaluate(VISIBLE_TEXT_JS)
                found = foreign_words(text, allowed) + reprs(text)
                if found:
                    problems[f"{role} {path}"] = found
    assert not problems, "\n".join(f"{where}: {words}" for where, words in problems.items())


def test_the_gps_plan_of_a_far_photo_never_says_it_is_within_range(
    app, client, clock, database_url, redis_url, tmp_path
):
    world = _office_world(app, client, clock, tmp_path)
    db.session.remove()
    with live_server(database_url, redis_url, tmp_path) as base, chromium_page((1366, 768)) as page:
        login(page, base, "archivist", DEMO)
        page.goto(f"{base}/review/captures/{world['far']}")
        legend = page.inner_text(".rv-plan-legend")
        assert "超出现场范围" in legend and "以内" not in legend
        assert page.inner_text(".rv-plan-verdict") == "1 张照片超出现场范围 500 米"
        assert "±8 米" in page.inner_text(".rv-gps-device")


def test_the_compact_queue_fits_fifteen_rows_and_keys_that_cannot_act_say_why(
    app, client, clock, database_url, redis_url, tmp_path
):
    world = _office_world(app, client, clock, tmp_path)
    db.session.remove()
    with live_server(database_url, redis_url, tmp_path) as base, chromium_page((1366, 768)) as page:
        login(page, base, "archivist", DEMO)
        page.goto(f"{base}/review/queue")
        standard = page.evaluate(
            "() => [...document.querySelectorAll('tr.rv-row')]"
            ".filter(r => r.getBoundingClientRect().bottom <= window.innerHeight).length"
        )
        page.click("#density-compact")
        page.wait_for_selector("table.rv-dense")
        page.wait_for_load_state("load")  # styles applied
        above = page.evaluate(
            "() => [...document.querySelectorAll('tr.rv-row')]"
            ".filter(r => r.getBoundingClientRect().bottom <= window.innerHeight).length"
        )
        assert above >= 15 > standard, (standard, above)
        _shot(page, "queue-compact-1366x768")
        page.goto(f"{base}/review/queue")  # the choice is kept
        assert page.locator("table.rv-dense").count() == 1
        page.keyboard.press("Enter")  # nothing selected yet
        assert "请先用 J / K 选中一行" in page.inner_text("#key-feedback")
        page.keyboard.press("Shift+A")
        assert "请先用 X 勾选" in page.inner_text("#key-feedback")
        thumb = page.locator(".rv-thumb-img").first
        thumb.scroll_into_view_if_needed()
        before = thumb.bounding_box()["width"]
        thumb.hover()
        page.wait_for_timeout(300)  # the grow transition takes 0.12 s
        assert thumb.bounding_box()["width"] >= 3 * before

        page.goto(f"{base}/review/captures/{world['unlinked']}")
        page.keyboard.press("a")
        assert "尚未关联客户" in page.inner_text("#key-feedback")
        assert page.evaluate("document.activeElement.id") == "link-query"
        assert "rv-attention" in page.get_attribute("#link-panel", "class")


def test_screenshots_of_the_main_pages_at_office_and_tablet_sizes(
    app, client, clock, database_url, redis_url, tmp_path
):
    world = _office_world(app, client, clock, tmp_path)
    db.session.remove()
    shots = {
        "archivist": [
            ("queue", "/review/queue"),
            ("capture", f"/review/captures/{world['far']}"),
            ("dossier", f"/dossiers/{ACCOUNT}"),
            ("deadlines", "/lifecycle/deadlines?view=all"),
        ],
        "legal": [("legal-search", f"/legal/?q={ACCOUNT}"), ("legal-photo", f"/legal/photos/{world['photo']}")],
        "admin": [("calendar", "/admin/calendar")],
    }
    with live_server(database_url, redis_url, tmp_path) as base:
        for size, viewport in VIEWPORTS.items():
            with chromium_page(viewport) as page:
                for role, pages in shots.items():
                    page.context.clear_cookies()
                    login(page, base, role, DEMO)
                    for name, path in pages:
                        response = page.goto(base + path)
                        assert response.status == 200, (role, path)
                        _shot(page, f"{name}-{size}")
