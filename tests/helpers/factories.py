"""Test data built through the real services (no hand-made rows)."""

from __future__ import annotations

from core.actor import CLI
from models.database import db
from services import accounts, devices
from services.customers import clean_row, upsert_customer
from services.ports_access import ports

PASSWORD = "correct horse battery"


def make_user(username: str = "archivist", role: str = "archivist", password: str = PASSWORD, **kw):
    """Create and commit a user."""
    user = accounts.create_user(db.session, CLI, username, role, password, **kw)
    db.session.commit()
    return user


def make_device(inspector: str = "inspector1"):
    """Create an inspector if needed and register a tablet; return (device, token)."""
    from sqlalchemy import select

    from models import User

    if db.session.scalar(select(User).where(User.username == inspector)) is None:
        make_user(inspector, "inspector")
    device, token = devices.register_device(db.session, CLI, inspector)
    db.session.commit()
    return device, token


def make_customer(
    account_no: str = "3100012345",
    name: str = "测试客户有限公司",
    voltage_class: str = "高压",
    usage_category: str = "大工业用电",
    **extra,
):
    """Create and commit a customer (with its dossier); return the outcome."""
    row = {
        "account_no": account_no,
        "name": name,
        "voltage_class": voltage_class,
        "usage_category": usage_category,
        **extra,
    }
    outcome = upsert_customer(db.session, CLI, clean_row(row), ports().clock.now())
    db.session.commit()
    return outcome
