"""Scanned paper documents: intake with quality flags, stamping like photos, filing into the 卷内目录."""

from __future__ import annotations

import hashlib
import io
from datetime import date, datetime, timezone

from sqlalchemy import select

from core.actor import CLI
from models import AuditEntry, FilingObligation, LogLeaf, PipelineRun, Scan, ScanEvidence
from models.database import db
from services.lifecycle import obligations
from services.lifecycle.settings import settings_from
from tests.helpers.api_client import ApiClient
from tests.helpers.captures import HIGH, LOW, review_world
from tests.helpers.factories import PASSWORD
from tests.helpers.scans import make_page_image, make_pdf, make_tiff
from tests.integration.test_pipeline import work

NOW = datetime(2026, 3, 10, 2, 0, tzinfo=timezone.utc)


def _archivist(client) -> ApiClient:
    api = ApiClient(client)
    assert api.login("archivist", PASSWORD).status_code == 302
    return api


def _upload(api, account_no, files, **form):
    data = {"files": [(io.BytesIO(content), name) for name, content in files], **{k: str(v) for k, v in form.items()}}
    return api.post(f"/api/v1/dossiers/{account_no}/scans", json=None, data=data, content_type="multipart/form-data")


def _contract_signed(app, account_no, day=date(2026, 3, 9)):
    recorded = obligations.record_event(
        db.session,
        CLI,
        account_no=account_no,
        kind="contract_signed",
        occurred_on=day,
        today=day,
        now=NOW,
        settings=settings_from(app.config),
    )
    db.session.commit()
    return recorded


def test_uploaded_pdf_is_kept_byte_for_byte_with_pages_resolution_and_colour_read(client, clock):
    clock.current = NOW
    review_world()
    api = _archivist(client)
    pdf = make_pdf(pages=3, dpi=300, mode="L")
    answer = _upload(
        api,
        LOW,
        [("供用电合同.pdf", pdf)],
        doc_type="supply_contract",
        doc_date="2026-03-01",
        pages=3,
        note="营业厅签订",
    )
    assert answer.status_code == 201, answer.json
    assert answer.json["created"] == 1
    scan = answer.json["scans"][0]
    assert scan["filename"] == "供用电合同.pdf" and scan["file_format"] == "pdf"
    assert scan["sha256"] == hashlib.sha256(pdf).hexdigest() and scan["size"] == len(pdf)
    assert (scan["pages"], scan["min_dpi"], scan["colour_modes"], scan["flags"]) == (3, 300.0, ["grey"], [])
    assert [p["page"] for p in scan["page_quality"]] == [1, 2, 3]
    assert scan["doc_label"] == "供用电合同" and scan["note"] == "营业厅签订" and scan["filed"] is False
    original = api.get(f"/api/v1/dossiers/{LOW}/scans/{scan['id']}/original")
    assert original.status_code == 200 and original.data == pdf
    assert original.headers["Content-Type"] == "application/pdf"
    assert db.session.scalar(select(AuditEntry.action).where(AuditEntry.action == "scan.download"))


def test_low_resolution_tiff_and_unrecorded_resolution_are_flagged_before_filing(client, clock):
    clock.current = NOW
    review_world()
    api = _archivist(client)
    answer = _upload(
        api,
        LOW,
        [
            ("申请书.tif", make_tiff(pages=2, dpi=150, mode="1")),
            ("身份证.png", make_page_image("PNG", dpi=None, mode="L")),
        ],
        doc_type="application",
    )
    assert answer.status_code == 201, answer.json
    tiff, png = answer.json["scans"]
    assert (tiff["file_format"], tiff["pages"], tiff["min_dpi"], tiff["colour_modes"]) == (
        "tiff",
        2,
        150.0,
        ["bilevel"],
    )
    assert tiff["flags"] == ["low_resolution"] and tiff["flag_labels"] == ["分辨率低于 200 dpi"]
    assert png["flags"] == ["resolution_unknown"]
    listed = api.get(f"/api/v1/dossiers/{LOW}/scans").json
    assert {s["id"]: s["flags"] for s in listed} == {tiff["id"]: ["low_resolution"], png["id"]: ["resolution_unknown"]}


