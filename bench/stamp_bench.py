"""Received → stamped per photo against the bare libraries, interleaved, and photos/s with 1 and 2 workers.

    .venv/bin/python bench/stamp_bench.py [--photos 6] [--cameras 50] [--rounds 3]
        [--throughput-photos 16] [--postgres postgresql://postgres@127.0.0.1:5432/test] [--quick]

Per photo: the worker's job function (``workers.jobs.run_event``, what ``python -m workers.run``
runs for each dequeued job) on the product's app (``server.create_app`` as the worker builds it:
SQLite or PostgreSQL, the blob store and the built-in local TSA under the data dir), against the
baseline of one process doing SHA-256 + exifread + a Pillow draft thumbnail of the same bytes read
from disk. Each photo is measured both ways in the same round, the order alternating, for
12-megapixel JPEGs (~8 MB, made here) and the real camera files of ``tests/corpus/cameras`` (cycled
up to ``--cameras``). Throughput: the photos are received, then 1 or 2 ``python -m workers.run
--burst`` processes drain the queue (SQLite, and PostgreSQL with ``--postgres``).

Prints medians and ratios as JSON; nothing here is a pass/fail threshold.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import exifread  # noqa: E402
import pillow_heif  # noqa: E402
from PIL import Image, ImageFilter  # noqa: E402

from tests.helpers.images import PhotoSpec, _exif_of  # noqa: E402

pillow_heif.register_heif_opener()
CAMERAS = ROOT / "tests" / "corpus" / "cameras"
EVENT = "photo.received"


def make_12mp(seed: int, width: int = 4000, height: int = 3000) -> bytes:
    """A 4000×3000 JPEG of camera-like content (smooth shapes plus sensor noise, ~8 MB) with full EXIF and GPS."""
    noise = Image.effect_noise((width, height), 40 + seed)
    shapes = Image.linear_gradient("L").resize((width, height)).filter(ImageFilter.GaussianBlur(3))
    image = Image.merge(
        "RGB",
        (
            Image.blend(noise, shapes, 0.35),
            noise.rotate(90, expand=False),
            Image.blend(noise.transpose(Image.Transpose.FLIP_LEFT_RIGHT), shapes.rotate(180), 0.25),
        ),
    )
    spec = PhotoSpec(
        width=width,
        height=height,
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


def camera_files(count: int) -> list[bytes]:
    """``count`` real camera files (JPEG, HEIC/HEIF) of the corpus, cycled in name order."""
    files = sorted(p for p in CAMERAS.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".heic", ".heif"))
    return [files[i % len(files)].read_bytes() for i in range(count)]


def baseline(path: Path) -> None:
    """The bare libraries in one process: read, SHA-256, exifread, Pillow draft thumbnail encoded as JPEG."""
    data = path.read_bytes()
    hashlib.sha256(data).hexdigest()
    exifread.process_file(io.BytesIO(data), details=False, extract_thumbnail=False)
    image = Image.open(io.BytesIO(data))
    image.draft("RGB", (320, 320))
    image = image.convert("RGB")
    image.thumbnail((320, 320))
    image.save(io.BytesIO(), "JPEG", quality=80)


def _cpu_s() -> float:
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def _config(database_url: str, redis_url: str, data_dir: Path) -> dict:
    return {
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": redis_url,
        "DANGAN_DATA_DIR": str(data_dir),
        "SECRET_KEY": "bench",
        "DISPATCH_ON_COMMIT": False,
    }


def _receive(app, files: list[bytes]) -> list[str]:
    """Store the bytes and mark new photos received (the outbox row is written as in production)."""
    from models.database import db
    from tests.helpers.received_photos import make_capture, received_photo

    with app.app_context():
        capture = make_capture()
        ids = [received_photo(data, capture).id for data in files]
        db.session.remove()
    return ids


def latency(name: str, files: list[bytes], rounds: int, database_url: str, redis_url: str, work: Path) -> dict:
    """Median ms per photo: the worker's job vs the baseline, measured in alternation on the same files."""
    from flask_migrate import upgrade

    from models.database import db
    from server import create_app
    from workers import context, jobs

    data_dir = work / f"latency-{name}"
    data_dir.mkdir()
    paths = []
    for i, data in enumerate(files):
        paths.append(data_dir / f"in-{i}")
        paths[-1].write_bytes(data)
    app = create_app(_config(database_url, redis_url, data_dir))
    with app.app_context():
        upgrade()
        db.session.remove()
    context.set_app(app)
    warm = _receive(app, files[:1])[0]
    jobs.run_event(EVENT, warm, 1)  # first job: fonts, the local TSA's keys, imports
    baseline(paths[0])
    ours: list[float] = []
    bare: list[float] = []
    ours_cpu: list[float] = []
    bare_cpu: list[float] = []
    for round_no in range(rounds):
        ids = _receive(app, files)
        for i, (photo_id, path) in enumerate(zip(ids, paths)):

            def run_ours(photo_id: str = photo_id) -> None:
                assert jobs.run_event(EVENT, photo_id, 1) == "done"

            pair = [(ours, ours_cpu, run_ours), (bare, bare_cpu, lambda path=path: baseline(path))]
            for sink, cpu_sink, call in pair if (round_no + i) % 2 == 0 else pair[::-1]:
                started, cpu_started = time.perf_counter(), _cpu_s()
                call()
                sink.append((time.perf_counter() - started) * 1000)
                cpu_sink.append((_cpu_s() - cpu_started) * 1000)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    context.set_app(None)
    ours_ms, bare_ms = statistics.median(ours), statistics.median(bare)
    return {
        "files": len(files),
        "mean_mb": round(statistics.mean(map(len, files)) / 1e6, 2),
        "rounds": rounds,
        "dangan_ms": round(ours_ms, 1),
        "dangan_p90_ms": round(sorted(ours)[int(0.9 * (len(ours) - 1))], 1),
        "baseline_ms": round(bare_ms, 1),
        "ratio": round(ours_ms / bare_ms, 2),
        # CPU of this process's threads and of any children it waited for:
        # steadier than wall time on a shared machine
        "dangan_cpu_ms": round(statistics.median(ours_cpu), 1),
        "baseline_cpu_ms": round(statistics.median(bare_cpu), 1),
        "cpu_ratio": round(statistics.median(ours_cpu) / max(statistics.median(bare_cpu), 0.001), 2),
    }


