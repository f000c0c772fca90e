"""A one-event stream server on 127.0.0.1, over TLS or not, for tests that need a
certificate or a chosen status line (sse_client.testing's server speaks plain HTTP)."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class OneStream(BaseHTTPRequestHandler):
    """Answers every GET with one event and a chosen reason phrase, then closes."""

    server: OneStreamServer

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.send_response_only(200, self.server.reason)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        self.wfile.write(b"data: hello\n\n")


class OneStreamServer(ThreadingHTTPServer):
    daemon_threads = True
    reason = "OK"


@contextmanager
def one_stream_server(*, reason: str = "OK", tls: ssl.SSLContext | None = None) -> Iterator[str]:
    """A server on 127.0.0.1 (over TLS with ``tls``) whose stream is one event; its URL."""
    server = OneStreamServer(("127.0.0.1", 0), OneStream)
    server.reason = reason
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{server.server_address[1]}/s"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
