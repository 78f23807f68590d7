"""``flask scans import FOLDER --manifest FILE``: backlogs kept and filed once, bad rows reported."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from models import DossierItem, Scan
from models.database import db
from tests.helpers.captures import HIGH, LOW, review_world
from tests.helpers.scans import make_pdf, make_tiff

HEADER = "户号,文件类型,文件日期,文件名,业务单号,页数,备注\n"


def _summary(result) -> dict:
    return json.loads(result.output.strip().splitlines()[-1])


def test_gb18030_manifest_files_good_rows_reports_bad_rows_and_a_rerun_changes_nothing(runner, tmp_path):
    review_world()
    folder = tmp_path / "scans"
    (folder / "2019").mkdir(parents=True)
    (folder / "2019" / "申请书.pdf").write_bytes(make_pdf(pages=3, label="app"))
    (folder / "2019" / "合同.tif").write_bytes(make_tiff(pages=2, dpi=150, label="contract"))
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4 broken")
    (tmp_path / "secret.pdf").write_bytes(make_pdf(pages=1, label="outside"))
    manifest = tmp_path / "清单.csv"
    manifest.write_bytes(
        (
            HEADER
            + f"{LOW},用电申请书,2019-05-06,2019/申请书.pdf,,3,营业厅\n"
            + f"{LOW},supply_contract,2019/05/08,2019/合同.tif,,2,\n"
            + f"{LOW},application,2019-05-06,broken.pdf,,,\n"
            + f"{LOW},application,2019-05-06,../secret.pdf,,,\n"
            + f"{HIGH},情书,2019-05-06,2019/申请书.pdf,,,\n"
            + f"{LOW},application,5月6日,2019/申请书.pdf,,,\n"
            + "0000000000,application,2019-05-06,2019/申请书.pdf,,,\n"
        ).encode("gb18030")
    )

    result = runner.invoke(args=["scans", "import", str(folder), "--manifest", str(manifest)])
    assert result.exit_code == 2, result.output
    summary = _summary(result)
    assert (summary["encoding"], summary["rows"], summary["kept"], summary["filed"]) == ("gb18030", 7, 2, 2)
    assert summary["flagged"] == [{"row": 3, "file": "2019/合同.tif", "flags": ["low_resolution"]}]
    codes = {e["row"]: e["code"] for e in summary["errors"]}
    assert codes == {
        4: "scan.unreadable",
        5: "scan.manifest_row_invalid",
        6: "scan.unknown_doc_type",
        7: "scan.manifest_row_invalid",
        8: "customer.unknown",
    }
    assert "row 4 broken.pdf" in result.output
    items = db.session.scalars(select(DossierItem).order_by(DossierItem.seq)).all()
    assert [(i.seq, i.doc_type, i.pages, i.extra["page_from"], i.extra["page_to"]) for i in items] == [
        (1, "application", 3, 1, 3),
        (2, "supply_contract", 2, 4, 5),
    ]
    assert all(s.source == "import" for s in db.session.scalars(select(Scan)))

    again = runner.invoke(args=["scans", "import", str(folder), "--manifest", str(manifest)])
    summary = _summary(again)
    assert (summary["kept"], summary["already_kept"], summary["filed"], summary["already_filed"]) == (0, 2, 0, 2)
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(DossierItem)) == 2


def test_manifest_without_required_columns_is_refused_before_anything_is_kept(runner, tmp_path):
    review_world()
    manifest = tmp_path / "m.csv"
    manifest.write_text("户号,文件名\n5200098761,a.pdf\n", encoding="utf-8")
    (tmp_path / "a.pdf").write_bytes(make_pdf(pages=1))
    result = runner.invoke(args=["scans", "import", str(tmp_path), "--manifest", str(manifest)])
    assert result.exit_code == 1 and "import.missing_columns" in result.output
    assert db.session.scalar(select(func.count()).select_from(Scan)) == 0
