"""The RQ jobs: thin entry points that take ids, build this process's app once and call one use case.

Every job is idempotent and enqueued under a deterministic job id by the service that owns the
work (:mod:`services.dispatch`, :mod:`services.export_queue`, :mod:`services.schedules`), which
names the job by its dotted path so that services never import this module.
"""

from __future__ import annotations

from services import evidence_export, pipeline_runs, upload_sweep
from services.lifecycle import daily
from workers.context import get_app


def run_event(event: str, subject_id: str, attempt: int) -> str:
    """Run one attempt of the pipeline of ``event`` for ``subject_id``."""
    return pipeline_runs.run_in_app(get_app(), event, subject_id, attempt)


def run_export(export_id: int) -> dict:
    """Build the evidence bundle of one export."""
    return evidence_export.build_in_app(get_app(), export_id)


def sweep_uploads() -> dict[str, int]:
    """Expire stale uploads and remove bytes no photo claimed."""
    return upload_sweep.sweep_in_app(get_app())


def daily_lifecycle() -> dict:
    """Recompute filing deadlines, sweep retention and schedule tomorrow's run."""
    return daily.run_in_app(get_app())
