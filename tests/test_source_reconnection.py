"""Steering reconnection: clean ends and errors, credentials and targets per attempt, a
decision per failure, and the backoff's reset. Against a real server on 127.0.0.1, on
every driver (EventSource, AsyncEventSource on asyncio and trio) and both stacks."""

from __future__ import annotations

import threading
from types import ModuleType
from typing import Any

import anyio
import anyio.lowlevel
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
    Stop,
    StreamEnded,
)
from sse_client.testing import (
    Drop,
    Reply,
    Request,
    SSEServer,
    Stall,
    Stream,
    event,
    resumable_counter,
)

from .drivers import FAST, CommentRecorder, Driver, Recorder

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


# -- Credentials and targets, per attempt ---------------------------------------------------


@pytest.mark.anyio
async def test_async_header_and_url_functions_are_awaited_per_attempt(
    sse_server: SSEServer,
) -> None:
    """On AsyncEventSource, headers, url and params may be async functions."""
    sse_server.route("/s", resumable_counter(3, per_connection=1))
    tokens = iter(["t1", "t2", "t3", "t4"])

    async def headers() -> dict[str, str]:
        await anyio.lowlevel.checkpoint()
        return {"Authorization": f"Bearer {next(tokens)}"}

    async def url() -> str:
        return sse_server.url + "/s"

    async def params() -> dict[str, str]:
        return {"cursor": source.last_event_id or "start"}

    async with AsyncEventSource(url, headers=headers, params=params, reconnect=FAST) as source:
        assert [e.data async for e in source] == ["event 1", "event 2", "event 3"]
    requests = sse_server.requests
    assert [r.headers["authorization"] for r in requests] == [f"Bearer t{n}" for n in range(1, 5)]
    assert [r.path for r in requests] == [
        "/s?cursor=start",
        "/s?cursor=1",
        "/s?cursor=2",
        "/s?cursor=3",
    ]


def test_a_url_function_names_each_attempt(sse_server: SSEServer, drive: Driver) -> None:
    """A cursor-style resume: the URL is built anew before every attempt."""
    sse_server.route("/s", resumable_counter(3, per_connection=2))
    seen: list[str] = []

    def url() -> str:
        seen.append("called")
        return f"{sse_server.url}/s?attempt={len(seen)}"

    outcome = drive(url, reconnect=FAST)  # type: ignore[arg-type]
    assert [e.data for e in outcome.events] == ["event 1", "event 2", "event 3"]
    assert [r.path for r in sse_server.requests] == ["/s?attempt=1", "/s?attempt=2", "/s?attempt=3"]


def test_a_blocking_source_refuses_an_async_function() -> None:
    """EventSource cannot await: an async headers function is a clear TypeError."""

    async def headers() -> dict[str, str]:
        return {}

    with pytest.raises(TypeError, match="AsyncEventSource"):
        next(iter(EventSource("http://127.0.0.1:9/", headers=headers)))


class RefreshOn401(Recorder):
    """The recipe: on a 401, refresh the token and reconnect at once."""

    def __init__(self, token: list[str]) -> None:
        super().__init__()
        self.token = token

    def on_error(self, source: Any, failure: Failure) -> float | Stop | None:
        super().on_error(source, failure)
        error = failure.error
        if isinstance(error, ResponseError) and error.status_code == 401:
            if failure.attempt > 3:
                return STOP  # the new token is refused too: give up
            self.token[0] = "fresh"
            return 0.0
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
    token = ["stale"]
    outcome = drive(
        sse_server.url + "/s",
        headers=lambda: {"Authorization": f"Bearer {token[0]}"},
        reconnect=FAST,
        hooks=RefreshOn401(token),
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


def test_the_clients_auth_flow_applies_to_every_attempt(
    sse_server: SSEServer, http: ModuleType
) -> None:
    """A client's own auth (httpx2 or httpx) signs every reconnection too."""
    sse_server.route("/s", Stream(event("a", id="1")), Reply(204))
    with (
        http.Client(auth=http.BasicAuth("user", "pass")) as client,
        EventSource(sse_server.url + "/s", client=client, reconnect=FAST) as source,
    ):
        assert [e.data for e in source] == ["a"]
    assert [r.headers["authorization"] for r in sse_server.requests] == ["Basic dXNlcjpwYXNz"] * 2


# -- A decision per failure -----------------------------------------------------------------


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


# -- A connection that worked is no failure; one that dies young backs off ---------------


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
