"""Small helpers shared by the lifecycle services: local dates, lookups, the acting user."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import errors
from core.actor import Actor
from core.beijing_time import BEIJING
from models import Customer, User


def local_date(moment: datetime) -> date:
    """The Beijing calendar date of an aware timestamp."""
    return moment.astimezone(BEIJING).date()


def customer_by_account(session: Session, account_no: str) -> Customer:
    """Return the customer with this 户号 or raise ``customer.unknown``."""
    account_no = (account_no or "").strip()
    customer = session.scalar(select(Customer).where(Customer.account_no == account_no))
    if customer is None:
        raise errors.DomainError(
            errors.UNKNOWN_CUSTOMER,
            f"No customer with account number {account_no!r}.",
            details={"account_no": account_no},
        )
    return customer


def actor_user_id(actor: Actor) -> int | None:
    """The users.id behind an actor, or None for the CLI and the system."""
    if actor.kind == "user" and actor.id and str(actor.id).isdigit():
        return int(actor.id)
    return None


def user_by_name(session: Session, username: str | None) -> User | None:
    """The user with this name, None for an empty name, ``user.unknown`` for a wrong one."""
    username = (username or "").strip()
    if not username:
        return None
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise errors.DomainError(errors.UNKNOWN_USER, f"No user named {username!r}.", details={"username": username})
    return user


def user_label(user: User | None) -> str:
    """How a user is named on pages and in records."""
    if user is None:
        return ""
    return f"{user.display_name}（{user.username}）" if user.display_name != user.username else user.username
