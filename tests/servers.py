"""Servers on 127.0.0.1 for tests that sse_client.testing's server cannot serve: a
one-event stream over TLS or with a chosen status line, and raw bytes that no HTTP
server would send (a garbled status line, a hang-up before any answer)."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import trustme


class OneStream(BaseHTTPRequestHandler):
    """Answers every GET with one event and a chosen reason phrase, then closes (or,
    while the server holds, keeps the connection silent)."""

    server: OneStreamServer

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.send_response_only(200, self.server.reason)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        self.wfile.write(b"data: hello\n\n")
        self.wfile.flush()
        if self.server.holding is not None:
            self.server.holding.wait(10)


class OneStreamServer(ThreadingHTTPServer):
    daemon_threads = True
    reason = "OK"
    holding: threading.Event | None = None


def server_context(ca: trustme.CA) -> ssl.SSLContext:
    """A server's TLS context, with a certificate for 127.0.0.1 from ``ca``."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    return context


@contextmanager
def one_stream_server(
    *, reason: str = "OK", tls: ssl.SSLContext | None = None, hold: bool = False
) -> Iterator[str]:
    """A server on 127.0.0.1 (over TLS with ``tls``) whose stream is one event; its URL.
    With ``hold``, each connection stays open and silent after the event, until the
    server stops."""
    server = OneStreamServer(("127.0.0.1", 0), OneStream)
    server.reason = reason
    server.holding = threading.Event() if hold else None
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{server.server_address[1]}/s"
    finally:
        if server.holding is not None:
            server.holding.set()
        server.shutdown()
        server.server_close()
        thread.join()


@dataclass
class RawServer:
    """Where a raw server listens, and how many connections it took."""

    url: str
    accepted: list[int] = field(default_factory=list)  # one item per connection


@contextmanager
def raw_server(*answers: bytes | None) -> Iterator[RawServer]:
    """A listener on 127.0.0.1 that reads each connection's request and answers with the
    next of ``answers`` (the last repeats) as raw bytes, then closes it; ``b""`` hangs up
    before any answer, and ``None`` never answers (the connection stays open until the
    server stops)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.settimeout(0.05)
        server = RawServer(f"http://127.0.0.1:{listener.getsockname()[1]}/s")
        stop = threading.Event()
        held: list[socket.socket] = []

        def serve() -> None:
            while not stop.is_set():
                try:
                    connection, _ = listener.accept()
                except TimeoutError:
                    continue
                answer = answers[min(len(server.accepted), len(answers) - 1)]
                server.accepted.append(1)
                if answer is None:
                    held.append(connection)
                    continue
                with connection:
                    connection.settimeout(5)
                    with contextlib.suppress(OSError):
                        connection.recv(65536)
                        connection.sendall(answer)

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        try:
            yield server
        finally:
            stop.set()
            thread.join(5)
            for connection in held:
                connection.close()
