"""How a source ends, and what it releases.

spec: C-CLOSE -- close() aborts any fetch in flight and any pending wait, and nothing
reconnects afterwards: from another thread or task, in every phase (waiting for the
headers, reading, backing off, a wait of any length), and so do cancellation and leaving
the loop. A closed source stays closed. An error that ends iteration closes the source
and releases its connection; a hook that raises or closes never leaves a reader stuck.
One source has one consumer at a time.

Against a real server on 127.0.0.1; the scenarios that take the ``drive`` fixture (see
drivers.py) run on every driver (EventSource, AsyncEventSource on asyncio and trio) and
stack (httpx2, httpx, and an aiohttp session on asyncio).
"""

from __future__ import annotations

import math
import socket
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any

import anyio
import httpx2
import pytest
import trustme

from sse_client import (
    AsyncEventSource,
    EventSource,
    EventTooLarge,
    Failure,
    ReadyState,
    ReconnectPolicy,
    ServerSentEvent,
    Timeouts,
    UnrecoverableError,
)
from sse_client.testing import Reply, Sleep, SSEServer, Stall, Stream, event

from .drivers import (
    FAST,
    PROMPT,
    Calls,
    CommentRecorder,
    Driver,
    Recorder,
    aclose_ends_a_wait_for_headers,
    consume_while,
    soon_after,
)
from .servers import one_stream_server, server_context

# -- close() from another thread, in every phase -------------------------------------------


def test_close_from_another_thread_interrupts_a_blocked_read(sse_server: SSEServer) -> None:
    """A read blocked on a silent server ends promptly when another thread closes."""
    sse_server.route("/s", Stream(event("a", id="1"), Stall()))
    got: list[ServerSentEvent] = []
    first = threading.Event()
    with EventSource(sse_server.url + "/s") as source:
        closer = soon_after(first, source.close)
        for item in source:
            got.append(item)
            first.set()
            started = time.monotonic()
        elapsed = time.monotonic() - started
        closer.join()
    assert [e.data for e in got] == ["a"]
    assert elapsed < PROMPT
    assert source.ready_state is ReadyState.CLOSED
    assert len(sse_server.requests) == 1  # and nothing reconnected


def test_close_from_another_thread_ends_a_backoff_wait(sse_server: SSEServer) -> None:
    """A 30-second wait before reconnecting ends at once when another thread closes."""
    sse_server.route("/s", Stream(event("a", id="1")))
    first = threading.Event()
    got = []
    with EventSource(
        sse_server.url + "/s", reconnect=ReconnectPolicy(reconnection_time=30.0)
    ) as source:
        closer = soon_after(first, source.close)
        for item in source:
            got.append(item.data)
            first.set()
            started = time.monotonic()
        elapsed = time.monotonic() - started
        closer.join()
    assert got == ["a"]
    assert elapsed < PROMPT
    assert len(sse_server.requests) == 1


