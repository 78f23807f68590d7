"""An archivist scans paper documents in Chromium: upload a 3-page PDF and a 150 dpi TIFF, see the
low-resolution flag, file both; the dossier and the printable index list them in order with 页号.
Screenshots go to var/screenshots/."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from models import ScanEvidence
from models.database import db
from tests.helpers.browser import chromium_page, live_server, login, require_chromium, screenshot
from tests.helpers.captures import LOW, review_world
from tests.helpers.factories import PASSWORD
from tests.helpers.scans import make_pdf, make_tiff

pytestmark = pytest.mark.e2e


def _wait_for_stamps(count: int, timeout: float = 45.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db.session.remove()
        if (
            db.session.scalar(
                select(func.count()).select_from(ScanEvidence).where(ScanEvidence.completed_at.is_not(None))
            )
            or 0
        ) >= count:
            return
        time.sleep(0.5)
    raise AssertionError("the scans were not stamped in time")


def test_archivist_uploads_sees_the_flag_files_and_the_index_shows_page_ranges(app, database_url, redis_url, tmp_path):
    require_chromium()
    review_world()
    db.session.remove()
    pdf, tiff = tmp_path / "用电申请书.pdf", tmp_path / "身份证明.tif"
    pdf.write_bytes(make_pdf(pages=3, dpi=300, mode="L", label="application"))
    tiff.write_bytes(make_tiff(pages=1, dpi=150, mode="1", label="id papers"))
    with live_server(database_url, redis_url, tmp_path, worker=True) as base, chromium_page() as page:
        login(page, base, "archivist", PASSWORD)
        page.goto(f"{base}/dossiers/{LOW}")
        before = page.inner_text("#completeness")

        for path, doc_type, pages in ((pdf, "application", "3"), (tiff, "id_papers", "1")):
            form = page.locator("#scan-upload")
            form.locator("input[name=files]").set_input_files(str(path))
            form.locator("select[name=doc_type]").select_option(doc_type)
            form.locator("input[name=doc_date]").fill("2026-03-01")
            form.locator("input[name=pages]").fill(pages)
            form.locator("button[type=submit]").click()
            page.wait_for_load_state("load")
            assert "已接收 1 个扫描文件" in page.inner_text(".flash")

        rows = page.locator("#scan-list tbody tr")
        assert rows.count() == 2
        pdf_row, tiff_row = rows.nth(0), rows.nth(1)
        assert "用电申请书.pdf" in pdf_row.inner_text() and "身份证明.tif" in tiff_row.inner_text()
        assert pdf_row.locator(".scan-flags").inner_text().strip() == "符合"
        assert "300 dpi" in pdf_row.locator(".scan-dpi").inner_text()
        assert "分辨率低于 200 dpi" in tiff_row.locator(".scan-flags").inner_text()
        assert "150 dpi" in tiff_row.locator(".scan-dpi").inner_text()
        _wait_for_stamps(2)
        page.reload()
        assert page.locator("#scan-list img.ds-scan-thumb").count() == 2
        screenshot(page, "scans-before-filing")

        for _ in range(2):  # the unfiled scans come first; file the top one each time
            page.locator("#scan-list .scan-file-button").first.click()
            page.wait_for_load_state("load")
        assert "已归档为第 2 件（页号 4）" in page.inner_text(".flash")

        index = page.locator("#dossier-index tbody tr")
        assert index.count() == 2
        assert "用电申请书（纸质扫描件）" in index.nth(0).inner_text() and "纸质扫描" in index.nth(0).inner_text()
        assert index.nth(0).locator(".ds-pages").inner_text() == "1–3"
        assert "身份证明（纸质扫描件）" in index.nth(1).inner_text()
        assert index.nth(1).locator(".ds-pages").inner_text() == "4"
        after = page.inner_text("#completeness")
        assert before.startswith("0/") and after.startswith("2/")
        requirements = page.inner_text(".ds-complete")
        assert "✓ 用电申请书 #1" in requirements and "✓ 身份证明 #2" in requirements
        assert page.inner_text("#box-location") != "未装盒"
        screenshot(page, "scans-filed-dossier")

        page.click("#print-index")
        page.wait_for_load_state("load")
        printed = page.locator(".ds-print-index tbody tr")
        assert printed.count() == 2
        assert printed.nth(0).locator(".ds-pages").inner_text() == "1–3"
        assert printed.nth(1).locator(".ds-pages").inner_text() == "4"
        screenshot(page, "scans-printable-index")
