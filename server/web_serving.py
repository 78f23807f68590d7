"""How gunicorn serves Dangan (``gunicorn -c python:server.web_serving wsgi:app``).

Tablets on weak 3G/4G links send slowly, so a request may take minutes. The serving model:

* gunicorn's ``gthread`` worker (:class:`Worker`): each process keeps idle connections in a
  poller and gives every request its own thread, so a slow upload ties up one thread, never a
  whole process, and ``WEB_TIMEOUT`` (the worker heartbeat) never ends a request that is still
  receiving bytes;
* ``WEB_THREADS`` threads per process (default 64) × ``WEB_CONCURRENCY`` processes (default 2);
* a read timeout (``WEB_READ_TIMEOUT``, default 60 s): a connection that sends nothing for that
  long is closed; one that keeps sending, however slowly, is served to the end (a cut upload
  keeps what it had synced, see ``docs/uploads.md``);
* request bodies with a ``Content-Length`` (every tus PATCH) are read straight from the socket
  into the application's buffer (``readinto``, up to 1 MiB per call), not through gunicorn's
  1 KiB-at-a-time ``Body.read`` over 8 KiB ``recv`` calls;
* malformed requests that gunicorn refuses before the application sees them get the one JSON
  error shape, never gunicorn's HTML page; a sync pull whose cursor makes the request line too
  long gets ``sync.cursor_invalid`` like any other bad cursor.

Every setting below can be changed from the environment; ``make run``, the systemd unit in
``deploy/`` and the tests all start gunicorn with this module.
"""

from __future__ import annotations

import io
import json
import os

from gunicorn.http.body import Body, LengthReader
from gunicorn.http.errors import LimitRequestHeaders, LimitRequestLine
from gunicorn.http.message import Request
from gunicorn.http.parser import RequestParser
from gunicorn.http.unreader import SocketUnreader
from gunicorn.workers.gthread import ThreadWorker

from core import errors

SYNC_PULL_PATH = b"/api/v1/sync/pull"


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


def read_timeout() -> float:
    """Seconds a connection may stay silent in the middle of a request (``WEB_READ_TIMEOUT``)."""
    return float(_env_int("WEB_READ_TIMEOUT", 60))


# --- gunicorn settings (read by ``-c python:server.web_serving``) -------------------------------
bind = os.environ.get("WEB_BIND") or f"127.0.0.1:{os.environ.get('PORT', '8000')}"
worker_class = "server.web_serving.Worker"
workers = _env_int("WEB_CONCURRENCY", 2)
threads = _env_int("WEB_THREADS", 64)
timeout = _env_int("WEB_TIMEOUT", 120)  # heartbeat of a worker process, not a request deadline
graceful_timeout = _env_int("WEB_GRACEFUL_TIMEOUT", 30)
keepalive = _env_int("WEB_KEEPALIVE", 5)
limit_request_line = 8190  # gunicorn's maximum; longer lines are answered below
accesslog = os.environ.get("WEB_ACCESS_LOG", "-")
if os.environ.get("WEB_ACCESS_LOG_FORMAT"):
    access_log_format = os.environ["WEB_ACCESS_LOG_FORMAT"]


def problem_answer(problem: errors.Problem, details: dict | None = None) -> bytes:
    """A complete HTTP/1.1 answer carrying the JSON error shape; the connection closes after it."""
    body = json.dumps(
        {"code": problem.code, "message": problem.message, "details": details or {}}, ensure_ascii=False
    ).encode()
    reason = {400: "Bad Request", 414: "URI Too Long", 431: "Request Header Fields Too Large"}.get(
        problem.status, "Bad Request"
    )
    head = (
        f"HTTP/1.1 {problem.status} {reason}\r\nContent-Type: application/json; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\nCache-Control: no-store\r\n"
        "X-Content-Type-Options: nosniff\r\n\r\n"
    )
    return head.encode("latin-1") + body


