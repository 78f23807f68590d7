"""The working-day calendar past the package's last year: provisional deadlines (暂定), a loaded
holiday arrangement recomputing them, and the admins' warning from November on."""

import io
import json
from datetime import date, datetime, timezone

from sqlalchemy import select

from models import AuditEntry, CalendarArrangement, FilingObligation
from models.database import db
from tests.helpers.lifecycle_data import customer, login

# A made-up 2027 arrangement in the file format (not the published one): New Year off 1–4 January,
# no adjusted working day around it.
ARRANGEMENT_2027 = {
    "year": 2027,
    "title": "测试用放假安排",
    "document_no": "测试〔2026〕1号",
    "published_on": "2026-11-20",
    "holidays": {"元旦": ["2027-01-01/2027-01-04"], "春节": ["2027-02-05/2027-02-12"]},
    "workdays": ["2027-02-13"],
}


def _late_december_event(client, clock):
    clock.current = datetime(2026, 12, 21, 2, tzinfo=timezone.utc)
    customer("3100012345")
    archivist = login(client, "archivist", "archivist")
    response = archivist.post(
        "/api/v1/lifecycle/events",
        json={"account_no": "3100012345", "kind": "contract_changed", "occurred_on": "2026-12-20"},
    )
    assert response.status_code == 201, response.get_json()
    return archivist, response.get_json()["obligation"]


def test_a_deadline_reaching_into_an_unpublished_year_is_computed_provisionally_and_flagged(client, clock):
    archivist, obligation = _late_december_event(client, clock)
    # 15 working days from Sunday 20 December 2026: 21–25 Dec (5), 28–31 Dec (9), 1 January is a
    # statutory holiday, 4–8 Jan (14), Monday 11 January (15)
    assert obligation["due_on"] == "2027-01-11"
    assert obligation["provisional"] is True and obligation["state"] == "open"

    page = archivist.get("/lifecycle/deadlines?view=all").get_data(as_text=True)
    row = page[page.index("3100012345") :]
    row = row[: row.index("</tr>")]
    assert "2027-01-11" in row and "暂定" in row
    assert "contract_change" not in row and "变更" in row  # the document type by its 中文名
    csv_text = archivist.get("/lifecycle/deadlines.csv").get_data(as_text=True)
    line = next(line for line in csv_text.splitlines() if "3100012345" in line)
    assert "2027-01-11" in line and "暂定" in line
    due = archivist.get("/api/v1/lifecycle/calendar/due-date?start=2026-12-20&days=15").get_json()
    assert due == {"start": "2026-12-20", "days": 15, "due_on": "2027-01-11", "provisional": True}


def test_loading_the_2027_arrangement_recomputes_the_provisional_deadline_and_drops_the_flag(client, clock):
    archivist, obligation = _late_december_event(client, clock)
    admin = login(client.application.test_client(), "admin", "admin")
    response = admin.post(
        "/admin/calendar",
        data={
            "csrf_token": admin.csrf,
            "file": (io.BytesIO(json.dumps(ARRANGEMENT_2027, ensure_ascii=False).encode()), "2027.json"),
        },
    )
    assert response.status_code == 302
    page = admin.get("/admin/calendar").get_data(as_text=True)
    assert "已导入 2027 年放假安排（测试〔2026〕1号，2026-11-20）" in page
    assert "测试〔2026〕1号" in page[page.index("已导入的放假安排") :]

    stored = db.session.get(FilingObligation, obligation["id"])
    db.session.refresh(stored)
    # 1–4 January off now: 5–8 Jan (13), 11 Jan (14), 12 Jan (15)
    assert stored.due_on == date(2027, 1, 12) and stored.provisional is False
    listed = archivist.get("/api/v1/lifecycle/obligations").get_json()["items"]
    assert [(o["due_on"], o["provisional"]) for o in listed] == [("2027-01-12", False)]
    history = db.session.scalars(
        select(AuditEntry)
        .where(AuditEntry.action == "obligation.due_recomputed")
        .where(AuditEntry.object_id == str(stored.id))
    ).all()
    assert len(history) == 1
    assert history[0].details["from"] == "2027-01-11" and history[0].details["to"] == "2027-01-12"
    assert history[0].details["was_provisional"] is True and history[0].details["provisional"] is False
    assert history[0].details["sources"] == [
        {"year": 2027, "document_no": "测试〔2026〕1号", "published_on": "2026-11-20"}
    ]
    row = archivist.get("/lifecycle/deadlines?view=all").get_data(as_text=True)
    row = row[row.index("3100012345") :]
    row = row[: row.index("</tr>")]
    assert "暂定" not in row.replace("（暂定）", "")
    # the history of the due date is shown with the row
    assert "由 2027-01-11（暂定） 改为 2027-01-12，依据 测试〔2026〕1号" in row

    # a second recompute changes nothing and records nothing more
    assert archivist.post("/api/v1/lifecycle/obligations/recompute").get_json()["changed"] == 0
    assert (
        db.session.scalar(select(AuditEntry.id).where(AuditEntry.action == "obligation.due_recomputed").offset(1))
        is None
    )


