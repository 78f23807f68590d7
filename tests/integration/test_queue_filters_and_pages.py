"""The review queue: filters, sort order and keyset pages that visit every capture exactly once."""

from datetime import timedelta

from models import Photo
from models.database import db
from models.evidence import PhotoEvidence
from tests.helpers.api_client import ApiClient
from tests.helpers.captures import HIGH, LOW, make_capture, review_world
from tests.helpers.factories import PASSWORD, make_device


def _login(client):
    api = ApiClient(client)
    assert api.login("archivist", PASSWORD).status_code == 302
    return api


def _ids(response):
    assert response.status_code == 200, response.json
    return [item["id"] for item in response.json["items"]]


def test_keyset_pages_walk_the_whole_queue_once_in_order_both_ways(client, clock):
    device, _ = review_world()
    start = clock.now()
    made = [
        make_capture(device, HIGH if i % 2 else LOW, photos=0, received_at=start + timedelta(minutes=i // 2))
        for i in range(45)
    ]  # pairs share a received time: the id breaks the tie
    api = _login(client)
    oldest_first = sorted(made, key=lambda c: (c.received_at, c.id))

    for sort, expected in (("received_asc", oldest_first), ("received_desc", oldest_first[::-1])):
        seen, cursor, pages = [], None, 0
        while True:
            query = f"/api/v1/review/queue?limit=20&sort={sort}" + (f"&cursor={cursor}" if cursor else "")
            response = api.get(query)
            seen += _ids(response)
            pages += 1
            assert response.json["total"] == 45
            cursor = response.json["next_cursor"]
            if cursor is None:
                break
        assert pages == 3
        assert seen == [c.id for c in expected]


def test_filters_narrow_the_queue_by_class_district_inspector_category_kind_date_and_flag(client, clock):
    device, _ = review_world()
    other_device, _ = make_device("inspector2")
    day = clock.now()
    high = make_capture(device, HIGH, category="meter")
    low = make_capture(
        device, LOW, category="seal", kind="metering_check", schema_version=1, data={"meter_number": "3300987654321"}
    )
    other = make_capture(other_device, LOW, received_at=day + timedelta(days=3), photos=0)
    waiting = make_capture(device, HIGH, uploaded=False, received_at=day + timedelta(days=1))
    approved = make_capture(device, HIGH, review_state="approved")
    stamped = db.session.get(Photo, high.photos[0].id)
    db.session.add(
        PhotoEvidence(
            photo_id=stamped.id, evidence_no="EV-1", flags=["device_clock_skew"], tsa_status="granted", completed_at=day
        )
    )
    db.session.commit()
    api = _login(client)

    def ids(**args):
        query = "&".join(f"{k}={v}" for k, v in args.items())
        return set(_ids(api.get(f"/api/v1/review/queue?{query}")))

    assert ids() == {high.id, low.id, other.id, waiting.id}
    assert ids(voltage_class="high") == {high.id, waiting.id}
    assert ids(district="城西供电所") == {low.id, other.id}
    assert ids(inspector_id=other_device.inspector_id) == {other.id}
    assert ids(category="seal") == {low.id}
    assert ids(kind="metering_check") == {low.id}
    assert ids(date_from=(day + timedelta(days=1)).date().isoformat()) == {waiting.id, other.id}
    assert ids(date_to=day.date().isoformat()) == {high.id, low.id}
    assert ids(flag="clock_skew") == {high.id}
    assert ids(flag="incomplete") == {waiting.id}
    assert ids(flag="timestamp_pending") == {low.id, waiting.id}  # high is stamped; other has no photos
    assert ids(state="approved") == {approved.id}


def test_bad_filters_and_cursors_get_400_with_stable_codes(client):
    review_world()
    api = _login(client)
    for query, code in (
        ("flag=sunny", "review.bad_filter"),
        ("voltage_class=medium", "review.bad_filter"),
        ("date_from=yesterday", "review.bad_filter"),
        ("limit=7", "review.bad_filter"),
        ("cursor=not-a-cursor", "review.bad_cursor"),
    ):
        response = api.get(f"/api/v1/review/queue?{query}")
        assert response.status_code == 400, query
        assert response.json["code"] == code
    first = api.get("/api/v1/review/queue?sort=received_desc")
    assert first.status_code == 200


def test_a_cursor_made_for_one_sort_is_refused_for_the_other(client, clock):
    device, _ = review_world()
    for i in range(21):
        make_capture(device, HIGH, photos=0, received_at=clock.now() + timedelta(minutes=i))
    api = _login(client)
    cursor = api.get("/api/v1/review/queue?limit=20&sort=received_asc").json["next_cursor"]
    assert cursor
    refused = api.get(f"/api/v1/review/queue?limit=20&sort=received_desc&cursor={cursor}")
    assert refused.status_code == 400 and refused.json["code"] == "review.bad_cursor"


def test_the_queue_page_shows_items_with_thumbnails_flags_and_keeps_filters_in_its_links(client, clock):
    device, _ = review_world()
    for i in range(25):
        make_capture(device, HIGH, received_at=clock.now() + timedelta(minutes=i))
    _login(client)
    page = client.get("/review/queue?limit=20&voltage_class=high")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert html.count('class="rv-row"') == 20
    assert "/review/photos/" in html and "thumbnail" in html
    assert "时间戳待盖" in html and "江南精密机械有限公司" in html
    assert "voltage_class=high" in html and "cursor=" in html
    assert "<script>" not in html and 'onclick' not in html and 'style="' not in html
    bad = client.get("/review/queue?flag=sunny")
    assert bad.status_code == 400 and "review.bad_filter" in bad.get_data(as_text=True)


def test_counting_stops_at_the_cap_and_says_there_are_more(app):
    from services.review_queue import DEFAULT_FILTERS, count

    device, _ = review_world()
    for _ in range(3):
        make_capture(device, HIGH, photos=0)
    assert count(db.session, DEFAULT_FILTERS, cap=2) == (2, True)
    assert count(db.session, DEFAULT_FILTERS, cap=3) == (3, False)
