"""``bench/sync_bench.py --quick`` runs end to end: gunicorn as ``make run`` starts it, every scenario, JSON out."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_sync_bench_quick_run_pushes_every_scenario_and_prints_medians_and_ratios():
    done = subprocess.run(
        [sys.executable, "bench/sync_bench.py", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout[done.stdout.index("{") :])
    assert report["reference"]["odk_central_submissions_per_s"] == 41.0
    assert report["server"].startswith("gunicorn -c python:server.web_serving")
    assert len(report["scenarios"]) == 4
    for figures in report["scenarios"].values():
        assert figures["captures_per_s"] > 0 and figures["server_cpu_ms_per_capture"] >= 0
        assert figures["ratio_to_odk_central"] > 0
