"""Hostile and careless servers, and careless callers: what a source must survive.

Each test reproduces a defect against a real server on 127.0.0.1, on every driver
that it applies to (EventSource, and AsyncEventSource on asyncio and trio).
"""

from __future__ import annotations

import functools
import gzip
import logging
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

from .drivers import FAST, Driver, Recorder

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
