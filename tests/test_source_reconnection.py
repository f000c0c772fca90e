"""When and how soon a source reconnects, and what it resumes from.

Every event once, in order, across drops, resets, cut bodies, trickles and random cuts;
the server's ``retry:``; a clean end against an error (``after="always"``, ``"errors"``,
``"never"``); a connection that worked is no failure (servers that close at will and have
clients poll at their ``retry:``, tokens that expire, limits on attempts), while one that
dies young backs off; what no retry can mend ends the source at once; the hooks decide
per failure; ``reconnect()`` drops a connection at once; the log says what happened.

Against a real server on 127.0.0.1, mostly through the ``drive`` fixture (see
drivers.py): every driver (EventSource, AsyncEventSource on asyncio and trio) and stack
(httpx2, httpx, and an aiohttp session on asyncio). Tags (``spec: X``) refer to the
project's restatement of the WHATWG rules.
"""

from __future__ import annotations

import asyncio
import importlib
import itertools
import logging
import random
import ssl
import statistics
import threading
import time
from collections.abc import Callable
from typing import Any

import anyio
import pytest

from sse_client import (
    STOP,
    AsyncEventSource,
    EventSource,
    Failure,
    ReadyState,
    ReconnectError,
    ReconnectPolicy,
    ResponseError,
    ServerSentEvent,
    Stop,
    StreamEnded,
    Timeouts,
    UnrecoverableError,
)
from sse_client._backoff import Attempt, Run, Wait, decide
from sse_client.testing import (
    Drop,
    Reply,
    Request,
    Sleep,
    SSEServer,
    Stall,
    Stream,
    Trickle,
    event,
    format_event,
    resumable_counter,
)

from .drivers import FAST, Calls, CommentRecorder, Driver, Recorder, consume_while, soon_after
from .scripts import (
    BUSY,
    BUSY_IDLE,
    BUSY_IDS,
    BUSY_PAUSE,
    IN_LOOP,
    IN_LOOP_SETTINGS,
    assert_dropped_by_reconnect,
)

# -- Every event once, in order, across drops (spec: C-REESTABLISH, C-LASTID) --------------


def test_resumes_from_last_event_id_across_drops(sse_server: SSEServer, drive: Driver) -> None:
    """spec: C-REESTABLISH, C-LASTID -- every event once, in order, across many drops."""
    sse_server.route("/count", resumable_counter(30, per_connection=4))
    outcome = drive(sse_server.url + "/count", reconnect=FAST)
    assert [e.data for e in outcome.events] == [f"event {n}" for n in range(1, 31)]
    assert [e.id for e in outcome.events] == [str(n) for n in range(1, 31)]
    sent = [request.last_event_id for request in sse_server.requests]
    assert sent == [None, "4", "8", "12", "16", "20", "24", "28", "30"]
    assert outcome.ready_state is ReadyState.CLOSED
    assert outcome.last_event_id == "30"
    assert all(isinstance(error, StreamEnded) for error in outcome.errors)
    assert len(outcome.errors) == len(outcome.delays) == 8
    assert outcome.opened == 8
    assert outcome.closed == 1


def test_drop_mid_event_discards_the_partial_event(sse_server: SSEServer, drive: Driver) -> None:
    """spec: C-FRESH, D-EOF -- the cut event is never delivered; its id is not sent back."""
    sse_server.route(
        "/s",
        Stream(event("a", id="1"), b"id: 2\ndata: partial", Drop()),
        Stream(event("b", id="2")),
        Reply(204),
    )
    outcome = drive(sse_server.url + "/s", reconnect=FAST)
    assert [e.data for e in outcome.events] == ["a", "b"]
    assert [r.last_event_id for r in sse_server.requests] == [None, "1", "2"]


def test_reset_connection_is_reestablished(sse_server: SSEServer, drive: Driver) -> None:
    """A connection reset by the server is a network error: reconnect and resume.

    aiohttp reports a reset that ends a body delimited by the connection's close as the
    body's end, so there it is a clean end (the README's stack table says so); a
    chunked body's reset is an error on every stack (the test below)."""
    sse_server.route("/s", Stream(event("a", id="1"), Drop(reset=True)), Reply(204))
    outcome = drive(sse_server.url + "/s", reconnect=FAST)
    assert [e.data for e in outcome.events] == ["a"]
    expected = StreamEnded if drive.http.__name__ == "aiohttp" else drive.http.ReadError
    assert isinstance(outcome.errors[0], expected)
    assert sse_server.requests[1].last_event_id == "1"


def test_reset_chunked_body_is_an_error(sse_server: SSEServer, drive: Driver) -> None:
    """A reset in the middle of a chunked body is an error, not a clean end."""
    sse_server.route("/s", Stream(event("a", id="1"), Drop(reset=True), chunked=True), Reply(204))
    outcome = drive(sse_server.url + "/s", reconnect=FAST)
    assert [e.data for e in outcome.events] == ["a"]
    error = outcome.errors[0]
    assert not isinstance(error, StreamEnded)
    assert isinstance(error, drive.http.ReadError | drive.http.RemoteProtocolError)


