"""The configurable rules of the archive lifecycle, with the defaults the filing rules prescribe.

Override any of them through the app configuration (``create_app(config={...})``) or, for the
retention periods, the environment variables ``DANGAN_RETENTION_YEARS_HIGH`` / ``_LOW``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

# The archive works on Beijing time: "today", filing dates and due dates are local dates.

# kind → (label, default working days). What each event requires filed comes from the filing
# scope table (services.filing_scope), the same table the dossier completeness uses.
EVENT_KINDS: dict[str, tuple[str, int]] = {
    "new_connection": ("业扩报装", 30),
    "contract_signed": ("合同签订", 30),
    "contract_changed": ("合同变更", 15),
    "contract_terminated": ("合同终止", 15),
    "contract_cancelled": ("合同解除", 15),
    "dispute_ended": ("争议处理终结", 10),
    "capacity_increase": ("增容", 15),
    "name_transfer": ("更名过户", 15),
    "relocation": ("迁址", 15),
    "meter_move": ("移表", 15),
    "account_closure": ("销户", 15),
}
EVENT_LABELS = {kind: spec[0] for kind, spec in EVENT_KINDS.items()}


@dataclass(frozen=True)
class LifecycleSettings:
    """Rules in force: deadlines, required documents, retention periods, boxes."""

    deadline_days: Mapping[str, int] = field(default_factory=lambda: {k: v[1] for k, v in EVENT_KINDS.items()})
    # event kind → required document types, overriding the filing scope table when given
    required_docs: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    due_soon_working_days: int = 5
    retention_years: Mapping[str, int] = field(default_factory=lambda: {"high": 5, "low": 3})
    borrow_days: int = 14
    low_box_capacity: int = 20
    boxes_per_shelf: int = 40


def settings_from(config: Mapping) -> LifecycleSettings:
    """Build the settings from an app configuration mapping (missing keys keep the defaults)."""
    base = LifecycleSettings()
    deadline = dict(base.deadline_days) | dict(config.get("LIFECYCLE_DEADLINE_DAYS") or {})
    required = {k: tuple(v) for k, v in (config.get("LIFECYCLE_REQUIRED_DOCS") or {}).items()}
    years = {
        "high": int(config.get("RETENTION_YEARS_HIGH") or os.environ.get("DANGAN_RETENTION_YEARS_HIGH") or 5),
        "low": int(config.get("RETENTION_YEARS_LOW") or os.environ.get("DANGAN_RETENTION_YEARS_LOW") or 3),
    }
    return LifecycleSettings(
        deadline_days=deadline,
        required_docs=required,
        due_soon_working_days=int(config.get("LIFECYCLE_DUE_SOON_DAYS") or base.due_soon_working_days),
        retention_years=years,
        borrow_days=int(config.get("LIFECYCLE_BORROW_DAYS") or base.borrow_days),
        low_box_capacity=int(config.get("LIFECYCLE_LOW_BOX_CAPACITY") or base.low_box_capacity),
        boxes_per_shelf=int(config.get("LIFECYCLE_BOXES_PER_SHELF") or base.boxes_per_shelf),
    )
