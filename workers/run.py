"""``python -m workers.run``: the RQ worker process that ``make run`` starts next to the web server.

Besides working the queues it runs the dispatcher (:func:`services.dispatch.tick`) in a
background thread every ``DISPATCH_INTERVAL_SECONDS``: outbox rows reach RQ even when Redis
was down at intake time, and runs of a killed worker are resumed.
"""

from __future__ import annotations

import logging
import threading

import redis
from rq import SimpleWorker

from ports.job_queue import QUEUE_NAMES, queue, worker_heartbeat
from services.dispatch import tick
from services.stamping_env import env_for
from workers.context import get_app

log = logging.getLogger("dangan.worker")
# a worker that missed this many heartbeats is reported down by /api/v1/health
HEARTBEAT_MISSES = 5


def dispatcher_loop(app, stop: threading.Event) -> None:
    """Beat the worker's heartbeat and call the dispatcher tick until ``stop`` is set; errors are logged.

    The tick also keeps the periodic jobs queued (:mod:`services.schedules`), so no scheduler
    process of RQ's is needed.
    """
    interval = env_for(app).settings.dispatch_interval_s
    connection = app.extensions["dangan.redis"].client(app)
    heartbeat_ttl = max(10.0, HEARTBEAT_MISSES * interval)
    # the first round runs at start: it resumes the runs a killed worker left behind
    while not stop.is_set():
        for name, step in (
            ("heartbeat", lambda: worker_heartbeat(connection, heartbeat_ttl)),
            ("dispatcher", lambda: tick(app)),
        ):
            try:
                step()
            except (redis.ConnectionError, redis.TimeoutError) as exc:  # Redis away: it comes back
                log.warning("%s tick skipped: Redis unavailable (%s)", name, exc)
            except Exception:  # never let housekeeping kill the worker
                log.exception("%s tick failed", name)
        stop.wait(interval)


def main(burst: bool = False) -> None:
    """Work the queues in priority order until stopped (SIGINT/SIGTERM end it after the current job)."""
    app = get_app()
    stop = threading.Event()
    dispatcher = threading.Thread(target=dispatcher_loop, args=(app, stop), name="dispatcher", daemon=True)
    dispatcher.start()
    try:
        with app.app_context():
            connection = app.extensions["dangan.redis"].client(app)
            # SimpleWorker runs jobs in this process: one database pool, no fork-shared connections;
            # job timeouts still apply (SIGALRM death penalty).
            worker = SimpleWorker([queue(name, connection) for name in QUEUE_NAMES], connection=connection)
            log.info("worker listening on %s", ", ".join(QUEUE_NAMES))
            worker.work(burst=burst, with_scheduler=False)
    finally:
        stop.set()
        dispatcher.join(timeout=10)


if __name__ == "__main__":
    import sys

    main(burst="--burst" in sys.argv[1:])  # --burst: drain the queues, then exit (benchmarks)
