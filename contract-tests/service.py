"""The contract-test service: lets the SSE conformance harness drive sse_client's clients.

Run: ``python contract-tests/service.py [--port 8000] [--client sync|async|aiohttp]``, then
point the harness at it (``sse-contract-tests --url http://localhost:8000``). See README.md.

The harness creates one stream per test (``POST /``), sends commands to it
(``POST /streams/<id>``) and deletes it (``DELETE /streams/<id>``). Each stream is one
real ``EventSource`` (in its own thread) or ``AsyncEventSource`` (all of them on one
asyncio event loop thread; with ``--client aiohttp``, each on an aiohttp session of its
own), and everything it sees is POSTed, in order, to
``<callbackUrl>/<n>`` with n = 1, 2, 3... by a sender thread of its own.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import logging
import queue
import sys
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import anyio
import anyio.from_thread
import httpx2

from sse_client import (
    AsyncEventSource,
    EventSource,
    Failure,
    Hooks,
    ReconnectPolicy,
    ServerSentEvent,
    StreamEnded,
    Timeouts,
)

logger = logging.getLogger("sse_client.contract_tests")

#: Everything the service can honestly promise; each is exercised by its own tests.
CAPABILITIES = [
    "bom",
    "comments",
    "headers",
    "last-event-id",
    "post",
    "report",
    "read-timeout",
    "restart",
]

_JOIN_TIMEOUT = 5.0  # seconds to wait for a stream's threads when it is deleted


class Callbacks:
    """Posts one stream's messages to the harness, strictly in order, from a thread of its own."""

    def __init__(self, url: str) -> None:
        self._url = url.rstrip("/")
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._send_all, daemon=True)
        self._thread.start()

    def send(self, message: dict[str, Any]) -> None:
        self._queue.put(message)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(_JOIN_TIMEOUT)

    def _send_all(self) -> None:
        with httpx2.Client(timeout=10.0) as client:
            for counter in itertools.count(1):
                message = self._queue.get()
                if message is None:
                    return
                try:
                    client.post(f"{self._url}/{counter}", json=message)
                except httpx2.HTTPError as exc:  # the harness went away: nothing to tell
                    logger.warning("callback %d failed: %r", counter, exc)


class _Report(Hooks):
    """The source's hooks: comments and failures go to the harness as callbacks."""

    def __init__(self, stream: Stream) -> None:
        self.stream = stream

    def on_comment(self, source: Any, text: str) -> None:
        self.stream.callbacks.send({"kind": "comment", "comment": text})

    def on_error(self, source: Any, failure: Failure) -> None:
        self.stream.on_error(failure.error)


class Stream:
    """One stream the harness created: a real source and the callbacks it feeds."""

    def __init__(self, params: dict[str, Any], client: str, portal: Portal) -> None:
        self.callbacks = Callbacks(params["callbackUrl"])
        self._restarting = False
        initial_delay = params.get("initialDelayMs")
        read_timeout = params.get("readTimeoutMs")
        body = params.get("body")
        self._options: dict[str, Any] = {
            "method": params.get("method") or "GET",
            "headers": params.get("headers") or {},
            "content": None if body is None else str(body).encode(),
            "last_event_id": params.get("lastEventId") or "",
            # The harness expects every method to reconnect, POST and REPORT included.
            "reconnect": ReconnectPolicy(
                reconnection_time=1.0 if initial_delay is None else initial_delay / 1000
            ),
            "timeout": Timeouts(idle=None if read_timeout is None else read_timeout / 1000),
            "hooks": _Report(self),
            # The harness sends single events of 5 and 10 MiB and expects them whole, as
            # a browser delivers them; the default 1 MiB bound would fail those streams.
            # The bound guards an application against hostile servers; the harness is not
            # one, so the service turns it off.
            "max_event_size": None,
        }
        self._url = params["streamUrl"]
        self._client = client
        self._portal = portal
        self._source: EventSource | AsyncEventSource | None = None
        self._closing = False
        self._done = threading.Event()
        if client == "sync":
            threading.Thread(target=self._run_sync, daemon=True).start()
        else:
            portal.start(self._run_async)

    def restart(self) -> None:
        """Drop the connection and reconnect, as after a network error."""
        self._restarting = True
        source = self._source
        if isinstance(source, EventSource):
            source.reconnect()
        elif source is not None:
            self._portal.call(source.reconnect)

    def close(self) -> None:
        """Stop the source, wait for its thread or task, and stop the callbacks."""
        self._closing = True
        source = self._source
        if isinstance(source, EventSource):
            source.close()
        elif source is not None:
            self._portal.call(source.aclose)
        self._done.wait(_JOIN_TIMEOUT)
        self.callbacks.close()

    def _on_event(self, event: ServerSentEvent) -> None:
        message = {"type": event.event, "data": event.data, "id": event.id}
        self.callbacks.send({"kind": "event", "event": message})

    def on_error(self, error: Exception) -> None:
        """Tell the harness of a failure, unless it is the restart it asked for."""
        if self._restarting and isinstance(error, StreamEnded | httpx2.TransportError):
            self._restarting = False  # the restart we were asked for is not an error
            return
        self._report(error)

    def _report(self, error: BaseException) -> None:
        text = str(error) or type(error).__name__
        # The harness reads "error"; older descriptions of the protocol say "comment".
        self.callbacks.send({"kind": "error", "error": text, "comment": text})

    def _run_sync(self) -> None:
        try:
            with EventSource(self._url, **self._options) as source:
                self._source = source
                if self._closing:  # deleted before the source existed
                    return
                for event in source:
                    self._on_event(event)
        except Exception as exc:  # a failed stream ends here; the harness is told
            self._report(exc)
        finally:
            self._done.set()

    async def _run_async(self) -> None:
        try:
            async with contextlib.AsyncExitStack() as stack:
                options = self._options
                if self._client == "aiohttp":
                    import aiohttp

                    session = aiohttp.ClientSession()
                    options = {**options, "client": await stack.enter_async_context(session)}
                source = AsyncEventSource(self._url, **options)
                self._source = await stack.enter_async_context(source)
                if self._closing:  # deleted before the source existed
                    return
                async for event in source:
                    self._on_event(event)
        except Exception as exc:  # a failed stream ends here; the harness is told
            self._report(exc)
        finally:
            self._done.set()


