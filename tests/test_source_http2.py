"""Several streams on one HTTP/2 connection, against a real server (Hypercorn) on
127.0.0.1: cleartext with prior knowledge, and TLS with ALPN.

On HTTP/2 one socket carries every stream of the client's connection, so closing or
restarting one source must not shut it down: only that source's stream ends.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from typing import Any

import anyio
import httpx2
import pytest
import trustme

from sse_client import AsyncEventSource, EventSource, ReconnectPolicy, ServerSentEvent

from .drivers import Recorder

hypercorn = pytest.importorskip("hypercorn", reason="needs hypercorn (the test extra)")
from hypercorn.asyncio import serve  # noqa: E402
from hypercorn.config import Config  # noqa: E402

TICK = 0.02  # seconds between two events of a stream


async def ticking(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """An ASGI app: every path is a stream of numbered events, one every TICK seconds,
    for GET and POST alike, until the client goes."""
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    if scope["method"] == "POST":
        while (await receive()).get("more_body"):
            pass
    headers = [(b"content-type", b"text/event-stream")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    for n in range(1, 100_000):
        body = f"id: {n}\ndata: {scope['path']} {n}\n\n".encode()
        await send({"type": "http.response.body", "body": body, "more_body": True})
        await asyncio.sleep(TICK)


class Hypercorn:
    """Hypercorn serving ``ticking`` on 127.0.0.1 in a thread of its own."""

    def __init__(self, tls: ssl.SSLContext | None, ca: trustme.CA | None = None) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.config = Config()
        self.config.bind = [f"127.0.0.1:{port}"]
        self.config.loglevel = "WARNING"
        self.config.graceful_timeout = 0.1  # streams never end by themselves: do not wait
        self.scheme = "http" if tls is None else "https"
        self.url = f"{self.scheme}://127.0.0.1:{port}"
        self._ca = ca
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=asyncio.run, args=(self._serve(),), daemon=True)

    def configure_tls(self, ca: trustme.CA, tmp: Any) -> None:
        cert = ca.issue_cert("127.0.0.1")
        self.config.certfile = str(tmp / "cert.pem")
        self.config.keyfile = str(tmp / "key.pem")
        cert.cert_chain_pems[0].write_to_path(self.config.certfile)
        cert.private_key_pem.write_to_path(self.config.keyfile)

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        # A stream cut at shutdown is no error worth printing.
        self._loop.set_exception_handler(lambda loop, context: None)
        self._stop = asyncio.Event()
        await serve(ticking, self.config, shutdown_trigger=self._stop.wait)  # type: ignore[arg-type]

    def __enter__(self) -> Hypercorn:
        self._thread.start()
        deadline = time.monotonic() + 10
        host, port = self.config.bind[0].rsplit(":", 1)
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex((host, int(port))) == 0:
                    return self
            time.sleep(0.02)
        raise TimeoutError("hypercorn did not start")

    def __exit__(self, *exc_info: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)


@pytest.fixture(params=["h2c-prior-knowledge", "h2-tls-alpn"])
def h2_server(
    request: pytest.FixtureRequest, ca: trustme.CA, tmp_path: Any
) -> Iterator[tuple[Hypercorn, dict[str, Any]]]:
    """A Hypercorn server, and the arguments of a client that speaks HTTP/2 to it."""
    tls = request.param == "h2-tls-alpn"
    server = Hypercorn(ssl.create_default_context() if tls else None)
    options: dict[str, Any] = {"http2": True, "http1": False}
    if tls:
        server.configure_tls(ca, tmp_path)
        context = ssl.create_default_context()
        ca.configure_trust(context)
        options = {"http2": True, "verify": context}  # ALPN chooses h2
    with server:
        yield server, options


def read(source: EventSource, got: list[ServerSentEvent], errors: list[BaseException]) -> None:
    """Iterate ``source`` to its end, keeping its events and what it raised."""
    try:
        got.extend(source)
    except Exception as exc:
        errors.append(exc)


@pytest.mark.parametrize("neighbour", ["get", "post-without-reconnection"])
def test_closing_one_source_leaves_its_http2_neighbours_alone(
    h2_server: Any, neighbour: str
) -> None:
    """Two sources on one HTTP/2 connection, read in two threads; ``b.close()`` from a
    third ends ``b`` only: ``a`` sees no error, sends no second request, and a POST
    neighbour without reconnection lives on (it was cut with the shared socket)."""
    server, options = h2_server
    with httpx2.Client(**options) as client:
        hooks_a, hooks_b = Recorder(), Recorder()
        settings: dict[str, Any] = {"client": client}
        if neighbour == "post-without-reconnection":
            settings.update(method="POST", json={"prompt": "hi"}, reconnect=False)
        a = EventSource(server.url + "/a", hooks=hooks_a, **settings)
        b = EventSource(server.url + "/b", client=client, hooks=hooks_b)
        got_a: list[ServerSentEvent] = []
        got_b: list[ServerSentEvent] = []
        errors_a: list[BaseException] = []
        errors_b: list[BaseException] = []
        threads = [
            threading.Thread(target=read, args=(a, got_a, errors_a)),
            threading.Thread(target=read, args=(b, got_b, errors_b)),
        ]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 10
        while (len(got_a) < 5 or len(got_b) < 5) and time.monotonic() < deadline:
            time.sleep(TICK)
        assert a.response is not None
        assert a.response.http_version == "HTTP/2"
        b.close()
        threads[1].join(5)
        assert not threads[1].is_alive()  # b ended, at its stream's next event
        before = len(got_a)
        deadline = time.monotonic() + 10
        while len(got_a) < before + 10 and time.monotonic() < deadline:
            time.sleep(TICK)
        a.close()
        threads[0].join(5)
    assert not threads[0].is_alive()
    assert len(got_a) >= before + 10  # a went on after b's close
    assert (errors_a, hooks_a.errors, hooks_a.opened) == ([], [], 1)
    assert (errors_b, hooks_b.errors, hooks_b.closed) == ([], [], 1)


def test_reconnect_restarts_only_its_own_http2_stream(h2_server: Any) -> None:
    """``b.reconnect()`` from another thread: b resumes with Last-Event-ID; a is untouched."""
    server, options = h2_server
    with httpx2.Client(**options) as client:
        hooks_a, hooks_b = Recorder(), Recorder()
        a = EventSource(server.url + "/a", client=client, hooks=hooks_a)
        soon = ReconnectPolicy(reconnection_time=0.01)
        b = EventSource(server.url + "/b", client=client, hooks=hooks_b, reconnect=soon)
        got_a: list[ServerSentEvent] = []
        got_b: list[ServerSentEvent] = []
        threads = [
            threading.Thread(target=read, args=(a, got_a, [])),
            threading.Thread(target=read, args=(b, got_b, [])),
        ]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 10
        while (len(got_a) < 5 or len(got_b) < 5) and time.monotonic() < deadline:
            time.sleep(TICK)
        b.reconnect()
        deadline = time.monotonic() + 10
        while hooks_b.opened < 2 and time.monotonic() < deadline:
            time.sleep(TICK)
        a.close()
        b.close()
        for thread in threads:
            thread.join(5)
    assert hooks_b.opened == 2  # b resumed...
    assert hooks_a.opened == 1  # ...and a never had to
    assert hooks_a.errors == []


@pytest.mark.anyio
async def test_aclose_of_one_async_source_leaves_its_http2_neighbour_alone(
    h2_server: Any, anyio_backend: str
) -> None:
    """The async twin, which cancels through a scope: the neighbour goes on."""
    server, options = h2_server
    async with httpx2.AsyncClient(**options) as client:
        hooks_a = Recorder()
        a = AsyncEventSource(server.url + "/a", client=client, hooks=hooks_a)
        b = AsyncEventSource(server.url + "/b", client=client)
        got_a: list[str] = []
        counts = {5: anyio.Event(), 20: anyio.Event()}

        async def read_a() -> None:
            async for event in a:
                got_a.append(event.data)
                if len(got_a) in counts:
                    counts[len(got_a)].set()

        async def read_b() -> None:
            async for _ in b:
                pass

        with anyio.fail_after(10):
            async with anyio.create_task_group() as group:
                group.start_soon(read_a)
                group.start_soon(read_b)
                await counts[5].wait()
                await b.aclose()
                await counts[20].wait()  # a goes on after b's close
                await a.aclose()
    assert hooks_a.errors == []
    assert hooks_a.opened == 1