def test_incomplete_chunked_body_is_reestablished(sse_server: SSEServer, drive: Driver) -> None:
    """An incomplete chunked read is a network error too."""
    sse_server.route("/s", Stream(event("a", id="1"), Drop(), chunked=True), Reply(204))
    outcome = drive(sse_server.url + "/s", reconnect=FAST)
    assert [e.data for e in outcome.events] == ["a"]
    assert isinstance(outcome.errors[0], drive.http.RemoteProtocolError)
    assert sse_server.requests[1].last_event_id == "1"


def test_one_byte_per_write(sse_server: SSEServer, drive: Driver) -> None:
    """A server that trickles its bytes one at a time gives the same events."""
    body = (
        "\ufeffevent: add\r\ndata: h\u00e9\u20ac\r\n\r\n".encode()
        + event("two\nlines", id="7")
        + b"data: cr\r\r"
    )
    sse_server.route("/s", Stream(Trickle(body)), Reply(204))
    outcome = drive(sse_server.url + "/s", reconnect=FAST)
    assert outcome.events == [
        ServerSentEvent(event="add", data="h\u00e9\u20ac"),
        ServerSentEvent(data="two\nlines", id="7"),
        ServerSentEvent(data="cr", id="7"),
    ]


def test_each_connection_strips_its_own_bom(sse_server: SSEServer, drive: Driver) -> None:
    """spec: C-FRESH, P-BOM -- a BOM at the start of every connection is dropped."""
    sse_server.route(
        "/s",
        Stream(b"\xef\xbb\xbf" + event("a", id="1")),
        Stream(b"\xef\xbb\xbf" + event("b", id="2")),
        Reply(204),
    )
    outcome = drive(sse_server.url + "/s", reconnect=FAST)
    assert [e.data for e in outcome.events] == ["a", "b"]


def test_idle_timeout_reestablishes_a_stalled_stream(sse_server: SSEServer, drive: Driver) -> None:
    """Beyond spec: no byte for idle_timeout seconds means a dead connection."""
    sse_server.route("/s", Stream(event("a", id="1"), Stall()), Reply(204))
    outcome = drive(
        sse_server.url + "/s", timeout=Timeouts(idle=0.5), reconnect=FAST
    )  # "a" arrives first
    assert [e.data for e in outcome.events] == ["a"]
    assert isinstance(outcome.errors[0], drive.http.ReadTimeout)
    assert sse_server.requests[1].last_event_id == "1"


