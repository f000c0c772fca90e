"""Hostile and careless servers, and careless callers: what a source must survive.

Each test reproduces a defect against a real server on 127.0.0.1, on every driver
that it applies to (EventSource, and AsyncEventSource on asyncio and trio).
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import importlib
import logging
import math
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import anyio
import httpx2
import pytest

from sse_client import (
    AsyncEventSource,
    EventSource,
    EventTooLarge,
    Failure,
    ReadyState,
    ReconnectError,
    ReconnectPolicy,
    ServerSentEvent,
    StreamEnded,
    Timeouts,
    UnrecoverableError,
)
from sse_client._backoff import Attempt, Run, Wait, decide
from sse_client._core import last_event_id_header
from sse_client.testing import Reply, SSEServer, Stall, Stream, event

from .drivers import FAST, CommentRecorder, Driver, Recorder
from .servers import raw_server

# -- Credentials stay on the origin the user named (spec: C-REDIRECT) ---------------------

SECRETS = {"Authorization": "Bearer secret", "Cookie": "session=secret"}


def _fixed_headers() -> Any:
    return SECRETS


def _header_function() -> Any:
    return lambda: SECRETS


@pytest.mark.parametrize("headers", [_fixed_headers, _header_function], ids=["fixed", "callable"])
def test_reconnection_never_sends_credentials_to_a_redirects_other_origin(
    sse_server: SSEServer, drive: Driver, headers: Callable[[], Any]
) -> None:
    """After a redirect to another origin, reconnections start again from the user's URL.

    127.0.0.1 and localhost are two origins. The client's redirect policy strips the
    user's Authorization and Cookie on the way to the other one; a reconnection sent
    straight there would carry them.
    """
    other_origin = sse_server.url.replace("127.0.0.1", "localhost")
    sse_server.route("/old", Reply.redirect(other_origin + "/new"))
    sse_server.route("/new", Stream(event("a", id="1")), Stream(event("b", id="2")), Reply(204))
    outcome = drive(sse_server.url + "/old", headers=headers(), reconnect=FAST)
    assert [e.data for e in outcome.events] == ["a", "b"]
    requests = sse_server.requests
    assert [(r.headers["host"].split(":")[0], r.path) for r in requests] == [
        ("127.0.0.1", "/old"),
        ("localhost", "/new"),
        ("127.0.0.1", "/old"),
        ("localhost", "/new"),
        ("127.0.0.1", "/old"),
        ("localhost", "/new"),
    ]
    for request in requests:
        named = request.headers["host"].startswith("127.0.0.1")
        assert ("authorization" in request.headers) is named
        assert ("cookie" in request.headers) is named
    # The resumption still works: each reconnection carries the last event ID.
    assert [r.last_event_id for r in requests[2::2]] == ["1", "2"]
    assert str(outcome.url) == sse_server.url + "/old"


# -- A body that cannot be sent twice ------------------------------------------------------


def _chunks() -> Iterator[bytes]:
    yield b'{"prompt": '
    yield b'"hi"}'


async def _achunks() -> AsyncIterator[bytes]:
    for chunk in _chunks():
        yield chunk


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_an_iterator_body_with_reconnection_is_refused_at_once(method: str) -> None:
    """A generator is empty the second time: reconnecting would resend an empty body."""
    reconnect = True if method == "POST" else None  # GET reconnects by default
    with pytest.raises(ValueError, match="iterator"):
        EventSource("http://test/", method=method, content=_chunks(), reconnect=reconnect)
    with pytest.raises(ValueError, match="iterator"):
        AsyncEventSource("http://test/", method=method, content=_achunks(), reconnect=reconnect)


def test_an_iterator_body_is_sent_whole_without_reconnection(
    sse_server: SSEServer, drive: Driver
) -> None:
    """With reconnect=False (a POST's default), a streamed body is fine: it is sent once."""
    sse_server.route("/llm", Stream(event("tok", id="1")))
    content: Any = _chunks() if drive.__name__ == "drive_sync" else _achunks()
    outcome = drive(sse_server.url + "/llm", method="POST", content=content)
    assert [e.data for e in outcome.events] == ["tok"]
    assert [r.body for r in sse_server.requests] == [b'{"prompt": "hi"}']


# -- Last-Event-ID: verbatim in the API, a valid header on the wire (spec: C-LASTID) -----


@pytest.mark.parametrize(
    ("last_event_id", "header"),
    [
        ("5", b"5"),
        ("5 ", b"5"),
        ("\t5", b"5"),
        ("\x0b5\x0c", b"5"),
        ("a b\tc", b"a b\tc"),
        ("\u20ac", "\u20ac".encode()),
        (" \t", b""),
        ("a\x0bb", None),
        ("a\x7fb", None),
        ("a\x00b", None),
    ],
)
def test_last_event_id_header_is_trimmed_or_withheld(
    last_event_id: str, header: bytes | None
) -> None:
    """Edges lose tab, space, VT and FF; inner controls withhold the header. Our choice,
    from RFC 9110's field values (Chromium trims only tab and space, and sends the rest)."""
    assert last_event_id_header(last_event_id) == header


@pytest.mark.parametrize(
    ("field", "verbatim", "sent"),
    [
        (b"id: 5 ", "5 ", "5"),
        (b"id:\t5", "\t5", "5"),
        (b"id: \x0c5\x0b", "\x0c5\x0b", "5"),
        (b"id: a\x0bb", "a\x0bb", None),
    ],
    ids=["trailing-space", "leading-tab", "ff-vt-edges", "inner-vt"],
)
def test_a_server_id_with_odd_whitespace_never_kills_the_stream(
    sse_server: SSEServer,
    drive: Driver,
    field: bytes,
    verbatim: str,
    sent: str | None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The ID is kept verbatim; the reconnection sends a valid header, or none, and goes on."""
    sse_server.route("/s", Stream(field + b"\ndata: a\n\n"), Stream(event("b")), Reply(204))
    with caplog.at_level(logging.WARNING, logger="sse_client"):
        outcome = drive(sse_server.url + "/s", reconnect=FAST)
    assert [(e.data, e.id) for e in outcome.events] == [("a", verbatim), ("b", verbatim)]
    assert outcome.last_event_id == verbatim
    assert [r.last_event_id for r in sse_server.requests] == [None, sent, sent]
    assert ("Last-Event-ID not sent" in caplog.text) is (sent is None)


def test_a_user_last_event_id_is_trimmed_on_the_wire(sse_server: SSEServer, drive: Driver) -> None:
    """The user's own ID follows the same rule as the server's."""
    sse_server.route("/s", Reply(204))
    outcome = drive(sse_server.url + "/s", last_event_id=" 41\t")
    assert outcome.last_event_id == " 41\t"
    assert sse_server.requests[0].last_event_id == "41"


@pytest.mark.parametrize("value", ["a\x0bb", "a\x01", "\x7f"])
def test_a_user_last_event_id_with_control_characters_is_refused(value: str) -> None:
    """A value no header can carry is a clear ValueError at construction."""
    with pytest.raises(ValueError, match="last_event_id"):
        EventSource("http://test/", last_event_id=value)
    with pytest.raises(ValueError, match="last_event_id"):
        AsyncEventSource("http://test/", last_event_id=value)


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


# -- A server that asks for no delay, then keeps failing -----------------------------------


def _waits(reconnection_time: float, failures: int) -> list[float]:
    # The waits after ``failures`` failed attempts in a row, without jitter.
    waits, run = [], Run()
    for _ in range(failures):
        action, run = decide(
            ReconnectPolicy(jitter=0),
            run,
            Attempt(StreamEnded(), "ended"),
            reconnection_time=reconnection_time,
            now=0.0,
        )
        assert isinstance(action, Wait)
        waits.append(action.seconds)
    return waits


def test_a_zero_reconnection_time_still_backs_off() -> None:
    """A server that asks for no delay and keeps failing: waits double from a floor."""
    assert _waits(0.0, 10) == [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 30.0]
    assert _waits(5.0, 4) == [5.0, 10.0, 20.0, 30.0]


def test_retry_zero_and_a_drop_is_not_a_spin(sse_server: SSEServer, drive: Driver) -> None:
    """spec: F-RETRY, C-DELAY -- ``retry: 0`` then a drop, again and again, backs off."""
    sse_server.route("/s", Stream(b"retry: 0\n\n"))
    started = time.monotonic()
    with pytest.raises(ReconnectError) as info:
        drive(sse_server.url + "/s", reconnect=ReconnectPolicy(max_attempts=4))
    elapsed = time.monotonic() - started
    assert info.value.attempts == 4
    assert len(sse_server.requests) == 4
    assert elapsed >= 0.7  # waits of at least 0.1, 0.2 and 0.4 seconds


# -- close() from another thread, in every phase -------------------------------------------


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


# -- Compressed bodies -----------------------------------------------------------------------


def test_a_gzipped_stream_is_decoded(sse_server: SSEServer, drive: Driver) -> None:
    """Content-Encoding: gzip is decoded before parsing, on every driver and stack."""
    body = gzip.compress(event("a", id="1") + event("b \u20ac", id="2"))
    sse_server.route("/s", Stream(body, headers={"Content-Encoding": "gzip"}), Reply(204))
    outcome = drive(sse_server.url + "/s", reconnect=FAST)
    assert [(e.data, e.id) for e in outcome.events] == [("a", "1"), ("b \u20ac", "2")]


@functools.cache
def _data_bomb() -> bytes:
    return gzip.compress(b"data: " + b"x" * (64 << 20), compresslevel=9)


def test_a_gzip_bomb_of_data_is_stopped_by_max_event_size(
    sse_server: SSEServer, drive: Driver
) -> None:
    """64 MiB of one data line compresses to about 64 KiB; max_event_size stops it early."""
    body = _data_bomb()
    assert len(body) < 200_000
    sse_server.route("/s", Stream(body, headers={"Content-Encoding": "gzip"}))
    with pytest.raises(EventTooLarge):
        drive(sse_server.url + "/s", reconnect=FAST, max_event_size=1 << 20)


# -- Nothing is sent after a close, even from a setting's function ------------------------


@pytest.mark.parametrize(
    ("backend", "stack"),
    [
        *((backend, stack) for stack in ("httpx2", "httpx") for backend in ("asyncio", "trio")),
        ("asyncio", "aiohttp"),
    ],
)
def test_aclose_while_a_header_function_awaits_ends_at_once_and_sends_nothing(
    sse_server: SSEServer, backend: str, stack: str
) -> None:
    """aclose() cancels an async headers function at once, and no request goes out (it
    went on for 4.7 s, then sent the request anyway)."""
    sse_server.route("/s", Stream(event("a", id="1")))

    async def main() -> tuple[list[str], float, AsyncEventSource]:
        awaiting = anyio.Event()

        async def headers() -> dict[str, str]:
            awaiting.set()
            await anyio.sleep(30)
            return {}

        async with contextlib.AsyncExitStack() as exits:
            client: Any = None
            if stack != "httpx2":
                module = importlib.import_module(stack)
                make = module.ClientSession if stack == "aiohttp" else module.AsyncClient
                client = await exits.enter_async_context(make())
            source = AsyncEventSource(sse_server.url + "/s", headers=headers, client=client)

            async def close_soon() -> None:
                await awaiting.wait()
                await source.aclose()

            with anyio.fail_after(5):
                async with anyio.create_task_group() as group:
                    group.start_soon(close_soon)
                    started = anyio.current_time()
                    got = [e.data async for e in source]
        return got, anyio.current_time() - started, source

    got, elapsed, source = anyio.run(main, backend=backend)
    assert got == []
    assert elapsed < 2.0
    assert source.ready_state is ReadyState.CLOSED
    assert sse_server.requests == ()


def test_close_while_a_sync_header_function_runs_sends_nothing(sse_server: SSEServer) -> None:
    """A blocking headers function cannot be interrupted, but once it returns into a
    closed source, nothing is sent."""
    sse_server.route("/s", Stream(event("a", id="1")))
    running = threading.Event()

    def headers() -> dict[str, str]:
        running.set()
        time.sleep(0.3)
        return {}

    source = EventSource(sse_server.url + "/s", headers=headers)

    def close_while_it_runs() -> None:
        running.wait(5)
        source.close()

    closer = threading.Thread(target=close_while_it_runs)
    closer.start()
    assert list(source) == []
    closer.join(5)
    assert source.ready_state is ReadyState.CLOSED
    assert sse_server.requests == ()


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


# -- Waits of any length end when the source closes -----------------------------------------


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


class Answer(Recorder):
    """on_error answers with the same number of seconds every time."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds

    def on_error(self, source: Any, failure: Failure) -> float:
        super().on_error(source, failure)
        return self.seconds


# -- A response no stack could read is retried on every stack ------------------------------


STREAM_A = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\nid: 1\ndata: a\n\n"
NO_CONTENT = b"HTTP/1.1 204 No Content\r\n\r\n"


@pytest.mark.parametrize(
    "malformed",
    [
        pytest.param(b"HTTX/1.1 200 OK\r\n\r\n", id="garbled-status-line"),
        pytest.param(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nX-Big: "
            + b"a" * 200_000
            + b"\r\n\r\ndata: never\n\n",
            id="200k-header-line",
        ),
    ],
)
def test_a_malformed_response_is_retried_on_every_stack(malformed: bytes, drive: Driver) -> None:
    """A response the stack cannot read is a protocol error: reconnected after, as httpx2
    does (aiohttp raised ClientResponseError with a status 400 no server sent)."""
    hooks = Recorder()
    with raw_server(malformed, STREAM_A, NO_CONTENT) as server:
        outcome = drive(server.url, reconnect=FAST, hooks=hooks)
    assert [e.data for e in outcome.events] == ["a"]
    assert len(hooks.errors) == 2  # the malformed answer, then the stream's clean end
    assert len(hooks.delays) == 2
