"""Showing captured forms with the Chinese labels of their schema, and revisions side by side."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

import capture_schema as _registry
from core.beijing_time import BEIJING
from models import Capture, CaptureRevision


def form_data(payload: dict | None) -> dict:
    """The form fields of a stored revision payload (``{"data": …}`` envelopes are unwrapped)."""
    if not isinstance(payload, dict):
        return {}
    inner = payload.get("data")
    return inner if isinstance(inner, dict) else payload


def _spec(kind: str, version: int | None = None):
    try:
        if version is None:
            version = _registry.latest_version(kind)
        return _registry.get_spec(kind, version)
    except (LookupError, TypeError):
        return None


def kind_label(kind: str) -> str:
    """The Chinese name of a form kind (the kind itself when unknown)."""
    spec = _spec(kind)
    return spec.label if spec else kind


def slot_label(kind: str, version: int | None, slot: str | None) -> str:
    """The Chinese name of a photo slot of a form (empty when the form does not name it)."""
    spec = _spec(kind, version)
    found = spec.slot(slot) if spec is not None and slot else None
    return found.label if found is not None else ""


def kind_labels() -> dict[str, str]:
    """Every known form kind with its Chinese name."""
    return {kind: kind_label(kind) for kind in _registry.kinds()}


@functools.lru_cache(maxsize=256)  # a schema instance per call cost more than the queue page's query
def _fields(kind: str, version: int | None) -> dict:
    spec = _spec(kind, version)
    if spec is None:
        return {}
    return dict(spec.schema().fields)


@functools.lru_cache(maxsize=1024)  # fields come from the cached schemas above: one instance each
def _nested_fields(field_obj) -> dict:
    nested = getattr(field_obj, "nested", None)
    if nested is None:
        return {}
    nested = nested() if callable(nested) and not isinstance(nested, type) else nested
    nested = nested() if isinstance(nested, type) else nested
    return dict(getattr(nested, "fields", {}))


def display_value(value, field_obj=None) -> str:
    """A value as an archivist reads it: choice labels, 是/否, lists joined, empty as —."""
    choices = (getattr(field_obj, "metadata", None) or {}).get("choices") or {}
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, str) and value in choices:
        return choices[value]
    if isinstance(value, str) and "DateTime" in type(field_obj).__name__:
        return _local_time(value)
    if isinstance(value, list):
        inner = getattr(field_obj, "inner", None)
        return "；".join(display_value(v, inner) for v in value)
    if isinstance(value, dict):
        sub = _nested_fields(field_obj) if field_obj is not None else {}
        return "，".join(f"{_label(k, sub.get(k))}：{display_value(v, sub.get(k))}" for k, v in value.items())
    return str(value)


def _local_time(text: str) -> str:
    """An ISO timestamp as Beijing wall-clock time; left as it is when it does not parse."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    if moment.tzinfo is None:
        return moment.strftime("%Y-%m-%d %H:%M")
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")


def _label(name: str, field_obj) -> str:
    return (getattr(field_obj, "metadata", None) or {}).get("label") or name


@dataclass
class FormRow:
    """One field of a form as shown: label, shown value, nesting depth, key path."""

    path: str
    label: str
    value: str
    depth: int = 0


def labelled_rows(kind: str, version: int | None, payload: dict | None) -> list[FormRow]:
    """The form's fields in schema order with their labels; fields unknown to the schema follow."""
    data = form_data(payload)
    fields = _fields(kind, version)
    rows: list[FormRow] = []

    def walk(values: dict, known: dict, prefix: str, depth: int) -> None:
        names = [n for n in known if n in values] + [n for n in values if n not in known]
        for name in names:
            field_obj = known.get(name)
            value = values.get(name)
            sub = _nested_fields(field_obj) if field_obj is not None else {}
            if isinstance(value, dict) and (sub or field_obj is None):
                rows.append(FormRow(prefix + name, _label(name, field_obj), "", depth))
                walk(value, sub, prefix + name + ".", depth + 1)
            else:
                rows.append(FormRow(prefix + name, _label(name, field_obj), display_value(value, field_obj), depth))

    walk(data, fields, "", 0)
    return rows


def summary(kind: str, payload: dict | None, size: int = 3) -> list[tuple[str, str]]:
    """The first few filled, flat fields of a form (for the queue list)."""
    out = []
    for row in labelled_rows(kind, None if payload is None else _version_of(payload), payload):
        if row.depth == 0 and row.value not in ("", "—"):
            out.append((row.label, row.value[:40]))
        if len(out) == size:
            break
    return out


def _version_of(payload: dict) -> int | None:
    version = payload.get("schema_version") if isinstance(payload, dict) else None
    return version if isinstance(version, int) else None


def current_payloads(session: Session, captures: list[Capture]) -> dict[str, dict]:
    """The payload of each capture's current revision, in one query."""
    if not captures:
        return {}
    # expanding IN lists, compiled once whatever the page size; the capture ids let SQLite use
    # the capture_id index (a (capture, number) row-value list alone reads the whole table there)
    wanted = tuple_(CaptureRevision.capture_id, CaptureRevision.number).in_(
        [(c.id, c.current_revision) for c in captures]
    )
    rows = session.execute(
        select(CaptureRevision.capture_id, CaptureRevision.schema_version, CaptureRevision.payload).where(
            CaptureRevision.capture_id.in_([c.id for c in captures]), wanted
        )
    ).all()
    return {r.capture_id: _with_version(r.payload, r.schema_version) for r in rows}


def _with_version(payload: dict, version: int) -> dict:
    data = dict(form_data(payload))
    return {"data": data, "schema_version": version}


@dataclass
class RevisionColumn:
    """One revision as a column of the side-by-side table."""

    number: int
    schema_version: int
    received_at: object
    device_time: object
    conflict: bool
    current: bool
    sha256: str


def side_by_side(kind: str, revisions: list[CaptureRevision], current: int) -> tuple[list[RevisionColumn], list[dict]]:
    """Revisions as columns and fields as rows; a row is marked when its value differs between revisions."""
    columns = [
        RevisionColumn(
            r.number,
            r.schema_version,
            r.received_at,
            r.device_time,
            bool(r.conflict),
            r.number == current,
            r.payload_sha256,
        )
        for r in revisions
    ]
    per_revision = [{row.path: row for row in labelled_rows(kind, r.schema_version, r.payload)} for r in revisions]
    order: list[str] = []
    for rows in per_revision:
        order.extend(p for p in rows if p not in order)
    table = []
    for path in order:
        cells = [rows.get(path) for rows in per_revision]
        label = next(c.label for c in cells if c is not None)
        depth = next(c.depth for c in cells if c is not None)
        values = [c.value if c is not None else "（无此项）" for c in cells]
        table.append({"path": path, "label": label, "depth": depth, "values": values, "differs": len(set(values)) > 1})
    return columns, table
