"""Shared by the capture app's tests: the schema fixtures its JavaScript validates against.

The fixtures are the descriptors the server publishes (``sync.schemas.current_descriptors``) and
form data cases with the server's own verdict (``capture_schema.validate_capture``), so the JS
tests prove the app applies the same rules as the server, from the same source.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
from pathlib import Path

import pytest

import capture_schema
from capture_schema.examples import SAMPLE_DATA
from sync.schemas import current_descriptors
from tests.helpers.live import ROOT

APP_DIR = ROOT / "capture_app"
PHOTO = {"captured_at": "2026-03-02T09:25:03+08:00", "sha256": "a" * 64, "size": 1000, "mime_type": "image/jpeg"}

# (kind, version, change to the sample data: {field: value} with None meaning "remove the field")
MUTATIONS = [
    ("usage_inspection", 2, {"seal_status": "完好"}),
    ("usage_inspection", 2, {"meter_number": None}),
    ("usage_inspection", 2, {"meter_number": "9" * 41}),
    ("usage_inspection", 2, {"meter_readings": {"total": -1}}),
    ("usage_inspection", 2, {"meter_readings": {"peak": 10}}),
    ("usage_inspection", 2, {"inspected_at": "2026-03-02T09:30:00"}),
    ("usage_inspection", 2, {"surprise": 1}),
    ("usage_inspection", 2, {"defects": [{"description": "x", "severity": "bad"}]}),
    ("usage_inspection", 1, {"seal_ok": None}),
    ("defect_notice", 1, {"deadline": "2026-02-01"}),
    ("defect_notice", 1, {"deadline": "2026-03-02"}),
    ("defect_notice", 1, {"deadline": "2026-02-30"}),
    ("theft_evidence", 1, {"estimated_period_end": "2025-01-01"}),
    ("theft_evidence", 1, {"witnesses": []}),
    ("metering_check", 1, {"ct_ratio_found": "150"}),
    ("metering_check", 1, {"error_percent": 100.5}),
    ("metering_check", 1, {"seal_numbers": [""]}),
    ("site_survey", 1, {"requested_capacity_kva": 0}),
    ("site_survey", 1, {"requested_capacity_kva": 0.5}),
]


def _photos(kind: str, version: int) -> list[dict]:
    spec = capture_schema.get_spec(kind, version)
    return [
        {**PHOTO, "id": f"00000000-0000-4000-8000-{i:012d}", "slot": s.name, "category": s.category}
        for i, s in enumerate(spec.slots)
        if s.required
    ]


def _verdict(kind: str, version: int, data: dict, photos: list[dict]) -> dict:
    try:
        capture_schema.validate_capture(kind, version, data, photos)
    except capture_schema.CaptureInvalid as exc:
        return {"data": sorted(exc.fields.get("data", {})), "photos": sorted(exc.fields.get("photos", {}))}
    return {"data": [], "photos": []}


def schema_fixtures() -> dict:
    """Descriptors and validation cases with the server's verdict."""
    cases = []
    for (kind, version), sample in sorted(SAMPLE_DATA.items()):
        cases.append(
            {
                "name": f"{kind}.v{version} sample",
                "kind": kind,
                "version": version,
                "data": sample,
                "photos": _photos(kind, version),
            }
        )
        cases.append(
            {
                "name": f"{kind}.v{version} without photos",
                "kind": kind,
                "version": version,
                "data": sample,
                "photos": [],
            }
        )
    for kind, version, change in MUTATIONS:
        data = copy.deepcopy(SAMPLE_DATA[(kind, version)])
        for key, value in change.items():
            if value is None:
                data.pop(key, None)
            else:
                data[key] = value
        cases.append(
            {
                "name": f"{kind}.v{version} {json.dumps(change, ensure_ascii=False)}",
                "kind": kind,
                "version": version,
                "data": data,
                "photos": _photos(kind, version),
            }
        )
    for case in cases:
        case["server"] = _verdict(case["kind"], case["version"], case["data"], case["photos"])
    return {"descriptors": current_descriptors(), "cases": cases}


def write_schema_fixtures(path: Path) -> Path:
    path.write_text(json.dumps(schema_fixtures(), ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def require_app_node() -> str:
    """node with the capture app's packages installed.

    Skipped only on a machine without node (never in CI); with node but without the packages the
    test fails and says how to install them.
    """
    node = shutil.which("node")
    if node is None:
        if os.environ.get("CI"):
            pytest.fail("node is missing (apt-get install nodejs)")
        pytest.skip("node is missing (apt-get install nodejs)")
    if not (APP_DIR / "node_modules" / "fake-indexeddb").is_dir():
        pytest.fail("the capture app's packages are missing: (cd capture_app && npm ci)")
    return node
