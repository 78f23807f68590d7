"""The soak run: N simulated tablets push forms and upload photos concurrently against a live stack
for a bounded time; afterwards the books are checked.

Used by ``tests/soak/test_soak.py`` (short, in CI) and ``bench/soak.py`` (long, by hand).
"""

from __future__ import annotations

import os
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import sqlalchemy as sa

from clients.device_client import DeviceClient, HttpTransport, PhotoFile, TusPhotoUploader
from tests.helpers.device import sample_data
from tests.helpers.images import make_jpeg
from tests.helpers.stack import LiveStack, audit_photos, wait_until

KINDS = (
    ("usage_inspection", 2, [("meter", "meter")]),
    ("site_survey", 1, [("site", "scene")]),
    ("defect_notice", 1, [("defect", "scene"), ("customer_signature", "document")]),
)


@dataclass
class SoakFigures:
    """What a soak run did and found; every error list must be empty."""

    devices: int
    seconds: float
    captures: int = 0
    photos: int = 0
    bytes: int = 0
    syncs: int = 0
    stamped: int = 0
    drain_seconds: float = 0.0
    client_errors: list = field(default_factory=list)
    server_errors: list = field(default_factory=list)
    missing_captures: list = field(default_factory=list)
    unexpected_captures: list = field(default_factory=list)
    not_sent: int = 0
    bad_photos: list = field(default_factory=list)
    not_stamped: dict = field(default_factory=dict)
    stamped_twice: list = field(default_factory=list)

    def errors(self) -> int:
        """Total of everything that went wrong (0 for a clean run)."""
        return (
            len(self.client_errors)
            + len(self.server_errors)
            + len(self.missing_captures)
            + len(self.unexpected_captures)
            + self.not_sent
            + len(self.bad_photos)
            + sum(self.not_stamped.values())
            + len(self.stamped_twice)
        )

    def as_dict(self) -> dict:
        """The figures as JSON-ready data, with the error total."""
        return {**asdict(self), "errors": self.errors()}


def _photo(directory: Path, rng: random.Random, slot: str, category: str, extra_bytes: tuple[int, int]) -> PhotoFile:
    # a real (small) JPEG followed by filler: readers stop at the end marker, the bytes still count
    data = make_jpeg(seed=rng.randrange(1 << 30), width=96, height=72) + os.urandom(rng.randint(*extra_bytes))
    path = directory / f"{rng.getrandbits(64):016x}.jpg"
    path.write_bytes(data)
    return PhotoFile(str(path), slot, category)


def _tablet_loop(
    stack: LiveStack,
    tablet: dict,
    index: int,
    workdir: Path,
    deadline: float,
    think: float,
    extra_bytes: tuple[int, int],
    figures: SoakFigures,
    lock: threading.Lock,
) -> DeviceClient:
    rng = random.Random(index)
    directory = workdir / f"tablet-{index}"
    directory.mkdir(parents=True, exist_ok=True)
    token = tablet["token"]
    client = DeviceClient(
        str(directory / "tablet.sqlite3"),
        HttpTransport(stack.url, token, timeout=60),
        uploader=TusPhotoUploader(stack.url, token, chunk_size=256 * 1024, retries=3),
    )
    while time.monotonic() < deadline:
        kind, version, slots = KINDS[rng.randrange(len(KINDS))]
        photos = [_photo(directory, rng, slot, category, extra_bytes) for slot, category in slots]
        client.capture(
            kind, rng.choice(tablet["account_nos"]), sample_data(kind, version), photos, schema_version=version
        )
        try:
            client.sync(attempts=6, base_delay=0.5)
            with lock:
                figures.syncs += 1
        except Exception as exc:  # counted, and the outbox keeps the capture for the final sync
            with lock:
                figures.client_errors.append(f"tablet {index}: {type(exc).__name__}: {exc}"[:300])
        time.sleep(rng.uniform(0, 2 * think))
    return client


def run(
    stack: LiveStack,
    tablets: list[dict],
    workdir: Path,
    seconds: float,
    think: float = 1.0,
    extra_bytes: tuple[int, int] = (20_000, 200_000),
    drain_timeout: float = 300,
) -> SoakFigures:
    """Drive the tablets for ``seconds``, let the workers drain, then check every capture and photo."""
    figures = SoakFigures(devices=len(tablets), seconds=seconds)
    lock = threading.Lock()
    started = time.monotonic()
    deadline = started + seconds
    with ThreadPoolExecutor(max_workers=len(tablets)) as pool:
        clients = list(
            pool.map(
                lambda pair: _tablet_loop(
                    stack, pair[1], pair[0], workdir, deadline, think, extra_bytes, figures, lock
                ),
                enumerate(tablets),
            )
        )
    for client in clients:  # a last sync for anything a failed attempt left behind
        try:
            client.sync(attempts=3, base_delay=1.0)
        except Exception as exc:
            figures.client_errors.append(f"final sync: {type(exc).__name__}: {exc}"[:300])
    figures.seconds = round(time.monotonic() - started, 1)
    expected = set()
    for client in clients:
        expected.update(r[0] for r in client.db.execute("SELECT capture_id FROM captures"))
        figures.not_sent += len(client.pending()) + len(client.rejected()) + len(client.photos_to_upload())
        client.close()
    _check(stack, expected, figures, drain_timeout)
    return figures


def _check(stack: LiveStack, expected: set[str], figures: SoakFigures, drain_timeout: float) -> None:
    engine = sa.create_engine(stack.database_url, poolclass=sa.NullPool)
    try:
        with engine.connect() as conn:
            stored = conn.execute(sa.text("SELECT id FROM captures")).scalars().all()
            photo_total = conn.execute(sa.text("SELECT count(*) FROM photos")).scalar()
        figures.captures = len(stored)
        figures.missing_captures = sorted(expected - set(stored))[:20]
        figures.unexpected_captures = sorted(set(stored) - expected)[:20]
        drain_started = time.monotonic()

        def ready() -> bool:
            with engine.connect() as conn:
                done = conn.execute(sa.text("SELECT count(*) FROM photos WHERE state = 'ready'")).scalar()
            return done == photo_total

        try:
            wait_until(ready, drain_timeout, "every photo to be stamped", interval=1.0)
        except AssertionError:
            pass  # reported below as not stamped
        figures.drain_seconds = round(time.monotonic() - drain_started, 1)
        audit = audit_photos(engine, stack.read_blob)
        figures.photos, figures.bytes, figures.bad_photos = audit["photos"], audit["bytes"], audit["mismatched"]
        figures.not_stamped = {s: n for s, n in audit["states"].items() if s != "ready"}
        with engine.connect() as conn:
            leaves = conn.execute(
                sa.text("SELECT subject_id, count(*) FROM log_leaves WHERE event_type = 'stamped' GROUP BY subject_id")
            ).all()
        figures.stamped = len(leaves)
        figures.stamped_twice = [s for s, n in leaves if n != 1][:20]
        figures.server_errors = [f"{status} {method} {path}" for status, method, path in stack.server_errors()][:20]
    finally:
        engine.dispose()
