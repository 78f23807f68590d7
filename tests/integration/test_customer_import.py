"""``customers import``: CSV (UTF-8, GB18030) and XLSX, upsert by 户号, per-row errors, idempotent."""

import csv
import json

import openpyxl
import pytest

from models import AuditEntry, Customer, Dossier
from models.database import db

HEADER = [
    "户号",
    "户名",
    "联系电话",
    "用电地址",
    "客户分类",
    "用电类别",
    "合同容量",
    "电能表表号",
    "电流互感器变比",
    "纬度",
    "经度",
]
GOOD = [
    [
        "3100000001",
        "甲公司",
        "0571-1",
        "杭州市一路 1 号",
        "高压",
        "大工业用电",
        "1250",
        "M001",
        "100/5",
        "30.1",
        "120.1",
    ],
    ["5200000002", "张三", "13800000000", "杭州市二路 2 号", "低压", "居民生活用电", "8", "M002", "", "", ""],
]
BAD = [
    ["12AB", "坏户号", "", "", "低压", "居民生活用电", "", "", "", "", ""],
    ["5200000003", "", "", "", "低压", "居民生活用电", "", "", "", "", ""],
    ["5200000004", "李四", "", "", "中压", "居民生活用电", "", "", "", "", ""],
    ["5200000005", "王五", "", "", "低压", "居民生活用电", "", "", "200:5", "", ""],
    ["5200000006", "赵六", "", "", "低压", "居民生活用电", "", "", "", "95", ""],
]


def write_csv(path, rows, encoding="utf-8"):
    with open(path, "w", encoding=encoding, newline="") as fh:
        csv.writer(fh).writerows(rows)
    return str(path)


def run_import(runner, path):
    result = runner.invoke(args=["customers", "import", str(path)])
    summary = json.loads(result.stdout.strip().splitlines()[-1]) if result.stdout.strip() else None
    return result, summary


def test_good_utf8_csv_creates_customers_with_dossiers(runner, tmp_path):
    result, summary = run_import(runner, write_csv(tmp_path / "c.csv", [HEADER, *GOOD]))
    assert result.exit_code == 0, result.output
    assert summary["created"] == 2 and summary["failed"] == 0
    company = db.session.query(Customer).filter_by(account_no="3100000001").one()
    assert company.voltage_class == "high" and company.usage_category == "large_industrial"
    assert company.ct_ratio == "100/5" and float(company.capacity_kva) == 1250
    archive_numbers = {d.archive_no for d in db.session.query(Dossier).all()}
    assert len(archive_numbers) == 2 and all(n.startswith("KH-") for n in archive_numbers)


def test_gb18030_csv_is_read_correctly(runner, tmp_path):
    path = write_csv(tmp_path / "gbk.csv", [HEADER, *GOOD], encoding="gb18030")
    result, summary = run_import(runner, path)
    assert result.exit_code == 0, result.output
    assert summary["encoding"] == "gb18030"
    assert db.session.query(Customer).filter_by(account_no="5200000002").one().name == "张三"


def test_xlsx_export_is_imported(runner, tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for row in GOOD:
        sheet.append([float(c) if c.replace(".", "").isdigit() and "." in c else c for c in row])
    path = tmp_path / "c.xlsx"
    book.save(path)
    result, summary = run_import(runner, path)
    assert result.exit_code == 0, result.output
    assert summary["created"] == 2 and summary["encoding"] == "xlsx"


def test_bad_rows_are_reported_by_row_and_field_and_good_rows_still_land(runner, tmp_path):
    result, summary = run_import(runner, write_csv(tmp_path / "mixed.csv", [HEADER, GOOD[0], *BAD, GOOD[1]]))
    assert result.exit_code == 2
    assert summary["created"] == 2
    by_row = {e["row"]: e for e in summary["errors"]}
    assert by_row[3]["field"] == "account_no"
    assert by_row[4]["field"] == "name"
    assert by_row[5]["field"] == "voltage_class" and "中压" in by_row[5]["reason"]
    assert by_row[6]["field"] == "ct_ratio"
    assert by_row[7]["field"] == "latitude"
    assert "row 3" in result.stderr
    assert db.session.query(Customer).count() == 2


def test_reimporting_the_same_file_changes_nothing(runner, tmp_path):
    path = write_csv(tmp_path / "c.csv", [HEADER, *GOOD])
    run_import(runner, path)
    numbers = sorted(d.archive_no for d in db.session.query(Dossier).all())
    updates_before = db.session.query(AuditEntry).filter_by(action="customer.update").count()
    result, summary = run_import(runner, path)
    assert result.exit_code == 0
    assert summary["unchanged"] == 2 and summary["created"] == 0 and summary["updated"] == 0
    assert sorted(d.archive_no for d in db.session.query(Dossier).all()) == numbers
    assert db.session.query(AuditEntry).filter_by(action="customer.update").count() == updates_before


def test_changed_business_data_updates_the_customer_but_never_the_archive_number(runner, tmp_path):
    run_import(runner, write_csv(tmp_path / "a.csv", [HEADER, GOOD[1]]))
    number = db.session.query(Dossier).one().archive_no
    changed = list(GOOD[1])
    changed[4], changed[5], changed[6] = "高压", "一般工商业用电", "630"  # 增容 to high voltage
    result, summary = run_import(runner, write_csv(tmp_path / "b.csv", [HEADER, changed]))
    assert summary["updated"] == 1
    assert db.session.query(Customer).one().voltage_class == "high"
    assert db.session.query(Dossier).one().archive_no == number


def test_missing_required_columns_stop_the_import_before_anything_is_written(runner, tmp_path):
    result, _ = run_import(runner, write_csv(tmp_path / "c.csv", [["户号", "联系电话"], ["3100000001", "1"]]))
    assert result.exit_code == 1
    assert "import.missing_columns" in result.output and "户名" in result.output
    assert db.session.query(Customer).count() == 0


@pytest.mark.parametrize(
    "content,code",
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00binary", "import.unsupported_format"),
        (b"", "import.unreadable"),
        (b"\xff\xfe\xfa\x80\x81 not text \xff", "import.unreadable"),
    ],
)
def test_unreadable_files_get_a_clear_error(runner, tmp_path, content, code):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    result, _ = run_import(runner, path)
    assert result.exit_code == 1
    assert code in result.output
    assert db.session.query(Customer).count() == 0


def test_oversized_file_is_refused(runner, tmp_path, app):
    app.config["IMPORT_MAX_BYTES"] = 100
    result, _ = run_import(runner, write_csv(tmp_path / "c.csv", [HEADER, *GOOD]))
    assert result.exit_code == 1
    assert "import.too_large" in result.output


def test_repeated_account_number_in_one_file_is_a_row_error(runner, tmp_path):
    result, summary = run_import(runner, write_csv(tmp_path / "c.csv", [HEADER, GOOD[0], GOOD[0]]))
    assert summary["created"] == 1
    assert summary["errors"][0]["row"] == 3 and "row 2" in summary["errors"][0]["reason"]
