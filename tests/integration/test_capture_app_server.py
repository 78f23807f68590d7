"""What the server gives the capture app: the shell under a strict CSP, the manifest, a service
worker whose scope covers /capture/, the schema rules, and each capture's state."""

import json
import re

from core.actor import CLI
from models.database import db
from services import review
from services.ports_access import ports
from tests.helpers.api_client import ApiClient
from tests.helpers.captures import make_capture
from tests.helpers.factories import make_customer, make_device, make_user


def test_the_shell_loads_only_its_own_scripts_under_the_strict_csp(client):
    page = client.get("/capture/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<html lang="zh-CN">' in html
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert scripts and all('src="/capture/assets/' in attrs and not body.strip() for attrs, body in scripts)
    assert " on" not in re.sub(r"<script.*?</script>", "", html, flags=re.S).replace(" only", "")
    for asset in re.findall(r'(?:src|href)="(/capture/assets/[^"]+)"', html):
        assert client.get(asset).status_code == 200, asset


def test_the_manifest_makes_the_app_installable_with_icons_that_exist(client):
    answer = client.get("/capture/manifest.webmanifest")
    assert answer.mimetype == "application/manifest+json"
    manifest = json.loads(answer.get_data(as_text=True))
    assert manifest["start_url"] == "/capture/" and manifest["scope"] == "/capture/"
    assert manifest["display"] == "standalone" and manifest["lang"] == "zh-CN"
    sizes = {icon["sizes"] for icon in manifest["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for icon in manifest["icons"]:
        assert client.get(icon["src"]).mimetype == "image/png"


def test_the_service_worker_lists_every_asset_and_covers_the_app(client):
    answer = client.get("/capture/sw.js")
    assert answer.status_code == 200
    assert answer.mimetype == "text/javascript"
    assert answer.headers["Cache-Control"] == "no-cache"
    script = answer.get_data(as_text=True)
    urls = json.loads(re.search(r"const URLS = (\[.*?\]);", script).group(1))
    assert "/capture/" in urls
    assert {"/capture/assets/app.js", "/capture/assets/vendor/tus.min.js", "/capture/assets/vendor/idb.js"} <= set(urls)
    for url in urls:
        assert client.get(url).status_code == 200, url


def test_schema_descriptors_carry_the_validation_rules_the_server_applies(app):
    from sync.schemas import current_descriptors

    described = current_descriptors()
    metering = described["metering_check.v1"]["fields"]
    assert metering["ct_ratio_found"]["rules"]["pattern"] == r"^\d+(\.\d+)?/\d+(\.\d+)?$"
    assert metering["seal_numbers"]["rules"] == {"min_length": 1}
    assert metering["error_percent"]["rules"]["max"] == 100
    survey = described["site_survey.v1"]["fields"]["requested_capacity_kva"]["rules"]
    assert survey["min"] == 0 and survey["min_inclusive"] is False
    assert described["defect_notice.v1"]["date_order"] == [{"later": "deadline", "earlier": "issued_at"}]
    assert described["usage_inspection.v2"]["fields"]["findings"]["rules"] == {"max_length": 2000}


def test_status_tells_a_tablet_where_its_captures_stand_and_nothing_about_others(client):
    make_customer("3100012345")
    device, token = make_device("inspector1")
    other, _ = make_device("inspector2")
    archivist = make_user("archivist", "archivist")
    mine = make_capture(device, uploaded=True)
    rejected = make_capture(device, uploaded=False)
    foreign = make_capture(other)
    now = ports().clock.now()
    review.approve(db.session, CLI, archivist.id, mine.id, now)
    review.reject(
        db.session, CLI, archivist.id, rejected.id, now, reason_code="blurry", reason_text="电能表照片模糊，请重拍"
    )
    db.session.commit()
    tablet = ApiClient(client, token)
    answer = tablet.get(f"/api/v1/sync/status?id={mine.id}&id={rejected.id}&id={foreign.id}")
    assert answer.status_code == 200, answer.json
    by_id = {c["capture_id"]: c for c in answer.json["captures"]}
    assert set(by_id) == {mine.id, rejected.id}
    assert by_id[mine.id]["review_state"] == "approved"
    assert by_id[mine.id]["dossier_item_seq"] == 1
    assert by_id[mine.id]["photos"][0]["state"] == "received"
    assert by_id[rejected.id]["review_state"] == "rejected"
    assert by_id[rejected.id]["reason_text"] == "电能表照片模糊，请重拍"
    assert by_id[rejected.id]["photos"][0]["state"] == "awaiting_upload"
    assert by_id[rejected.id]["dossier_item_seq"] is None


def test_status_needs_a_device_token_and_at_least_one_id(client):
    _, token = make_device()
    assert ApiClient(client).get("/api/v1/sync/status?id=x").status_code == 401
    empty = ApiClient(client, token).get("/api/v1/sync/status")
    assert empty.status_code == 422 and empty.json["code"] == "request.validation_failed"
