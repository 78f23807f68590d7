"""Paper originals: one box per high-voltage customer, shared boxes for low voltage, freed positions reused."""

import json

from sqlalchemy import select

from core.actor import CLI
from models import Customer
from models.database import db
from services.lifecycle import boxes
from services.lifecycle.settings import LifecycleSettings
from services.ports_access import ports
from tests.helpers.lifecycle_data import close, customer, destroy, login

RULES = LifecycleSettings(low_box_capacity=3)


def _place(account_no: str) -> dict:
    cust = db.session.scalar(select(Customer).where(Customer.account_no == account_no))
    boxes.assign_box(db.session, CLI, cust, ports().clock.now(), RULES)
    db.session.commit()
    return boxes.location_of_customer(db.session, cust.id)


def test_high_voltage_customers_get_a_box_each_and_low_voltage_customers_share(app):
    for account in ("3100000001", "3100000002"):
        customer(account, "高压")
    for account in ("5200000001", "5200000002", "5200000003", "5200000004"):
        customer(account, "低压")
    high = [_place(a) for a in ("3100000001", "3100000002")]
    low = [_place(a) for a in ("5200000001", "5200000002", "5200000003", "5200000004")]
    assert [h["box"] for h in high] == ["G-0001", "G-0002"] and all(h["capacity"] == 1 for h in high)
    assert [(p["box"], p["position"]) for p in low] == [("D-0001", 1), ("D-0001", 2), ("D-0001", 3), ("D-0002", 1)]
    assert "低压区" in low[0]["label"] and "D-0001" in low[0]["label"] and "第 1 位" in low[0]["label"]
    assert _place("5200000002") == low[1]  # asking again changes nothing


def test_a_position_freed_by_destruction_goes_to_the_next_customer(client):
    customer("3100000001", "高压")
    customer("5200000001", "低压")
    customer("5200000002", "低压")
    settings = LifecycleSettings()
    for account in ("3100000001", "5200000001", "5200000002"):
        cust = db.session.scalar(select(Customer).where(Customer.account_no == account))
        boxes.assign_box(db.session, CLI, cust, ports().clock.now(), settings)
    db.session.commit()
    close(client, "3100000001", "2021-03-02")
    close(client, "5200000001", "2023-03-02")
    destroy(client, ["3100000001", "5200000001"])
    archivist = login(client, "archivist", "archivist")
    gone = archivist.get("/api/v1/lifecycle/customers/5200000001/box")
    assert gone.status_code == 404
    refused = archivist.post("/api/v1/lifecycle/customers/5200000001/box")
    assert refused.status_code == 409 and refused.get_json()["code"] == "box.customer_destroyed"

    customer("3100000009", "高压")
    customer("5200000009", "低压")
    high = archivist.post("/api/v1/lifecycle/customers/3100000009/box").get_json()
    low = archivist.post("/api/v1/lifecycle/customers/5200000009/box").get_json()
    assert high["box"] == "G-0001"  # the destroyed customer's box, not a new G-0002
    assert (low["box"], low["position"]) == ("D-0001", 1)
    kept = archivist.get("/api/v1/lifecycle/customers/5200000002/box").get_json()
    assert (kept["box"], kept["position"]) == ("D-0001", 2)


def test_boxes_assign_command_places_everyone_once(app, runner):
    customer("3100000001", "高压")
    customer("5200000001", "低压")
    first = json.loads(runner.invoke(args=["boxes", "assign"]).stdout.strip().splitlines()[-1])
    second = json.loads(runner.invoke(args=["boxes", "assign"]).stdout.strip().splitlines()[-1])
    assert first["assigned"] == 2 and second["assigned"] == 0
    assert first["boxes"] == {"high": 1, "low": 1}


def test_the_boxes_page_shows_where_the_paper_is(client):
    customer("3100000001", "高压")
    login(client, "archivist", "archivist")
    from tests.helpers.api_client import csrf_token_of

    page = client.get("/lifecycle/boxes?account=3100000001").get_data(as_text=True)
    assert "尚未分配盒位" in page
    client.post("/lifecycle/boxes/assign", data={"csrf_token": csrf_token_of(page), "account_no": "3100000001"})
    page = client.get("/lifecycle/boxes?account=3100000001").get_data(as_text=True)
    assert "G-0001" in page and "高压区" in page
    unknown = client.get("/lifecycle/boxes?account=1234567").get_data(as_text=True)
    assert "customer.unknown" in unknown
