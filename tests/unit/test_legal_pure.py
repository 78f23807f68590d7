"""Pure pieces of legal retrieval: cursors, places, filters, SHA256SUMS."""

from datetime import datetime, timezone

import pytest

from core import errors
from services import legal_search
from verifier.sums import format_sums, parse_sums


def test_a_cursor_round_trips_and_refuses_another_sort_or_garbage():
    moment = datetime(2026, 3, 2, 1, 15, 30, 123456, tzinfo=timezone.utc)
    cursor = legal_search.encode_cursor("received", moment, "abc")
    assert legal_search.decode_cursor(cursor, "received") == (moment, "abc")
    for bad, sort in ((cursor, "captured"), ("not-a-cursor", "received"), ("", "received")):
        with pytest.raises(errors.DomainError) as caught:
            legal_search.decode_cursor(bad, sort)
        assert caught.value.code == "legal.bad_cursor"


def test_the_bounding_box_encloses_the_circle_and_distances_are_haversine():
    south, north, west, east = legal_search.bounding_box(30.2741, 120.1551, 500)
    for lat, lon in ((south, 120.1551), (north, 120.1551), (30.2741, west), (30.2741, east)):
        assert legal_search.distance_m(30.2741, 120.1551, lat, lon) == pytest.approx(500, rel=0.01)
    # one degree of latitude is about 111.2 km
    assert legal_search.distance_m(30.0, 120.0, 31.0, 120.0) == pytest.approx(111_195, rel=0.001)


def test_page_filters_read_days_in_beijing_time_and_refuse_bad_values():
    filters = legal_search.parse_filters(
        {"q": "3100012345", "captured_from": "2026-03-02", "captured_to": "2026-03-02"}
    )
    assert filters.account_no == "3100012345" and filters.name is None
    assert filters.captured_from == datetime(2026, 3, 1, 16, 0, tzinfo=timezone.utc)
    assert filters.captured_to.astimezone(timezone.utc) < datetime(2026, 3, 2, 16, 0, tzinfo=timezone.utc)
    assert legal_search.parse_filters({"q": "测试客户"}).name == "测试客户"
    for bad in ({"captured_from": "2026-13-01"}, {"latitude": "north"}, {"limit": "many"}):
        with pytest.raises(errors.DomainError) as caught:
            legal_search.parse_filters(bad)
        assert caught.value.code == "legal.bad_filter"


def test_sha256sums_are_written_as_sha256sum_reads_them():
    text = format_sums([("b.txt", "1" * 64), ("a/x.jpg", "a" * 64)])
    assert text == f"{'a' * 64}  a/x.jpg\n{'1' * 64}  b.txt\n".encode()
    assert parse_sums(text) == ({"a/x.jpg": "a" * 64, "b.txt": "1" * 64}, [])
    entries, bad = parse_sums(b"zz  a\n" + f"{'2' * 64} *c\n".encode())
    assert entries == {"c": "2" * 64} and bad == ["line 1 is not '<sha256>  <path>'"]
