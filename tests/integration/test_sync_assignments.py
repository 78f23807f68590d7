"""Task assignments from the command line and the demo data; tablets follow them."""

import json

from sqlalchemy import select

from models import AuditEntry, SyncChange
from models.database import db
from tests.helpers.factories import make_customer, make_user


def last_json(result):
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_assign_list_and_remove_customers_from_the_command_line(runner):
    make_user("inspector1", "inspector")
    make_customer("3100012345")
    make_customer("5200098761", "张建国", voltage_class="低压", usage_category="居民生活用电")
    added = runner.invoke(args=["assignments", "add", "--inspector", "inspector1", "3100012345", "5200098761"])
    assert added.exit_code == 0, added.output
    assert last_json(added)["assigned"] == ["3100012345", "5200098761"]
    again = runner.invoke(args=["assignments", "add", "--inspector", "inspector1", "3100012345"])
    assert last_json(again) == {"inspector": "inspector1", "assigned": [], "already_assigned": ["3100012345"]}
    listed = runner.invoke(args=["assignments", "list", "--inspector", "inspector1"])
    assert last_json(listed)["account_nos"] == ["3100012345", "5200098761"]
    removed = runner.invoke(args=["assignments", "remove", "--inspector", "inspector1", "5200098761"])
    assert last_json(removed)["unassigned"] == ["5200098761"]
    ops = db.session.execute(
        select(SyncChange.entity_id, SyncChange.op).where(SyncChange.entity == "dossier").order_by(SyncChange.id)
    ).all()
    assert ops == [("3100012345", "upsert"), ("5200098761", "upsert"), ("5200098761", "delete")]
    actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("assignment.%"))).all()
    assert sorted(actions) == ["assignment.end", "assignment.start", "assignment.start"]


def test_assignment_errors_are_clear_and_change_nothing(runner):
    make_user("inspector1", "inspector")
    make_user("archivist", "archivist")
    make_customer("3100012345")
    cases = [
        (["--inspector", "archivist", "3100012345"], "assignment.not_inspector"),
        (["--inspector", "nobody", "3100012345"], "user.unknown"),
        (["--inspector", "inspector1", "3100012345", "9999999999"], "customer.unknown"),
        (["--inspector", "inspector1", "31-00"], "customer.invalid_account_no"),
    ]
    for args, code in cases:
        result = runner.invoke(args=["assignments", "add", *args])
        assert result.exit_code == 1 and code in result.output, (args, result.output)
    assert db.session.scalar(select(SyncChange.id).where(SyncChange.entity == "dossier")) is None


def test_demo_inspectors_get_the_customers_of_their_district(runner):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assigned = last_json(result)["assignments"]
    assert len(assigned["inspector1"]) == 5 and len(assigned["inspector2"]) == 5
    assert not set(assigned["inspector1"]) & set(assigned["inspector2"])
    rerun = runner.invoke(args=["demo"])
    assert last_json(rerun)["assignments"] == {"inspector1": [], "inspector2": []}
