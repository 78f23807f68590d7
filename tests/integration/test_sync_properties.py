"""Random interleavings of push, retry, crash, replay and pull across several simulated tablets.

Whatever the order, after the links heal: nothing is recorded twice, nothing is lost, stale
amendments (and only those) are flagged, and every tablet holds exactly the server's view of
its scope (assigned dossier summaries, capture schemas, review outcomes of its captures).
"""

import json
import shutil
import tempfile
import uuid
from contextlib import contextmanager
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from clients.device_client import DeviceClient, ServerBusy, TransportError
from core.actor import CLI
from models import Assignment, Capture, CaptureRevision, Customer, Device, Dossier
from models.database import db
from services import sync_assignments, sync_maintenance, sync_push
from services.devices import hash_token
from services.ports_access import ports
from sync import feed
from sync.schemas import current_descriptors
from sync.scope import dossier_summary
from tests.helpers.device import FlaskTransport, photo_files, sample_data
from tests.helpers.factories import make_customer, make_device

ACCOUNTS = ["3100012345", "3100012346", "5200098761", "5200098762"]
KINDS = [("usage_inspection", 2), ("usage_inspection", 1), ("site_survey", 1), ("theft_evidence", 1)]
DEVICES = 3  # tablets 0 and 1 belong to the first inspector, tablet 2 to the second

device_no = st.integers(0, DEVICES - 1)
capture = st.tuples(
    st.just("capture"),
    device_no,
    st.integers(0, len(KINDS) - 1),
    st.sampled_from([True, True, True, False]),
    st.booleans(),
)
step = st.one_of(
    capture,
    capture,
    st.tuples(st.just("amend"), device_no, st.booleans()),
    st.tuples(st.just("push"), device_no, st.sampled_from([None, None, "lose_request", "lose_answer"])),
    st.tuples(st.just("server_crash"), device_no, st.integers(0, 2)),
    st.tuples(st.just("replay"), device_no),
    st.tuples(st.just("crash"), device_no),
    st.tuples(st.just("pull"), device_no, st.sampled_from([None, "lose_answer"])),
    st.tuples(st.just("assign"), st.integers(0, 1), st.sampled_from(ACCOUNTS)),
    st.tuples(st.just("unassign"), st.integers(0, 1), st.sampled_from(ACCOUNTS)),
    st.tuples(st.just("review"), device_no),
    st.tuples(
        st.just("compact"),
    ),
)


@pytest.fixture
def customers(app):
    for number in ACCOUNTS:
        make_customer(
            number,
            f"客户{number}",
            voltage_class="高压" if number[0] == "3" else "低压",
            usage_category="大工业用电" if number[0] == "3" else "居民生活用电",
        )


@contextmanager
def server_crashes_after(items: int):
    """The server dies after committing ``items`` items of the next push (its answer is lost)."""
    real, done = sync_push._one, []

    def dying(*args, **kwargs):
        if len(done) >= items:
            raise RuntimeError("server process killed")
        done.append(1)
        return real(*args, **kwargs)

    with mock.patch.object(sync_push, "_one", dying):
        yield


