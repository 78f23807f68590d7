"""Dangan as a cluster: tablets through nginx onto two web nodes, two workers, SeaweedFS, shared
keys; a web node and a worker killed with kill -9 and the object store restarted mid-run.

The short version of the cluster soak (``make cluster CLUSTER_ARGS=--soak``, docs/reliability.md):
every capture arrives exactly once, uploads continue on whichever node a request lands on, every
photo is byte-identical in the bucket and stamped once, no file stays on a node's disk, and
``log verify`` is clean.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from ports import embedded_redis
from tests.helpers.cluster import ClusterStack, soak_with_faults
from tests.helpers.nginx import require_nginx
from tests.helpers.seaweedfs import SeaweedServer
from tests.helpers.stack import seed

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]


@pytest.fixture
def work():
    """A short directory (unix socket paths of the embedded Redis are limited to ~100 bytes)."""
    path = Path(tempfile.mkdtemp(prefix="dgcl-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_a_cluster_loses_nothing_when_a_web_node_a_worker_and_the_object_store_fail(database_factory, work):
    require_nginx()
    redis_proc = embedded_redis.start(work / "redis")
    redis_url = embedded_redis.url_for(work / "redis")
    database_url = database_factory.create()
    object_store = SeaweedServer(work / "s3")
    stack = None
    try:
        object_store.start()
        tablets = seed(database_url, redis_url, work / "seed", tablets=4)
        stack = ClusterStack(database_url, redis_url, work, object_store, web_processes=1)
        stack.start()
        report = soak_with_faults(stack, tablets, work, seconds=30, think=0.5)

        assert report["errors"] == 0, report
        assert report["captures"] > 0 and report["missing_captures"] == [] and report["not_sent"] == 0
        assert report["stamped"] == report["photos"] and report["stamped_twice"] == []
        assert report["uploads_served_by_several_nodes"] > 0  # tus continued on another node
        assert [fault["fault"] for fault in report["faults"]] == [
            "kill -9 web-1",
            "web-1 restarted",
            "kill -9 worker-1",
            "worker-1 restarted",
            "object store restarted",
        ]
    finally:
        if stack is not None:
            stack.stop()
        object_store.stop()
        database_factory.drop(database_url)
        redis_proc.terminate()
        redis_proc.wait(timeout=10)
