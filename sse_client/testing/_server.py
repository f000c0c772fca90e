"""A real, scripted SSE server on 127.0.0.1, for tests that need sockets.

Rule: standard library only (``http.server``), one daemon thread to accept and one per
connection, and every wait bounded or ended by :meth:`SSEServer.close`, which shuts
every open socket down so that no thread is left blocked in a read or a write.

Wire format: HTTP/1.1 with ``Connection: close``, one request per connection. A
:class:`Stream` body has no ``Content-Length`` and ends when the server closes the
connection, unless the stream asks for chunked transfer-encoding; a :class:`Reply`
carries a ``Content-Length``.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import struct
import sys
import threading
import time
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Final

from ._script import Drop, Reply, Request, Responder, Script, Sleep, Stall, Stream, Trickle

__all__ = ["SSEServer"]

_STALL_POLL: Final = 0.5  # seconds between checks for shutdown while a stream stalls
_TRICKLE_PAUSE: Final = 0.001  # seconds between the bytes of a Trickle
_IO_TIMEOUT: Final = 30.0  # seconds a socket read or write may block before it fails
_JOIN_TIMEOUT: Final = 5.0  # seconds close() waits for the threads to finish
_MAX_LINE: Final = 65536  # bytes in a request line, a header line or a chunk-size line


class SSEServer:
    """An HTTP/1.1 server on 127.0.0.1 (an ephemeral port) that answers from scripts.

    Register what each path answers with :meth:`route`: one response per request in
    turn (the first request gets the first response, and so on), the last one
    repeating for every request after it. A path without a route answers 404. Any
    method is accepted (GET, POST, REPORT...). Every request is recorded (method,
    path, headers, body), so a test can check what a client sent, ``Last-Event-ID``
    above all.

    :meth:`close` ends every stalled or sleeping stream and closes every socket; it
    returns within a fraction of a second and leaves no thread behind.

    Example:
        >>> from sse_client.testing import Reply, SSEServer, Stream, event
        >>> with SSEServer() as server:
        ...     server.route("/stream", Stream(event("hi", id="1")), Reply(204))
        ...     url = server.url + "/stream"  # connect a client here
    """

    def __init__(self) -> None:
        self._routes: dict[str, Script] = {}
        self._requests: list[Request] = []
        # Reentrant: a responder function runs under it and may read ``requests``.
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self._httpd = _HTTPServer(("127.0.0.1", 0), self)
        self._thread: threading.Thread | None = None
        self._closed = False
        self._url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        # close() wakes the accept loop at once by closing one end of this pair.
        self._wakeup_receive, self._wakeup_send = socket.socketpair()

    @property
    def url(self) -> str:
        """The server's base URL, ``http://127.0.0.1:<port>``, without a trailing slash.

        Example:
            >>> with SSEServer() as server:
            ...     assert server.url.startswith("http://127.0.0.1:")
        """
        return self._url

    def route(self, path: str, *responses: Responder) -> None:
        """Answer requests to ``path`` with ``responses``, one per request in turn.

        The query string of a request is ignored when matching. After the last
        response, the last one repeats: end a script with ``Reply(204)`` to tell a
        client to stop reconnecting. Routing a path again replaces its script and
        starts it over.

        Args:
            path: The path to answer, such as ``"/stream"``.
            *responses: Each a :class:`Stream`, a :class:`Reply`, or a function that
                takes the :class:`Request` and returns one (such as
                :func:`resumable_counter`). If such a function raises, the request
                gets a 500 whose body names the exception.

        Raises:
            ValueError: No response was given.

        Example:
            >>> with SSEServer() as server:
            ...     server.route("/s", Stream(event("a", id="1"), Drop()), Reply(204))
        """
        script = Script(responses)
        with self._lock:
            self._routes[path] = script

    @property
    def requests(self) -> tuple[Request, ...]:
        """The requests received so far, on every path, in order of arrival.

        A snapshot that cannot be changed (a tuple): :meth:`clear_requests` forgets them.

        Example:
            >>> with SSEServer() as server:
            ...     assert server.requests == ()
        """
        with self._lock:
            return tuple(self._requests)

    def clear_requests(self) -> None:
        """Forget the requests received so far, to check the next ones alone.

        Example:
            >>> with SSEServer() as server:
            ...     server.clear_requests()
        """
        with self._lock:
            self._requests.clear()

    @property
    def open_connections(self) -> int:
        """How many connections the server is serving right now.

        A connection counts until its response is over and its socket is closed; a
        :class:`Stall` counts until the client hangs up.

        Example:
            >>> with SSEServer() as server:
            ...     assert server.open_connections == 0
        """
        with self._lock:
            return len(self._httpd.connections)

    def wait_for_requests(self, count: int, timeout: float = 5.0) -> tuple[Request, ...]:
        """Block until at least ``count`` requests have arrived; return all of them.

        Args:
            count: How many requests to wait for, counting those already received.
            timeout: The most seconds to wait.

        Returns:
            The requests received so far (``count`` or more), as :attr:`requests`.

        Raises:
            TimeoutError: Fewer than ``count`` arrived within ``timeout`` seconds.

        Example:
            >>> with SSEServer() as server:  # doctest: +SKIP
            ...     first, second = server.wait_for_requests(2, timeout=1.0)[:2]
        """
        with self._changed:
            if not self._changed.wait_for(lambda: len(self._requests) >= count, timeout):
                raise TimeoutError(
                    f"expected {count} requests within {timeout} s, got {len(self._requests)}"
                )
            return tuple(self._requests)

    def wait_until_idle(self, timeout: float = 5.0) -> None:
        """Block until no connection is open: every client has hung up or been answered.

        Useful to check that a client released its connection (a stalled stream stays
        open until the client closes its socket).

        Args:
            timeout: The most seconds to wait.

        Raises:
            TimeoutError: A connection was still open after ``timeout`` seconds.

        Example:
            >>> with SSEServer() as server:
            ...     server.wait_until_idle(timeout=1.0)
        """
        with self._changed:
            if not self._changed.wait_for(lambda: not self._httpd.connections, timeout):
                raise TimeoutError(
                    f"{len(self._httpd.connections)} connections still open after {timeout} s"
                )

    def start(self) -> SSEServer:
        """Start serving in a daemon thread. ``with SSEServer() as server`` does it for you.

        Returns:
            The server itself.

        Raises:
            RuntimeError: The server was already started, or closed.

        Example:
            >>> server = SSEServer().start()
            >>> server.close()
        """
        if self._thread is not None or self._closed:
            raise RuntimeError("an SSEServer can be started once; create a new one")
        self._thread = threading.Thread(
            target=self._accept_connections, name=f"SSEServer {self._url}", daemon=True
        )
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving: end every stream, close every socket, join every thread.

        Stalled and sleeping streams end at once; a client still reading sees its
        connection end (an end of body, or an incomplete chunked read). Calling it
        again does nothing.

        Example:
            >>> server = SSEServer().start()
            >>> server.close()
        """
        if self._closed:
            return
        self._closed = True
        self._stopping.set()
        deadline = time.monotonic() + _JOIN_TIMEOUT
        self._wakeup_send.close()  # the accept loop sees its end of the pair at EOF
        if self._thread is not None:
            self._thread.join(_JOIN_TIMEOUT)
        self._wakeup_receive.close()
        self._httpd.server_close()
        with self._lock:
            connections = dict(self._httpd.connections)
        for connection in connections.values():
            # Wakes a handler blocked in a read or a write, whatever it was doing.
            with contextlib.suppress(OSError):  # already closed by its handler
                connection.shutdown(socket.SHUT_RDWR)
        for thread in connections:
            thread.join(max(0.0, deadline - time.monotonic()))

    def __enter__(self) -> SSEServer:
        return self if self._thread is not None else self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<SSEServer {self._url}>"

    # -- Serving -------------------------------------------------------------------------

    def _accept_connections(self) -> None:
        listener = self._httpd.socket
        listener.setblocking(False)  # a client gone between select and accept: no hang
        with selectors.DefaultSelector() as selector:
            selector.register(listener, selectors.EVENT_READ)
            selector.register(self._wakeup_receive, selectors.EVENT_READ)
            while not self._stopping.is_set():
                for key, _ in selector.select():
                    if key.fileobj is not listener or self._stopping.is_set():
                        return
                    try:
                        connection, address = listener.accept()
                    except OSError:
                        continue  # the client gave up before it was accepted
                    connection.setblocking(True)
                    self._httpd.process_request(connection, address)

    # -- Used by the handler --------------------------------------------------------------

    def _answer(self, request: Request) -> Stream | Reply:
        with self._changed:
            self._requests.append(request)
            self._changed.notify_all()
            script = self._routes.get(request.path.partition("?")[0])
            if script is None:
                return Reply(404, b"no route for " + request.path.encode("utf-8", "replace"))
            try:
                return script.next(request)
            except Exception as exc:  # a bug in the test's responder: say so to the client
                return Reply(500, f"the responder raised {exc!r}".encode("utf-8", "replace"))