def test_admins_are_warned_from_november_that_next_years_arrangement_is_missing(client, clock):
    admin = login(client, "admin", "admin")
    clock.current = datetime(2026, 10, 30, 2, tzinfo=timezone.utc)
    assert "尚未导入 2027 年的节假日安排" not in admin.get("/").get_data(as_text=True)
    clock.current = datetime(2026, 11, 2, 2, tzinfo=timezone.utc)
    home = admin.get("/").get_data(as_text=True)
    assert "尚未导入 2027 年的节假日安排" in home and "/admin/calendar" in home
    assert "尚未导入 2027 年的节假日安排" in admin.get("/admin/calendar").get_data(as_text=True)
    assert admin.get("/api/v1/lifecycle/calendar").status_code == 403  # the API list is the archivists'

    admin.post(
        "/admin/calendar", data={"csrf_token": admin.csrf, "text": json.dumps(ARRANGEMENT_2027, ensure_ascii=False)}
    )
    assert "尚未导入 2027 年的节假日安排" not in admin.get("/").get_data(as_text=True)
    archivist = login(client.application.test_client(), "archivist", "archivist")
    assert "尚未导入" not in archivist.get("/").get_data(as_text=True)


def test_an_invalid_arrangement_is_refused_with_every_problem_listed_in_chinese(client, clock):
    admin = login(client, "admin", "admin")
    bad = dict(ARRANGEMENT_2027, document_no="", workdays=["2027-02-15"], holidays={"元旦": ["2028-01-01"]})
    response = admin.post("/admin/calendar", data={"csrf_token": admin.csrf, "text": json.dumps(bad)})
    assert response.status_code == 302
    page = admin.get("/admin/calendar").get_data(as_text=True)
    assert "放假安排文件内容有误。（calendar.bad_arrangement）" in page
    assert "document_no：必须填写文号" in page and "2027-02-15 本是工作日" in page
    assert "2028-01-01 不在 2027 年内" in page
    assert db.session.scalar(select(CalendarArrangement.id)) is None


def test_the_cli_loads_an_arrangement_file_and_reports_the_recompute(client, clock, runner, tmp_path):
    _archivist, obligation = _late_december_event(client, clock)
    path = tmp_path / "2027.json"
    path.write_text(json.dumps(ARRANGEMENT_2027, ensure_ascii=False), encoding="utf-8")
    result = runner.invoke(args=["lifecycle", "calendar-load", str(path)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["year"] == 2027 and report["document_no"] == "测试〔2026〕1号"
    assert report["recomputed"]["provisional"] == 0
    shown = json.loads(runner.invoke(args=["lifecycle", "calendar"]).stdout.strip().splitlines()[-1])
    assert shown["years"]["2027"] == "loaded" and shown["arrangements"][0]["document_no"] == "测试〔2026〕1号"
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    failed = runner.invoke(args=["lifecycle", "calendar-load", str(broken)])
    assert failed.exit_code == 1 and "calendar.bad_arrangement" in failed.output