def test_declared_page_count_that_differs_from_the_file_is_flagged(client, clock):
    clock.current = NOW
    review_world()
    answer = _upload(_archivist(client), LOW, [("a.pdf", make_pdf(pages=2))], doc_type="application", pages=3)
    assert answer.json["scans"][0]["flags"] == ["page_count_mismatch"]


def test_scan_is_stamped_like_a_photo_hashes_token_log_leaf_and_thumbnail(app, client, clock):
    clock.current = NOW
    review_world()
    pdf = make_pdf(pages=3, dpi=300)
    scan_id = _upload(_archivist(client), LOW, [("c.pdf", pdf)], doc_type="supply_contract").json["scans"][0]["id"]
    work(app)
    db.session.expire_all()
    evidence = db.session.get(ScanEvidence, scan_id)
    assert db.session.get(Scan, scan_id).state == "ready"
    assert evidence.sha256 == hashlib.sha256(pdf).hexdigest()
    assert evidence.sm3 == hashlib.new("sm3", pdf).hexdigest() and evidence.hash_ok is True
    assert evidence.tsa_status == "granted" and evidence.tsa_token
    assert evidence.evidence_no.startswith("DGS-20260310-")
    events = [
        leaf.event_type
        for leaf in db.session.scalars(select(LogLeaf).where(LogLeaf.subject_id == scan_id).order_by(LogLeaf.index))
    ]
    assert events == ["scan_received", "scan_timestamped", "scan_stamped"]
    assert evidence.stamped_leaf_index is not None
    run = db.session.scalar(select(PipelineRun).where(PipelineRun.subject_id == scan_id))
    assert (run.event, run.status) == ("scan.received", "done")
    blobs = app.extensions["dangan.ports"].blobs
    assert blobs.open(scan_id and db.session.get(Scan, scan_id).sha256).read() == pdf
    api = _archivist(client)
    thumb = api.get(f"/api/v1/dossiers/{LOW}/scans/{scan_id}/thumbnail")
    assert thumb.status_code == 200 and thumb.data[:3] == b"\xff\xd8\xff"
    from PIL import Image

    assert max(Image.open(io.BytesIO(thumb.data)).size) <= 320
    actions = set(db.session.scalars(select(AuditEntry.action).where(AuditEntry.object_id == scan_id)))
    assert {"scan.received", "evidence.verify_hashes", "evidence.timestamp", "evidence.log_append"} <= actions


def test_same_bytes_uploaded_twice_are_kept_once(client, clock):
    clock.current = NOW
    review_world()
    api = _archivist(client)
    pdf = make_pdf(pages=1)
    first = _upload(api, LOW, [("a.pdf", pdf)], doc_type="application").json
    again = _upload(api, LOW, [("copy.pdf", pdf)], doc_type="application").json
    assert again["created"] == 0 and again["scans"][0]["id"] == first["scans"][0]["id"]
    assert len(db.session.scalars(select(Scan)).all()) == 1


def test_filing_appends_entries_with_page_ranges_box_position_and_meets_the_obligation(app, client, clock):
    clock.current = NOW
    review_world()
    recorded = _contract_signed(app, LOW)
    api = _archivist(client)
    application = _upload(api, LOW, [("申请书.pdf", make_pdf(pages=3, label="a"))], doc_type="application").json
    contract = _upload(
        api,
        LOW,
        [("合同.tif", make_tiff(pages=2, dpi=300, mode="L"))],
        doc_type="supply_contract",
        business_event_id=recorded.event.id,
    ).json
    assert db.session.get(FilingObligation, recorded.obligation.id).state == "open"

    first = api.post(f"/api/v1/dossiers/{LOW}/scans/{application['scans'][0]['id']}/file")
    assert first.status_code == 201, first.json
    assert (first.json["scan"]["seq"], first.json["scan"]["page_from"], first.json["scan"]["page_to"]) == (1, 1, 3)
    assert first.json["box"]["box"].startswith("D-")
    second = api.post(f"/api/v1/dossiers/{LOW}/scans/{contract['scans'][0]['id']}/file").json
    assert (second["scan"]["seq"], second["scan"]["page_from"], second["scan"]["page_to"]) == (2, 4, 5)

    db.session.expire_all()
    assert db.session.get(FilingObligation, recorded.obligation.id).state == "met"
    dossier = api.get(f"/api/v1/dossiers/{LOW}").json
    assert [(i["seq"], i["source"], i["pages"]) for i in dossier["items"]] == [(1, "scan", 3), (2, "scan", 2)]
    groups = {g["business_type"]: g for g in dossier["completeness"]["groups"]}
    base = {r["doc_type"]: r for r in groups["new_connection"]["requirements"]}
    assert base["application"]["present"] is True and base["application"]["seqs"] == [1]
    signed = {r["doc_type"]: r for r in groups["contract_signed"]["requirements"]}
    assert signed["supply_contract"] == {
        "doc_type": "supply_contract",
        "label": "供用电合同",
        "present": True,
        "seqs": [2],
    }
    leaves = db.session.scalars(select(LogLeaf.event_type).where(LogLeaf.event_type == "scan_filed")).all()
    assert len(leaves) == 2