@pytest.mark.parametrize("own_client", [True, False], ids=["own-client", "user-client"])
def test_close_from_another_thread_ends_a_wait_for_headers(own_client: bool) -> None:
    """A server that accepts and never answers: close() ends iteration within a second."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/s"
        with httpx2.Client() as client:
            source = EventSource(
                url, client=None if own_client else client, timeout=Timeouts(idle=10)
            )
            timer = threading.Timer(0.2, source.close)
            timer.start()
            started = time.monotonic()
            assert list(source) == []
            elapsed = time.monotonic() - started
            timer.join()
    assert elapsed < 5.0  # far from the 10 s idle timeout it waited for before
    assert source.ready_state is ReadyState.CLOSED


def test_close_inside_the_loop_stops_at_once(sse_server: SSEServer) -> None:
    """Events already read but not yet delivered are dropped by close()."""
    sse_server.route("/s", Stream(event("a"), event("b"), event("c")))
    seen = []
    source = EventSource(sse_server.url + "/s")
    for item in source:
        seen.append(item.data)
        source.close()
    assert seen == ["a"]


# -- aclose() from another task, and cancellation ------------------------------------------


@pytest.mark.anyio
async def test_aclose_from_another_task_interrupts_a_read(sse_server: SSEServer) -> None:
    """aclose() from another task ends a read blocked on a silent server."""
    sse_server.route("/s", Stream(event("a", id="1"), Stall()))
    async with AsyncEventSource(sse_server.url + "/s") as source:
        got = await consume_while(source, source.aclose)
    assert got == ["a"]
    assert source.ready_state is ReadyState.CLOSED
    assert len(sse_server.requests) == 1


@pytest.mark.anyio
@pytest.mark.parametrize("stack", ["httpx2", "httpx"])
async def test_a_read_on_a_connection_of_its_own_opens_no_cancel_scope(
    sse_server: SSEServer, stack: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over HTTP/1.1 the response's socket, shut down, wakes a read (aclose() and
    reconnect() from another task, tested above and in test_source_reconnection), so a
    read needs no cancel scope: one per read was the source's largest cost per read on
    a thousand busy streams."""
    reads = 100
    steps = [step for n in range(reads) for step in (event(str(n)), Sleep(0.002))]
    sse_server.route("/s", Stream(*steps), Reply(204))
    module = pytest.importorskip(stack)
    async with module.AsyncClient() as client:
        source = AsyncEventSource(sse_server.url + "/s", client=client, reconnect=False)
        with anyio.fail_after(PROMPT):
            async with source:
                first = await source.__anext__()
                scopes = Calls(monkeypatch, anyio, "CancelScope")
                rest = [e.data async for e in source]
                opened = scopes.stop()
    assert [first.data, *rest] == [str(n) for n in range(reads)]
    assert opened < reads // 4, opened


@pytest.mark.anyio
async def test_aclose_from_another_task_interrupts_a_read_over_tls(ca: trustme.CA) -> None:
    """Over TLS too (HTTP/1.1), shutting the socket down under the TLS layer wakes the
    read at once."""
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    with one_stream_server(tls=server_context(ca), hold=True) as url:
        async with httpx2.AsyncClient(verify=client_context) as client:
            hooks = Recorder()
            source = AsyncEventSource(url, client=client, hooks=hooks)
            async with source:
                started = time.monotonic()
                got = await consume_while(source, source.aclose)
            elapsed = time.monotonic() - started
    assert got == ["hello"]
    assert elapsed < PROMPT - 1  # the server holds the connection for 10 s
    assert (hooks.opened, hooks.errors, hooks.closed) == (1, [], 1)


def test_close_from_another_thread_interrupts_a_read_over_tls(ca: trustme.CA) -> None:
    """The blocking twin: the TLS socket, shut down, wakes the read in another thread."""
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    got: list[str] = []
    first = threading.Event()
    with (
        one_stream_server(tls=server_context(ca), hold=True) as url,
        httpx2.Client(verify=client_context) as client,
        EventSource(url, client=client) as source,
    ):
        closer = soon_after(first, source.close)
        started = time.monotonic()
        for item in source:
            got.append(item.data)
            first.set()
        elapsed = time.monotonic() - started
        closer.join()
    assert got == ["hello"]
    assert elapsed < PROMPT - 1


@pytest.mark.anyio
async def test_aclose_from_another_task_ends_a_backoff_wait(sse_server: SSEServer) -> None:
    """A 30-second wait before reconnecting ends at once on aclose()."""
    sse_server.route("/s", Stream(event("a", id="1")))
    async with AsyncEventSource(
        sse_server.url + "/s", reconnect=ReconnectPolicy(reconnection_time=30.0)
    ) as source:
        got = await consume_while(source, source.aclose)
    assert got == ["a"]
    assert len(sse_server.requests) == 1


