"""``bench/review_bench.py --quick`` runs end to end: every filter in both orders, keyset pages, JSON out."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_review_bench_quick_run_times_every_filter_in_both_orders():
    done = subprocess.run(
        [sys.executable, "bench/review_bench.py", "--quick", "--backends", "sqlite"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    [report] = json.loads(done.stdout[done.stdout.index("[") :])
    assert report["backend"] == "sqlite" and report["goal_p95_ms"] == 100.0
    names = set(report["scenarios"])
    assert {"flag: clock_skew (oldest first)", "flag: clock_skew (newest first)"} <= names
    assert {"following pages (oldest first)", "following pages (newest first)"} <= names
    assert all(figures["n"] > 0 and figures["p95_ms"] > 0 for figures in report["scenarios"].values())
