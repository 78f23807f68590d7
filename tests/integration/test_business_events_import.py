"""``events import FILE``: business events from marketing-system exports, per-row errors, idempotent."""

import csv
import json

import openpyxl
from sqlalchemy import select

from models import BusinessEvent, FilingObligation
from models.database import db
from tests.helpers.lifecycle_data import customer, login

HEADER = ["户号", "业务类型", "发生日期", "业务单号", "责任人", "备注"]


def _csv(path, rows, encoding="utf-8"):
    with open(path, "w", encoding=encoding, newline="") as fh:
        csv.writer(fh).writerows([HEADER, *rows])
    return str(path)


def _run(runner, path):
    result = runner.invoke(args=["events", "import", str(path)])
    return result, json.loads(result.stdout.strip().splitlines()[-1]) if result.stdout.strip() else None


def test_good_rows_open_obligations_and_bad_rows_are_reported(app, runner, tmp_path):
    customer("3100000001", "高压")
    customer("5200000002", "低压")
    rows = [
        ["3100000001", "合同签订", "2026-02-02", "HT-001", "", "新签供用电合同"],
        ["5200000002", "增容", "2026/2/26", "ZR-9", "", ""],
        ["5200000002", "搬迁", "2026-02-26", "", "", ""],  # unknown kind
        ["9999999999", "合同签订", "2026-02-26", "", "", ""],  # unknown customer
        ["3100000001", "合同变更", "26.02.2026", "", "", ""],  # not a date
        ["3100000001", "合同变更", "2026-03-09", "", "", ""],  # in the future
        ["3100000001", "", "2026-02-26", "", "", ""],  # empty kind
    ]
    result, summary = _run(runner, _csv(tmp_path / "events.csv", rows))
    assert result.exit_code == 2
    assert summary["created"] == 2 and summary["failed"] == 5
    by_row = {e["row"]: e["field"] for e in summary["errors"]}
    assert by_row == {4: "kind", 5: "account_no", 6: "occurred_on", 7: "occurred_on", 8: "kind"}
    kinds = sorted(db.session.scalars(select(BusinessEvent.kind)))
    assert kinds == ["capacity_increase", "contract_signed"]
    assert all(e.source == "import" for e in db.session.scalars(select(BusinessEvent)))
    assert db.session.query(FilingObligation).count() == 2


def test_importing_the_same_file_twice_records_nothing_new(app, runner, tmp_path):
    customer("3100000001", "高压")
    path = _csv(
        tmp_path / "events.csv", [["3100000001", "contract_signed", "20260202", "HT-001", "", ""]], encoding="gb18030"
    )
    _result, first = _run(runner, path)
    _result, second = _run(runner, path)
    assert first["created"] == 1 and first["encoding"] == "gb18030"
    assert second["created"] == 0 and second["unchanged"] == 1
    assert db.session.query(BusinessEvent).count() == 1


def test_xlsx_exports_are_read(app, runner, tmp_path):
    customer("3100000001", "高压")
    book = openpyxl.Workbook()
    book.active.append(HEADER)
    book.active.append(["3100000001", "争议处理终结", "2026-02-27", "ZY-1", "", ""])
    path = tmp_path / "events.xlsx"
    book.save(path)
    result, summary = _run(runner, path)
    assert result.exit_code == 0 and summary["created"] == 1
    assert db.session.scalar(select(FilingObligation.working_days)) == 10


def test_a_file_without_the_required_columns_is_refused_before_anything_is_written(app, runner, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("户号,备注\n3100000001,x\n", encoding="utf-8")
    result = runner.invoke(args=["events", "import", str(path)])
    assert result.exit_code == 1 and "import.missing_columns" in result.stderr
    assert db.session.query(BusinessEvent).count() == 0


def test_importing_from_the_deadlines_page(client, tmp_path):
    import io

    from tests.helpers.api_client import csrf_token_of

    customer("3100000001", "高压")
    login(client, "archivist", "archivist")
    token = csrf_token_of(client.get("/lifecycle/deadlines").get_data(as_text=True))
    data = "户号,业务类型,发生日期\n3100000001,移表,2026-02-26\n3100000001,迁居,2026-02-26\n".encode("utf-8")
    response = client.post(
        "/lifecycle/events/import",
        data={"csrf_token": token, "file": (io.BytesIO(data), "events.csv")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert "新登记 1" in page and "第 3 行" in page
    assert db.session.scalar(select(BusinessEvent.kind)) == "meter_move"