def throughput(files: list[bytes], workers: int, database_url: str, redis_url: str, work: Path) -> dict:
    """Photos/s of ``workers`` × ``python -m workers.run --burst`` draining ``files`` received photos."""
    from flask_migrate import upgrade
    from sqlalchemy import func, select

    from models import Photo, PhotoEvidence
    from models.database import db
    from server import create_app
    from services import dispatch

    data_dir = work / f"run-{workers}-{len(list(work.iterdir()))}"
    data_dir.mkdir()
    app = create_app(_config(database_url, redis_url, data_dir))
    with app.app_context():
        upgrade()
        db.session.remove()
    ids = _receive(app, files)
    env = {
        **os.environ,
        "DANGAN_DATA_DIR": str(data_dir),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": "bench",
        "DANGAN_LOG_LEVEL": "WARNING",
        "DANGAN_LOG_FORMAT": "text",
    }
    env.pop("TSA_URL", None)
    with app.app_context():
        app.extensions["dangan.redis"].client(app).flushdb()
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
            proc.wait(timeout=1800)
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
        "photos_per_s_wall": round((ready or 0) / wall, 2),
        "photos_per_s_processing": round((ready or 0) / window, 2) if window else None,
    }


def _databases(postgres: str | None, work: Path):
    """(label, url factory, cleanup) for SQLite files and, with ``--postgres``, fresh PostgreSQL databases."""
    from tests.helpers.databases import PostgresDatabases

    counter = iter(range(10_000))
    yield "sqlite", lambda: f"sqlite:///{work / f'bench-{next(counter)}.sqlite3'}", lambda: None
    if postgres:
        databases = PostgresDatabases(postgres, work)
        yield "postgresql", databases.create, databases.close


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=6, help="12-megapixel JPEGs per round")
    parser.add_argument("--cameras", type=int, default=50, help="real camera files per round (corpus cycled)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--throughput-photos", type=int, default=16, help="12-megapixel JPEGs drained by the workers")
    parser.add_argument("--postgres", help="admin URL of a PostgreSQL server: throughput there too")
    parser.add_argument("--skip-workers", action="store_true")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run")
    args = parser.parse_args()
    if args.quick:
        args.photos, args.cameras, args.rounds, args.throughput_photos = 1, 3, 1, 2
    from ports import embedded_redis

    work = Path(tempfile.mkdtemp(prefix="stamp-bench-"))
    redis_root = Path(tempfile.mkdtemp(prefix="dgb-", dir="/tmp"))  # a short path for the unix socket
    redis_proc = embedded_redis.start(redis_root)
    redis_url = embedded_redis.url_for(redis_root)
    result: dict = {"machine": {"cpus": os.cpu_count(), "load_1min": round(os.getloadavg()[0], 2)}}
    try:
        big = [make_12mp(i) for i in range(max(args.photos, 1))]
        result["12mp"] = latency("12mp", big, args.rounds, f"sqlite:///{work / 'l12.sqlite3'}", redis_url, work)
        cameras = camera_files(args.cameras)
        result["cameras"] = latency(
            "cameras", cameras, args.rounds, f"sqlite:///{work / 'lcam.sqlite3'}", redis_url, work
        )
        if not args.skip_workers:
            drained = [big[i % len(big)] for i in range(args.throughput_photos)]
            runs = []
            for label, create, close in _databases(args.postgres, work):
                try:
                    for workers in (1, 2):
                        runs.append({"database": label, **throughput(drained, workers, create(), redis_url, work)})
                finally:
                    close()
            result["throughput"] = runs
        result["machine"]["load_1min_after"] = round(os.getloadavg()[0], 2)
        print(json.dumps(result, indent=2))
    finally:
        redis_proc.terminate()
        redis_proc.wait(timeout=10)
        shutil.rmtree(redis_root, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
