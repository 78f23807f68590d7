"""``make run``'s supervision of its children: restart with backoff, reset after a stable run."""

from __future__ import annotations

import subprocess
import sys

from server import runner


def _short_lived() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "pass"])


def _long_lived() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])


def test_backoff_doubles_from_half_a_second_up_to_thirty_seconds():
    assert [runner.backoff(n) for n in range(1, 9)] == [0.5, 1, 2, 4, 8, 16, 30, 30]


def test_a_child_that_exits_is_started_again_after_its_backoff():
    child = runner.Child("worker", _short_lived)
    child.supervise(now=100.0)
    first = child.proc
    first.wait(timeout=30)
    child.supervise(now=101.0)  # notices the exit
    assert child.proc is None and child.failures == 1 and child.next_start == 101.5
    child.supervise(now=101.2)
    assert child.proc is None  # still backing off
    child.supervise(now=101.5)
    assert child.proc is not None and child.proc.pid != first.pid
    child.proc.wait(timeout=30)
    child.supervise(now=102.0)
    assert child.failures == 2 and child.next_start == 103.0


def test_a_child_that_ran_for_a_minute_starts_over_with_the_shortest_backoff():
    child = runner.Child("web", _long_lived, failures=5)
    child.supervise(now=0.0)
    try:
        child.supervise(now=runner.STABLE_AFTER_S + 1)
        assert child.failures == 0
    finally:
        child.proc.kill()
        child.proc.wait(timeout=30)


def test_a_child_that_cannot_start_is_retried_with_backoff():
    def broken() -> subprocess.Popen:
        raise RuntimeError("embedded Redis did not start")

    child = runner.Child("redis", broken)
    child.supervise(now=10.0)
    assert child.proc is None and child.failures == 1 and child.next_start == 10.5


def test_make_run_starts_gunicorn_with_the_product_serving_model():
    assert runner.web_command()[1:] == ["-m", "gunicorn", "--config", "python:server.web_serving", "wsgi:app"]
