"""A smoke run of ``bench/stamp_bench.py --quick``: it measures the worker's job and the baseline, and prints JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.tools import require_command

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(600)
def test_the_stamping_bench_runs_at_tiny_sizes_and_prints_medians_and_ratios():
    require_command("openssl")  # the built-in local TSA signs with it, as under `make run`
    command = [sys.executable, "bench/stamp_bench.py", "--quick"]
    admin_url = os.environ.get("TEST_DATABASE_URL")
    if admin_url and admin_url.startswith("postgres"):
        command += ["--postgres", admin_url]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(done.stdout)
    for kind in ("12mp", "cameras"):
        assert figures[kind]["dangan_ms"] > 0 and figures[kind]["baseline_ms"] > 0
        assert figures[kind]["ratio"] == pytest.approx(
            figures[kind]["dangan_ms"] / figures[kind]["baseline_ms"], rel=0.1
        )
    runs = figures["throughput"]
    assert [run["workers"] for run in runs if run["database"] == "sqlite"] == [1, 2]
    assert all(run["ready"] == run["photos"] for run in runs)
    if "--postgres" in command:
        assert [run["workers"] for run in runs if run["database"] == "postgresql"] == [1, 2]