def problem_for(exc: Exception) -> tuple[errors.Problem, dict] | None:
    """The catalogued problem for a request gunicorn refused while parsing it (None: not ours)."""
    if isinstance(exc, LimitRequestLine):
        line = getattr(exc, "line_start", b"")
        if line.split(b" ", 2)[1:2] and line.split(b" ", 2)[1].startswith(SYNC_PULL_PATH):
            return errors.SYNC_CURSOR_INVALID, {"reason": "too_long"}
        return errors.URI_TOO_LONG, {"max": limit_request_line}
    if isinstance(exc, LimitRequestHeaders):
        return errors.HEADERS_TOO_LARGE, {}
    if type(exc).__module__ == "gunicorn.http.errors":
        return errors.BAD_REQUEST, {"reason": type(exc).__name__}
    return None


class _SilenceIsEnd(SocketUnreader):
    """A connection silent for the read timeout reads as closed: the request ends quietly there."""

    def chunk(self):
        try:
            return self.sock.recv(self.mxchunk)
        except TimeoutError:
            return b""

    def recv_into(self, view: memoryview) -> int:
        """Receive into ``view``; 0 at the end of the connection or after the read timeout."""
        try:
            return self.sock.recv_into(view)
        except TimeoutError:
            return 0


class _DirectLengthReader(LengthReader):
    """A ``Content-Length`` body that also fills a caller's buffer straight from the socket."""

    def readinto(self, target) -> int:
        """Fill ``target`` (up to the bytes left in the body): bytes read with the headers first."""
        view = memoryview(target).cast("B")[: self.length]
        got = 0
        pending = self.unreader.buf.getvalue()
        if pending:
            got = min(len(pending), len(view))
            view[:got] = pending[:got]
            self.unreader.buf = io.BytesIO()
            self.unreader.buf.write(pending[got:])
        receive = getattr(self.unreader, "recv_into", None)
        while got < len(view) and receive is not None:
            received = receive(view[got:])
            if not received:
                break
            got += received
        self.length -= got
        return got


class _DirectBody(Body):
    """gunicorn's request body with ``readinto``: large reads cost one ``recv_into`` per socket buffer."""

    def readinto(self, target) -> int:
        """Fill ``target`` with the next body bytes; fewer only at the end of the body or connection."""
        if self.buf.tell():  # bytes a read() or readline() left over
            data = self.read(len(target))
            memoryview(target).cast("B")[: len(data)] = data
            return len(data)
        return self.reader.readinto(target)


class _Request(Request):
    """gunicorn's request parser, remembering how an over-long request line started."""

    def read_line(self, unreader, buf, limit=0):
        try:
            return super().read_line(unreader, buf, limit)
        except LimitRequestLine as exc:
            exc.line_start = buf.getvalue()[:200]
            raise

    def set_body_reader(self):
        """A ``Content-Length`` body gets the direct reader; chunked bodies keep gunicorn's."""
        super().set_body_reader()
        if type(self.body.reader) is LengthReader:
            self.body = _DirectBody(_DirectLengthReader(self.unreader, self.body.reader.length))


class _Parser(RequestParser):
    mesg_class = _Request

    def __init__(self, cfg, source, source_addr):
        super().__init__(cfg, source, source_addr)
        self.unreader = _SilenceIsEnd(source)


class Worker(ThreadWorker):
    """gthread with a read timeout on every connection and JSON answers to refused requests."""

    def enqueue_req(self, conn):
        if conn.parser is None:
            conn.parser = _Parser(self.cfg, conn.sock, conn.client)
        conn.init()
        conn.sock.settimeout(read_timeout())  # blocking reads, but never silent forever
        future = self.tpool.submit(self.handle, conn)
        self._wrap_future(future, conn)

    def handle_error(self, req, client, addr, exc):
        mapped = problem_for(exc)
        if mapped is None or req is not None and getattr(req, "headers_sent", False):
            return super().handle_error(req, client, addr, exc)
        problem, details = mapped
        self.log.warning("refused request from %s: %s", (addr or ("",))[0], exc)
        try:
            client.sendall(problem_answer(problem, details))
        except OSError:
            self.log.debug("could not send the error answer")
