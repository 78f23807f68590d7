"""Stamping cost per photo on 12-megapixel JPEGs, exiftool side by side, and photos/s for 1 and 2 workers.

    .venv/bin/python bench/stamp_bench.py [--photos N] [--skip-workers]

Prints figures only; nothing here is a pass/fail threshold.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402

from tests.helpers.images import PhotoSpec, _exif_of  # noqa: E402


def make_12mp(seed: int) -> bytes:
    """A 4000×3000 JPEG with camera-like noise (so it has a realistic size) and full EXIF with GPS."""
    import io

    noise = Image.effect_noise((4000, 3000), 40 + seed)
    image = Image.merge(
        "RGB", (noise, noise.rotate(90, expand=False), noise.transpose(Image.Transpose.FLIP_LEFT_RIGHT))
    )
    spec = PhotoSpec(
        width=4000,
        height=3000,
        gps_altitude=12.0,
        gps_date="2026:03:02",
        gps_time=(1, 15, 30),
        subsec="120",
        orientation=6,
        body_serial=f"SN{seed:04d}",
    )
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90, exif=_exif_of(spec))
    return buffer.getvalue()


def per_step(files: list[bytes], work: Path) -> dict[str, list[float]]:
    """Milliseconds of each pure step per photo (no database, no queue)."""
    from core import derivatives, exif, hashing, merkle, time_analysis
    from ports.tsa import LocalTsa

    tsa = LocalTsa(work / "tsa")
    tsa.roots_pem()
    timings: dict[str, list[float]] = {
        k: [] for k in ("hashes", "exif", "time_analysis", "derivatives", "timestamp_local", "log_leaf", "total")
    }
    for data in files:
        t0 = time.perf_counter()
        digests = hashing.digest_bytes(data)
        t1 = time.perf_counter()
        meta = exif.read_metadata(data)
        t2 = time.perf_counter()
        analysis = time_analysis.analyse(meta, time_analysis.DeviceFacts(received_at=datetime.now(timezone.utc)))
        t3 = time.perf_counter()
        image = derivatives.decode(data)
        derivatives.thumbnail(image)
        derivatives.preview(image)
        derivatives.stamped_copy(
            image,
            derivatives.Band(
                "DGE-20260302-BENCH0000000",
                digests.sha256,
                "3100012345",
                "测试客户有限公司",
                "2026-03-02 09:15:30",
                analysis.basis_code,
                "31.230416, 121.473701",
                "2026-03-02 09:20:00",
            ),
        )
        t4 = time.perf_counter()
        tsa.stamp(bytes.fromhex(digests.sha256))
        t5 = time.perf_counter()
        merkle.leaf_hash(merkle.canonical_json({"sha256": digests.sha256, "flags": analysis.flags}))
        t6 = time.perf_counter()
        for key, (a, b) in zip(timings, ((t0, t1), (t1, t2), (t2, t3), (t3, t4), (t4, t5), (t5, t6), (t0, t6))):
            timings[key].append((b - a) * 1000)
    return timings


def exiftool_batch(paths: list[Path]) -> float | None:
    """Milliseconds per file for one exiftool process reading all files (JSON, numeric values)."""
    exiftool = shutil.which("exiftool")
    if exiftool is None:
        return None
    start = time.perf_counter()
    subprocess.run([exiftool, "-json", "-n", *map(str, paths)], check=True, capture_output=True)
    return (time.perf_counter() - start) * 1000 / len(paths)


def throughput(files: list[bytes], workers: int, work: Path) -> dict:
    """Photos/s through the real pipeline (SQLite + embedded Redis + ``python -m workers.run --burst``)."""
    from flask_migrate import upgrade
    from sqlalchemy import func, select

    from models import Photo, PhotoEvidence
    from models.database import db
    from ports import embedded_redis
    from server import create_app

    data_dir = work / f"run{workers}"
    data_dir.mkdir()
    redis_root = Path(tempfile.mkdtemp(prefix="dgb-", dir="/tmp"))
    redis_proc = embedded_redis.start(redis_root)
    env = {
        **os.environ,
        "DANGAN_DATA_DIR": str(data_dir),
        "DATABASE_URL": f"sqlite:///{data_dir / 'db.sqlite3'}",
        "REDIS_URL": embedded_redis.url_for(redis_root),
        "SECRET_KEY": "bench",
        "DANGAN_LOG_LEVEL": "WARNING",
        "DANGAN_LOG_FORMAT": "text",
    }
    env.pop("TSA_URL", None)
    try:
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": env["DATABASE_URL"],
                "REDIS_URL": env["REDIS_URL"],
                "DANGAN_DATA_DIR": str(data_dir),
                "SECRET_KEY": "bench",
                "DISPATCH_ON_COMMIT": False,
            }
        )
        with app.app_context():
            upgrade()
            sys.path.insert(0, str(ROOT))
            from services import dispatch
            from tests.helpers.received_photos import make_capture, received_photo

            capture = make_capture()
            ids = [received_photo(data, capture).id for data in files]
            dispatch.tick(app)
            started = time.perf_counter()
            procs = [
                subprocess.Popen(
                    [sys.executable, "-m", "workers.run", "--burst"],
                    cwd=ROOT,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                for _ in range(workers)
            ]
            for proc in procs:
                proc.wait(timeout=600)
            wall = time.perf_counter() - started
            db.session.expire_all()
            ready = db.session.scalar(
                select(func.count()).select_from(Photo).where(Photo.id.in_(ids), Photo.state == "ready")
            )
            first = db.session.scalar(select(func.min(PhotoEvidence.created_at)))
            last = db.session.scalar(select(func.max(PhotoEvidence.completed_at)))
            window = (last - first).total_seconds() if first and last else None
            db.session.remove()
            db.engine.dispose()
        return {
            "workers": workers,
            "photos": len(ids),
            "ready": ready,
            "wall_s": round(wall, 2),
            "photos_per_s_wall": round(ready / wall, 2),
            "photos_per_s_processing": round(ready / window, 2) if window else None,
        }
    finally:
        redis_proc.terminate()
        redis_proc.wait(timeout=10)
        shutil.rmtree(redis_root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=8)
    parser.add_argument("--skip-workers", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="stamp-bench-"))
    try:
        files = [make_12mp(i) for i in range(args.photos)]
        paths = []
        for i, data in enumerate(files):
            paths.append(work / f"p{i}.jpg")
            paths[-1].write_bytes(data)
        print(f"{len(files)} photos, 4000×3000, mean {statistics.mean(map(len, files)) / 1e6:.1f} MB")
        timings = per_step(files, work)
        print(f"{'step':<18}{'median ms':>10}{'max ms':>10}")
        for step, values in timings.items():
            print(f"{step:<18}{statistics.median(values):>10.1f}{max(values):>10.1f}")
        ours = statistics.median(timings["exif"])
        theirs = exiftool_batch(paths)
        print(
            f"metadata read: exifread+checks {ours:.1f} ms/photo; exiftool (one batch process) "
            + (f"{theirs:.1f} ms/photo" if theirs is not None else "not installed")
        )
        if not args.skip_workers:
            for workers in (1, 2):
                print(json.dumps(throughput(files, workers, work)))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
