"""The upload bench runs end to end at tiny sizes (the real figures come from a quiet machine)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(600)
def test_the_upload_bench_prints_medians_and_ratios_at_quick_sizes():
    finished = subprocess.run(
        [sys.executable, str(ROOT / "bench/upload_bench.py"), "--quick", "--big"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=540,
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    result = json.loads(finished.stdout)
    assert result["rounds"] == 2 and len(result["runs"]["dangan_1"]) == 2
    assert result["medians"]["dangan_1"] > 0 and result["medians"]["dangan_8"] > 0 and result["medians"]["limit"] > 0
    if "node" not in result:  # the Node reference ran in the same rounds
        assert len(result["runs"]["node_1"]) == 2 and result["ratios"]["dangan_vs_node_1"] > 0
    assert result["hash_state"]["rehash_at_end_ms"] > 0
    assert result["big"]["web_processes"] == 2 and result["big"]["rss_before_mb"] > 0
