"""tus upload throughput against @tus/server, the machine's own limit, and memory, in one run.

What it compares, interleaved and repeated (D = Dangan, N = Node, in that order each round):

* Dangan started the way ``make run`` starts it (``python -m server.runner``: embedded Redis,
  migrations, gunicorn with ``server.web_serving`` — gthread, 2 processes x 64 threads — and
  the RQ worker), on SQLite in a scratch data dir;
* the reference Node server, @tus/server + @tus/file-store from ``tests/js`` (no hashing, no
  fsync), started once;
* the same client for both: tuspy with 8 MiB chunks, 1 x 200 MB and 8 x 25 MB concurrent
  (one tablet per client: Dangan limits parallel PATCHes per tablet);
* the machine's own limit in the same round: SHA-256 + write + fsync of the same bytes, 1 MiB
  pieces, no HTTP;
* the two ways of knowing a resumed upload's SHA-256 when its chunks landed on different
  processes: re-hashing the staged file at the end (what Dangan does) against keeping the
  running state (its streaming cost is already in the upload; persisting it would add a
  serialised state per PATCH, see docs/performance.md);
* with ``--big``: the web processes' RSS growth during one 1 GB upload (a single PATCH).

Prints one JSON document: raw figures, medians and ratios.

    .venv/bin/python bench/upload_bench.py [--rounds 3] [--big] [--quick]
        [--database-url postgresql+psycopg://…/empty_db]   # PostgreSQL instead of SQLite
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import shutil
import signal
import statistics
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

MB = 1000 * 1000  # sizes and rates in decimal megabytes, as the issue states them
MIB = 1024 * 1024


def make_file(directory: Path, size: int) -> Path:
    """A file of random bytes, written in 8 MiB pieces (never all in memory)."""
    path = directory / f"photo-{uuid.uuid4().hex[:8]}.bin"
    with open(path, "wb") as fh:
        left = size
        while left:
            piece = os.urandom(min(8 * MIB, left))
            fh.write(piece)
            left -= len(piece)
    return path


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while data := fh.read(MIB):
            digest.update(data)
    return digest.hexdigest()


def machine_limit(path: Path, target_dir: Path) -> float:
    """MB/s of reading the file, hashing it (SHA-256) and writing + fsyncing a copy."""
    size = path.stat().st_size
    out = target_dir / f"copy-{uuid.uuid4().hex[:8]}"
    start = time.perf_counter()
    sha = hashlib.sha256()
    with open(path, "rb") as src, open(out, "wb", buffering=0) as dst:
        while data := src.read(MIB):
            sha.update(data)
            dst.write(data)
        os.fsync(dst.fileno())
    elapsed = time.perf_counter() - start
    out.unlink()
    return size / MB / elapsed


def rehash_ms(path: Path) -> float:
    """Milliseconds Dangan spends re-hashing a staged file at the end (no running state cached)."""
    from sync.uploads import hash_file  # why: the product's own function, imported after sys.path is set

    start = time.perf_counter()
    hash_file(path, path.stat().st_size)
    return (time.perf_counter() - start) * 1000


def streaming_hash_rates(path: Path) -> dict:
    """MB/s of SHA-256 over the file's bytes: OpenSSL (hashlib) and, if installed, a resumable one.

    Keeping a resumable state across PATCHes that land on different processes or nodes needs a
    SHA-256 whose state can be saved (``resumablesha256``, not a dependency: install it in another
    venv to include it); OpenSSL's state cannot be serialised.
    """
    rates = {}
    makers = {"openssl": hashlib.sha256}
    try:
        import pickle

        import resumablesha256  # type: ignore[import-not-found]  # why: optional, only measured

        makers["resumable_pickled_per_8mib"] = resumablesha256.sha256
    except ImportError:
        pickle = None  # type: ignore[assignment]
    for name, make in makers.items():
        start = time.perf_counter()
        digest = make()
        with open(path, "rb") as fh:
            while data := fh.read(8 * MIB):
                if name != "openssl" and pickle is not None:
                    digest = pickle.loads(pickle.dumps(digest))  # the state saved and loaded per PATCH
                digest.update(data)
        digest.hexdigest()
        rates[name] = round(path.stat().st_size / MB / (time.perf_counter() - start), 1)
    return rates


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


class Dangan:
    """``python -m server.runner`` in a scratch data dir (no demo data), with ``tablets`` device tokens."""

    def __init__(self, data_dir: Path, tablets: int, database_url: str | None = None):
        self.data_dir, self.database_url = data_dir, database_url
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "TSA_URL", "SECRET_KEY")}
        env.update(
            {
                "DANGAN_DATA_DIR": str(data_dir),
                "PORT": str(self.port),
                "DANGAN_DEMO": "0",  # logs and access log as make run has them (into dangan.log)
            }
        )
        if database_url:  # an empty PostgreSQL database instead of the default SQLite
            env["DATABASE_URL"] = database_url
        self.log = open(data_dir.parent / "dangan.log", "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "server.runner"],
            cwd=ROOT,
            env=env,
            start_new_session=True,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        wait_for(f"http://127.0.0.1:{self.port}/api/v1/health", proc=self.proc, timeout=180)
        self.endpoint = f"http://127.0.0.1:{self.port}/api/v1/uploads"
        self.tokens = self._tablets(tablets)

    def _tablets(self, count: int) -> list[str]:
        from core.actor import CLI  # why: imported once the product's sys.path is set
        from models.database import db
        from ports import embedded_redis
        from server import create_app
        from services import accounts, devices

        # the configuration the runner gave its children: same database, Redis and secret key
        os.environ["DANGAN_DATA_DIR"] = str(self.data_dir)
        os.environ["REDIS_URL"] = embedded_redis.url_for(self.data_dir)
        os.environ.pop("DATABASE_URL", None)
        if self.database_url:
            os.environ["DATABASE_URL"] = self.database_url
        app = create_app()
        tokens = []
        with app.app_context():
            for n in range(count):
                accounts.create_user(db.session, CLI, f"bench-inspector-{n}", "inspector", "bench password 123")
                _, token = devices.register_device(db.session, CLI, f"bench-inspector-{n}")
                db.session.commit()
                tokens.append(token)
            db.session.remove()
            db.engine.dispose()
        return tokens

    def web_pids(self) -> list[int]:
        """The gunicorn worker processes (the master's children)."""
        for pid in _children(self.proc.pid):
            if "gunicorn" in _cmdline(pid):
                return _children(pid)
        return []

    def stop(self) -> None:
        """Ctrl-C, as a user stops ``make run``."""
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.log.close()


class Node:
    """@tus/server with @tus/file-store, as its documentation sets it up (``tests/js``)."""

    def __init__(self, directory: Path):
        directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.proc = subprocess.Popen(
            ["node", str(ROOT / "tests/js/tus_node_server.mjs"), str(self.port), str(directory)],
            cwd=ROOT / "tests/js",
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None and self.proc.stdout.readline().strip() == "listening"
        self.endpoint = f"http://127.0.0.1:{self.port}/files"
        self.tokens: list[str | None] = [None] * 64
        self.directory = directory

    def clear(self) -> None:
        """Delete what the previous round stored (the disk is shared with Dangan's)."""
        for entry in self.directory.iterdir():
            entry.unlink()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def node_available() -> bool:
    """Whether node and the @tus packages (``npm ci`` in tests/js) are installed."""
    return bool(shutil.which("node")) and (ROOT / "tests/js/node_modules/@tus/server").is_dir()


def upload(endpoint: str, token: str | None, path: Path, sha256: str, chunk: int) -> None:
    """One tuspy upload (the client an integrator would use)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    metadata = {
        "photo_id": str(uuid.uuid4()),
        "sha256": sha256,
        "filename": path.name,
        "filetype": "application/octet-stream",
    }
    client = tus_client.TusClient(endpoint, headers=headers)
    client.uploader(str(path), chunk_size=chunk, metadata=metadata).upload()


def throughput(server, files: list[tuple[Path, str]], chunk: int) -> float:
    """MB/s of uploading every file at once (one client, and one tablet, per file)."""
    total = sum(path.stat().st_size for path, _ in files)
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(files)) as pool:
        futures = [
            pool.submit(upload, server.endpoint, server.tokens[n], path, sha, chunk)
            for n, (path, sha) in enumerate(files)
        ]
        for future in futures:
            future.result()
    return total / MB / (time.perf_counter() - start)


def rss_kb(pid: int) -> int:
    """Resident set size of a process in KiB (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def big_upload_rss(server: Dangan, path: Path, sha256: str) -> dict:
    """One big file in a single streamed PATCH; the web processes' RSS (sum) before and at peak."""
    pids = server.web_pids()
    before = sum(rss_kb(pid) for pid in pids)
    peak = {"kb": before}
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak["kb"] = max(peak["kb"], sum(rss_kb(pid) for pid in pids))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample)
    sampler.start()
    size = path.stat().st_size
    auth = {"Authorization": f"Bearer {server.tokens[0]}", "Tus-Resumable": "1.0.0"}
    meta = ",".join(
        f"{k} {base64.b64encode(v.encode()).decode()}"
        for k, v in {"photo_id": str(uuid.uuid4()), "sha256": sha256}.items()
    )
    start = time.perf_counter()
    try:
        created = requests.post(
            server.endpoint, headers={**auth, "Upload-Length": str(size), "Upload-Metadata": meta}, timeout=60
        )
        created.raise_for_status()
        with open(path, "rb") as fh:
            response = requests.patch(
                f"http://127.0.0.1:{server.port}{created.headers['Location']}",
                data=fh,
                headers={**auth, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"},
                timeout=600,
            )
        elapsed = time.perf_counter() - start
    finally:
        done.set()
        sampler.join()
    assert response.status_code == 204, response.text
    return {
        "mb": size / MB,
        "mb_per_s": round(size / MB / elapsed, 1),
        "web_processes": len(pids),
        "rss_before_mb": round(before / 1024, 1),
        "rss_peak_mb": round(peak["kb"] / 1024, 1),
        "rss_growth_mb": round((peak["kb"] - before) / 1024, 1),
    }


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a and b else None


def main(argv: list[str] | None = None) -> dict:
    """Run the bench; print and return the JSON result."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (D, N each)")
    parser.add_argument("--mb", type=int, default=200, help="size of the single upload; 8 clients send mb/8 each")
    parser.add_argument("--chunk-mib", type=int, default=8, help="tuspy chunk size")
    parser.add_argument("--big", action="store_true", help="also measure RSS growth during a 1 GB upload")
    parser.add_argument("--big-mb", type=int, default=1000, help="size of the --big upload")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    parser.add_argument("--no-node", action="store_true", help="skip the Node reference")
    parser.add_argument("--database-url", help="an empty PostgreSQL database for Dangan (default: SQLite)")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.mb, args.chunk_mib, args.big_mb = min(args.rounds, 2), 8, 1, 16
    chunk = args.chunk_mib * MIB
    clients = 8
    scratch = Path(tempfile.mkdtemp(prefix="dub-", dir="/tmp"))  # short: unix socket paths are limited
    result: dict = {
        "bench": "upload",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": {"cores": os.cpu_count(), "loadavg_at_start": list(os.getloadavg())},
        "sizes": {"one_mb": args.mb, "eight_mb_each": args.mb / clients, "chunk_mib": args.chunk_mib},
        "rounds": args.rounds,
        "database": "postgresql" if args.database_url else "sqlite",
    }
    dangan = node = None
    try:
        inputs = scratch / "in"
        inputs.mkdir()
        dangan = Dangan(scratch / "dangan", tablets=clients, database_url=args.database_url)
        with_node = node_available() and not args.no_node
        node = Node(scratch / "node-files") if with_node else None
        runs: dict[str, list[float]] = {
            k: [] for k in ("dangan_1", "node_1", "dangan_8", "node_8", "limit", "rehash_ms", "loadavg")
        }
        for _ in range(args.rounds):
            # new photos every round, as tablets send them: a file Dangan already holds would be
            # answered from its write-once store (the staged copy dropped) instead of being stored
            for path in inputs.iterdir():
                path.unlink()
            one = [make_file(inputs, args.mb * MB)]
            eight = [make_file(inputs, args.mb * MB // clients) for _ in range(clients)]
            one_s = [(p, sha256_of(p)) for p in one]
            eight_s = [(p, sha256_of(p)) for p in eight]
            runs["limit"].append(round(machine_limit(one[0], scratch), 1))
            runs["dangan_1"].append(round(throughput(dangan, one_s, chunk), 1))
            if node is not None:
                runs["node_1"].append(round(throughput(node, one_s, chunk), 1))
                node.clear()
            runs["dangan_8"].append(round(throughput(dangan, eight_s, chunk), 1))
            if node is not None:
                runs["node_8"].append(round(throughput(node, eight_s, chunk), 1))
                node.clear()
            runs["rehash_ms"].append(round(rehash_ms(one[0]), 1))
            runs["loadavg"].append(round(os.getloadavg()[0], 2))
        medians = {k: _median(v) for k, v in runs.items()}
        result["runs"] = runs
        result["medians"] = medians
        result["ratios"] = {
            "dangan_vs_node_1": _ratio(medians["dangan_1"], medians["node_1"]),
            "dangan_vs_node_8": _ratio(medians["dangan_8"], medians["node_8"]),
            "dangan_vs_limit_1": _ratio(medians["dangan_1"], medians["limit"]),
            "dangan_vs_limit_8": _ratio(medians["dangan_8"], medians["limit"]),
        }
        upload_ms = args.mb / medians["dangan_1"] * 1000 if medians["dangan_1"] else None
        result["hash_state"] = {
            "rehash_at_end_ms": medians["rehash_ms"],
            "single_upload_ms": round(upload_ms, 1) if upload_ms else None,
            "rehash_share_of_upload": _ratio(medians["rehash_ms"], upload_ms),
            "streaming_sha256_mb_per_s": streaming_hash_rates(one[0]),
        }
        if node is None:
            result["node"] = "skipped" if args.no_node else "skipped (needs node and `npm ci` in tests/js)"
        if args.big:
            for path in list(inputs.iterdir()):
                path.unlink()
            big = make_file(inputs, args.big_mb * MB)
            result["big"] = big_upload_rss(dangan, big, sha256_of(big))
            big.unlink()
    finally:
        if node is not None:
            node.stop()
        if dangan is not None:
            dangan.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
