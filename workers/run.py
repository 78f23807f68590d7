"""``python -m workers.run``: the RQ worker process that ``make run`` starts next to the web server."""
from __future__ import annotations

import logging

from rq import SimpleWorker

from workers.context import get_app
from workers.queues import QUEUE_NAMES, queue

log = logging.getLogger("dangan.worker")


def main(burst: bool = False) -> None:
    """Work the queues in priority order until stopped (SIGINT/SIGTERM end it after the current job)."""
    app = get_app()
    with app.app_context():
        connection = app.extensions["dangan.redis"].client(app)
        # SimpleWorker runs jobs in this process: one database pool, no fork-shared connections;
        # job timeouts still apply (SIGALRM death penalty).
        worker = SimpleWorker([queue(name, connection) for name in QUEUE_NAMES], connection=connection)
        log.info("worker listening on %s", ", ".join(QUEUE_NAMES))
        worker.work(burst=burst, with_scheduler=True)


if __name__ == "__main__":
    main()