class _HTTPServer(ThreadingHTTPServer):
    # SSEServer runs the accept loop (serve_forever() notices shutdown() only at its
    # next poll). Connection threads are tracked here rather than by ThreadingMixIn,
    # whose server_close() would join them without a time limit.
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], owner: SSEServer) -> None:
        super().__init__(address, _Handler)
        self.owner = owner
        self.connections: dict[threading.Thread, socket.socket] = {}

    def process_request(
        self, request: socket.socket | tuple[bytes, socket.socket], client_address: object
    ) -> None:
        assert isinstance(request, socket.socket)  # a TCP server
        thread = threading.Thread(
            target=self._serve_connection,
            args=(request, client_address),
            name=f"SSEServer connection {client_address}",
            daemon=True,
        )
        with self.owner._lock:
            self.connections[thread] = request
        thread.start()

    def _serve_connection(self, request: socket.socket, client_address: object) -> None:
        try:
            self.process_request_thread(request, client_address)
        finally:
            with self.owner._changed:
                self.connections.pop(threading.current_thread(), None)
                self.owner._changed.notify_all()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # a Trickle's bytes leave one per segment
    timeout = _IO_TIMEOUT
    server: _HTTPServer

    def log_message(self, format: str, *args: object) -> None:
        """Stay quiet: tests read the recorded requests instead."""

    def handle_one_request(self) -> None:
        # One request per connection: a streamed body ends when the connection does.
        self.close_connection = True
        try:
            self.raw_requestline = self.rfile.readline(_MAX_LINE + 1)
            if not self.raw_requestline or not self.parse_request():
                return
            self.close_connection = True  # parse_request() may have decided otherwise
            try:
                body = self._read_body()
            except ValueError as exc:
                self.send_error(400, f"unreadable request body: {exc}")
                return
            request = Request(
                method=self.command,
                path=self.path,
                headers={name.lower(): value for name, value in self.headers.items()},
                body=body,
            )
            answer = self.server.owner._answer(request)
            if isinstance(answer, Reply):
                self._reply(answer)
            else:
                self._stream(answer)
        except OSError:
            pass  # the client went away, or close() shut the socket down: nothing to do

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked_body()
        length = self.headers.get("Content-Length", "0").strip() or "0"
        if not (length.isascii() and length.isdigit()):
            raise ValueError(f"bad Content-Length {length!r}")
        return self.rfile.read(int(length))

    def _read_chunked_body(self) -> bytes:
        parts: list[bytes] = []
        while True:
            size_line = self.rfile.readline(_MAX_LINE + 1)
            if not size_line:
                raise ValueError("the body ended before its last chunk")
            size = int(size_line.partition(b";")[0].strip(), 16)
            if size == 0:
                break
            parts.append(self.rfile.read(size))
            self.rfile.readline(_MAX_LINE + 1)  # the CRLF after the chunk
        while self.rfile.readline(_MAX_LINE + 1) not in (b"\r\n", b"\n", b""):
            pass  # trailer fields: not recorded
        return b"".join(parts)

    def _head(self, status: int, headers: Mapping[str, str]) -> None:
        self.send_response_only(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Connection", "close")
        self.end_headers()

    def _reply(self, reply: Reply) -> None:
        headers = dict(reply.headers)
        if reply.status >= 200 and reply.status not in (204, 304):  # statuses without a body
            headers.setdefault("Content-Length", str(len(reply.body)))
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
                    stopping.wait(_TRICKLE_PAUSE)
            elif isinstance(step, Sleep):
                stopping.wait(step.seconds)
            elif isinstance(step, Stall):
                self._stall()
                return
            elif isinstance(step, Drop):
                self._drop(step, stream.chunked)
                return
        if stream.chunked:
            self.wfile.write(b"0\r\n\r\n")

    def _write(self, data: bytes, chunked: bool) -> None:
        if not data:
            return  # an empty chunk would end a chunked body
        if chunked:
            data = b"%x\r\n%s\r\n" % (len(data), data)
        self.wfile.write(data)

    def _stall(self) -> None:
        # Until the server closes (close() shuts this socket down, which wakes the
        # select at once) or the client hangs up (the socket reads EOF).
        stopping = self.server.owner._stopping
        with selectors.DefaultSelector() as selector:
            selector.register(self.connection, selectors.EVENT_READ)
            while not stopping.is_set():
                if selector.select(_STALL_POLL) and not self.connection.recv(_MAX_LINE):
                    return

    def _drop(self, drop: Drop, chunked: bool) -> None:
        if drop.reset:
            # SO_LINGER with a zero timeout: closing sends RST instead of FIN. The
            # descriptor closes once the handler's files let go of it, before the
            # server's own shutdown() could send a FIN first.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_ZERO)
            self.connection.close()
        elif chunked:
            # Announce a chunk, then end the connection before any of it: the client
            # gets every byte sent so far, then an incomplete chunked read.
            self.wfile.write(b"10\r\n")


_LINGER_ZERO: Final = struct.pack("HH" if sys.platform == "win32" else "ii", 1, 0)