def test_filing_a_scan_twice_is_refused(client, clock):
    clock.current = NOW
    review_world()
    api = _archivist(client)
    scan_id = _upload(api, LOW, [("a.pdf", make_pdf(pages=1))], doc_type="application").json["scans"][0]["id"]
    assert api.post(f"/api/v1/dossiers/{LOW}/scans/{scan_id}/file").status_code == 201
    again = api.post(f"/api/v1/dossiers/{LOW}/scans/{scan_id}/file")
    assert again.status_code == 409 and again.json["code"] == "scan.already_filed"


def test_bad_scans_are_refused_with_their_codes_and_nothing_is_kept(client, clock):
    clock.current = NOW
    review_world()
    api = _archivist(client)
    garbage = _upload(
        api, LOW, [("ok.pdf", make_pdf(pages=1)), ("bad.pdf", b"%PDF-1.4 not really")], doc_type="application"
    )
    assert garbage.status_code == 400 and garbage.json["code"] == "scan.unreadable"
    assert garbage.json["details"]["index"] == 1
    assert db.session.scalars(select(Scan)).all() == []
    unknown_type = _upload(api, LOW, [("a.pdf", make_pdf(pages=1))], doc_type="love_letter")
    assert unknown_type.status_code == 400 and unknown_type.json["code"] == "scan.unknown_doc_type"
    none = api.post(
        f"/api/v1/dossiers/{LOW}/scans", data={"doc_type": "application"}, content_type="multipart/form-data"
    )
    assert none.status_code == 400 and none.json["code"] == "scan.no_file"
    other_event = _contract_signed(client.application, HIGH)
    wrong = _upload(
        api, LOW, [("a.pdf", make_pdf(pages=1))], doc_type="application", business_event_id=other_event.event.id
    )
    assert wrong.status_code == 400 and wrong.json["code"] == "dossier.unknown_business_event"
    assert api.get(f"/api/v1/dossiers/{HIGH}/scans/nope").json["code"] == "scan.unknown"
    assert (
        _upload(api, "0000", [("a.pdf", make_pdf(pages=1))], doc_type="application").json["code"] == "customer.unknown"
    )


def test_scan_of_one_customer_is_not_reachable_under_another(client, clock):
    clock.current = NOW
    review_world()
    api = _archivist(client)
    scan_id = _upload(api, LOW, [("a.pdf", make_pdf(pages=1))], doc_type="application").json["scans"][0]["id"]
    assert api.get(f"/api/v1/dossiers/{HIGH}/scans/{scan_id}/original").status_code == 404
    assert api.post(f"/api/v1/dossiers/{HIGH}/scans/{scan_id}/file").json["code"] == "scan.unknown"


def _page_form(client, account_no):
    from tests.helpers.api_client import csrf_token_of

    return csrf_token_of(client.get(f"/dossiers/{account_no}").get_data(as_text=True))


