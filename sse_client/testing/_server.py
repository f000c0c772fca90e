"""A real, scripted SSE server on 127.0.0.1, for tests that need sockets."""

from __future__ import annotations

import contextlib
import os
import socket
import struct
import threading
import time
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

from ._script import Drop, Reply, Request, Responder, Script, Sleep, Stall, Stream, Trickle

__all__ = ["SSEServer"]


class SSEServer:
    """An HTTP/1.1 server on 127.0.0.1 (an ephemeral port) that answers from scripts.

    Register what each path answers with :meth:`route`: one response per request in
    turn, the last one repeating. Every request is recorded (method, path, headers,
    body), so a test can check what a client sent, ``Last-Event-ID`` above all. Every
    wait inside the server ends when it shuts down, so closing never hangs.

    Example:
        >>> from sse_client.testing import Reply, SSEServer, Stream, event
        >>> with SSEServer() as server:
        ...     server.route("/stream", Stream(event("hi", id="1")), Reply(204))
        ...     url = server.url + "/stream"  # connect a client here
    """

    def __init__(self) -> None:
        self._routes: dict[str, Script] = {}
        self._requests: list[Request] = []
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self._httpd = _HTTPServer(("127.0.0.1", 0), _Handler, self)
        self._thread: threading.Thread | None = None
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def route(self, path: str, *responses: Responder) -> None:
        """Answer requests to ``path`` (query ignored) with ``responses``, one per request.

        A response is a :class:`Stream`, a :class:`Reply`, or a function taking the
        :class:`Request` and returning one. After the last, the last one repeats.
        """
        with self._lock:
            self._routes[path] = Script(responses)

    @property
    def requests(self) -> list[Request]:
        """A copy of the requests received so far, in order."""
        with self._lock:
            return list(self._requests)

    def wait_for_requests(self, count: int, timeout: float = 5.0) -> list[Request]:
        """Block until ``count`` requests arrived; return them.

        Raises:
            TimeoutError: Fewer arrived within ``timeout`` seconds.
        """
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self._requests) >= count, timeout):
                raise TimeoutError(f"expected {count} requests, got {len(self._requests)}")
            return list(self._requests)

    def start(self) -> SSEServer:
        """Start serving in a daemon thread."""
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving: end every stalled or sleeping stream, close every socket."""
        self._stopping.set()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(5)
        self._httpd.server_close()

    def __enter__(self) -> SSEServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- Used by the handler --------------------------------------------------------------

    def _answer(self, request: Request) -> Stream | Reply:
        with self._arrived:
            self._requests.append(request)
            self._arrived.notify_all()
            script = self._routes.get(request.path.partition("?")[0])
        if script is None:
            return Reply(404, b"no such route")
        return script.next(request)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = True  # server_close() joins the handler threads

    def __init__(self, address: tuple[str, int], handler: type, owner: SSEServer) -> None:
        super().__init__(address, handler)
        self.owner = owner


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HTTPServer

    def log_message(self, format: str, *args: object) -> None:
        """Stay quiet: tests read the recorded requests instead."""

    def handle_one_request(self) -> None:
        self.raw_requestline = self.rfile.readline(65537)
        if not self.raw_requestline or not self.parse_request():
            self.close_connection = True
            return
        length = int(self.headers.get("Content-Length") or 0)
        request = Request(
            method=self.command,
            path=self.path,
            headers={name.lower(): value for name, value in self.headers.items()},
            body=self.rfile.read(length) if length else b"",
        )
        answer = self.server.owner._answer(request)
        self.close_connection = True
        with contextlib.suppress(OSError):  # the client went away: nothing to do
            if isinstance(answer, Reply):
                self._reply(answer)
            else:
                self._stream(answer)

    def _head(self, status: int, headers: Mapping[str, str]) -> None:
        self.send_response_only(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Connection", "close")
        self.end_headers()

    def _reply(self, reply: Reply) -> None:
        headers = dict(reply.headers)
        if reply.status != 204:
            headers["Content-Length"] = str(len(reply.body))
        self._head(reply.status, headers)
        self.wfile.write(reply.body)

    def _stream(self, stream: Stream) -> None:
        headers = dict(stream.headers)
        if stream.chunked:
            headers["Transfer-Encoding"] = "chunked"
        self._head(stream.status, headers)
        stopping = self.server.owner._stopping
        for step in stream.steps:
            if stopping.is_set():
                return
            if isinstance(step, bytes):
                self._write(step, stream.chunked)
            elif isinstance(step, Trickle):
                for index in range(len(step.data)):
                    self._write(step.data[index : index + 1], stream.chunked)
                    time.sleep(0.001)
            elif isinstance(step, Sleep):
                stopping.wait(step.seconds)
            elif isinstance(step, Stall):
                stopping.wait()
                return
            elif isinstance(step, Drop):
                self._drop(step, stream.chunked)
                return
        if stream.chunked:
            self.wfile.write(b"0\r\n\r\n")

    def _write(self, data: bytes, chunked: bool) -> None:
        if not data:
            return
        if chunked:
            data = b"%x\r\n%s\r\n" % (len(data), data)
        self.wfile.write(data)
        self.wfile.flush()

    def _drop(self, drop: Drop, chunked: bool) -> None:
        if chunked:
            # Announce a chunk and cut it short: an incomplete chunked read.
            self.wfile.write(b"10\r\npartial")
            self.wfile.flush()
        if drop.reset:
            # SO_LINGER with a zero timeout makes close() send RST instead of FIN. Close
            # the descriptor itself: the socket object would shut down (FIN) first.
            linger = struct.pack("ii", 1, 0)
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
            os.close(self.connection.detach())
