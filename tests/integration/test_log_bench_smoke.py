"""bench/log_bench.py runs end to end at a tiny size on the test database and prints its figures.

The 10,000,000-leaf run is by hand (docs/performance.md).
"""

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_log_bench_builds_a_tiny_log_and_prints_medians_and_ratios(database_url, tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("log_bench", ROOT / "bench" / "log_bench.py")
    assert spec and spec.loader
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    report = bench.main(
        ["--size", "300", "--naive-sizes", "100,200,5000", "--repeat", "3", "--naive-repeat", "2", "--quiet"]
        + ["--workdir", str(tmp_path), "--database-url", database_url]
    )
    assert json.loads(capsys.readouterr().out) == report
    assert set(report["at_size"]) == {"append", "inclusion_proof", "consistency_proof", "checkpoint"}
    assert set(report["against_previous"]) == {"100", "200"}  # sizes above the log are skipped
    for figures in report["against_previous"]["200"].values():
        assert figures["stored_nodes_ms"] > 0 and figures["naive_ms"] > 0 and figures["ratio"] > 0
