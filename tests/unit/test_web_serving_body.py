"""Request bodies under the serving model: a Content-Length body is read straight into large buffers."""

from __future__ import annotations

import os
import socket
import threading

from gunicorn.config import Config
from werkzeug.wsgi import LimitedStream

from server import web_serving

MIB = 1024 * 1024


class _CountingSocket:
    """A socket that counts the receive calls made on it."""

    def __init__(self, sock: socket.socket):
        self.sock, self.calls = sock, 0

    def recv(self, size: int) -> bytes:
        self.calls += 1
        return self.sock.recv(size)

    def recv_into(self, view) -> int:
        self.calls += 1
        return self.sock.recv_into(view)

    def __getattr__(self, name):
        return getattr(self.sock, name)


def _request(body: bytes, extra_headers: str = ""):
    """Send a PATCH with ``body`` over a socket pair; return the parsed request and the counting socket."""
    server, client = socket.socketpair()
    server.settimeout(10)
    head = f"PATCH /api/v1/uploads/x HTTP/1.1\r\nHost: t\r\nContent-Length: {len(body)}\r\n{extra_headers}\r\n"
    sender = threading.Thread(target=lambda: (client.sendall(head.encode() + body), client.shutdown(socket.SHUT_WR)))
    sender.start()
    counting = _CountingSocket(server)
    request = next(web_serving._Parser(Config(), counting, ("127.0.0.1", 1)))
    return request, counting, sender, (server, client)


def test_a_content_length_body_fills_a_one_mib_buffer_in_one_read_with_few_receive_calls():
    body = os.urandom(3 * MIB + 12345)
    request, counting, sender, sockets = _request(body)
    stream = LimitedStream(request.body, len(body))  # what Flask's request.stream is
    before = counting.calls
    pieces = []
    while piece := stream.read(MIB):
        pieces.append(piece)
    sender.join()
    assert b"".join(pieces) == body
    assert [len(p) for p in pieces] == [MIB, MIB, MIB, 12345]
    # gunicorn alone asks for 8 KiB per receive call: 400 calls for this body
    assert counting.calls - before < len(body) // (64 * 1024)
    for s in sockets:
        s.close()


def test_bytes_read_with_the_headers_come_first_and_the_body_ends_at_its_length():
    body = b"0123456789" * 1000
    request, _counting, sender, sockets = _request(body)
    first = request.body.read(7)  # a small read leaves bytes buffered in gunicorn's body
    target = bytearray(MIB)
    got = request.body.readinto(target)
    rest = bytearray(MIB)
    more = request.body.readinto(rest)
    sender.join()
    assert first + bytes(target[:got]) + bytes(rest[:more]) == body
    assert request.body.readinto(bytearray(10)) == 0
    for s in sockets:
        s.close()


def test_a_chunked_body_keeps_gunicorns_reader():
    server, client = socket.socketpair()
    server.settimeout(10)
    client.sendall(b"PATCH /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
    request = next(web_serving._Parser(Config(), server, ("127.0.0.1", 1)))
    assert not isinstance(request.body, web_serving._DirectBody)
    assert request.body.read() == b"hello"
    server.close()
    client.close()