@pytest.mark.anyio
async def test_aclose_interrupts_a_connect_that_gets_no_answer() -> None:
    """A server that accepts the connection but never answers: aclose() from another
    task ends the wait at once, and counts no failure."""
    await aclose_ends_a_wait_for_headers(client=None)


def open_connections(transport: httpx2.HTTPTransport | httpx2.AsyncHTTPTransport) -> int:
    """How many connections the client's pool still holds."""
    return len(transport._pool.connections)


@pytest.mark.anyio
async def test_cancellation_passes_through_and_leaks_nothing(sse_server: SSEServer) -> None:
    """A cancelled task stops reading at once; the connection is released on exit."""
    sse_server.route("/s", Stream(event("a", id="1"), Stall()))
    transport = httpx2.AsyncHTTPTransport()
    async with httpx2.AsyncClient(transport=transport) as client:
        with anyio.CancelScope() as scope:
            async with AsyncEventSource(sse_server.url + "/s", client=client) as source:
                await consume_while(source, scope.cancel)
        assert scope.cancelled_caught
        assert source.ready_state is ReadyState.CLOSED
        assert open_connections(transport) == 0


# -- Leaving the loop leaves nothing open --------------------------------------------------


def test_breaking_out_early_leaves_nothing_open(sse_server: SSEServer, drive: Driver) -> None:
    """Leaving the loop early closes the source (the with block) cleanly."""
    sse_server.route("/s", Stream(event("a"), event("b"), Stall()))
    outcome = drive(sse_server.url + "/s", limit=1)
    assert [e.data for e in outcome.events] == ["a"]
    assert outcome.ready_state is ReadyState.CLOSED
    assert outcome.closed == 1


def test_user_client_pool_is_empty_after_close(sse_server: SSEServer) -> None:
    """A user's client is not closed by the source, and keeps no connection of it."""
    sse_server.route("/s", Stream(event("a", id="1"), event("b"), Stall()))
    transport = httpx2.HTTPTransport()
    with httpx2.Client(transport=transport) as client:
        with EventSource(sse_server.url + "/s", client=client) as source:
            for _ in source:
                break
        assert open_connections(transport) == 0
        assert not client.is_closed


# -- A closed source stays closed; its ready state (spec: C-STATES) ------------------------


def test_closed_source_cannot_be_reused(sse_server: SSEServer) -> None:
    """Re-entering or iterating a closed source is a RuntimeError; closing twice is fine."""
    sse_server.route("/s", Reply(204))
    source = EventSource(sse_server.url + "/s")
    assert list(source) == []
    source.close()
    with pytest.raises(RuntimeError, match="closed EventSource"):
        iter(source)
    with pytest.raises(RuntimeError, match="closed EventSource"), source:
        pass


@pytest.mark.anyio
async def test_async_closed_source_cannot_be_reused(sse_server: SSEServer) -> None:
    """Re-entering or iterating a closed AsyncEventSource is a RuntimeError."""
    sse_server.route("/s", Reply(204))
    source = AsyncEventSource(sse_server.url + "/s")
    assert [e async for e in source] == []
    await source.aclose()
    with pytest.raises(RuntimeError, match="closed AsyncEventSource"):
        source.__aiter__()
    with pytest.raises(RuntimeError, match="closed AsyncEventSource"):
        async with source:
            pass


def test_ready_state_is_connecting_then_open(sse_server: SSEServer) -> None:
    """spec: C-STATES -- CONNECTING at creation, OPEN while reading, CLOSED after."""
    sse_server.route("/s", Stream(event("a")), Reply(204))
    source = EventSource(sse_server.url + "/s", reconnect=ReconnectPolicy(reconnection_time=0.01))
    initial, response = source.ready_state, source.response
    assert initial is ReadyState.CONNECTING
    assert response is None
    states = [source.ready_state for _ in source]
    assert states == [ReadyState.OPEN]
    assert source.ready_state is ReadyState.CLOSED
    assert source.response is not None
    assert source.response.status_code == 204


