"""``python -m workers.run``: the RQ worker process that ``make run`` starts next to the web server.

Besides working the queues it runs the dispatcher (:func:`workers.dispatch.tick`) in a
background thread every ``DISPATCH_INTERVAL_SECONDS``: outbox rows reach RQ even when Redis
was down at intake time, and runs of a killed worker are resumed.
"""
from __future__ import annotations

import logging
import threading

from rq import SimpleWorker

from workers.context import env_for, get_app
from workers.queues import QUEUE_NAMES, queue

log = logging.getLogger("dangan.worker")


def dispatcher_loop(app, stop: threading.Event) -> None:
    """Call the dispatcher tick until ``stop`` is set; errors are logged and the loop goes on."""
    from workers.dispatch import tick

    interval = env_for(app).settings.dispatch_interval_s
    while not stop.is_set():
        try:
            tick(app)
        except Exception:  # never let housekeeping kill the worker
            log.exception("dispatcher tick failed")
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
            worker.work(burst=burst, with_scheduler=True)
    finally:
        stop.set()
        dispatcher.join(timeout=10)


if __name__ == "__main__":
    import sys

    main(burst="--burst" in sys.argv[1:])  # --burst: drain the queues, then exit (benchmarks)
