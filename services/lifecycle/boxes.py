"""Box and shelf positions of paper originals (实物档案装盒).

High-voltage customers get one box each; low-voltage customers share numbered boxes. A
position freed by a destroyed dossier is given to the next customer (顶号换空间): the lowest
free position of the class is always taken first, new boxes only when none is free.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import errors
from core.actor import Actor
from models import BoxSlot, Customer, PaperBox, RetentionState, audit
from services.lifecycle.settings import LifecycleSettings
from services.unit_of_work import transaction

CLASS_PREFIX = {"high": "G", "low": "D"}
CLASS_AREA = {"high": "高压区", "low": "低压区"}


def box_code(voltage_class: str, number: int) -> str:
    """The label on a box: G-0001 for high voltage, D-0001 for low voltage."""
    return f"{CLASS_PREFIX[voltage_class]}-{number:04d}"


def shelf_for(voltage_class: str, number: int, boxes_per_shelf: int) -> str:
    """Shelves are ordered by class and box number: boxes 1–40 on shelf 1, and so on."""
    return f"{CLASS_PREFIX[voltage_class]}{(number - 1) // boxes_per_shelf + 1:02d}"


def _free_slot(session: Session, voltage_class: str) -> BoxSlot | None:
    return session.scalar(
        select(BoxSlot)
        .join(PaperBox, BoxSlot.box_id == PaperBox.id)
        .where(PaperBox.voltage_class == voltage_class, BoxSlot.customer_id.is_(None))
        .order_by(PaperBox.number, BoxSlot.position)
        .limit(1)
    )


def _new_box(session: Session, voltage_class: str, now: datetime, settings: LifecycleSettings) -> PaperBox:
    number = (session.scalar(select(func.max(PaperBox.number)).where(PaperBox.voltage_class == voltage_class)) or 0) + 1
    capacity = 1 if voltage_class == "high" else settings.low_box_capacity
    box = PaperBox(
        voltage_class=voltage_class,
        number=number,
        capacity=capacity,
        shelf=shelf_for(voltage_class, number, settings.boxes_per_shelf),
        created_at=now,
    )
    session.add(box)
    session.flush()
    for position in range(1, capacity + 1):
        session.add(BoxSlot(box_id=box.id, position=position))
    session.flush()
    return box


@transaction
def assign_box(
    session: Session, actor: Actor, customer: Customer, now: datetime, settings: LifecycleSettings
) -> BoxSlot:
    """Give a customer's paper originals a box position (the one it has, if any)."""
    current = session.scalar(select(BoxSlot).where(BoxSlot.customer_id == customer.id))
    if current is not None:
        return current
    destroyed = session.scalar(select(RetentionState.destroyed_at).where(RetentionState.customer_id == customer.id))
    if destroyed is not None:
        raise errors.DomainError(errors.BOX_CUSTOMER_DESTROYED, details={"account_no": customer.account_no})
    for _attempt in range(5):
        slot = _free_slot(session, customer.voltage_class)
        if slot is None:
            try:
                with session.begin_nested():
                    _new_box(session, customer.voltage_class, now, settings)
            except IntegrityError:  # another process made the same box number: use theirs
                pass
            continue
        # Claim only if still free: two archivists assigning at once never share a position.
        claimed = cast(
            CursorResult,
            session.execute(
                update(BoxSlot)
                .where(BoxSlot.id == slot.id, BoxSlot.customer_id.is_(None))
                .values(customer_id=customer.id, assigned_at=now, freed_at=None)
                .execution_options(synchronize_session=False)
            ),
        ).rowcount
        if claimed:
            session.refresh(slot)
            box = session.get(PaperBox, slot.box_id)
            assert box is not None
            audit.record(
                session,
                actor,
                "box.assign",
                "customer",
                customer.account_no,
                {"box": box_code(box.voltage_class, box.number), "position": slot.position, "shelf": box.shelf},
                at=now,
            )
            return slot
    raise errors.DomainError(errors.UNAVAILABLE, "Could not claim a box position; retry.")


@transaction
def assign_all(session: Session, actor: Actor, now: datetime, settings: LifecycleSettings) -> dict:
    """Give every customer without a position one (destroyed dossiers excepted), oldest first."""
    placed = select(BoxSlot.customer_id).where(BoxSlot.customer_id.is_not(None))
    destroyed = select(RetentionState.customer_id).where(RetentionState.destroyed_at.is_not(None))
    assigned = 0
    for customer in session.scalars(
        select(Customer).where(Customer.id.not_in(placed)).where(Customer.id.not_in(destroyed)).order_by(Customer.id)
    ):
        assign_box(session, actor, customer, now, settings)
        assigned += 1
    return {
        "assigned": assigned,
        "boxes": dict(
            session.execute(select(PaperBox.voltage_class, func.count()).group_by(PaperBox.voltage_class))
            .tuples()
            .all()
        ),
    }


def free_position(session: Session, actor: Actor, customer: Customer, now: datetime) -> BoxSlot | None:
    """Free the customer's position (after destruction) so the next customer takes it."""
    slot = session.scalar(select(BoxSlot).where(BoxSlot.customer_id == customer.id))
    if slot is None:
        return None
    box = session.get(PaperBox, slot.box_id)
    assert box is not None
    slot.customer_id, slot.freed_at = None, now
    audit.record(
        session,
        actor,
        "box.free",
        "customer",
        customer.account_no,
        {"box": box_code(box.voltage_class, box.number), "position": slot.position},
        at=now,
    )
    return slot


def location_of_customer(session: Session, customer_id: int) -> dict | None:
    """Where a customer's paper originals are: box, shelf, position and a 中文 label; None if unboxed."""
    row = session.execute(
        select(BoxSlot, PaperBox)
        .join(PaperBox, BoxSlot.box_id == PaperBox.id)
        .where(BoxSlot.customer_id == customer_id)
    ).first()
    if row is None:
        return None
    slot, box = row
    code = box_code(box.voltage_class, box.number)
    label = f"{CLASS_AREA[box.voltage_class]} {box.shelf} 架 · {code} 盒"
    if box.capacity > 1:
        label += f" · 第 {slot.position} 位"
    return {
        "box": code,
        "shelf": box.shelf,
        "position": slot.position,
        "capacity": box.capacity,
        "voltage_class": box.voltage_class,
        "label": label,
        "assigned_at": slot.assigned_at.isoformat() if slot.assigned_at else None,
    }


def box_overview(session: Session) -> list[dict]:
    """Per class: boxes, positions, occupied and free positions (for the boxes page)."""
    out = []
    for voltage_class in ("high", "low"):
        boxes = (
            session.scalar(select(func.count()).select_from(PaperBox).where(PaperBox.voltage_class == voltage_class))
            or 0
        )
        positions, occupied = session.execute(
            select(func.count(BoxSlot.id), func.count(BoxSlot.customer_id))
            .join(PaperBox, BoxSlot.box_id == PaperBox.id)
            .where(PaperBox.voltage_class == voltage_class)
        ).one()
        out.append(
            {
                "voltage_class": voltage_class,
                "area": CLASS_AREA[voltage_class],
                "boxes": boxes,
                "positions": positions,
                "occupied": occupied,
                "free": positions - occupied,
            }
        )
    return out