class World:
    """The tablets of one example and what the test expects the server to hold."""

    def __init__(self, client, root):
        suffix = uuid.uuid4().hex[:8]
        self.client, self.root = client, root
        self.inspectors = [f"insp-a-{suffix}", f"insp-b-{suffix}"]
        tokens = [
            make_device(self.inspectors[0])[1],
            make_device(self.inspectors[0])[1],
            make_device(self.inspectors[1])[1],
        ]
        self.owner = [0, 0, 1]
        self.transports = [FlaskTransport(client, t) for t in tokens]
        self.devices = [self.open(i) for i in range(DEVICES)]
        self.invalid: set[str] = set()  # revision ids made invalid on purpose
        self.stale: set[str] = set()  # revision ids amended on a stale base
        self.valid_captures: list[list[str]] = [[] for _ in range(DEVICES)]
        self.reviews: dict[int, dict[str, dict]] = {0: {}, 1: {}}

    def open(self, i: int) -> DeviceClient:
        return DeviceClient(f"{self.root}/tablet{i}.sqlite3", self.transports[i], sleep=lambda s: None)

    def inspector_id(self, owner: int) -> int:
        from models import User

        return db.session.scalar(select(User.id).where(User.username == self.inspectors[owner]))

    def run(self, action):
        name, *args = action
        getattr(self, f"do_{name}")(*args)

    def do_capture(self, i, kind_no, valid, unknown_account):
        kind, version = KINDS[kind_no]
        data = sample_data(kind, version)
        if not valid:
            data.pop(next(iter(data)))  # drop a required field
        account = "8888888888" if unknown_account else ACCOUNTS[kind_no % len(ACCOUNTS)]
        capture_id, revision_id = self.devices[i].capture(
            kind, account, data, photo_files(self.root, kind), schema_version=version
        )
        (self.valid_captures[i].append(capture_id) if valid else self.invalid.add(revision_id))

    def do_amend(self, i, stale):
        if not self.valid_captures[i]:
            return
        device = self.devices[i]
        capture_id = self.valid_captures[i][len(self.valid_captures[i]) // 2]
        rows = device.db.execute(
            "SELECT revision_id, body FROM outbox WHERE capture_id = ? ORDER BY seq", (capture_id,)
        ).fetchall()
        data = json.loads(rows[-1][1])["data"]
        base = rows[0][0] if stale else None
        revision_id = device.amend(capture_id, data, base_revision_id=base)
        if stale and len(rows) >= 2:
            self.stale.add(revision_id)

    def do_push(self, i, fault):
        if fault:
            self.transports[i].fail_next(fault)
        try:
            self.devices[i].push()
        except TransportError:
            pass
        finally:
            self.transports[i].faults.clear()  # a fault belongs to this action only (a push may send nothing)

    def do_server_crash(self, i, after):
        with server_crashes_after(after):
            try:
                self.devices[i].push()
            except ServerBusy:
                pass

    def do_replay(self, i):
        done = self.devices[i].db.execute("SELECT body FROM outbox WHERE state = 'done' ORDER BY seq").fetchall()
        if done:
            body = ('{"device_time":"2026-03-02T09:00:00+08:00","items":[%s]}' % done[len(done) // 2][0]).encode()
            answer = self.transports[i].post_json("/api/v1/sync/push", body)
            assert answer.status == 200 and answer.body["counts"]["replayed"] == 1

    def do_crash(self, i):
        self.devices[i].db.close()
        self.devices[i] = self.open(i)

    def do_pull(self, i, fault):
        if fault:
            self.transports[i].fail_next(fault)
        try:
            self.devices[i].pull(page_size=3)
        except TransportError:
            pass
        finally:
            self.transports[i].faults.clear()

    def do_assign(self, owner, account):
        sync_assignments.assign(db.session, CLI, self.inspectors[owner], [account], ports().clock.now())
        db.session.commit()

    def do_unassign(self, owner, account):
        sync_assignments.unassign(db.session, CLI, self.inspectors[owner], [account], ports().clock.now())
        db.session.commit()

    def do_review(self, i):
        owner = self.owner[i]
        capture = db.session.scalar(
            select(Capture)
            .where(Capture.inspector_id == self.inspector_id(owner))
            .order_by(Capture.received_at, Capture.id)
            .limit(1)
        )
        if capture is None:
            return
        outcome = {
            "capture_id": capture.id,
            "state": "rejected",
            "reason_code": "retake",
            "reason_text": f"请重拍 {uuid.uuid4().hex[:4]}",
            "decided_at": "2026-03-02T03:00:00+00:00",
        }
        feed.publish(db.session, feed.inspector_scope(capture.inspector_id), "review", capture.id, "upsert", outcome)
        db.session.commit()
        self.reviews[owner][capture.id] = outcome

    def do_compact(self):
        sync_maintenance.compact(db.session, CLI, ports().clock.now(), tombstone_days=0)

    def heal(self):
        for i, device in enumerate(self.devices):
            self.transports[i].faults.clear()
            device.sync(attempts=0)

    def check(self):
        for i, device in enumerate(self.devices):
            rows = device.db.execute("SELECT revision_id, capture_id, body, state FROM outbox").fetchall()
            assert all(state != "pending" for *_, state in rows), "something was never delivered"
            token = self.transports[i].headers["Authorization"].split()[1]
            device_id = db.session.scalar(select(Device.id).where(Device.token_hash == hash_token(token)))
            server_revisions = {
                r.id: r
                for r in db.session.scalars(select(CaptureRevision).join(Capture).where(Capture.device_id == device_id))
            }
            expected_done = {rev for rev, _, _, state in rows if state == "done"}
            rejected = {rev for rev, _, _, state in rows if state == "rejected"}
            assert rejected <= self.invalid  # only the invalid items were refused
            assert set(server_revisions) == expected_done  # nothing lost, nothing extra
            for rev, capture_id, body, state in rows:
                if state == "done":
                    stored = server_revisions[rev]
                    assert stored.capture_id == capture_id and stored.payload == json.loads(body)["data"]
                    assert stored.conflict == (rev in self.stale)
            numbers = {}
            for revision in server_revisions.values():
                numbers.setdefault(revision.capture_id, []).append(revision.number)
            assert all(sorted(n) == list(range(1, len(n) + 1)) for n in numbers.values())  # no duplicates
            self.check_scope(i, device)

    def check_scope(self, i, device):
        inspector_id = self.inspector_id(self.owner[i])
        assigned = db.session.execute(
            select(Customer, Dossier.archive_no)
            .join(Assignment, Assignment.customer_id == Customer.id)
            .join(Dossier, Dossier.customer_id == Customer.id)
            .where(Assignment.inspector_id == inspector_id, Assignment.ended_at.is_(None))
        ).all()
        assert device.local("dossier") == {c.account_no: dossier_summary(c, a) for c, a in assigned}
        assert device.local("schema") == current_descriptors()
        assert device.local("review") == self.reviews[self.owner[i]]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(steps=st.lists(step, min_size=6, max_size=40))
def test_no_duplicate_no_loss_and_every_tablet_converges(client, customers, steps):
    root = tempfile.mkdtemp(prefix="dangan-tablets-")
    try:
        world = World(client, root)
        for action in steps:
            world.run(action)
        world.heal()
        world.check()
    finally:
        shutil.rmtree(root, ignore_errors=True)