class Portal:
    """The one event loop thread that runs every async stream (started on first use)."""

    def __init__(self) -> None:
        self._portal: anyio.from_thread.BlockingPortal | None = None
        self._manager: AbstractContextManager[anyio.from_thread.BlockingPortal] | None = None
        self._lock = threading.Lock()

    def _get(self) -> anyio.from_thread.BlockingPortal:
        with self._lock:
            if self._portal is None:
                self._manager = anyio.from_thread.start_blocking_portal()
                self._portal = self._manager.__enter__()
            return self._portal

    def start(self, func: Callable[[], Any]) -> None:
        self._get().start_task_soon(func)

    def call(self, func: Callable[[], Any]) -> None:
        """Run ``func`` (sync, or async and awaited) on the loop thread; wait for it."""
        self._get().call(func)

    def close(self) -> None:
        with self._lock:
            if self._manager is not None:
                self._manager.__exit__(None, None, None)
                self._manager = self._portal = None


class Service:
    """The service's state: its streams, and how to make new ones."""

    def __init__(self, client: str) -> None:
        self.client = client
        self.streams: dict[str, Stream] = {}
        self.portal = Portal()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def create(self, params: dict[str, Any]) -> str:
        if not isinstance(params.get("streamUrl"), str) or not isinstance(
            params.get("callbackUrl"), str
        ):
            raise ValueError("streamUrl and callbackUrl are required strings")
        stream = Stream(params, self.client, self.portal)
        with self._lock:
            stream_id = str(next(self._ids))
            self.streams[stream_id] = stream
        return stream_id

    def pop(self, stream_id: str) -> Stream | None:
        with self._lock:
            return self.streams.pop(stream_id, None)

    def get(self, stream_id: str) -> Stream | None:
        with self._lock:
            return self.streams.get(stream_id)

    def close(self) -> None:
        with self._lock:
            streams = list(self.streams.values())
            self.streams.clear()
        for stream in streams:
            stream.close()
        self.portal.close()


class Handler(BaseHTTPRequestHandler):
    server: ServiceServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        logger.debug(format, *args)

    def _answer(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        payload = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if payload:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _json_body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"null")

    def do_GET(self) -> None:
        if self.path == "/":
            self._answer(200, {"capabilities": CAPABILITIES, "name": "sse_client"})
        else:
            self._answer(404)

    def do_POST(self) -> None:
        service = self.server.service
        try:
            body = self._json_body()
        except ValueError:
            self._answer(400, {"error": "the body is not JSON"})
            return
        if self.path == "/":
            try:
                stream_id = service.create(body if isinstance(body, dict) else {})
            except ValueError as exc:
                self._answer(400, {"error": str(exc)})
                return
            self._answer(201, headers={"Location": f"/streams/{stream_id}"})
            return
        stream = service.get(self.path.removeprefix("/streams/"))
        if stream is None:
            self._answer(404)
        elif isinstance(body, dict) and body.get("command") == "restart":
            stream.restart()
            self._answer(202)
        else:
            self._answer(400, {"error": f"unknown command {body!r}"})

    def do_DELETE(self) -> None:
        if self.path == "/":
            self._answer(204)
            threading.Thread(target=self.server.shutdown, daemon=True).start()
            return
        stream = self.server.service.pop(self.path.removeprefix("/streams/"))
        if stream is None:
            self._answer(404)
            return
        stream.close()
        self._answer(204)


class ServiceServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], client: str) -> None:
        super().__init__(address, Handler)
        self.service = Service(client)

    def server_close(self) -> None:
        super().server_close()
        self.service.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument(
        "--client",
        choices=["sync", "async", "aiohttp"],
        default="sync",
        help="which client drives streams: EventSource, AsyncEventSource on httpx2, or on"
        " an aiohttp session (default sync)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    server = ServiceServer((args.host, args.port), args.client)
    print(f"contract-test service ({args.client} client) on http://{args.host}:{args.port}")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
