"""Photo upload throughput and memory, side by side in one run.

Prints:
  * the machine's own limit: SHA-256 (+ SM3) + write + fsync of the same bytes, no HTTP;
  * our tus server (gunicorn, 2 sync workers) with tuspy: 1 client, then 8 concurrent clients;
  * the reference Node server (@tus/server + @tus/file-store, no hashing, no fsync), same clients;
  * the cost of hashing a finished photo once more when no running digest was cached;
  * our server's peak RSS while one 500 MB file streams in through a single PATCH.

    .venv/bin/python bench/upload_bench.py [--mb 200] [--chunk-mb 8] [--big-mb 500]

Needs node and `npm ci` in tests/js for the Node column (it is skipped otherwise).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tusclient import client as tus_client  # noqa: E402

from tests.helpers.live import free_port, wait_for  # noqa: E402

MB = 1024 * 1024


def make_file(directory: Path, size: int) -> Path:
    """A file of random bytes, written in 8 MB pieces (never all in memory)."""
    path = directory / f"photo-{uuid.uuid4().hex[:8]}.bin"
    with open(path, "wb") as fh:
        left = size
        while left:
            piece = os.urandom(min(8 * MB, left))
            fh.write(piece)
            left -= len(piece)
    return path


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while data := fh.read(MB):
            digest.update(data)
    return digest.hexdigest()


def machine_limit(path: Path, target_dir: Path, with_sm3: bool) -> float:
    """MB/s of reading the file, hashing it and writing + fsyncing a copy: what a server must do."""
    size = path.stat().st_size
    out = target_dir / f"copy-{uuid.uuid4().hex[:8]}"
    start = time.perf_counter()
    sha = hashlib.sha256()
    sm3 = hashlib.new("sm3") if with_sm3 else None
    with open(path, "rb") as src, open(out, "wb") as dst:
        while data := src.read(MB):
            sha.update(data)
            if sm3 is not None:
                sm3.update(data)
            dst.write(data)
        dst.flush()
        os.fsync(dst.fileno())
    elapsed = time.perf_counter() - start
    out.unlink()
    return size / MB / elapsed


class OurServer:
    """gunicorn + the app on SQLite and the embedded Redis in a scratch data dir."""

    def __init__(self, data_dir: Path, workers: int = 2):
        from ports import embedded_redis

        self.data_dir = data_dir
        self.redis = embedded_redis.start(data_dir)
        self.redis_url = embedded_redis.url_for(data_dir)
        self.database_url = f"sqlite:///{data_dir / 'bench.sqlite3'}"
        self.token = self._prepare()
        self.port = free_port()
        env = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "DANGAN_DATA_DIR": str(data_dir),
            "SECRET_KEY": "bench",
            "DANGAN_LOG_FORMAT": "text",
            "DANGAN_LOG_LEVEL": "WARNING",
        }
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(workers),
                "--timeout",
                "600",
                "wsgi:app",
            ],
            cwd=ROOT,
            env=env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(f"http://127.0.0.1:{self.port}/api/v1/health", proc=self.proc)
        self.endpoint = f"http://127.0.0.1:{self.port}/api/v1/uploads"

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

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
        return [int(pid) for pid in children]

    def stop(self) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(timeout=30)
        self.redis.terminate()
        self.redis.wait(timeout=10)


class NodeServer:
    """@tus/server with @tus/file-store, as its documentation sets it up."""

    def __init__(self, directory: Path):
        self.port = free_port()
        self.proc = subprocess.Popen(
            ["node", str(ROOT / "tests/js/tus_node_server.mjs"), str(self.port), str(directory)],
            cwd=ROOT / "tests/js",
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout.readline().strip() == "listening"
        self.endpoint = f"http://127.0.0.1:{self.port}/files"
        self.token = None

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def upload(endpoint: str, token: str | None, path: Path, chunk: int) -> None:
    """One tuspy upload (the client an integrator would use)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    metadata = {
        "photo_id": str(uuid.uuid4()),
        "sha256": sha256_of(path),
        "filename": path.name,
        "filetype": "application/octet-stream",
    }
    client = tus_client.TusClient(endpoint, headers=headers)
    client.uploader(str(path), chunk_size=chunk, metadata=metadata).upload()


def throughput(server, files: list[Path], chunk: int) -> float:
    """MB/s of uploading every file at once (one client per file)."""
    total = sum(f.stat().st_size for f in files)
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(files)) as pool:
        for future in [pool.submit(upload, server.endpoint, server.token, f, chunk) for f in files]:
            future.result()
    return total / MB / (time.perf_counter() - start)