# -- An error that ends iteration ends the source ------------------------------------------


def _too_large(sse_server: SSEServer) -> str:
    sse_server.route("/s", Stream(event("x" * 200, id="1"), Stall()))
    return sse_server.url + "/s"


def _redirect_loop(sse_server: SSEServer) -> str:
    sse_server.route("/loop", Reply.redirect("/loop"))
    return sse_server.url + "/loop"


ENDINGS = [
    pytest.param(_too_large, EventTooLarge, id="event-too-large"),
    pytest.param(_redirect_loop, UnrecoverableError, id="too-many-redirects"),
]


@pytest.mark.parametrize(("scenario", "error"), ENDINGS)
def test_an_error_closes_the_source_and_releases_it(
    sse_server: SSEServer, scenario: Callable[[SSEServer], str], error: type[Exception]
) -> None:
    """Without ``with``: the error closes the source once, and iteration is over."""
    hooks = Recorder()
    source = EventSource(scenario(sse_server), max_event_size=100, hooks=hooks)
    with pytest.raises(error):
        next(source)
    assert source.ready_state is ReadyState.CLOSED
    assert hooks.closed == 1
    sse_server.wait_until_idle(timeout=5)  # the connection was released
    with pytest.raises(StopIteration):
        next(source)
    assert hooks.closed == 1


@pytest.mark.anyio
@pytest.mark.parametrize(("scenario", "error"), ENDINGS)
async def test_an_error_closes_the_async_source_and_releases_it(
    sse_server: SSEServer, scenario: Callable[[SSEServer], str], error: type[Exception]
) -> None:
    """The async twin: closed once, connection released, later iteration ends at once."""
    hooks = Recorder()
    source = AsyncEventSource(scenario(sse_server), max_event_size=100, hooks=hooks)
    with anyio.fail_after(10):
        with pytest.raises(error):
            await source.__anext__()
        assert source.ready_state is ReadyState.CLOSED
        assert hooks.closed == 1
        await anyio.to_thread.run_sync(sse_server.wait_until_idle, 5)
        with pytest.raises(StopAsyncIteration):
            await source.__anext__()
    assert hooks.closed == 1


# -- A hook that raises, or closes, never leaves a reader stuck ----------------------------


class RaisingOnClose(Recorder):
    def on_close(self, source: Any) -> None:
        super().on_close(source)
        raise RuntimeError("on_close failed")


def test_on_close_that_raises_still_wakes_the_reader_and_releases(sse_server: SSEServer) -> None:
    """close() from another thread: the reader wakes and the connection is released before
    the hook runs; the hook's error is raised by close(), once."""
    sse_server.route("/s", Stream(event("a", id="1"), Stall()))
    hooks = RaisingOnClose()
    source = EventSource(sse_server.url + "/s", hooks=hooks)
    assert next(source).data == "a"

    def read_on() -> None:
        assert list(source) == []

    reader = threading.Thread(target=read_on)
    reader.start()
    time.sleep(0.2)  # the reader blocks on the stalled stream
    with pytest.raises(RuntimeError, match="on_close failed"):
        source.close()
    reader.join(5)
    assert not reader.is_alive()
    sse_server.wait_until_idle(timeout=5)
    source.close()  # a second close: nothing more to tell
    assert hooks.closed == 1


def test_on_close_that_raises_at_the_end_of_the_stream_is_raised_after_the_release(
    sse_server: SSEServer, drive: Driver
) -> None:
    """The source ends itself (204): the connection is released, then the hook's error
    comes out of the iteration."""
    sse_server.route("/s", Stream(event("a", id="1")), Reply(204))
    hooks = RaisingOnClose()
    with pytest.raises(RuntimeError, match="on_close failed"):
        drive(sse_server.url + "/s", reconnect=FAST, hooks=hooks)
    sse_server.wait_until_idle(timeout=5)
    assert hooks.closed == 1


