"""The review queue answers at any size: index order for every filter, capped counts, pages found by id."""

from contextlib import contextmanager

import pytest
from sqlalchemy import event, select

from models.database import db
from services import review_queue
from tests.helpers.api_client import ApiClient
from tests.helpers.captures import HIGH, LOW, make_capture, review_world
from tests.helpers.factories import PASSWORD

# every filter of the queue on the capture's own columns (and its customer), with the index it walks
INDEXED_FILTERS = {
    "state": ({}, "ix_captures_queue "),
    "kind": ({"kind": "usage_inspection"}, "ix_captures_queue_kind "),
    "inspector": ({"inspector_id": "1"}, "ix_captures_queue_inspector "),
    "account": ({"account_no": HIGH}, "ix_captures_queue_account "),
    "incomplete": ({"flag": "incomplete"}, "ix_captures_queue_complete "),
    "conflict": ({"flag": "conflict"}, "ix_captures_queue_conflict "),
    "district": ({"district": "城东供电所"}, "ix_captures_queue "),
    "voltage class": ({"voltage_class": "high"}, "ix_captures_queue "),
    "dates": ({"date_from": "2026-03-01", "date_to": "2026-03-05"}, "ix_captures_queue "),
}


def _login(client):
    api = ApiClient(client)
    assert api.login("archivist", PASSWORD).status_code == 302
    return api


@contextmanager
def _statements(prefix: str):
    """The statements (SQL and parameters) starting with ``prefix`` that run inside the block."""
    seen: list[tuple[str, object]] = []

    def keep(_conn, _cursor, statement, parameters, _context, _many):
        if statement.lstrip().startswith(prefix):
            seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", keep)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", keep)


def _page_statements(filters: review_queue.QueueFilters) -> list[tuple[str, object]]:
    """The SQL of the statement that finds a page's captures (the one ordered by the queue key)."""
    with _statements("SELECT captures.id, captures.received_at") as seen:
        review_queue.queue_page(db.session, filters)
    return seen


@pytest.mark.parametrize("sort", ["received_asc", "received_desc"])
@pytest.mark.parametrize("name", sorted(INDEXED_FILTERS))
def test_every_filter_on_the_capture_walks_a_queue_index_in_order_without_sorting(app, name, sort):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the plan is read from SQLite; PostgreSQL plans by table statistics")
    review_world()
    args, index = INDEXED_FILTERS[name]
    filters = review_queue.parse_filters({**args, "sort": sort})
    [(statement, parameters)] = _page_statements(filters)
    with db.engine.connect() as conn:
        plan = " | ".join(
            row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).fetchall()
        )
    assert f"INDEX {index}" in plan, plan
    assert "TEMP B-TREE" not in plan, plan  # rows come in queue order: the page stops after `limit`


def test_a_filter_that_probes_photos_counts_one_page_and_the_pages_list_everything(client, monkeypatch):
    device, _ = review_world()
    made = [make_capture(device, HIGH if i % 2 else LOW, category="transformer") for i in range(5)]
    make_capture(device, HIGH, category="meter")
    monkeypatch.setattr(review_queue, "PAGE_SIZES", (2, 20, 50, 100))
    api = _login(client)
    whole = api.get("/api/v1/review/queue?category=transformer&limit=20").json
    assert (whole["total"], whole["total_capped"]) == (5, False)  # the page held it all: counted exactly
    seen, cursor = [], None
    while True:
        page = api.get(
            "/api/v1/review/queue?category=transformer&limit=2" + (f"&cursor={cursor}" if cursor else "")
        ).json
        assert (page["total"], page["total_capped"]) == (2, True)  # a probe counts one page: "2+"
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(c.id for c in made)
    html = client.get("/review/queue?category=transformer&limit=2").get_data(as_text=True)
    assert '共 <strong id="queue-total">2+</strong> 条' in html
    none = api.get("/api/v1/review/queue?category=transformer&limit=20&flag=edited").json
    assert (none["total"], none["total_capped"], none["items"]) == (0, False, [])


def test_a_first_page_holding_the_whole_filtered_queue_is_counted_without_a_count_query(app):
    device, _ = review_world()
    for _ in range(4):
        make_capture(device, HIGH)
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        page = review_queue.queue_page(db.session, review_queue.parse_filters({"limit": "20"}))
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert (page.total, page.total_capped, len(page.items)) == (4, False, 4)
    assert not any("count(" in s.lower() for s in statements)


def test_a_full_page_counts_the_queue_up_to_the_cap_with_the_cap_shown(client, monkeypatch):
    device, _ = review_world()
    for _ in range(7):
        make_capture(device, HIGH, photos=0)
    monkeypatch.setattr(review_queue, "COUNT_CAP", 5)
    api = _login(client)
    answer = api.get("/api/v1/review/queue?limit=20").json
    assert (answer["total"], answer["total_capped"], len(answer["items"])) == (7, False, 7)
    monkeypatch.setattr(review_queue, "PAGE_SIZES", (2, 20, 50, 100))
    small = api.get("/api/v1/review/queue?limit=2").json
    assert (small["total"], small["total_capped"], len(small["items"])) == (5, True, 2)
    assert db.session.scalar(select(1)) == 1


GROWING_TABLES = ("captures", "capture_revisions", "photos", "photo_evidence", "customers", "review_decisions")


@pytest.mark.parametrize("query", ["", "?flag=time_mismatch", "?category=meter", "?sort=received_desc&per_page=100"])
def test_no_statement_of_a_queue_page_reads_a_growing_table_without_an_index(client, query):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the plan is read from SQLite; PostgreSQL plans by table statistics")
    device, _token = review_world()
    for n in range(4):
        make_capture(device, HIGH if n % 2 else LOW, category="meter")
    api = _login(client)
    with _statements("SELECT") as statements:
        assert api.client.get("/review/queue" + query).status_code == 200
    if not query:  # a page with rows reads their form summaries
        assert any("capture_revisions" in statement for statement, _ in statements)
    with db.engine.connect() as conn:
        for statement, parameters in statements:
            plan = [row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)]
            # "SCAN t USING INDEX" walks an index in order and stops at the page's LIMIT; a bare
            # "SCAN t" reads every row of the table, so the page would grow with the archive
            whole = [step for step in plan if step.split(" ")[:2] in (["SCAN", t] for t in GROWING_TABLES)]
            assert not [step for step in whole if "USING" not in step], (statement, plan)
