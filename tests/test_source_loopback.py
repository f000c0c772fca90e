"""Both clients against a real HTTP server on 127.0.0.1 (sse_client.testing.SSEServer).

Every scenario runs three times: EventSource, and AsyncEventSource on asyncio and trio.
Tags (``spec: X``) refer to the project's restatement of the WHATWG rules.
"""

from __future__ import annotations

import json

import pytest

from sse_client import (
    ReadyState,
    ReconnectError,
    ReconnectPolicy,
    ResponseError,
    ServerSentEvent,
    StreamEnded,
    Timeouts,
    UnrecoverableError,
)
from sse_client.testing import (
    Drop,
    Reply,
    SSEServer,
    Stall,
    Stream,
    Trickle,
    event,
    resumable_counter,
)

from .drivers import FAST, CommentRecorder, Driver, Recorder


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


def test_204_at_first_connect_ends_cleanly(sse_server: SSEServer, drive: Driver) -> None:
    """spec: C-FAIL -- 204 means stop: no events, no error, no reconnect."""
    sse_server.route("/gone", Reply(204))
    outcome = drive(sse_server.url + "/gone", reconnect=FAST)
    assert outcome.events == []
    assert outcome.errors == []
    assert outcome.ready_state is ReadyState.CLOSED
    assert len(sse_server.requests) == 1


def test_204_on_reconnect_ends_cleanly(sse_server: SSEServer, drive: Driver) -> None:
    """A 204 answering a reconnection ends iteration after the events already seen."""
    sse_server.route("/s", Stream(event("a", id="1")), Reply(204))
    outcome = drive(sse_server.url + "/s", reconnect=FAST)
    assert outcome.events == [ServerSentEvent(data="a", id="1")]
    assert len(sse_server.requests) == 2
    assert outcome.ready_state is ReadyState.CLOSED


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


@pytest.mark.parametrize(
    "content_type",
    ["text/event-stream; charset=utf-8", "Text/Event-Stream", "text/event-stream;x=1"],
)
def test_content_type_essence_opens_the_stream(
    sse_server: SSEServer, drive: Driver, content_type: str
) -> None:
    """spec: C-200, C-CHARSET -- the MIME essence decides; parameters and case do not."""
    sse_server.route("/s", Stream(event("a"), content_type=content_type), Reply(204))
    assert [e.data for e in drive(sse_server.url + "/s", reconnect=FAST).events] == ["a"]


@pytest.mark.parametrize("content_type", ["text/plain", "application/json", None])
def test_wrong_content_type_fails_without_reconnecting(
    sse_server: SSEServer, drive: Driver, content_type: str | None
) -> None:
    """spec: C-FAIL -- a 200 that is not an event stream raises ResponseError, once."""
    sse_server.route("/s", Stream(b'{"error": "nope"}', content_type=content_type))
    with pytest.raises(ResponseError, match="expected Content-Type 'text/event-stream'") as info:
        drive(sse_server.url + "/s", reconnect=FAST)
    assert info.value.status_code == 200
    assert info.value.body_preview == '{"error": "nope"}'
    assert len(sse_server.requests) == 1


@pytest.mark.parametrize("status", [400, 401, 404, 500, 503])
def test_error_status_fails_with_its_body(
    sse_server: SSEServer, drive: Driver, status: int
) -> None:
    """spec: C-FAIL -- another status raises ResponseError with a preview; no reconnect."""
    sse_server.route("/s", Reply(status, b"details of the failure" * 100))
    with pytest.raises(ResponseError, match=f"expected status 200, got {status}") as info:
        drive(sse_server.url + "/s", reconnect=FAST)
    assert info.value.status_code == status
    assert info.value.response.status_code == status
    assert info.value.body_preview.startswith("details of the failure")
    assert len(info.value.body_preview) == 512
    assert len(sse_server.requests) == 1