def test_dossier_page_uploads_shows_flags_files_and_index_lists_page_ranges(client, clock, tmp_path):
    clock.current = NOW
    review_world()
    _archivist(client)
    token = _page_form(client, LOW)
    sent = client.post(
        f"/dossiers/{LOW}/scans",
        data={
            "csrf_token": token,
            "doc_type": "application",
            "doc_date": "2026-03-01",
            "pages": "3",
            "files": [(io.BytesIO(make_pdf(pages=3)), "申请书.pdf")],
        },
        content_type="multipart/form-data",
    )
    assert sent.status_code == 303
    sent = client.post(
        f"/dossiers/{LOW}/scans",
        data={
            "csrf_token": token,
            "doc_type": "id_papers",
            "files": [(io.BytesIO(make_tiff(pages=1, dpi=150)), "身份证.tif")],
        },
        content_type="multipart/form-data",
    )
    page = client.get(f"/dossiers/{LOW}").get_data(as_text=True)
    assert "已接收 1 个扫描文件" in page and "分辨率低于 200 dpi" in page and "150 dpi" in page
    first, second = [s.id for s in sorted(db.session.scalars(select(Scan)), key=lambda s: s.filename != "申请书.pdf")]
    for scan_id in (first, second):
        assert client.post(f"/dossiers/{LOW}/scans/{scan_id}/file", data={"csrf_token": token}).status_code == 303
    page = client.get(f"/dossiers/{LOW}").get_data(as_text=True)
    assert "已归档为第 2 件（页号 4）" in page
    index = client.get(f"/dossiers/{LOW}/index").get_data(as_text=True)
    assert '<tr id="row-1"><td>1</td><td>用电申请书（纸质扫描件）</td>' in index
    assert '<td class="ds-pages">1–3</td>' in index and '<td class="ds-pages">4</td>' in index
    from tests.helpers.pdf import text_of

    (tmp_path / "index.pdf").write_bytes(client.get(f"/dossiers/{LOW}/index.pdf").data)
    printed = text_of(tmp_path / "index.pdf")
    assert "页号" in printed and "1–3" in printed and "纸质扫描" in printed
    refused = client.post(
        f"/dossiers/{LOW}/scans",
        data={"csrf_token": token, "doc_type": "application", "files": [(io.BytesIO(b"hello"), "x.pdf")]},
        content_type="multipart/form-data",
    )
    assert "无法读取" in client.get(refused.headers["Location"]).get_data(as_text=True)


def test_legal_staff_search_scans_across_customers_by_type_date_and_flag_and_the_search_is_registered(
    app, client, clock
):
    from models import EvidenceUse
    from tests.helpers.factories import make_user

    clock.current = NOW
    review_world()
    api = _archivist(client)
    _upload(api, LOW, [("a.pdf", make_pdf(pages=1, label="a"))], doc_type="application", doc_date="2019-05-06")
    _upload(
        api, LOW, [("b.tif", make_tiff(pages=1, dpi=150, label="b"))], doc_type="supply_contract", doc_date="2019-06-01"
    )
    _upload(api, HIGH, [("c.pdf", make_pdf(pages=2, label="c"))], doc_type="supply_contract", doc_date="2020-01-01")
    make_user("lawyer", "legal")
    lawyer = ApiClient(client)
    assert lawyer.login("lawyer", PASSWORD).status_code == 302
    contracts = lawyer.get("/api/v1/legal/scans?doc_type=supply_contract").json
    assert sorted(i["account_no"] for i in contracts["items"]) == sorted([LOW, HIGH])
    assert [i["filename"] for i in lawyer.get("/api/v1/legal/scans?flag=low_resolution").json["items"]] == ["b.tif"]
    window = lawyer.get(f"/api/v1/legal/scans?account_no={LOW}&date_from=2019-05-01&date_to=2019-05-31").json
    assert [i["filename"] for i in window["items"]] == ["a.pdf"]
    first = lawyer.get("/api/v1/legal/scans?limit=2").json
    rest = lawyer.get(f"/api/v1/legal/scans?limit=2&cursor={first['next_cursor']}").json
    assert len(first["items"]) == 2 and len(rest["items"]) == 1 and rest["next_cursor"] is None
    assert {i["id"] for i in first["items"]} | {i["id"] for i in rest["items"]} == {
        s.id for s in db.session.scalars(select(Scan))
    }
    assert lawyer.get("/api/v1/legal/scans?flag=blurry").json["code"] == "legal.bad_filter"
    assert lawyer.get("/api/v1/legal/scans?cursor=garbage").json["code"] == "legal.bad_cursor"
    searches = db.session.scalars(select(EvidenceUse).where(EvidenceUse.action == "search")).all()
    assert len(searches) == 5 and all(s.details["scans"] for s in searches)


