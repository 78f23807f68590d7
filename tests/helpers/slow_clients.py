"""Tablets on a weak link, over raw sockets: a tus PATCH whose body trickles in, and long request lines.

Used by ``tests/e2e/test_slow_clients.py``, ``tests/e2e/test_nginx_proxy.py`` and
``bench/slow_clients_bench.py``.
"""

from __future__ import annotations

import base64
import hashlib
import socket
import threading
import time
import uuid
from urllib.parse import urlsplit

import requests

TUS = {"Tus-Resumable": "1.0.0"}


def create_upload(base_url: str, token: str, data: bytes, photo_id: str | None = None) -> str:
    """Create a tus upload for ``data``; return its path (``/api/v1/uploads/<id>``)."""
    meta = {
        "photo_id": photo_id or str(uuid.uuid4()),
        "sha256": hashlib.sha256(data).hexdigest(),
        "filename": "meter.jpg",
        "filetype": "image/jpeg",
    }
    answer = requests.post(
        f"{base_url}/api/v1/uploads",
        timeout=30,
        headers={
            "Authorization": f"Bearer {token}",
            **TUS,
            "Upload-Length": str(len(data)),
            "Upload-Metadata": ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in meta.items()),
        },
    )
    assert answer.status_code == 201, answer.text
    return urlsplit(answer.headers["Location"]).path


def head_offset(base_url: str, token: str, path: str) -> int:
    """The stored Upload-Offset of an upload."""
    answer = requests.head(f"{base_url}{path}", timeout=30, headers={"Authorization": f"Bearer {token}", **TUS})
    assert answer.status_code == 200, answer.status_code
    return int(answer.headers["Upload-Offset"])


def _connect(base_url: str) -> socket.socket:
    parts = urlsplit(base_url)
    return socket.create_connection((parts.hostname, parts.port or 80), timeout=120)


def read_answer(sock: socket.socket) -> tuple[int, bytes]:
    """Read one HTTP answer (status and raw bytes) until the headers end and the body is in."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/") else 0
    return status, head + b"\r\n\r\n" + body


def raw_get(base_url: str, target: str, token: str | None = None) -> tuple[int, bytes]:
    """Send ``GET target`` as-is (any length) and return the status and the answer's body."""
    sock = _connect(base_url)
    try:
        auth = f"Authorization: Bearer {token}\r\n" if token else ""
        request = f"GET {target} HTTP/1.1\r\nHost: dangan\r\n{auth}Connection: close\r\n\r\n".encode()
        try:
            sock.sendall(request)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered early and closed; its answer is still in our buffer
        status, raw = read_answer(sock)
        return status, raw.partition(b"\r\n\r\n")[2]
    finally:
        sock.close()


class SlowPatch(threading.Thread):
    """One tus PATCH of ``data`` at ``offset`` sending ``piece`` bytes every ``interval`` seconds.

    ``stop_after`` bytes (if given) then stay silent; ``cut()`` drops the connection. After
    ``join()``, ``status`` holds the answer's status (0 when none came). ``json=True`` sends a
    JSON POST instead (a slow sync push).
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        path: str,
        data: bytes,
        piece: int,
        interval: float,
        offset: int = 0,
        stop_after: int | None = None,
        json: bool = False,
    ):
        super().__init__(daemon=True)
        self.json = json
        self.base_url, self.token, self.path, self.data = base_url, token, path, data
        self.piece, self.interval, self.offset, self.stop_after = piece, interval, offset, stop_after
        self.status = 0
        self.sent = 0
        self._cut = threading.Event()
        self.sock: socket.socket | None = None

    def run(self) -> None:
        body = self.data[self.offset :]
        self.sock = _connect(self.base_url)
        try:
            start = (
                ("POST", "Content-Type: application/json\r\n")
                if self.json
                else (
                    "PATCH",
                    f"Tus-Resumable: 1.0.0\r\nUpload-Offset: {self.offset}\r\n"
                    "Content-Type: application/offset+octet-stream\r\n",
                )
            )
            self.sock.sendall(
                (
                    f"{start[0]} {self.path} HTTP/1.1\r\nHost: dangan\r\n"
                    f"Authorization: Bearer {self.token}\r\n{start[1]}"
                    f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
                ).encode()
            )
            limit = len(body) if self.stop_after is None else min(len(body), self.stop_after)
            while self.sent < limit and not self._cut.is_set():
                piece = body[self.sent : min(limit, self.sent + self.piece)]
                self.sock.sendall(piece)
                self.sent += len(piece)
                if self.sent < limit:
                    self._cut.wait(self.interval)
            if not self._cut.is_set():
                self.status, _ = read_answer(self.sock)
        except OSError:
            self.status = self.status or 0
        finally:
            self.sock.close()

    def cut(self) -> None:
        """Drop the connection now, as a lost radio link does."""
        self._cut.set()
        if self.sock is not None:
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def timed_get(url: str, **kwargs) -> tuple[int, float]:
    """GET ``url``; return its status and how long it took in seconds."""
    started = time.perf_counter()
    answer = requests.get(url, timeout=kwargs.pop("timeout", 30), **kwargs)
    return answer.status_code, time.perf_counter() - started
