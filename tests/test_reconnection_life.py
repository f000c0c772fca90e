"""Reconnection that follows a stream's life, against a real server on 127.0.0.1.

A connection that worked is no failure (servers that close at will and have clients
poll at their ``retry:``, tokens that expire, limits on attempts); what no retry can
mend ends the source at once; a resume may be another request (MCP resumes a POST's
stream with a GET); a JSON answer may stand for a stream. Each scenario runs on every
driver (EventSource, AsyncEventSource on asyncio and trio) and stack (httpx2, httpx,
and an aiohttp session on asyncio). Tags refer to the project's restatement of the
WHATWG rules.
"""

from __future__ import annotations

import itertools
import json
import logging
import ssl
from typing import Any

import anyio
import anyio.lowlevel
import pytest

from sse_client import (
    STOP,
    AsyncEventSource,
    EventSource,
    EventTooLarge,
    Failure,
    ReadyState,
    ReconnectPolicy,
    ResponseError,
    Resume,
    Stop,
    UnrecoverableError,
)
from sse_client.testing import (
    Reply,
    Request,
    Sleep,
    SSEServer,
    Stream,
    event,
    resumable_counter,
)

from .drivers import Driver, Recorder
from .scripts import CALL

# -- Servers that close at will: polled at their retry: -------------------------------------

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
    server's retry: (here within -50/+200 ms of the close), with the last event ID,
    every time: no doubling, no jitter, no giving up."""
    polling_server(sse_server)
    outcome = drive(sse_server.url + "/poll")
    requests = sse_server.requests
    assert len(requests) == POLLS + 1  # the first connection, then five polls
    assert [r.last_event_id for r in requests] == [None, *(str(n) for n in range(1, POLLS + 1))]
    waits = [
        later.received - earlier.received - CLOSE_AFTER
        for earlier, later in itertools.pairwise(requests)
    ]
    assert all(RETRY - 0.05 <= wait <= RETRY + 0.2 for wait in waits), waits
    assert outcome.delays == [RETRY] * POLLS
    assert outcome.events == []
    assert outcome.last_event_id == str(POLLS)


# -- The 401 recipe of the README holds across any number of expiries -----------------------


class Token:
    """A bearer token the test server rotates, as tokens expire."""

    def __init__(self) -> None:
        self.value = "t0"
        self.issued = "t0"  # what the server accepts now

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


# -- max_attempts counts failures, not the ends of streams that worked ----------------------


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


# -- What no retry can mend ends the source at once -----------------------------------------


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


# -- A resume may be another request ---------------------------------------------------------


def mcp_like_server(sse_server: SSEServer) -> None:
    """A POST's stream: a priming event (id, retry:, empty data), then the server closes.
    The resume (a GET with Last-Event-ID and the session header) gets the result; the
    next GET, 204."""

    def respond(request: Request) -> Stream | Reply:
        if request.method == "POST":
            return Stream(b"id: p1\nretry: 10\ndata: \n\n")
        if request.headers.get("mcp-session-id") != "s1":
            return Reply(400, b"no session")
        if request.last_event_id == "p1":
            return Stream(event(json.dumps({"result": 42}), id="r1"))
        return Reply(204)

    sse_server.route("/mcp", respond)


@pytest.mark.parametrize(
    "resume",
    [
        pytest.param(Resume(), id="value-keeps-the-headers"),
        pytest.param(Resume(headers={"mcp-session-id": "s1"}), id="value-with-headers"),
        pytest.param(lambda source: Resume(headers={"mcp-session-id": "s1"}), id="function"),
    ],
)
def test_a_post_stream_is_resumed_with_a_get(
    sse_server: SSEServer, drive: Driver, resume: Any
) -> None:
    """Every attempt after the first is the Resume: a GET without a body, with
    Last-Event-ID, on the same URL; a source with a resume reconnects by default."""
    mcp_like_server(sse_server)
    outcome = drive(
        sse_server.url + "/mcp",
        method="POST",
        json=CALL,
        headers={"mcp-session-id": "s1"},
        resume=resume,
    )
    assert [e.data for e in outcome.events] == ["", '{"result": 42}']
    requests = sse_server.requests
    assert [(r.method, r.last_event_id) for r in requests] == [
        ("POST", None),
        ("GET", "p1"),
        ("GET", "r1"),
    ]
    assert json.loads(requests[0].body) == CALL
    assert [r.body for r in requests[1:]] == [b"", b""]
    assert all(r.headers["mcp-session-id"] == "s1" for r in requests)
    assert all("content-type" not in r.headers for r in requests[1:])
    assert outcome.delays == [0.01, 0.01]  # the priming event's retry:, exactly


def test_a_resume_function_sees_the_source_and_may_repeat_the_first_request(
    sse_server: SSEServer, drive: Driver
) -> None:
    """The function gets the source (its last event ID, its response); None means the
    first request again."""
    seen: list[str] = []

    def resume(source: Any) -> Resume | None:
        seen.append(source.last_event_id)
        return None if not source.last_event_id else Resume(url=sse_server.url + "/mcp")

    sse_server.route("/first", Reply(503), Stream(b"id: p1\nretry: 10\ndata: \n\n"))
    mcp_like_server(sse_server)
    outcome = drive(
        sse_server.url + "/first",
        method="POST",
        json=CALL,
        headers={"mcp-session-id": "s1"},
        resume=resume,
        reconnect=ReconnectPolicy(reconnection_time=0.001, retry_statuses=True),
    )
    assert [e.data for e in outcome.events] == ["", '{"result": 42}']
    assert [(r.method, r.path) for r in sse_server.requests] == [
        ("POST", "/first"),
        ("POST", "/first"),
        ("GET", "/mcp"),
        ("GET", "/mcp"),
    ]
    assert seen == ["", "p1", "r1"]


@pytest.mark.anyio
async def test_an_async_resume_function_is_awaited(sse_server: SSEServer) -> None:
    """On AsyncEventSource, the resume function may be async."""
    mcp_like_server(sse_server)

    async def resume(source: AsyncEventSource) -> Resume:
        await anyio.lowlevel.checkpoint()
        return Resume(headers={"mcp-session-id": "s1"})

    with anyio.fail_after(10):
        async with AsyncEventSource(
            sse_server.url + "/mcp", method="POST", json=CALL, resume=resume
        ) as source:
            assert [e.data async for e in source] == ["", '{"result": 42}']
    assert [r.method for r in sse_server.requests] == ["POST", "GET", "GET"]


def test_a_resume_that_makes_no_sense_is_refused() -> None:
    """A resume must be a Resume or a function; its body must be bytes or str."""
    with pytest.raises(TypeError, match="resume"):
        EventSource("http://test/", resume="GET")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="bytes or str"):
        Resume(content=iter([b"x"]))  # type: ignore[arg-type]
    source = EventSource("http://test/", method="POST", resume=Resume())
    assert source.policy.after == "always"  # a resume is how one says reconnecting is safe
    source.close()
    source = EventSource("http://test/", method="POST", resume=Resume(method="POST"))
    assert source.policy.after == "never"
    source.close()


# -- A JSON answer where a stream was asked for ---------------------------------------------


def test_a_json_answer_is_one_event_with_also_accept(sse_server: SSEServer, drive: Driver) -> None:
    """also_accept: a 200 application/json answer is one message event holding the body;
    then the stream ends (no reconnection). Accept names both types."""
    body = b'{"jsonrpc": "2.0", "id": 1, "result": {"ok": true}}'
    headers = {"Content-Type": "application/json"}
    sse_server.route("/mcp", Reply(200, body, headers=headers))
    outcome = drive(
        sse_server.url + "/mcp",
        method="POST",
        json=CALL,
        also_accept={"application/json"},
        reconnect=True,
    )
    assert [(e.event, e.data) for e in outcome.events] == [("message", body.decode())]
    assert (outcome.ready_state, outcome.opened, outcome.closed) == (ReadyState.CLOSED, 1, 1)
    assert (outcome.errors, outcome.delays) == ([], [])
    (request,) = sse_server.requests
    assert request.headers["accept"] == "text/event-stream, application/json"


def test_without_also_accept_a_json_answer_is_refused(sse_server: SSEServer, drive: Driver) -> None:
    """The standard: a 200 of another type fails the connection."""
    sse_server.route("/mcp", Reply(200, b"{}", headers={"Content-Type": "application/json"}))
    with pytest.raises(ResponseError, match="application/json"):
        drive(sse_server.url + "/mcp")


def test_a_json_answer_is_bounded_by_max_event_size(sse_server: SSEServer, drive: Driver) -> None:
    """A JSON answer larger than max_event_size raises EventTooLarge."""
    big = b'"' + b"x" * 2000 + b'"'
    sse_server.route("/mcp", Reply(200, big, headers={"Content-Type": "application/json"}))
    with pytest.raises(EventTooLarge):
        drive(sse_server.url + "/mcp", also_accept=["application/json"], max_event_size=1000)