@pytest.mark.anyio
async def test_on_close_that_raises_still_cancels_the_async_reader(
    sse_server: SSEServer, anyio_backend: str
) -> None:
    """aclose() from another task: the reading task ends and the connection is released;
    aclose() raises the hook's error."""
    sse_server.route("/s", Stream(event("a", id="1"), Stall()))
    hooks = RaisingOnClose()
    source = AsyncEventSource(sse_server.url + "/s", hooks=hooks)
    got: list[str] = []
    first = anyio.Event()

    async def read() -> None:
        async for item in source:
            got.append(item.data)
            first.set()

    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            group.start_soon(read)
            await first.wait()
            await anyio.sleep(0.1)  # the reader blocks on the stalled stream
            with pytest.raises(RuntimeError, match="on_close failed"):
                await source.aclose()
        await anyio.to_thread.run_sync(sse_server.wait_until_idle, 5)
    assert (got, hooks.closed) == (["a"], 1)


class RaisingOnComment(CommentRecorder):
    def on_comment(self, source: Any, text: str) -> None:
        super().on_comment(source, text)
        raise ValueError(f"bad comment {text!r}")


def test_on_comment_that_raises_closes_the_source(sse_server: SSEServer) -> None:
    """An error from on_comment ends the source like any error, without a ``with`` to
    close it: raised, the source CLOSED, on_close told once, the connection released (it
    was left OPEN, its connection held)."""
    sse_server.route("/s", Stream(event("a", id="1"), b": ping\n", Stall()))
    hooks = RaisingOnComment()
    source = EventSource(sse_server.url + "/s", hooks=hooks)
    assert next(source).data == "a"
    with pytest.raises(ValueError, match="bad comment ' ping'"):
        next(source)
    assert source.ready_state is ReadyState.CLOSED
    assert hooks.closed == 1
    sse_server.wait_until_idle(timeout=5)
    with pytest.raises(StopIteration):
        next(source)


@pytest.mark.anyio
async def test_on_comment_that_raises_closes_the_async_source(
    sse_server: SSEServer, anyio_backend: str
) -> None:
    """The async twin: closed, released, told once."""
    sse_server.route("/s", Stream(event("a", id="1"), b": ping\n", Stall()))
    hooks = RaisingOnComment()
    source = AsyncEventSource(sse_server.url + "/s", hooks=hooks)
    with anyio.fail_after(5):
        assert (await source.__anext__()).data == "a"
        with pytest.raises(ValueError, match="bad comment ' ping'"):
            await source.__anext__()
        assert source.ready_state is ReadyState.CLOSED
        await anyio.to_thread.run_sync(sse_server.wait_until_idle, 5)
    assert hooks.closed == 1


class ClosingOnComment(CommentRecorder):
    def on_comment(self, source: Any, text: str) -> None:
        super().on_comment(source, text)
        source.close()


def test_close_inside_on_comment_dispatches_nothing_more(sse_server: SSEServer) -> None:
    """close() in on_comment: the rest of the same read is not delivered (the next event
    was)."""
    sse_server.route("/s", Stream(b": bye\ndata: after\n\n", Stall()))
    hooks = ClosingOnComment()
    with EventSource(sse_server.url + "/s", hooks=hooks) as source:
        assert list(source) == []
    assert (hooks.comments, hooks.closed) == ([" bye"], 1)
    sse_server.wait_until_idle(timeout=5)


# -- Waits of any length end when the source closes ----------------------------------------


