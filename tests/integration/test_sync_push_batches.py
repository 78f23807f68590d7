"""Push batches: set-based writes, and each item's own answer whatever happens to the batch."""

import uuid

import pytest
from sqlalchemy import event, func, select

from models import AuditEntry, Capture, CaptureRevision, Photo, SyncMutation
from models.database import db
from sync import push as push_logic
from tests.helpers.api_client import ApiClient
from tests.integration.test_sync_push import item, push


@pytest.fixture
def tablet_api(client):
    from tests.helpers.factories import make_customer, make_device

    make_customer("3100012345")
    device, token = make_device("inspector1")
    return ApiClient(client, token), device


class StatementCounter:
    """Counts the SQL statements sent to the database while it is active."""

    def __init__(self):
        self.count = 0

    def __call__(self, *_args):
        self.count += 1

    def __enter__(self):
        event.listen(db.engine, "before_cursor_execute", self)
        return self

    def __exit__(self, *_exc):
        event.remove(db.engine, "before_cursor_execute", self)


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_a_batch_of_new_captures_costs_a_fixed_number_of_statements_not_a_few_per_item(tablet_api, tmp_path):
    api, _ = tablet_api
    small = [item(tmp_path, kind="site_survey", version=1)[0] for _ in range(5)]
    large = [item(tmp_path, kind="site_survey", version=1)[0] for _ in range(40)]
    with StatementCounter() as for_small:
        assert push(api, small).json["counts"]["applied"] == 5
    with StatementCounter() as for_large:
        assert push(api, large).json["counts"]["applied"] == 40
    # eight times the items, the same statements: reads per table, inserts per table
    assert for_large.count <= for_small.count
    assert _count(Capture) == 45 and _count(SyncMutation) == 45 and _count(Photo) == 45
    assert _count(AuditEntry.__table__) >= 45


def test_an_amendment_after_its_base_in_the_same_batch_is_applied_as_revision_two(tablet_api, tmp_path):
    api, _ = tablet_api
    base, _ = item(tmp_path)
    amendment = {
        **base,
        "revision_id": str(uuid.uuid4()),
        "base_revision_id": base["revision_id"],
        "data": {**base["data"], "findings": "复查：已整改"},
    }
    results = push(api, [base, amendment]).json["results"]
    assert [r["status"] for r in results] == ["applied", "applied"]
    assert [r["revision"] for r in results] == [1, 2] and results[1]["conflict"] is False
    assert db.session.get(Capture, base["capture_id"]).current_revision == 2


def test_an_item_repeated_in_one_batch_is_applied_once_and_its_copy_is_a_replay(tablet_api, tmp_path):
    api, _ = tablet_api
    body, _ = item(tmp_path)
    other, _ = item(tmp_path)
    answer = push(api, [body, other, body]).json
    assert answer["counts"] == {"applied": 2, "replayed": 1, "rejected": 0, "retry": 0}
    assert answer["results"][2] == answer["results"][0]
    assert _count(CaptureRevision) == 2 and _count(SyncMutation) == 2


def test_a_batch_whose_ids_were_taken_meanwhile_is_applied_item_by_item_each_with_its_own_answer(
    tablet_api, tmp_path, monkeypatch
):
    """The batch's reads miss a photo stored meanwhile; the database refuses the batch and each item is answered alone."""
    api, _ = tablet_api
    taken, _ = item(tmp_path)
    assert push(api, [taken]).json["counts"]["applied"] == 1
    thief = {**item(tmp_path)[0], "photos": taken["photos"]}  # a new capture naming the stored photo
    fine = [item(tmp_path)[0] for _ in range(3)]

    real_load = push_logic.BatchLookups._load

    def blind_to_photos(self, model, column, keys):
        return {} if model is Photo else real_load(self, model, column, keys)

    monkeypatch.setattr(push_logic.BatchLookups, "_load", blind_to_photos)
    answer = push(api, [fine[0], thief, fine[1], fine[2]]).json
    assert [r["status"] for r in answer["results"]] == ["applied", "rejected", "applied", "applied"]
    assert answer["results"][1]["error"]["code"] == "sync.id_reused"
    assert _count(Capture) == 4 and _count(SyncMutation) == 4
    again = push(api, [fine[0], thief, fine[1], fine[2]]).json
    assert again["counts"] == {"applied": 0, "replayed": 3, "rejected": 1, "retry": 0}
