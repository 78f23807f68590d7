"""The filing scope table (客户档案归档范围表) and the completeness check of a dossier against it.

The table is data: ``services/data/filing_scope.json`` holds sensible defaults for high- and
low-voltage customers per business type; an operator points the app setting
``FILING_SCOPE_FILE`` at their own copy to change it. Parsing and the completeness check are
plain functions (no app context) so the tests and other tools can use them alone.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from core import errors

DEFAULT_FILE = Path(__file__).resolve().parent / "data" / "filing_scope.json"
VOLTAGE_CLASSES = ("high", "low")


@dataclass(frozen=True)
class FilingScope:
    """The parsed table: document types, business types, and what each (class, type) requires."""

    title: str
    doc_types: dict[str, str]
    business_types: dict[str, str]
    base_business_type: str
    required: dict[str, dict[str, tuple[str, ...]]]
    capture_kinds: dict[str, str] = field(default_factory=dict)
    default_capture_doc_type: str | None = None

    def doc_label(self, code: str | None) -> str:
        """The Chinese name of a document type (the code itself when unknown)."""
        return self.doc_types.get(code or "", code or "")

    def required_for(self, voltage_class: str, business_type: str) -> tuple[str, ...]:
        """Document types a dossier of this class needs for this business type."""
        return self.required.get(voltage_class, {}).get(business_type, ())

    def business_type_of(self, kind: str | None) -> str | None:
        """Map a business event kind (code or Chinese label) to a business type of the table."""
        if not kind:
            return None
        if kind in self.business_types:
            return kind
        for code, label in self.business_types.items():
            if kind == label or kind in label.replace("（", "(").split("("):
                return code
        return None

    def suggest_doc_type(self, capture_kind: str) -> str | None:
        """The document type a capture of this kind is usually filed as."""
        return self.capture_kinds.get(capture_kind, self.default_capture_doc_type)


def parse_table(data: dict) -> FilingScope:
    """Validate a filing scope table given as JSON data; raise ValueError naming the problem."""
    if not isinstance(data, dict):
        raise ValueError("the table must be a JSON object")
    doc_types = data.get("doc_types")
    business = data.get("business_types")
    required = data.get("required")
    if not isinstance(doc_types, dict) or not doc_types:
        raise ValueError("doc_types must map codes to names")
    if not isinstance(business, dict) or not business:
        raise ValueError("business_types must map codes to names")
    if not isinstance(required, dict) or set(required) - set(VOLTAGE_CLASSES):
        raise ValueError("required must be keyed by voltage class (high, low)")
    clean: dict[str, dict[str, tuple[str, ...]]] = {}
    for klass, per_type in required.items():
        if not isinstance(per_type, dict):
            raise ValueError(f"required.{klass} must map business types to lists")
        clean[klass] = {}
        for btype, codes in per_type.items():
            if btype not in business:
                raise ValueError(f"required.{klass}: unknown business type {btype!r}")
            if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
                raise ValueError(f"required.{klass}.{btype} must be a list of codes")
            unknown = [c for c in codes if c not in doc_types]
            if unknown:
                raise ValueError(f"required.{klass}.{btype}: unknown document types {unknown}")
            clean[klass][btype] = tuple(dict.fromkeys(codes))
    base = data.get("base_business_type", "new_connection")
    if base not in business:
        raise ValueError(f"base_business_type {base!r} is not a business type")
    kinds = data.get("capture_kinds") or {}
    bad_kinds = {k: v for k, v in kinds.items() if v not in doc_types}
    if bad_kinds:
        raise ValueError(f"capture_kinds name unknown document types: {bad_kinds}")
    default_doc = data.get("default_capture_doc_type")
    if default_doc is not None and default_doc not in doc_types:
        raise ValueError(f"default_capture_doc_type {default_doc!r} is not a document type")
    return FilingScope(
        title=str(data.get("title") or "客户档案归档范围表"),
        doc_types={str(k): str(v) for k, v in doc_types.items()},
        business_types={str(k): str(v) for k, v in business.items()},
        base_business_type=base,
        required=clean,
        capture_kinds=dict(kinds),
        default_capture_doc_type=default_doc,
    )


_cache: dict[tuple[str, float], FilingScope] = {}


def load(path: str | os.PathLike | None = None) -> FilingScope:
    """Load the table from ``path`` (default: the shipped defaults); cached until the file changes."""
    target = Path(path or DEFAULT_FILE)
    try:
        key = (str(target), target.stat().st_mtime)
        if key not in _cache:
            _cache[key] = parse_table(json.loads(target.read_text(encoding="utf-8")))
        return _cache[key]
    except (OSError, ValueError) as exc:
        raise errors.DomainError(
            errors.FILING_SCOPE_INVALID, f"Filing scope table {target}: {exc}", details={"file": str(target)}
        ) from exc


def current() -> FilingScope:
    """The table configured for the running app (``FILING_SCOPE_FILE``), else the defaults."""
    from flask import current_app, has_app_context

    path = current_app.config.get("FILING_SCOPE_FILE") if has_app_context() else None
    return load(path)


# --- completeness ---------------------------------------------------------------------------


@dataclass(frozen=True)
class EventRef:
    """A business event of the customer, as the completeness check needs it."""

    id: int
    kind: str
    occurred_on: date | None = None
    reference: str | None = None


@dataclass(frozen=True)
class ItemRef:
    """A dossier index entry, as the completeness check needs it."""

    seq: int
    doc_type: str
    business_event_id: int | None = None


@dataclass
class Requirement:
    """One required document type of a group and the index entries that satisfy it."""

    doc_type: str
    label: str
    seqs: list[int]

    @property
    def present(self) -> bool:
        """True when at least one entry of the dossier satisfies it."""
        return bool(self.seqs)


@dataclass
class Group:
    """The requirements of one business type (and, for changes, one business event)."""

    business_type: str
    label: str
    event: EventRef | None
    requirements: list[Requirement]

    @property
    def missing(self) -> list[Requirement]:
        """Requirements with no entry."""
        return [r for r in self.requirements if not r.present]


@dataclass
class Completeness:
    """The completeness report of one dossier."""

    voltage_class: str
    groups: list[Group]
    unknown_event_kinds: list[str]

    @property
    def required_count(self) -> int:
        """Number of requirements over all groups."""
        return sum(len(g.requirements) for g in self.groups)

    @property
    def present_count(self) -> int:
        """Number of requirements satisfied."""
        return sum(1 for g in self.groups for r in g.requirements if r.present)

    @property
    def complete(self) -> bool:
        """True when nothing required is missing."""
        return self.present_count == self.required_count

    @property
    def percent(self) -> int:
        """Share of satisfied requirements, in whole percent (100 when nothing is required)."""
        if not self.required_count:
            return 100
        return int(100 * self.present_count / self.required_count)


def completeness(scope: FilingScope, voltage_class: str, events: list[EventRef], items: list[ItemRef]) -> Completeness:
    """Check a dossier against the table.

    Every dossier has the base group (业扩报装); every later business event of a known type
    (增容, 更名过户 …) adds its own group, because changes append documents instead of replacing
    the earlier ones. An entry counts for the group of the business event it was filed under;
    entries filed without an event count for the base group.
    """
    base = scope.base_business_type
    base_event = next((e for e in sorted(events, key=_event_order) if scope.business_type_of(e.kind) == base), None)
    groups: list[tuple[str, EventRef | None]] = [(base, base_event)]
    unknown: list[str] = []
    for ref in sorted(events, key=_event_order):
        btype = scope.business_type_of(ref.kind)
        if btype is None:
            unknown.append(ref.kind)
        elif ref is not base_event:
            groups.append((btype, ref))
    out: list[Group] = []
    for btype, event in groups:
        if btype == base:
            mine = [
                i
                for i in items
                if i.business_event_id is None or (event is not None and i.business_event_id == event.id)
            ]
        else:
            assert event is not None
            mine = [i for i in items if i.business_event_id == event.id]
        requirements = [
            Requirement(code, scope.doc_label(code), sorted(i.seq for i in mine if i.doc_type == code))
            for code in scope.required_for(voltage_class, btype)
        ]
        out.append(Group(btype, scope.business_types.get(btype, btype), event, requirements))
    return Completeness(voltage_class, out, sorted(set(unknown)))


def _event_order(event: EventRef):
    return (event.occurred_on or date.min, event.id)


def event_for_new_item(
    scope: FilingScope, voltage_class: str, events: list[EventRef], items: list[ItemRef], doc_type: str
) -> int | None:
    """The business event a newly filed document most likely belongs to.

    The latest event whose group still misses this document type; None (the base group) when
    no event group misses it.
    """
    report = completeness(scope, voltage_class, events, items)
    for group in reversed(report.groups):
        if (
            group.event is not None
            and group.business_type != scope.base_business_type
            and any(r.doc_type == doc_type for r in group.missing)
        ):
            return group.event.id
    return None
