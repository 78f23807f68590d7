"""The evidence log at 10,000,000 leaves: append, proofs and checkpoint, against today's O(n) computation.

    .venv/bin/python bench/log_bench.py [--size 10000000] [--naive-sizes 10000,100000,1000000]
                                        [--repeat 15] [--database-url URL] [--workdir DIR] [--keep]

Builds the log by bulk-inserting leaves and the complete subtrees they form (the same node
arithmetic appends use, :mod:`verifier.tree_nodes`) into a migrated database made by the product's
app factory (a SQLite file by default, PostgreSQL with ``--database-url``), then times, as medians
of repeated runs, in-process through ``services.translog``:

- at the full size: append (one event, one transaction), inclusion proof, consistency proof and
  checkpoint (signing included, no TSA);
- at each ``--naive-sizes`` size: the same proofs and root computed the stored-node way and the
  previous way (every leaf hash read, the RFC 6962 recursion over them), interleaved, with ratios.

Prints JSON; nothing here is a pass/fail threshold.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flask_migrate import upgrade  # noqa: E402

from core import merkle  # noqa: E402
from models.database import db  # noqa: E402
from server import create_app  # noqa: E402
from services import stamping_env, translog  # noqa: E402
from tests.helpers.log_tree import bulk_log, leaf_hashes  # noqa: E402

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)


def ms(call: Callable[[], object]) -> float:
    """Milliseconds one call takes (garbage left by the previous call collected first, outside the timing)."""
    gc.collect()
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def median(values: list[float]) -> float:
    """Median rounded for printing."""
    return round(statistics.median(values), 3)


def naive_inclusion(session, index: int, size: int) -> dict:
    """Today's O(n) inclusion proof: every leaf hash read, root and path recomputed from them."""

    hashes = leaf_hashes(session, size)
    return {"root": merkle.root_from_leaf_hashes(hashes), "path": merkle.inclusion_path(hashes, index)}


def naive_consistency(session, old: int, size: int) -> dict:
    """Today's O(n) consistency proof."""

    hashes = leaf_hashes(session, size)
    return {
        "old": merkle.root_from_leaf_hashes(hashes[:old]),
        "new": merkle.root_from_leaf_hashes(hashes),
        "path": merkle.consistency_path(hashes, old),
    }


def naive_root(session, size: int) -> bytes:
    """Today's O(n) checkpoint root."""

    return merkle.root_from_leaf_hashes(leaf_hashes(session, size))


def at_full_size(app, size: int, repeat: int, rng: random.Random) -> dict:
    """Medians of append, proofs and checkpoint on the whole log (it grows by the appends)."""

    env = stamping_env.env_for(app)
    env.signer.private_key()  # the key is made once, outside the timings
    times: dict[str, list[float]] = {"append": [], "inclusion_proof": [], "consistency_proof": [], "checkpoint": []}
    for i in range(repeat):

        def append(i=i):
            translog.append_event(db.session, "approved", f"bench-{i}", {"n": i}, NOW)
            db.session.commit()

        times["append"].append(ms(append))
        current = translog.tree_size(db.session)
        index, old = rng.randrange(current), rng.randrange(1, current)
        times["inclusion_proof"].append(ms(lambda: translog.inclusion_proof(db.session, index, current)))
        times["consistency_proof"].append(ms(lambda: translog.consistency_proof(db.session, old, current)))

        def checkpoint():
            translog.make_checkpoint(db.session, env.signer, NOW)
            db.session.commit()

        times["checkpoint"].append(ms(checkpoint))
        db.session.expunge_all()
    return {name: median(values) for name, values in times.items()}


def against_naive(size: int, repeat: int, rng: random.Random) -> dict:
    """Stored-node and previous computations at one size, interleaved; medians and ratios."""

    pairs = {
        "inclusion_proof": (
            lambda i, o: translog.inclusion_proof(db.session, i, size),
            lambda i, o: naive_inclusion(db.session, i, size),
        ),
        "consistency_proof": (
            lambda i, o: translog.consistency_proof(db.session, o, size),
            lambda i, o: naive_consistency(db.session, o, size),
        ),
        "checkpoint_root": (
            lambda i, o: translog.root_hash(db.session, size),
            lambda i, o: naive_root(db.session, size),
        ),
    }
    result: dict[str, dict] = {}
    for name, (stored, naive) in pairs.items():
        timings: dict[str, list[float]] = {"stored_nodes_ms": [], "naive_ms": []}
        for _ in range(repeat):
            index, old = rng.randrange(size), rng.randrange(1, size)
            timings["stored_nodes_ms"].append(ms(lambda: stored(index, old)))
            timings["naive_ms"].append(ms(lambda: naive(index, old)))
            db.session.expunge_all()
        medians = {key: median(values) for key, values in timings.items()}
        medians["ratio"] = round(medians["naive_ms"] / max(medians["stored_nodes_ms"], 1e-6), 1)
        result[name] = medians
    return result


def main(argv: list[str] | None = None) -> dict:
    """Build the log, time it, print and return the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=10_000_000)
    parser.add_argument("--naive-sizes", default="10000,100000,1000000")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--naive-repeat", type=int, default=5)
    parser.add_argument("--database-url", help="PostgreSQL URL of an empty database (default: a SQLite file)")
    parser.add_argument(
        "--workdir",
        help="where the SQLite file and keys go (default: a temporary directory); a log already there is reused",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)

    work = Path(args.workdir or tempfile.mkdtemp(prefix="log-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    url = args.database_url or f"sqlite:///{work / 'log.sqlite3'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "DANGAN_DATA_DIR": str(work), "REDIS_URL": "redis://unused"})
    rng = random.Random(15)
    report: dict = {"size": args.size, "database": url.split(":", 1)[0], "repeat": args.repeat}
    try:
        with app.app_context():
            upgrade()
            started = time.perf_counter()

            def progress(done: int) -> None:
                if not args.quiet and done % 500_000 < 20_000:
                    print(f"built {done} leaves in {time.perf_counter() - started:.0f} s", file=sys.stderr)

            existing = translog.tree_size(db.session)
            if existing and existing < args.size:
                raise SystemExit(f"the log in {url} has {existing} leaves, fewer than --size")
            if existing:  # a kept work directory: time the log it holds
                report["reused_leaves"] = existing
            else:
                with db.engine.connect() as conn:
                    bulk_log(conn, args.size, progress=progress)
                report["build_s"] = round(time.perf_counter() - started, 1)
            report["at_size"] = at_full_size(app, args.size, args.repeat, rng)
            sizes = [int(s) for s in args.naive_sizes.split(",") if s and int(s) <= args.size]
            report["against_previous"] = {str(s): against_naive(s, args.naive_repeat, rng) for s in sizes}
            db.session.remove()
            db.engine.dispose()
    finally:
        if not args.keep and not args.workdir:
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
