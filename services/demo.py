"""A realistic small data set so a newcomer can click through everything after ``make run``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.actor import Actor
from models import Device, User
from services import accounts, devices, sync_assignments
from services.customers import clean_row, upsert_customer

DEMO_PASSWORD = "dangan-demo-2026"

USERS = (
    ("admin", "admin", "系统管理员", None),
    ("manager", "manager", "王主任", None),
    ("archivist", "archivist", "李档案", None),
    ("legal", "legal", "赵法务", None),
    ("inspector1", "inspector", "张检查", "城东供电所"),
    ("inspector2", "inspector", "陈勘查", "城西供电所"),
)

CUSTOMERS = (
    (
        "3100012345",
        "江南精密机械有限公司",
        "0571-86001234",
        "杭州市滨江区江南大道 1088 号",
        "城东供电所",
        30.2101,
        120.2105,
        "高压",
        "大工业用电",
        "10kV",
        "江南线 12 号杆",
        "1250",
        "用户进线柜电缆头",
        "1",
        "高供高计",
        "3300123456781",
        "100/5",
        "10000/100",
    ),
    (
        "3100012346",
        "钱塘生物制药股份有限公司",
        "0571-86005678",
        "杭州市钱塘区 8 号大街 66 号",
        "城东供电所",
        30.3012,
        120.3891,
        "高压",
        "大工业用电",
        "10kV",
        "医药线 3 号环网柜",
        "2000",
        "环网柜出线开关下桩头",
        "2",
        "高供高计",
        "3300123456782",
        "150/5",
        "10000/100",
    ),
    (
        "3100012347",
        "西湖区文三路农贸市场",
        "0571-88112233",
        "杭州市西湖区文三路 218 号",
        "城西供电所",
        30.2789,
        120.1300,
        "高压",
        "一般工商业用电",
        "10kV",
        "文三线 5 号杆",
        "630",
        "杆上跌落式熔断器",
        "1",
        "高供低计",
        "3300123456783",
        "1000/5",
        "",
    ),
    (
        "3100012348",
        "杭州余杭瓶窑冷库",
        "0571-88776655",
        "杭州市余杭区瓶窑镇窑北村 12 组",
        "城西供电所",
        30.3978,
        119.9843,
        "高压",
        "农业生产用电",
        "10kV",
        "瓶窑线 22 号杆",
        "400",
        "杆上开关负荷侧",
        "1",
        "高供低计",
        "3300123456784",
        "600/5",
        "",
    ),
    (
        "5200098761",
        "张建国",
        "13800138001",
        "杭州市上城区清泰街 12 号 3 单元 501",
        "城东供电所",
        30.2512,
        120.1744,
        "低压",
        "居民生活用电",
        "220V",
        "清泰台区 1 号分支箱",
        "8",
        "表箱进线开关",
        "1",
        "低供低计",
        "3300987654321",
        "",
        "",
    ),
    (
        "5200098762",
        "李秀英",
        "13800138002",
        "杭州市上城区清泰街 12 号 3 单元 502",
        "城东供电所",
        30.2513,
        120.1745,
        "低压",
        "居民生活用电",
        "220V",
        "清泰台区 1 号分支箱",
        "8",
        "表箱进线开关",
        "1",
        "低供低计",
        "3300987654322",
        "",
        "",
    ),
    (
        "5200098763",
        "杭州味道小吃店",
        "13900139003",
        "杭州市拱墅区湖墅南路 88 号",
        "城东供电所",
        30.2832,
        120.1541,
        "低压",
        "一般工商业用电",
        "380V",
        "湖墅台区 3 号分支箱",
        "32",
        "表箱进线开关",
        "1",
        "低供低计",
        "3300987654323",
        "",
        "",
    ),
    (
        "5200098764",
        "王家村灌溉站",
        "13700137004",
        "杭州市萧山区王家村东首",
        "城西供电所",
        30.1651,
        120.2663,
        "低压",
        "农业生产用电",
        "380V",
        "王家村台区",
        "45",
        "表箱进线开关",
        "1",
        "低供低计",
        "3300987654324",
        "150/5",
        "",
    ),
    (
        "5200098765",
        "刘志强",
        "13600136005",
        "杭州市西湖区古荡新村 7 幢 2 单元 301",
        "城西供电所",
        30.2790,
        120.1202,
        "低压",
        "居民生活用电",
        "220V",
        "古荡台区 2 号分支箱",
        "6",
        "表箱进线开关",
        "1",
        "低供低计",
        "3300987654325",
        "",
        "",
    ),
    (
        "5200098766",
        "杭州晨光便利店",
        "13500135006",
        "杭州市西湖区古荡路 16 号",
        "城西供电所",
        30.2801,
        120.1215,
        "低压",
        "一般工商业用电",
        "380V",
        "古荡台区 4 号分支箱",
        "20",
        "表箱进线开关",
        "1",
        "低供低计",
        "3300987654326",
        "",
        "",
    ),
)
FIELDS = (
    "account_no",
    "name",
    "phone",
    "address",
    "district",
    "latitude",
    "longitude",
    "voltage_class",
    "usage_category",
    "supply_voltage",
    "supply_line",
    "capacity_kva",
    "property_boundary",
    "source_count",
    "metering_method",
    "meter_number",
    "ct_ratio",
    "pt_ratio",
)


def load(session: Session, actor: Actor, now: datetime) -> dict:
    """Create the demo users, one tablet per inspector and the demo customers; safe to rerun.

    Returns the users' names and the tokens of tablets created by this run (tokens cannot be
    shown again later).
    """
    created_users, tokens = [], {}
    for username, role, display, district in USERS:
        if session.scalar(select(User).where(User.username == username)) is None:
            accounts.create_user(session, actor, username, role, DEMO_PASSWORD, display, district)
            created_users.append(username)
    for username, _role, _display, _district in USERS:
        if _role != "inspector":
            continue
        inspector = session.scalar(select(User).where(User.username == username))
        assert inspector is not None  # created above
        has_device = session.scalar(select(Device).where(Device.inspector_id == inspector.id))
        if has_device is None:
            device, token = devices.register_device(session, actor, username, f"{_display} 的平板")
            tokens[username] = {"device_id": device.id, "token": token}
    outcomes = {"created": 0, "updated": 0, "unchanged": 0}
    for values in CUSTOMERS:
        outcome = upsert_customer(session, actor, clean_row(dict(zip(FIELDS, values))), now)
        outcomes[outcome] += 1
    assigned = assign_by_district(session, actor, now)
    session.commit()
    return {
        "users": [u[0] for u in USERS],
        "created_users": created_users,
        "password": DEMO_PASSWORD,
        "devices": tokens,
        "customers": outcomes,
        "assignments": assigned,
    }


def assign_by_district(session: Session, actor: Actor, now: datetime) -> dict:
    """Give each demo inspector the demo customers of their district (tablets pull them)."""

    session.flush()
    out = {}
    for username, role, _display, district in USERS:
        if role != "inspector":
            continue
        account_nos = [c[0] for c in CUSTOMERS if c[4] == district]
        out[username] = sync_assignments.assign(session, actor, username, account_nos, now)["assigned"]
    return out