class Answer(Recorder):
    """on_error answers with the same number of seconds every time."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds

    def on_error(self, source: Any, failure: Failure) -> float:
        super().on_error(source, failure)
        return self.seconds


@pytest.mark.parametrize(
    ("route", "options"),
    [
        pytest.param(
            Stream(b"retry: 100000000000000000000\n\n"),
            {"reconnect": ReconnectPolicy(max_delay=math.inf)},
            id="huge-retry-uncapped",
        ),
        pytest.param(
            Reply(503, headers={"Retry-After": "99999999999"}),
            {"reconnect": ReconnectPolicy(max_delay=math.inf, retry_statuses=True)},
            id="huge-retry-after",
        ),
        pytest.param(Stream(event("a")), {"hooks": "inf"}, id="hook-answers-inf"),
        pytest.param(Stream(event("a")), {"hooks": 1e12}, id="hook-answers-1e12"),
    ],
)
def test_a_wait_of_any_length_ends_when_the_source_closes(
    sse_server: SSEServer, route: Any, options: dict[str, Any]
) -> None:
    """Waits past the platform's time_t (about 9.2e9 s) crashed with OverflowError; now
    they are waits like any other, and close() ends them."""
    sse_server.route("/s", route)
    if "hooks" in options:
        answer = math.inf if options["hooks"] == "inf" else options["hooks"]
        options = {"hooks": Answer(answer)}
    source = EventSource(sse_server.url + "/s", **options)
    closer = threading.Timer(0.3, source.close)
    closer.start()
    started = time.monotonic()
    list(source)
    closer.join()
    assert time.monotonic() - started < 3.0
    assert source.ready_state is ReadyState.CLOSED


@pytest.mark.anyio
async def test_an_async_wait_of_any_length_ends_when_the_source_closes(
    sse_server: SSEServer, anyio_backend: str
) -> None:
    """The async twin: an infinite wait asked for by a hook ends at aclose()."""
    sse_server.route("/s", Stream(event("a")))
    source = AsyncEventSource(sse_server.url + "/s", hooks=Answer(math.inf))
    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            group.start_soon(lambda: _close_later(source))
            assert [e.data async for e in source] == ["a"]
    assert source.ready_state is ReadyState.CLOSED


async def _close_later(source: AsyncEventSource) -> None:
    await anyio.sleep(0.3)
    await source.aclose()


# -- One consumer at a time ----------------------------------------------------------------


def _wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.005)


def test_a_second_thread_iterating_gets_a_clear_error(sse_server: SSEServer) -> None:
    """Two threads on one EventSource: the second is refused at once, nothing duplicates."""
    sse_server.route("/s", Stream(event("a", id="1"), Stall()))
    got: list[ServerSentEvent] = []
    with EventSource(sse_server.url + "/s") as source:
        reader = threading.Thread(target=lambda: got.extend(source))
        reader.start()
        _wait_for(lambda: len(got) == 1 and source._busy.locked())
        with pytest.raises(RuntimeError, match="another thread is already iterating"):
            next(source)
        assert source.ready_state is ReadyState.OPEN  # the first consumer goes on
        source.close()
        reader.join(5)
    assert not reader.is_alive()
    assert [e.data for e in got] == ["a"]
    assert len(sse_server.requests) == 1


@pytest.mark.anyio
async def test_a_second_task_iterating_gets_a_clear_error(sse_server: SSEServer) -> None:
    """Two tasks on one AsyncEventSource: the second is refused at once."""
    sse_server.route("/s", Stream(event("a", id="1"), Stall()))
    got: list[ServerSentEvent] = []
    with anyio.fail_after(10):
        async with (
            AsyncEventSource(sse_server.url + "/s") as source,
            anyio.create_task_group() as group,
        ):
            first = anyio.Event()

            async def consume() -> None:
                async for item in source:
                    got.append(item)
                    first.set()  # the consumer goes on into the next read, unawaited

            group.start_soon(consume)
            await first.wait()
            assert source._busy
            with pytest.raises(RuntimeError, match="another task is already iterating"):
                await source.__anext__()
            assert source.ready_state is ReadyState.OPEN
            await source.aclose()
    assert [e.data for e in got] == ["a"]
    assert len(sse_server.requests) == 1