@pytest.mark.parametrize("stack", ["httpx2", "httpx"])
def test_the_idle_timeout_arms_no_timer_per_read_on_asyncio(
    sse_server: SSEServer, stack: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On asyncio, httpcore armed a timer at every read under the idle timeout (the
    default 300 s): on a thousand busy streams the timers it cancelled kept the garbage
    collector at work (a quarter more CPU per event, full collections of 60-75 ms). A
    watchdog looks a few times per idle period instead; a stall is still noticed
    (test_idle_timeout_reestablishes_a_stalled_stream, on every driver and stack)."""
    reads = 100
    steps = [step for n in range(reads) for step in (event(str(n)), Sleep(0.002))]
    sse_server.route("/s", Stream(*steps), Reply(204))
    module = importlib.import_module(stack)

    async def main() -> tuple[list[str], int]:
        async with module.AsyncClient() as client:
            source = AsyncEventSource(
                sse_server.url + "/s", client=client, timeout=Timeouts(idle=60), reconnect=False
            )
            async with source:
                first = await source.__anext__()
                timers = Calls(monkeypatch, asyncio.get_running_loop(), "call_at")
                rest = [e.data async for e in source]
        return [first.data, *rest], timers.stop()

    got, armed = asyncio.run(asyncio.wait_for(main(), 10))
    assert got == [str(n) for n in range(reads)]
    assert armed < reads // 4, armed


def test_a_consumer_busy_for_longer_than_the_idle_timeout_is_no_idle_stream(
    sse_server: SSEServer, drive: Driver
) -> None:
    """The idle timeout counts the time a read waits for bytes, not the time the consumer
    spends between reads: a consumer busy for three idle periods with the server sending
    all along finds the stream as it was (on httpx2 and httpx no byte is read meanwhile;
    aiohttp with a small buffer: test_source_aiohttp)."""
    sse_server.route("/s", *BUSY)
    outcome = drive(
        sse_server.url + "/s", timeout=Timeouts(idle=BUSY_IDLE), reconnect=FAST, pause=BUSY_PAUSE
    )
    assert [e.id for e in outcome.events] == BUSY_IDS
    assert [type(error) for error in outcome.errors] == [StreamEnded]  # the body's clean end
    assert len(sse_server.requests) == 2


# -- Random cuts: mid-line, mid-field, inside a CRLF or a multi-byte character -------------

TOTAL = 300


def chaos_endpoint(seed: int) -> tuple[list[str], Callable[[Request], Stream | Reply]]:
    """The expected data, and an endpoint that cuts each connection at a random byte."""
    rng = random.Random(seed)
    data = [f"n{n} \u20ac\U0001f600 {'x' * rng.randint(0, 40)}" for n in range(1, TOTAL + 1)]
    blocks = [
        format_event(text, id=str(n), event="tick").replace(b"\n", b"\r\n" if n % 3 == 0 else b"\n")
        for n, text in enumerate(data, start=1)
    ]

    def respond(request: Request) -> Stream | Reply:
        last = request.last_event_id
        start = int(last) if last else 0
        if start >= TOTAL:
            return Reply(204)
        body = b"".join(blocks[start:])
        cut = rng.randint(1, min(len(body), 400))
        return Stream(body[:cut], Drop(reset=rng.random() < 0.3))

    return data, respond


def test_every_event_once_in_order_across_random_drops(
    sse_server: SSEServer, drive: Driver
) -> None:
    """Hundreds of random cuts lose, duplicate and reorder nothing."""
    expected, respond = chaos_endpoint(seed=1234)
    sse_server.route("/chaos", respond)
    outcome = drive(
        sse_server.url + "/chaos", reconnect=ReconnectPolicy(reconnection_time=0, max_delay=0)
    )
    assert [e.data for e in outcome.events] == expected
    assert [e.id for e in outcome.events] == [str(n) for n in range(1, TOTAL + 1)]
    assert {e.event for e in outcome.events} == {"tick"}
    assert len(sse_server.requests) > 100


# -- The server's retry: is the next wait (spec: C-DELAY, F-RETRY) -------------------------


def test_server_retry_sets_the_delay(sse_server: SSEServer, drive: Driver) -> None:
    """spec: C-DELAY, F-RETRY -- the server's retry field is the next wait, exactly, after
    a stream that worked (no jitter: browsers wait exactly that)."""
    sse_server.route("/s", Stream(event(None, retry=40), event("a", id="1")), Reply(204))
    outcome = drive(sse_server.url + "/s", reconnect=ReconnectPolicy(reconnection_time=5.0))
    assert outcome.delays == [0.04]
    assert outcome.reconnection_time == 0.04


def test_reconnection_time_follows_the_server_while_streaming(sse_server: SSEServer) -> None:
    """spec: F-RETRY -- the server's retry field is visible at once, mid-stream."""
    sse_server.route(
        "/s", Stream(event("a"), Sleep(0.3), event(None, retry=250), event("b")), Reply(204)
    )
    seen: list[float] = []
    with EventSource(
        sse_server.url + "/s", reconnect=ReconnectPolicy(reconnection_time=5.0)
    ) as source:
        seen.extend(source.reconnection_time for _ in source)
    assert seen == [5.0, 0.25]


# -- A clean end is not an error -----------------------------------------------------------

CLEAN_THEN_MORE = (Stream(event("a", id="1")), Stream(event("b", id="2")), Reply(204))
BROKEN_THEN_CLEAN = (
    Stream(event("a", id="1"), Drop(), chunked=True),  # an incomplete chunked body
    Stream(event("b", id="2")),  # a body that ends properly
    Stream(event("c", id="3")),
)


def test_always_reconnects_after_a_clean_end(sse_server: SSEServer, drive: Driver) -> None:
    """spec: C-REESTABLISH -- the standard (and GET's default): every end reconnects."""
    sse_server.route("/s", *CLEAN_THEN_MORE)
    outcome = drive(sse_server.url + "/s", reconnect=FAST)
    assert [e.data for e in outcome.events] == ["a", "b"]
    assert [type(e) for e in outcome.errors] == [StreamEnded, StreamEnded]
    assert all(isinstance(e, StreamEnded) and e.clean for e in outcome.errors)


def test_errors_only_stops_at_a_clean_end(sse_server: SSEServer, drive: Driver) -> None:
    """after="errors": a broken body reconnects and resumes; a clean one ends iteration."""
    sse_server.route("/s", *BROKEN_THEN_CLEAN)
    outcome = drive(sse_server.url + "/s", reconnect=FAST.replace(after="errors"))
    assert [e.data for e in outcome.events] == ["a", "b"]
    assert [r.last_event_id for r in sse_server.requests] == [None, "1"]
    broken, clean = outcome.errors
    assert isinstance(broken, drive.http.RemoteProtocolError)
    assert isinstance(clean, StreamEnded)
    assert clean.clean
    assert outcome.delays == [pytest.approx(0.001, abs=0.001)]  # one wait, after the error
    assert outcome.ready_state is ReadyState.CLOSED
    assert outcome.closed == 1


def test_never_ends_at_a_clean_end_and_raises_an_error(
    sse_server: SSEServer, drive: Driver
) -> None:
    """after="never": a clean end ends iteration; a broken body raises its error."""
    sse_server.route("/clean", Stream(event("a", id="1")))
    outcome = drive(sse_server.url + "/clean", reconnect=False)
    assert [e.data for e in outcome.events] == ["a"]
    sse_server.route("/broken", Stream(event("a", id="1"), Drop(), chunked=True))
    with pytest.raises(drive.http.RemoteProtocolError):
        drive(sse_server.url + "/broken", reconnect=ReconnectPolicy(after="never"))


def test_get_does_not_reconnect_when_told_not_to(sse_server: SSEServer, drive: Driver) -> None:
    """reconnect=False: the end of the body is the end of iteration."""
    sse_server.route("/s", Stream(event("a", id="1")))
    outcome = drive(sse_server.url + "/s", reconnect=False)
    assert [e.data for e in outcome.events] == ["a"]
    assert len(sse_server.requests) == 1
    assert outcome.ready_state is ReadyState.CLOSED


def test_network_error_is_raised_when_not_reconnecting(drive: Driver) -> None:
    """reconnect=False: a network error is raised as httpx raised it."""
    with SSEServer() as server:
        url = server.url
    with pytest.raises(drive.http.ConnectError):
        drive(url + "/s", reconnect=False)


# -- A connection that worked is no failure; one that dies young backs off -----------------


def test_connections_that_deliver_are_polled_at_the_reconnection_time(
    sse_server: SSEServer, drive: Driver
) -> None:
    """spec: C-DELAY -- a server that sends one event and drops, again and again, is
    reconnected to after exactly the reconnection time: no doubling, no jitter."""
    sse_server.route("/s", resumable_counter(5, per_connection=1))
    outcome = drive(sse_server.url + "/s", reconnect=ReconnectPolicy(reconnection_time=0.01))
    assert len(outcome.events) == 5
    assert outcome.delays == [0.01] * 5


@pytest.mark.parametrize("recorder", [Recorder, CommentRecorder], ids=["plain", "comment-hook"])
def test_backoff_grows_while_connections_die_before_any_event(
    sse_server: SSEServer, drive: Driver, recorder: type[Recorder]
) -> None:
    """A server that accepts, sends a comment and ends is not hammered: failures in a row
    double the wait, and max_attempts gives up; a comment is no progress, whether a hook
    reads comments or not. With reset_after=0 an open connection counts as healthy."""
    sse_server.route("/s", Stream(b": hello\n\n"))
    policy = ReconnectPolicy(reconnection_time=0.01, jitter=0, min_backoff=0.01, max_attempts=5)
    hooks = recorder()
    with pytest.raises(ReconnectError):
        drive(sse_server.url + "/s", reconnect=policy, hooks=hooks)
    assert hooks.delays == pytest.approx([0.01, 0.02, 0.04, 0.08])
    assert len(sse_server.requests) == 5
    sse_server.route("/s", Stream(b": hello\n\n"), Stream(b": hello\n\n"), Reply(204))
    outcome = drive(sse_server.url + "/s", reconnect=policy.replace(reset_after=0))
    assert outcome.delays == pytest.approx([0.01, 0.01])


def test_empty_200_body_keeps_reconnecting_until_the_limit(
    sse_server: SSEServer, drive: Driver
) -> None:
    """A server that accepts and closes at once backs off and gives up at max_attempts."""
    sse_server.route("/s", Stream())
    with pytest.raises(ReconnectError) as info:
        drive(
            sse_server.url + "/s",
            reconnect=ReconnectPolicy(reconnection_time=0.001, min_backoff=0.001, max_attempts=4),
        )
    assert isinstance(info.value.__cause__, StreamEnded)
    assert len(sse_server.requests) == 4


def test_refused_connection_gives_up_after_max_attempts(drive: Driver) -> None:
    """Failing attempts back off, then ReconnectError whose cause is the last failure."""
    with SSEServer() as server:
        url = server.url  # a port that is free once the server is gone
    with pytest.raises(ReconnectError) as info:
        drive(url + "/s", reconnect=FAST.replace(max_attempts=3))
    assert info.value.attempts == 3
    assert isinstance(info.value.__cause__, drive.http.ConnectError)


# -- Servers that close at will: polled at their retry: ------------------------------------

POLLS = 5
RETRY = 0.5  # seconds: the server's retry: 500
CLOSE_AFTER = 0.05  # seconds the server keeps each connection open after its priming block


def polling_server(sse_server: SSEServer) -> None:
    """Each connection: a priming block with an id and retry: 500, and no data (so it
    dispatches no event: the moved last event ID alone is progress); the server closes
    50 ms later. The fifth poll gets 204."""
    ids = itertools.count(1)

    def respond(request: Request) -> Stream | Reply:
        n = next(ids)
        if n > POLLS:
            return Reply(204)
        return Stream(f"id: {n}\nretry: 500\n\n".encode(), Sleep(CLOSE_AFTER))

    sse_server.route("/poll", respond)


def test_a_server_that_closes_after_each_priming_block_is_polled_at_its_retry(
    sse_server: SSEServer, drive: Driver
) -> None:
    """spec: C-DELAY -- the reconnection after a stream that worked waits exactly the
    server's retry: (the delays the source decides; on the clock, within -50/+450 ms of
    the close, the median within +200 ms: a loaded machine may hold one poll back), with
    the last event ID, every time: no doubling, no jitter, no giving up."""
    polling_server(sse_server)
    outcome = drive(sse_server.url + "/poll")
    requests = sse_server.requests
    assert len(requests) == POLLS + 1  # the first connection, then five polls
    assert [r.last_event_id for r in requests] == [None, *(str(n) for n in range(1, POLLS + 1))]
    waits = [
        later.received - earlier.received - CLOSE_AFTER
        for earlier, later in itertools.pairwise(requests)
    ]
    assert all(RETRY - 0.05 <= wait <= RETRY + 0.45 for wait in waits), waits
    assert statistics.median(waits) <= RETRY + 0.2, waits
    assert outcome.delays == [RETRY] * POLLS
    assert outcome.events == []
    assert outcome.last_event_id == str(POLLS)


# -- max_attempts counts failures, not the ends of streams that worked ---------------------


def test_max_attempts_never_stops_a_stream_that_makes_progress(
    sse_server: SSEServer, drive: Driver
) -> None:
    """Every connection delivers two new events, then ends: all 20 arrive with
    max_attempts=3 (it gave up after 6 before)."""
    sse_server.route("/count", resumable_counter(20, per_connection=2))
    policy = ReconnectPolicy(reconnection_time=0.001, max_attempts=3)
    outcome = drive(sse_server.url + "/count", reconnect=policy)
    assert [e.data for e in outcome.events] == [f"event {n}" for n in range(1, 21)]
    assert outcome.delays == [0.001] * 10


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


# -- A 401: refresh the token, resume at once ----------------------------------------------


class Token:
    """A bearer token, as a client holds it and as the test server issues it."""

    def __init__(self, value: str = "t0", *, issued: str = "t0") -> None:
        self.value = value
        self.issued = issued  # what the server accepts now

    def refresh(self) -> None:
        self.value = self.issued


class RefreshToken(Recorder):
    """The README's recipe: on a 401, refresh the token and reconnect at once; STOP when
    the fresh token is refused too."""

    def __init__(self, token: Token) -> None:
        super().__init__()
        self.token = token
        self.attempts: list[int] = []

    def on_error(self, source: Any, failure: Failure) -> float | Stop | None:
        super().on_error(source, failure)
        self.attempts.append(failure.attempt)
        error = failure.error
        if isinstance(error, ResponseError) and error.status_code == 401:
            if failure.attempt > 3:
                return STOP
            self.token.refresh()
            return 0
        return None


def token_server(sse_server: SSEServer) -> None:
    """Events 1-4 for a fresh token, resuming after Last-Event-ID; the old token expires
    after event 2 (the server drops the stream, then refuses the token)."""

    def respond(request: Request) -> Stream | Reply:
        last = int(request.last_event_id or 0)
        if request.headers.get("authorization") != "Bearer fresh" and last >= 2:
            return Reply(401, b"token expired")
        if last >= 4:
            return Reply(204)
        stop = 2 if last < 2 else 4
        steps = [event(f"event {n}", id=str(n)) for n in range(last + 1, stop + 1)]
        return Stream(*steps, Drop(), chunked=True)

    sse_server.route("/s", respond)


def test_401_refresh_and_resume_loses_and_repeats_nothing(
    sse_server: SSEServer, drive: Driver
) -> None:
    """401 -> refresh the token -> reconnect at once with the same Last-Event-ID."""
    token_server(sse_server)
    token = Token("stale", issued="fresh")
    outcome = drive(
        sse_server.url + "/s",
        headers=lambda: {"Authorization": f"Bearer {token.value}"},
        reconnect=FAST,
        hooks=RefreshToken(token),
    )
    assert [e.data for e in outcome.events] == [f"event {n}" for n in range(1, 5)]
    requests = sse_server.requests
    assert [(r.headers["authorization"], r.last_event_id) for r in requests] == [
        ("Bearer stale", None),
        ("Bearer stale", "2"),  # refused: 401
        ("Bearer fresh", "2"),  # the same Last-Event-ID, at once
        ("Bearer fresh", "4"),  # the 204
    ]
    assert outcome.delays[1] == 0.0


# -- The 401 recipe of the README holds across any number of expiries ----------------------


def expiring_token_server(sse_server: SSEServer, token: Token, *, total: int) -> None:
    """Two events per accepted connection, resuming after Last-Event-ID; the token the
    server accepts changes after every second accepted connection (a 401 tells the client
    its token expired); once every event was sent, 204."""
    accepted = itertools.count(1)

    def respond(request: Request) -> Stream | Reply:
        if request.headers.get("authorization") != f"Bearer {token.issued}":
            return Reply(401, b"token expired")
        last = int(request.last_event_id or 0)
        if last >= total:
            return Reply(204)
        if next(accepted) % 2 == 0:
            token.issued = f"t{int(token.issued[1:]) + 1}"  # expires as this one ends
        return Stream(*(event(f"event {n}", id=str(n)) for n in (last + 1, last + 2)))

    sse_server.route("/s", respond)


def test_the_401_recipe_delivers_every_event_across_expiries(
    sse_server: SSEServer, drive: Driver
) -> None:
    """Twelve connections, four of them refused with 401 as the token expired: every
    event once, in order. A connection that delivered events resets the count of failed
    attempts, so each 401 is the first failure of its run (it counted every clean end
    before, and the recipe stopped after 8 of 16 events)."""
    token = Token()
    expiring_token_server(sse_server, token, total=16)
    hooks = RefreshToken(token)
    outcome = drive(
        sse_server.url + "/s",
        headers=lambda: {"Authorization": f"Bearer {token.value}"},
        reconnect=ReconnectPolicy(reconnection_time=0.001),
        hooks=hooks,
    )
    assert [e.data for e in outcome.events] == [f"event {n}" for n in range(1, 17)]
    statuses = [r.headers["authorization"] for r in sse_server.requests]
    assert len(statuses) == 13  # twelve connections, then the 204
    refused = [e for e in outcome.errors if isinstance(e, ResponseError)]
    assert [e.status_code for e in refused] == [401] * 4
    assert sorted(set(hooks.attempts)) == [0, 1]  # every 401 is the first of its run


# -- What no retry can mend ends the source at once ----------------------------------------


def test_a_certificate_that_does_not_verify_raises_at_once(tls_url: str, drive: Driver) -> None:
    """A certificate from an authority nobody trusts: UnrecoverableError at the first
    attempt, the verification error as its cause, no retry (it retried every 30 s for
    ever before)."""
    hooks = Recorder()
    with pytest.raises(UnrecoverableError) as info:
        drive(tls_url, hooks=hooks)
    assert isinstance(info.value.__cause__, ssl.SSLCertVerificationError)
    assert "CERTIFICATE_VERIFY_FAILED" in str(info.value)
    assert len(hooks.errors) == 1  # on_error saw it, and could have asked for a retry
    assert (hooks.delays, hooks.opened, hooks.closed) == ([], 0, 1)


def test_on_error_may_still_retry_what_cannot_heal(tls_url: str, drive: Driver) -> None:
    """The hook's answer wins: seconds retry a certificate failure, STOP then raises."""

    class TwiceThenStop(Recorder):
        def on_error(self, source: Any, failure: Failure) -> float | Stop | None:
            super().on_error(source, failure)
            assert failure.delay is None  # the policy would not retry
            return 0.0 if len(self.errors) < 3 else STOP

    hooks = TwiceThenStop()
    with pytest.raises(UnrecoverableError):
        drive(tls_url, hooks=hooks)
    assert (len(hooks.errors), hooks.delays) == (3, [0.0, 0.0])


@pytest.mark.parametrize(
    "url", ["ftp://127.0.0.1/s", lambda: "ftp://127.0.0.1/s", lambda: "http://[::1"]
)
def test_a_url_the_stack_cannot_fetch_raises_at_once(url: Any, drive: Driver) -> None:
    """An unsupported scheme, or an invalid URL from a URL function: UnrecoverableError
    from the stack's error, at the first attempt."""
    hooks = Recorder()
    with pytest.raises(UnrecoverableError) as info:
        drive(url, hooks=hooks)
    assert info.value.__cause__ is hooks.errors[0]
    assert hooks.delays == []


# -- A decision per failure ----------------------------------------------------------------


class Decide(Recorder):
    """Hooks that answer every failure with a fixed answer, and keep the failures."""

    def __init__(self, answer: float | Stop | None) -> None:
        super().__init__()
        self.answer = answer
        self.failures: list[Failure] = []
        self.sources: list[Any] = []

    def on_error(self, source: Any, failure: Failure) -> float | Stop | None:
        super().on_error(source, failure)
        self.failures.append(failure)
        self.sources.append(source.last_event_id)
        return self.answer


def test_on_error_picks_the_delay(sse_server: SSEServer, drive: Driver) -> None:
    """A number from on_error is the wait, whatever the policy says; the hook sees the
    failure (with the policy's proposal) and the source. Streams that delivered events
    are no failed attempts: attempt 0 each time."""
    sse_server.route("/s", Stream(event("a", id="1")), Stream(event("b", id="2")), Reply(204))
    hooks = Decide(0.005)
    outcome = drive(
        sse_server.url + "/s", reconnect=ReconnectPolicy(reconnection_time=30.0), hooks=hooks
    )
    assert [e.data for e in outcome.events] == ["a", "b"]
    assert outcome.delays == [0.005, 0.005]
    assert [f.attempt for f in hooks.failures] == [0, 0]
    assert hooks.failures[0].delay == 30.0  # what the policy proposed: the reconnection time
    assert hooks.sources == ["1", "2"]


def test_on_error_stop_ends_cleanly_or_raises(sse_server: SSEServer, drive: Driver) -> None:
    """STOP: a clean end just ends iteration; an error is raised as it was."""
    sse_server.route("/clean", Stream(event("a", id="1")), Stream(event("b", id="2")))
    outcome = drive(sse_server.url + "/clean", reconnect=FAST, hooks=Decide(STOP))
    assert [e.data for e in outcome.events] == ["a"]
    assert outcome.delays == []
    sse_server.route("/broken", Stream(event("a", id="1"), Drop(), chunked=True))
    with pytest.raises(drive.http.RemoteProtocolError):
        drive(sse_server.url + "/broken", reconnect=FAST, hooks=Decide(STOP))


def test_on_error_can_retry_what_the_policy_would_not(sse_server: SSEServer, drive: Driver) -> None:
    """A 500 fails the connection by default; a hook may answer with a delay instead."""
    sse_server.route("/s", Reply(500, b"busy"), Stream(event("a", id="1")), Reply(204))
    hooks = Decide(0.0)
    outcome = drive(sse_server.url + "/s", reconnect=FAST, hooks=hooks)
    assert [e.data for e in outcome.events] == ["a"]
    assert hooks.failures[0].delay is None  # the policy alone would have stopped
    assert isinstance(hooks.failures[0].error, ResponseError)


def test_on_error_must_answer_sensibly(sse_server: SSEServer, drive: Driver) -> None:
    """A negative delay from the hook is a ValueError, not a spin."""
    sse_server.route("/s", Stream(event("a", id="1")))
    with pytest.raises(ValueError, match="on_error"):
        drive(sse_server.url + "/s", reconnect=FAST, hooks=Decide(-1.0))


class Reject(Recorder):
    """on_open that refuses a response without the header it expects."""

    def on_open(self, source: Any, response: Any) -> None:
        super().on_open(source, response)
        if "x-tenant" not in response.headers:
            raise PermissionError("no tenant header")


def test_on_open_may_reject_a_response(sse_server: SSEServer, drive: Driver) -> None:
    """Raising in on_open refuses the stream: the source closes and the error propagates."""
    sse_server.route("/s", Stream(event("a", id="1")))
    hooks = Reject()
    with pytest.raises(PermissionError):
        drive(sse_server.url + "/s", reconnect=FAST, hooks=hooks)
    assert (hooks.opened, hooks.closed) == (1, 1)
    sse_server.wait_until_idle(timeout=5)


# -- What the hooks are told, and in which thread ------------------------------------------


def test_comments_reach_on_comment(sse_server: SSEServer, drive: Driver) -> None:
    """Beyond spec: keep-alive comments are visible to whoever asks."""
    hooks = CommentRecorder()
    sse_server.route("/s", Stream(b": ping\n\n", event("a", comment="note")), Reply(204))
    drive(sse_server.url + "/s", hooks=hooks, reconnect=FAST)
    assert hooks.comments == [" ping", "note"]


def test_hooks_run_in_the_iterating_thread(sse_server: SSEServer) -> None:
    """Every hook is called with the source, in the thread that iterates."""
    sse_server.route("/s", Stream(event("a", id="1")), Reply(204))
    threads: list[threading.Thread] = []

    class Where(Recorder):
        def on_open(self, source: Any, response: Any) -> None:
            assert isinstance(source, EventSource)
            threads.append(threading.current_thread())

    with EventSource(sse_server.url + "/s", reconnect=FAST, hooks=Where()) as source:
        list(source)
    assert threads == [threading.current_thread()]


# -- reconnect(): the connection dropped at once, the stream resumed -----------------------


def test_reconnect_drops_the_connection_and_resumes(sse_server: SSEServer) -> None:
    """reconnect() from another thread reconnects with Last-Event-ID."""
    sse_server.route(
        "/s", Stream(event("a", id="1"), Stall()), Stream(event("b", id="2")), Reply(204)
    )
    first = threading.Event()
    got = []
    with EventSource(
        sse_server.url + "/s", reconnect=ReconnectPolicy(reconnection_time=0.001)
    ) as source:
        restarter = soon_after(first, source.reconnect)
        for item in source:
            got.append(item.data)
            first.set()
        restarter.join()
    assert got == ["a", "b"]
    assert [r.last_event_id for r in sse_server.requests] == [None, "1", "2"]


@pytest.mark.anyio
async def test_async_reconnect_resumes(sse_server: SSEServer) -> None:
    """reconnect() from another task reconnects with Last-Event-ID."""
    sse_server.route(
        "/s", Stream(event("a", id="1"), Stall()), Stream(event("b", id="2")), Reply(204)
    )
    async with AsyncEventSource(
        sse_server.url + "/s", reconnect=ReconnectPolicy(reconnection_time=0.001)
    ) as source:
        got = await consume_while(source, source.reconnect)
    assert got == ["a", "b"]
    assert [r.last_event_id for r in sse_server.requests] == [None, "1", "2"]


def test_reconnect_inside_the_loop_drops_the_stream(sse_server: SSEServer) -> None:
    """reconnect() called by the consumer itself, between events, drops the stream."""
    sse_server.route("/s", *IN_LOOP)
    hooks = Recorder()
    got = []
    with EventSource(sse_server.url + "/s", hooks=hooks, **IN_LOOP_SETTINGS) as source:
        for item in source:
            got.append(item.data)
            if item.data == "a":
                source.reconnect()
    assert_dropped_by_reconnect(got, hooks, sse_server)


@pytest.mark.anyio
async def test_async_reconnect_inside_the_loop_drops_the_stream(sse_server: SSEServer) -> None:
    """The same on AsyncEventSource: a reconnect() between reads is not lost."""
    sse_server.route("/s", *IN_LOOP)
    hooks = Recorder()
    got = []
    async with AsyncEventSource(sse_server.url + "/s", hooks=hooks, **IN_LOOP_SETTINGS) as source:
        async for item in source:
            got.append(item.data)
            if item.data == "a":
                source.reconnect()
    assert_dropped_by_reconnect(got, hooks, sse_server)


def test_reconnect_is_not_a_clean_end_for_a_blocking_source(sse_server: SSEServer) -> None:
    """reconnect() on a close-delimited body: the cut is not the server's clean end, so a
    source that reconnects only after errors still reconnects."""
    sse_server.route("/s", Stream(event("a", id="1"), Stall()), Stream(event("b", id="2")))
    hooks = Recorder()
    got: list[str] = []
    policy = FAST.replace(after="errors")
    with EventSource(sse_server.url + "/s", reconnect=policy, hooks=hooks) as source:
        for item in source:
            got.append(item.data)
            if item.data == "a":
                threading.Timer(0.05, source.reconnect).start()
    assert got == ["a", "b"]
    assert [r.last_event_id for r in sse_server.requests] == [None, "1"]
    first, second = hooks.errors
    assert not (isinstance(first, StreamEnded) and first.clean)
    assert isinstance(second, StreamEnded)
    assert second.clean


@pytest.mark.anyio
async def test_reconnect_is_not_a_clean_end_for_an_async_source(sse_server: SSEServer) -> None:
    """The async twin: reconnect() from another task, then a clean end that stops."""
    sse_server.route("/s", Stream(event("a", id="1"), Stall()), Stream(event("b", id="2")))
    got: list[str] = []
    policy = FAST.replace(after="errors")
    with anyio.fail_after(10):
        async with (
            AsyncEventSource(sse_server.url + "/s", reconnect=policy) as source,
            anyio.create_task_group() as group,
        ):

            async def restart() -> None:
                await anyio.sleep(0.05)
                source.reconnect()

            async for item in source:
                got.append(item.data)
                if item.data == "a":
                    group.start_soon(restart)
    assert got == ["a", "b"]


# -- The log says what happened, and what comes of it --------------------------------------


def test_clean_ends_and_errors_are_told_apart_in_the_log(
    sse_server: SSEServer, caplog: pytest.LogCaptureFixture
) -> None:
    """The sse_client logger says which end was which."""
    sse_server.route("/s", *BROKEN_THEN_CLEAN)
    policy = FAST.replace(after="errors")
    with (
        caplog.at_level("INFO", logger="sse_client"),
        EventSource(sse_server.url + "/s", reconnect=policy) as source,
    ):
        assert [e.data for e in source] == ["a", "b"]
    messages = [record.getMessage() for record in caplog.records]
    lost = [m for m in messages if m.startswith("connection lost: RemoteProtocolError")]
    assert len(lost) == 1
    assert lost[0].endswith("; reconnecting in 0.001 s")
    assert "the server ended the stream after id '2'; not reconnecting" in messages


def test_the_log_tells_what_happened_and_what_comes_of_it(
    sse_server: SSEServer, caplog: pytest.LogCaptureFixture
) -> None:
    """One INFO line per end: "could not connect" for an attempt that never opened,
    "the server ended the stream after id ..." with the wait that follows."""
    sse_server.route("/s", Reply(503), Stream(event("a", id="7"), event(None, retry=50)))
    policy = ReconnectPolicy(reconnection_time=0.01, jitter=0, retry_statuses=True)
    with (
        caplog.at_level(logging.INFO, logger="sse_client"),
        EventSource(sse_server.url + "/s", reconnect=policy) as source,
    ):
        assert next(source).data == "a"
        assert next(source).data == "a"
    messages = [r.getMessage() for r in caplog.records]
    assert any(
        m.startswith("could not connect: ResponseError(")
        and m.endswith("; reconnecting in 0.100 s (failure 1 in a row)")
        for m in messages
    ), messages
    assert "the server ended the stream after id '7'; reconnecting in 0.050 s" in messages