def test_error_status_after_a_drop_fails(sse_server: SSEServer, drive: Driver) -> None:
    """A failing status on a reconnection fails the source too (no retry by default)."""
    sse_server.route("/s", Stream(event("a", id="1")), Reply(500, b"down"))
    with pytest.raises(ResponseError):
        drive(sse_server.url + "/s", reconnect=FAST)


def test_retry_statuses_reconnect_after_retry_after(sse_server: SSEServer, drive: Driver) -> None:
    """Opt-in: 503 with Retry-After is waited out, then the stream is read."""
    sse_server.route(
        "/s", Reply(503, b"busy", {"Retry-After": "0"}), Stream(event("a", id="1")), Reply(204)
    )
    outcome = drive(sse_server.url + "/s", reconnect=FAST.replace(retry_statuses=True))
    assert [e.data for e in outcome.events] == ["a"]
    assert isinstance(outcome.errors[0], ResponseError)
    assert outcome.errors[0].status_code == 503


def test_redirect_is_followed_and_reconnections_go_to_its_target(
    sse_server: SSEServer, drive: Driver
) -> None:
    """spec: C-REDIRECT -- later attempts go straight to where the stream came from."""
    sse_server.route("/old", Reply.redirect("/new"))
    sse_server.route("/new", Stream(event("a", id="1")), Reply(204))
    outcome = drive(sse_server.url + "/old", reconnect=FAST)
    assert [e.data for e in outcome.events] == ["a"]
    assert [r.path for r in sse_server.requests] == ["/old", "/new", "/new"]
    assert sse_server.requests[2].last_event_id == "1"
    assert outcome.url.path == "/new"


def test_redirect_loop_is_bounded(sse_server: SSEServer, drive: Driver) -> None:
    """A redirect loop ends in UnrecoverableError from the stack's TooManyRedirects, at
    once: no hang, and no retry (hooks see it first)."""
    sse_server.route("/loop", Reply.redirect("/loop"))
    hooks = Recorder()
    with pytest.raises(UnrecoverableError) as info:
        drive(sse_server.url + "/loop", reconnect=FAST, hooks=hooks)
    assert isinstance(info.value.__cause__, drive.http.TooManyRedirects)
    assert [type(error) for error in hooks.errors] == [drive.http.TooManyRedirects]
    assert hooks.delays == []
    # 20 redirects followed on httpx2 and httpx; aiohttp stops at its tenth request.
    assert len(sse_server.requests) == (10 if drive.http.__name__ == "aiohttp" else 21)


def test_idle_timeout_reestablishes_a_stalled_stream(sse_server: SSEServer, drive: Driver) -> None:
    """Beyond spec: no byte for idle_timeout seconds means a dead connection."""
    sse_server.route("/s", Stream(event("a", id="1"), Stall()), Reply(204))
    outcome = drive(
        sse_server.url + "/s", timeout=Timeouts(idle=0.5), reconnect=FAST
    )  # "a" arrives first
    assert [e.data for e in outcome.events] == ["a"]
    assert isinstance(outcome.errors[0], drive.http.ReadTimeout)
    assert sse_server.requests[1].last_event_id == "1"


def test_server_retry_sets_the_delay(sse_server: SSEServer, drive: Driver) -> None:
    """spec: C-DELAY, F-RETRY -- the server's retry field is the next wait, exactly, after
    a stream that worked (no jitter: browsers wait exactly that)."""
    sse_server.route("/s", Stream(event(None, retry=40), event("a", id="1")), Reply(204))
    outcome = drive(sse_server.url + "/s", reconnect=ReconnectPolicy(reconnection_time=5.0))
    assert outcome.delays == [0.04]
    assert outcome.reconnection_time == 0.04


def test_refused_connection_gives_up_after_max_attempts(drive: Driver) -> None:
    """Failing attempts back off, then ReconnectError whose cause is the last failure."""
    with SSEServer() as server:
        url = server.url  # a port that is free once the server is gone
    with pytest.raises(ReconnectError) as info:
        drive(url + "/s", reconnect=FAST.replace(max_attempts=3))
    assert info.value.attempts == 3
    assert isinstance(info.value.__cause__, drive.http.ConnectError)


