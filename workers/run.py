"""``python -m workers.run``: the RQ worker process that ``make run`` starts next to the web server.

Besides working the queues it runs the dispatcher (:func:`services.dispatch.tick`) in a
background thread every ``DISPATCH_INTERVAL_SECONDS``: outbox rows reach RQ even when Redis
was down at intake time, and runs of a killed worker are resumed.
"""

from __future__ import annotations

import logging
import signal
import threading

import redis
from rq import SimpleWorker

from ports.job_queue import QUEUE_NAMES, queue, worker_heartbeat
from ports.redis_connection import blocking_client
from services.dispatch import tick
from services.stamping_env import env_for
from workers.context import get_app

log = logging.getLogger("dangan.worker")
# a worker that missed this many heartbeats is reported down by /api/v1/health
HEARTBEAT_MISSES = 5
# RQ's registration lifetime; its BLPOP then blocks WORKER_TTL_S - 15 s, on a connection that waits longer
WORKER_TTL_S = 60
# how long the worker waits before it tries a lost Redis again (doubling up to the maximum)
REDIS_RETRY_FIRST_S = 0.5
REDIS_RETRY_MAX_S = 5.0


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


class _Worker(SimpleWorker):
    """RQ's in-process worker that also records a stop signal, so a shutdown is told apart from a lost Redis."""

    def __init__(self, *args, stopping: threading.Event, **kwargs):
        super().__init__(*args, **kwargs)
        self.stopping = stopping

    def request_stop(self, signum, frame):
        """Remember the stop request, then let RQ finish the current job and stop."""
        self.stopping.set()
        super().request_stop(signum, frame)


def _stop_on_signals(stopping: threading.Event) -> None:
    # between two RQ work loops RQ's own handlers would talk to the Redis that is gone
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())


def main(burst: bool = False) -> None:
    """Work the queues in priority order until stopped (SIGINT/SIGTERM end it after the current job).

    A Redis that is down at start or goes away mid-run does not end the process: RQ's work loop
    gives up on such errors, so the loop is started again once Redis answers (the outbox keeps the
    work meanwhile).
    """
    app = get_app()
    stop = threading.Event()
    stopping = threading.Event()
    dispatcher = threading.Thread(target=dispatcher_loop, args=(app, stop), name="dispatcher", daemon=True)
    dispatcher.start()
    delay = REDIS_RETRY_FIRST_S
    try:
        with app.app_context():
            # not the app's client: its 5 s read timeout would end every idle BLPOP as a Redis timeout
            connection = blocking_client(app.extensions["dangan.redis"].url(app), WORKER_TTL_S)
            while not stopping.is_set():
                _stop_on_signals(stopping)
                try:
                    connection.ping()
                    # SimpleWorker runs jobs in this process: one database pool, no fork-shared
                    # connections; job timeouts still apply (SIGALRM death penalty).
                    worker = _Worker(
                        [queue(name, connection) for name in QUEUE_NAMES],
                        connection=connection,
                        stopping=stopping,
                        worker_ttl=WORKER_TTL_S,
                    )
                    log.info("worker listening on %s", ", ".join(QUEUE_NAMES))
                    worker.work(burst=burst, with_scheduler=False)
                    delay = REDIS_RETRY_FIRST_S
                except (redis.ConnectionError, redis.TimeoutError) as exc:
                    log.warning("Redis unavailable (%s); working again once it answers", exc)
                if burst:
                    break
                _stop_on_signals(stopping)
                stopping.wait(delay)
                delay = min(delay * 2, REDIS_RETRY_MAX_S)
    finally:
        stop.set()
        dispatcher.join(timeout=10)


if __name__ == "__main__":
    import sys

    main(burst="--burst" in sys.argv[1:])  # --burst: drain the queues, then exit (benchmarks)
