"""The dossier page: header, 卷内目录 in order, business events, completeness, printable index."""

from datetime import date

from sqlalchemy import select

from models import AuditEntry, BusinessEvent, Customer, DossierItem
from models.database import db
from tests.helpers.api_client import ApiClient
from tests.helpers.captures import HIGH, LOW, make_capture, review_world
from tests.helpers.factories import PASSWORD
from tests.helpers.pdf import fonts_of, text_of


def _login(client, name="archivist"):
    api = ApiClient(client)
    assert api.login(name, PASSWORD).status_code == 302
    return api


def _event(account_no, kind, day):
    customer = db.session.scalar(select(Customer).where(Customer.account_no == account_no))
    event = BusinessEvent(customer_id=customer.id, kind=kind, occurred_on=day, reference=f"BG-{kind}")
    db.session.add(event)
    db.session.commit()
    return event


def test_a_change_appends_documents_under_its_own_business_event_and_nothing_is_replaced(client):
    device, _ = review_world()
    increase = _event(LOW, "capacity_increase", date(2026, 2, 20))
    api = _login(client)
    first = make_capture(device, LOW)
    second = make_capture(device, LOW)
    third = make_capture(device, LOW)
    a = api.post(f"/api/v1/review/captures/{first.id}/approve", json={"doc_type": "application"}).json
    b = api.post(f"/api/v1/review/captures/{second.id}/approve", json={"doc_type": "change_application"}).json
    c = api.post(f"/api/v1/review/captures/{third.id}/approve", json={"doc_type": "change_application"}).json

    assert [a["dossier_item"]["seq"], b["dossier_item"]["seq"], c["dossier_item"]["seq"]] == [1, 2, 3]
    assert a["dossier_item"]["business_event_id"] is None
    assert b["dossier_item"]["business_event_id"] == increase.id  # the change still missed it
    assert c["dossier_item"]["business_event_id"] is None  # nothing misses it any more
    dossier = api.get(f"/api/v1/dossiers/{LOW}").json
    assert [i["seq"] for i in dossier["items"]] == [1, 2, 3]
    groups = {g["business_type"]: g for g in dossier["completeness"]["groups"]}
    assert set(groups) == {"new_connection", "capacity_increase"}
    increase_reqs = {r["doc_type"]: r for r in groups["capacity_increase"]["requirements"]}
    assert increase_reqs["change_application"] == {
        "doc_type": "change_application",
        "label": "变更用电申请",
        "present": True,
        "seqs": [2],
    }
    assert increase_reqs["meter_installation"]["present"] is False
    base = {r["doc_type"]: r["present"] for r in groups["new_connection"]["requirements"]}
    assert base["application"] is True and base["supply_contract"] is False
    assert dossier["completeness"]["present_count"] == 2
    assert dossier["phone_masked"] == "138****8001" and dossier["id_number_masked"].startswith("330")
    assert "1234" not in dossier["id_number_masked"][:-2]


def test_the_dossier_page_shows_header_index_events_completeness_and_masks_personal_data(client):
    device, _ = review_world()
    _event(HIGH, "name_transfer", date(2026, 1, 5))
    _login(client, "legal")
    archivist = ApiClient(client)
    archivist.login("archivist", PASSWORD)
    capture = make_capture(device, HIGH)
    archivist.post(f"/api/v1/review/captures/{capture.id}/approve", json={"doc_type": "inspection_record"})
    _login(client, "legal")
    page = client.get(f"/dossiers/{HIGH}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    for text in (
        "江南精密机械有限公司",
        "KH-2026-",
        "高压",
        "大工业用电",
        "卷内目录",
        "用电检查工作单",
        "更名过户",
        "完整性",
        "调度协议",
        "未装盒",
    ):
        assert text in html, text
    assert "057186001234" not in html and "057*****1234" in html
    search = client.get("/dossiers?q=江南").get_data(as_text=True)
    assert HIGH in search and LOW not in search
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "dossier.view")) is not None


def test_the_index_prints_as_html_and_as_a_pdf_with_cjk_fonts(client, tmp_path):
    device, _ = review_world()
    api = _login(client)
    capture = make_capture(device, HIGH)
    api.post(f"/api/v1/review/captures/{capture.id}/approve", json={"title": "高压计量柜检查照片"})
    html = client.get(f"/dossiers/{HIGH}/index").get_data(as_text=True)
    assert "卷内目录" in html and "高压计量柜检查照片" in html and "<script src=" in html
    pdf = client.get(f"/dossiers/{HIGH}/index.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF")
    printed = tmp_path / "index.pdf"
    printed.write_bytes(pdf.data)
    assert "高压计量柜检查照片" in text_of(printed) and "户号" in text_of(printed)
    assert all(font["emb"] == "yes" for font in fonts_of(printed))
    api_pdf = api.get(f"/api/v1/dossiers/{HIGH}/index.pdf")
    assert api_pdf.status_code == 200 and api_pdf.data.startswith(b"%PDF")


def test_unknown_dossiers_are_404_with_a_stable_code(client):
    review_world()
    api = _login(client)
    response = api.get("/api/v1/dossiers/0000000000")
    assert response.status_code == 404 and response.json["code"] == "customer.unknown"
    assert db.session.scalar(select(DossierItem)) is None


def test_the_filing_scope_table_is_served_and_can_be_replaced_by_configuration(client, app, tmp_path):
    review_world()
    api = _login(client)
    table = api.get("/api/v1/filing-scope").json
    assert "supply_contract" in table["required"]["high"]["new_connection"]
    assert "dispatch_agreement" not in table["required"]["low"]["new_connection"]
    custom = tmp_path / "scope.json"
    custom.write_text(
        '{"doc_types": {"contract": "合同"}, "business_types": {"new_connection": "新装"},'
        ' "required": {"high": {"new_connection": ["contract"]}, "low": {}}}',
        encoding="utf-8",
    )
    app.config["FILING_SCOPE_FILE"] = str(custom)
    assert api.get("/api/v1/filing-scope").json["doc_types"] == {"contract": "合同"}
    assert api.get(f"/api/v1/dossiers/{HIGH}").json["completeness"]["required_count"] == 1
    custom.write_text('{"doc_types": {}}', encoding="utf-8")
    broken = api.get("/api/v1/filing-scope")
    assert broken.status_code == 500 and broken.json["code"] == "filing_scope.invalid"


def test_the_dossier_list_counts_the_index_entries_of_each_dossier(client):
    device, _ = review_world()
    api = _login(client)
    capture = make_capture(device, HIGH)
    api.post(f"/api/v1/review/captures/{capture.id}/approve", json={"doc_type": "inspection_record"})
    html = client.get("/dossiers?q=江南").get_data(as_text=True)
    assert "built-in method" not in html and "object at 0x" not in html
    row = html[html.index(HIGH) :]
    row = row[: row.index("</tr>")]
    assert '<td class="rv-num">1</td>' in row


def test_the_page_the_printable_index_and_the_pdf_word_a_missing_box_the_same_way(client):
    review_world()
    _login(client)
    page = client.get(f"/dossiers/{HIGH}").get_data(as_text=True)
    printable = client.get(f"/dossiers/{HIGH}/index").get_data(as_text=True)
    for html in (page, printable):
        cell = html[html.index("存放位置") :]
        assert cell[: cell.index("</tr>")].count("未装盒") == 1
    assert "存放位置</th><td>—" not in printable