def test_post_with_a_body_does_not_reconnect_by_default(
    sse_server: SSEServer, drive: Driver
) -> None:
    """spec: C-REQ (beyond) -- a POST is not replayed unless the user opts in."""
    sse_server.route("/llm", Stream(event("tok", id="1")), Stream(event("again", id="2")))
    outcome = drive(sse_server.url + "/llm", method="POST", json={"prompt": "hi"})
    assert [e.data for e in outcome.events] == ["tok"]
    assert len(sse_server.requests) == 1
    request = sse_server.requests[0]
    assert request.method == "POST"
    assert json.loads(request.body) == {"prompt": "hi"}
    assert request.headers["content-type"] == "application/json"
    assert isinstance(outcome.errors[0], StreamEnded)


def test_post_reconnects_when_asked(sse_server: SSEServer, drive: Driver) -> None:
    """With reconnect=True a POST is resent, with its body and Last-Event-ID."""
    sse_server.route("/llm", Stream(event("one", id="1")), Stream(event("two", id="2")), Reply(204))
    outcome = drive(sse_server.url + "/llm", method="REPORT", content=b"query", reconnect=FAST)
    assert [e.data for e in outcome.events] == ["one", "two"]
    assert [(r.method, r.body, r.last_event_id) for r in sse_server.requests] == [
        ("REPORT", b"query", None),
        ("REPORT", b"query", "1"),
        ("REPORT", b"query", "2"),
    ]


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


def test_request_headers(sse_server: SSEServer, drive: Driver) -> None:
    """spec: C-REQ, C-LASTID -- Accept, no-cache, the seeded Last-Event-ID, user headers."""
    sse_server.route("/s", Stream(event("a", id="\u00e9")), Reply(204))
    drive(
        sse_server.url + "/s",
        last_event_id="41",
        headers={"Authorization": "Bearer t", "X-Trace": "1"},
        params={"room": "7"},
        reconnect=FAST,
    )
    first, second = sse_server.requests
    assert first.headers["accept"] == "text/event-stream"
    assert first.headers["cache-control"] == "no-cache"
    assert first.headers["authorization"] == "Bearer t"
    assert first.last_event_id == "41"
    assert first.path == "/s?room=7"
    assert second.path == "/s?room=7"
    # Non-ASCII ids travel as UTF-8 (the server reads headers as Latin-1).
    assert second.headers["last-event-id"].encode("latin-1").decode() == "\u00e9"


def test_headers_callable_is_called_for_every_attempt(sse_server: SSEServer, drive: Driver) -> None:
    """A headers function gives fresh values (say, a refreshed token) to each attempt."""
    tokens = iter(["one", "two", "three"])
    sse_server.route("/s", Stream(event("a", id="1")), Reply(204))
    drive(sse_server.url + "/s", headers=lambda: {"Authorization": next(tokens)}, reconnect=FAST)
    assert [r.headers["authorization"] for r in sse_server.requests] == ["one", "two"]


def test_comments_reach_on_comment(sse_server: SSEServer, drive: Driver) -> None:
    """Beyond spec: keep-alive comments are visible to whoever asks."""
    hooks = CommentRecorder()
    sse_server.route("/s", Stream(b": ping\n\n", event("a", comment="note")), Reply(204))
    drive(sse_server.url + "/s", hooks=hooks, reconnect=FAST)
    assert hooks.comments == [" ping", "note"]


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


def test_breaking_out_early_leaves_nothing_open(sse_server: SSEServer, drive: Driver) -> None:
    """Leaving the loop early closes the source (the with block) cleanly."""
    sse_server.route("/s", Stream(event("a"), event("b"), Stall()))
    outcome = drive(sse_server.url + "/s", limit=1)
    assert [e.data for e in outcome.events] == ["a"]
    assert outcome.ready_state is ReadyState.CLOSED
    assert outcome.closed == 1
