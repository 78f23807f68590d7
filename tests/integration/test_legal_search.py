"""Legal search over pushed and stamped photos: filters, keyset pages, places, opening, downloading."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from models import AuditEntry, EvidenceUse, LogLeaf, PhotoEvidence
from models.database import db
from services.ports_access import ports
from tests.helpers.factories import PASSWORD, make_user
from tests.helpers.legal_world import ACCOUNT, UserApi, push_photos

OTHER = "3100098765"


@pytest.fixture
def world(app, client, tmp_path):
    mine = push_photos(app, client, tmp_path, count=5)
    theirs = push_photos(app, client, tmp_path, count=1, account_no=OTHER, inspector="inspector2", name="东方钢铁厂")
    make_user("lawyer", "legal", display_name="李律师")
    api = UserApi(client)
    assert api.login("lawyer", PASSWORD).status_code in (302, 303)
    return api, mine, theirs


def test_search_by_account_walks_keyset_pages_without_gaps_or_repeats(world):
    api, mine, _ = world
    seen, cursor, pages = [], None, 0
    while True:
        answer = api.get(
            "/api/v1/legal/photos",
            query_string={"account_no": ACCOUNT, "limit": 2, **({"cursor": cursor} if cursor else {})},
        )
        assert answer.status_code == 200, answer.get_json()
        body = answer.get_json()
        seen += [hit["photo_id"] for hit in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(mine) and len(seen) == len(set(seen)) and pages == 3
    hit = api.get("/api/v1/legal/photos", query_string={"account_no": ACCOUNT, "limit": 1}).get_json()["items"][0]
    assert hit["hash_ok"] is True and hit["tsa_status"] == "granted" and hit["tsa_kind"] == "local"
    assert hit["has_thumbnail"] and hit["evidence_no"].startswith("DGE-") and hit["customer_name"]


def test_name_inspector_place_and_flag_filters_narrow_the_results(world):
    api, mine, theirs = world

    def ids(**query):
        answer = api.get("/api/v1/legal/photos", query_string={"limit": 50, **query})
        assert answer.status_code == 200, answer.get_json()
        return {hit["photo_id"] for hit in answer.get_json()["items"]}

    assert ids(name="东方钢铁") == set(theirs)
    assert ids(inspector="inspector2") == set(theirs)
    assert ids(account_no=ACCOUNT, near_site="true", radius_m=300) == set(mine)
    assert ids(latitude=31.2304, longitude=121.4737, radius_m=1000) == set()  # Shanghai, far from Hangzhou
    assert ids(latitude=30.2741, longitude=120.1551, radius_m=50) == set(mine) | set(theirs)
    assert ids(review_state="approved") == set()
    flagged = db.session.get(PhotoEvidence, mine[0])
    assert "edited_by_software" not in flagged.flags
    flagged.flags = list(flagged.flags) + ["edited_by_software"]
    db.session.commit()
    assert ids(flag="edited_by_software") == {mine[0]}
    assert ids(
        sort="captured",
        captured_from="2026-03-02T01:10:00+00:00",
        captured_to="2026-03-02T01:11:59+00:00",
        account_no=ACCOUNT,
    ) == {mine[0], mine[1]}


def test_bad_filters_and_cursors_get_a_400_with_a_stable_code(world):
    api, _, _ = world
    assert api.get("/api/v1/legal/photos", query_string={"cursor": "garbage"}).get_json()["code"] == "legal.bad_cursor"
    answer = api.get("/api/v1/legal/photos", query_string={"latitude": 30.2})
    assert answer.status_code == 400 and answer.get_json()["code"] == "legal.bad_filter"
    answer = api.get("/api/v1/legal/photos", query_string={"near_site": "true"})
    assert answer.status_code == 400 and answer.get_json()["code"] == "legal.bad_filter"
    assert api.get("/api/v1/legal/photos", query_string={"limit": 1000}).status_code == 422


def test_wildcards_typed_into_the_name_search_match_only_themselves(world):
    api, _, theirs = world
    for typed in ("%", "_", "东方%", "东方_钢铁"):
        answer = api.get("/api/v1/legal/photos", query_string={"name": typed})
        assert answer.status_code == 200 and answer.get_json()["items"] == [], typed
    assert {
        hit["photo_id"] for hit in api.get("/api/v1/legal/photos", query_string={"name": "东方钢"}).get_json()["items"]
    } == set(theirs)


@pytest.mark.parametrize("flag", ["%", "_", "edited%", "edited_by_softwar_", "no_such_flag"])
def test_a_flag_outside_the_catalogue_of_flags_is_refused_never_read_as_a_pattern(world, flag):
    api, _, _ = world
    answer = api.get("/api/v1/legal/photos", query_string={"flag": flag})
    assert answer.status_code == 400 and answer.get_json()["code"] == "legal.bad_filter"
    assert answer.get_json()["details"]["field"] == "flag"
    assert "edited_by_software" in answer.get_json()["details"]["allowed"]
    page = api.get("/legal/", query_string={"flag": flag})
    assert page.status_code == 400 and "legal.bad_filter" in page.get_data(as_text=True)


def test_searches_openings_and_downloads_are_registered_and_appear_in_the_custody_log(world):
    api, mine, _ = world
    api.get("/api/v1/legal/photos", query_string={"account_no": ACCOUNT})
    opened = api.get(f"/api/v1/legal/photos/{mine[0]}")
    assert opened.status_code == 200 and opened.get_json()["sha256"]
    refused = api.post(f"/api/v1/legal/photos/{mine[0]}/original", json={"purpose": " "})
    assert refused.status_code == 400 and refused.get_json()["code"] == "legal.purpose_required"
    download = api.post(f"/api/v1/legal/photos/{mine[0]}/original", json={"purpose": "诉前证据保全"})
    assert download.status_code == 200
    evidence = db.session.get(PhotoEvidence, mine[0])
    assert hashlib.sha256(download.get_data()).hexdigest() == evidence.sha256
    assert download.get_data() == ports().blobs.open(evidence.sha256).read()
    uses = db.session.scalars(select(EvidenceUse).order_by(EvidenceUse.id)).all()
    assert [u.action for u in uses] == ["search", "open", "download"]
    assert uses[2].purpose == "诉前证据保全" and uses[2].photo_id == mine[0] and "lawyer" in uses[2].user_label
    accessed = db.session.scalars(
        select(LogLeaf).where(LogLeaf.subject_id == mine[0], LogLeaf.event_type == "accessed")
    ).all()
    assert len(accessed) == 2 and b"download" in accessed[1].entry and "诉前证据保全".encode() in accessed[1].entry
    assert (
        db.session.scalar(
            select(AuditEntry).where(AuditEntry.action == "evidence.use.download", AuditEntry.object_id == mine[0])
        )
        is not None
    )
    register = api.get("/api/v1/legal/uses", query_string={"photo_id": mine[0]}).get_json()
    assert [u["action"] for u in register] == ["download", "open"]


def test_other_roles_cannot_search_and_unknown_photos_are_404(world, app):
    api, mine, _ = world
    assert api.get("/api/v1/legal/photos/no-such-photo").get_json()["code"] == "photo.unknown"
    make_user("archivist1", "archivist")
    archivist = UserApi(app.test_client())
    archivist.login("archivist1", PASSWORD)
    answer = archivist.get("/api/v1/legal/photos")
    assert answer.status_code == 403 and answer.get_json()["code"] == "auth.forbidden"


def test_the_search_page_shows_thumbnails_and_evidence_status_and_the_start_page_links_it(world, client):
    api, mine, _ = world
    home = client.get("/").get_data(as_text=True)
    assert "/legal/" in home and "证据检索" in home
    page = client.get("/legal/", query_string={"q": ACCOUNT})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and html.count('class="lg-thumb"') == 5 and "已取得时间戳" in html
    assert "<script>" not in html and "style=" not in html
    thumb = client.get(f"/legal/photos/{mine[0]}/thumbnail")
    assert thumb.status_code == 200 and thumb.get_data()[:2] == b"\xff\xd8"
    detail = client.get(f"/legal/photos/{mine[0]}")
    assert detail.status_code == 200 and db.session.get(PhotoEvidence, mine[0]).sm3 in detail.get_data(as_text=True)
    bad = client.get("/legal/", query_string={"captured_from": "yesterday"})
    assert bad.status_code == 400 and "legal.bad_filter" in bad.get_data(as_text=True)
