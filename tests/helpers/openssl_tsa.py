"""An independent RFC 3161 TSA for tests, as its own process: ``openssl ts -reply`` behind HTTP, with its own root.

    python -m tests.helpers.openssl_tsa DIRECTORY "Example TSA A"

creates the TSA's root, signing key and certificate in DIRECTORY on first start (names unrelated to
Dangan's built-in TSA), prints ``port <n>`` once it listens on 127.0.0.1, and answers
``application/timestamp-query`` POSTs until it is terminated.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from ports.tsa import LOCAL_POLICY_OID, create_local_authority


class TsaProcess:
    """A TSA started by :func:`start`; ``root`` is its root certificate, ``url`` where it answers."""

    def __init__(self, process: subprocess.Popen, directory: Path, port: int):
        self.process, self.directory, self.port = process, directory, port
        self.url = f"http://127.0.0.1:{port}/tsa"
        self.root = directory / "ca.pem"

    def stop(self) -> None:
        """Terminate the TSA process."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def start(directory: Path, name: str) -> TsaProcess:
    """Start a TSA process in ``directory``; return once it listens."""
    root = Path(__file__).resolve().parents[2]
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.helpers.openssl_tsa", str(directory), name],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = process.stdout.readline()
    if not line.startswith("port "):
        process.kill()
        raise RuntimeError(f"the TSA did not start: {line}{process.stderr.read()[-2000:]}")
    return TsaProcess(process, directory, int(line.split()[1]))


def _handler(directory: Path):
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server naming
            body = self.rfile.read(int(self.headers["Content-Length"]))
            with tempfile.TemporaryDirectory() as work, lock:  # the serial file is read-modify-write
                Path(work, "q.tsq").write_bytes(body)
                done = subprocess.run(
                    [
                        "openssl",
                        "ts",
                        "-reply",
                        "-config",
                        str(directory / "openssl.cnf"),
                        "-queryfile",
                        str(Path(work, "q.tsq")),
                        "-out",
                        str(Path(work, "r.tsr")),
                    ],
                    capture_output=True,
                )
                answer = Path(work, "r.tsr").read_bytes() if done.returncode == 0 else b""
            self.send_response(200 if answer else 500)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    return Handler


def main(directory: str, name: str) -> None:
    """Create the authority if needed and serve until terminated."""
    path = Path(directory)
    if not (path / "openssl.cnf").exists():
        create_local_authority(path, organisation="Example Trust Services", common_name=name)
        # the config names the built-in TSA's policy; an independent TSA uses its own (a UUID-derived OID)
        config = (path / "openssl.cnf").read_text()
        (path / "openssl.cnf").write_text(
            config.replace(f"default_policy = {LOCAL_POLICY_OID}", f"default_policy = 2.25.{uuid.uuid4().int}")
        )
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(path))
    print(f"port {server.server_port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main(*sys.argv[1:3])