def rss_kb(pid: int, field: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def peak_rss_during_big_upload(server: OurServer, path: Path) -> tuple[int, int, float]:
    """Stream one big file in a single PATCH; sample the workers' RSS. Returns (before, peak) KB and MB/s."""
    pids = server.worker_pids()
    before = max(rss_kb(pid) for pid in pids)
    peak = {"kb": before}
    done = threading.Event()

    def sample():
        while not done.is_set():
            for pid in pids:
                try:
                    peak["kb"] = max(peak["kb"], rss_kb(pid))
                except OSError:
                    pass
            time.sleep(0.05)

    sampler = threading.Thread(target=sample)
    sampler.start()
    size = path.stat().st_size
    import base64

    auth = {"Authorization": f"Bearer {server.token}", "Tus-Resumable": "1.0.0"}
    meta = ",".join(
        f"{k} {base64.b64encode(v.encode()).decode()}"
        for k, v in {"photo_id": str(uuid.uuid4()), "sha256": sha256_of(path)}.items()
    )
    start = time.perf_counter()
    created = requests.post(server.endpoint, headers={**auth, "Upload-Length": str(size), "Upload-Metadata": meta})
    created.raise_for_status()
    with open(path, "rb") as fh:
        response = requests.patch(
            f"http://127.0.0.1:{server.port}{created.headers['Location']}",
            data=fh,
            headers={**auth, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"},
        )
    elapsed = time.perf_counter() - start
    done.set()
    sampler.join()
    assert response.status_code == 204, response.text
    return before, peak["kb"], size / MB / elapsed


def rehash_cost(path: Path) -> float:
    """Milliseconds to hash a finished photo again (SHA-256 + SM3) when no running digest is cached."""
    from sync.uploads import hash_file

    start = time.perf_counter()
    hash_file(path, path.stat().st_size)
    return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=200, help="bytes per run (1 client: one file; 8 clients: 8 files)")
    parser.add_argument("--chunk-mb", type=int, default=8, help="tuspy chunk size")
    parser.add_argument("--big-mb", type=int, default=500, help="size of the RSS run (0 skips it)")
    args = parser.parse_args()
    chunk = args.chunk_mb * MB
    scratch = Path(tempfile.mkdtemp(prefix="dub-", dir="/tmp"))  # short: unix socket paths are limited
    try:
        inputs = scratch / "in"
        inputs.mkdir()
        one = [make_file(inputs, args.mb * MB)]
        eight = [make_file(inputs, args.mb * MB // 8) for _ in range(8)]
        photo = make_file(inputs, 15 * MB)

        print(f"upload bench: {args.mb} MB per run, tuspy chunks of {args.chunk_mb} MB, {os.cpu_count()} cores")
        limit = machine_limit(one[0], scratch, with_sm3=False)
        limit_sm3 = machine_limit(one[0], scratch, with_sm3=True)
        print(f"  machine limit, SHA-256 + write + fsync, no HTTP:       {limit:8.1f} MB/s")
        print(f"  machine limit, SHA-256 + SM3 + write + fsync, no HTTP: {limit_sm3:8.1f} MB/s")

        ours = OurServer(scratch / "ours")
        try:
            ours_one = throughput(ours, one, chunk)
            ours_eight = throughput(ours, eight, chunk)
            print(
                f"  ours (gunicorn, 2 workers), 1 client:    {ours_one:8.1f} MB/s  "
                f"({ours_one / limit_sm3:.2f} of the SHA-256+SM3 limit)"
            )
            print(
                f"  ours (gunicorn, 2 workers), 8 clients:   {ours_eight:8.1f} MB/s  "
                f"({ours_eight / limit_sm3:.2f} of the SHA-256+SM3 limit)"
            )
            if args.big_mb:
                for f in one + eight:
                    f.unlink()
                big = make_file(inputs, args.big_mb * MB)
                before, peak, rate = peak_rss_during_big_upload(ours, big)
                big.unlink()
                print(
                    f"  ours, one {args.big_mb} MB PATCH: {rate:.1f} MB/s; worker RSS {before / 1024:.1f} MB "
                    f"before, peak {peak / 1024:.1f} MB (+{(peak - before) / 1024:.1f} MB)"
                )
                one = [make_file(inputs, args.mb * MB)]
                eight = [make_file(inputs, args.mb * MB // 8) for _ in range(8)]
        finally:
            ours.stop()

        if shutil.which("node") and (ROOT / "tests/js/node_modules/@tus/server").is_dir():
            node = NodeServer(scratch / "node-files")
            try:
                node_one = throughput(node, one, chunk)
                node_eight = throughput(node, eight, chunk)
            finally:
                node.stop()
            print(
                f"  @tus/server + @tus/file-store, 1 client:  {node_one:8.1f} MB/s  "
                f"(ours/node {ours_one / node_one:.2f})"
            )
            print(
                f"  @tus/server + @tus/file-store, 8 clients: {node_eight:8.1f} MB/s  "
                f"(ours/node {ours_eight / node_eight:.2f})"
            )
        else:
            print("  @tus/server: skipped (needs node and `npm ci` in tests/js)")
        print(f"  hashing a finished 15 MB photo again (no cached digest): {rehash_cost(photo):.1f} ms")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