def test_destroying_a_dossier_removes_its_scans_but_keeps_bytes_another_dossier_holds(app, client, clock):
    from models import Blob, DestructionRecord
    from services import scans as scan_service
    from services.ports_access import ports
    from tests.helpers.lifecycle_data import close, customer, destroy

    customer("3100000005", "高压")
    customer("3100000099", "高压")
    own, shared = make_pdf(pages=2, label="own"), make_pdf(pages=1, label="shared")
    for account, data in (("3100000005", own), ("3100000005", shared), ("3100000099", shared)):
        scan_service.intake(
            db.session,
            CLI,
            None,
            account,
            data,
            "x.pdf",
            scan_service.ScanRequest(doc_type="supply_contract"),
            ports().clock.now(),
            ports().blobs,
        )
    work(app)
    own_key, shared_key = hashlib.sha256(own).hexdigest(), hashlib.sha256(shared).hexdigest()
    own_scan = db.session.scalar(select(Scan).where(Scan.sha256 == own_key))
    thumb = db.session.get(ScanEvidence, own_scan.id).thumbnail_key
    close(client, "3100000005", "2021-03-02")
    clock.current = datetime(2026, 3, 10, 2, 0, tzinfo=timezone.utc)

    report = destroy(client, ["3100000005"], reason="销户满五年")

    blobs = ports().blobs
    assert not blobs.exists(own_key) and not blobs.exists(thumb)
    assert blobs.exists(shared_key)  # the other customer's scan has the same bytes
    db.session.expire_all()
    assert db.session.get(Blob, own_key).destroyed_at is not None
    content = db.session.get(DestructionRecord, report["records"][0]).content
    destroyed = {d["sha256"]: d for d in content["destroyed"]}
    assert destroyed[own_key]["role"] == "scan" and destroyed[own_key]["scan_id"] == own_scan.id
    assert destroyed[thumb]["role"] == "scan_derivative:thumbnail_key"
    assert shared_key in [r["sha256"] for r in content["retained_shared"]]


def test_malformed_intake_fields_are_refused_with_the_validation_code(client, clock):
    clock.current = NOW
    review_world()
    api = _archivist(client)
    for field, value in (("pages", "0"), ("doc_date", "2026-13-40"), ("business_event_id", "abc")):
        answer = _upload(api, LOW, [("a.pdf", make_pdf(pages=1))], doc_type="application", **{field: value})
        assert answer.status_code == 422 and answer.json["code"] == "request.validation_failed", (field, answer.json)
    assert db.session.scalars(select(Scan)).all() == []


def test_legal_scan_search_page_lists_matching_scans_with_links_to_the_dossier(client, clock):
    from tests.helpers.factories import make_user

    clock.current = NOW
    review_world()
    api = _archivist(client)
    _upload(
        api,
        LOW,
        [("合同.tif", make_tiff(pages=1, dpi=150, label="p"))],
        doc_type="supply_contract",
        doc_date="2019-06-01",
    )
    _upload(api, HIGH, [("申请.pdf", make_pdf(pages=1, label="q"))], doc_type="application", doc_date="2019-06-02")
    make_user("lawyer", "legal")
    assert ApiClient(client).login("lawyer", PASSWORD).status_code == 302
    page = client.get("/legal/scans?search=1&flag=low_resolution").get_data(as_text=True)
    assert "合同.tif" in page and "申请.pdf" not in page and "分辨率低于 200 dpi" in page
    assert f'/dossiers/{LOW}#scans' in page
    bad = client.get("/legal/scans?search=1&date_from=2019-99-01")
    assert bad.status_code == 400 and "legal.bad_filter" in bad.get_data(as_text=True)


def test_a_scan_larger_than_the_setting_is_refused_and_nothing_is_kept(app, client, clock):
    clock.current = NOW
    review_world()
    pdf = make_pdf(pages=1)
    app.config["SCAN_MAX_BYTES"] = len(pdf) - 1
    answer = _upload(_archivist(client), LOW, [("big.pdf", pdf)], doc_type="application")
    assert answer.status_code == 413 and answer.json["code"] == "scan.too_large"
    assert answer.json["details"]["max"] == len(pdf) - 1
    assert db.session.scalars(select(Scan)).all() == []
