"""What a response means: 200 with the event-stream type opens the stream, 204 ends the
source, another status or type fails it with a preview of its body (or is retried, when
asked, after its Retry-After), redirects are followed and bounded, a JSON answer may stand
for a stream, a compressed body is decoded, and a response no stack can read is retried.

The verdicts themselves (check_response, retry_after, response_error) are checked with
no I/O; the rest against a real server on 127.0.0.1, mostly through the ``drive`` fixture
(see drivers.py): every driver (EventSource, AsyncEventSource on asyncio and trio) and
stack (httpx2, httpx, and an aiohttp session on asyncio). Tags (``spec: X``) refer to the
project's restatement of the WHATWG rules.
"""

from __future__ import annotations

import email.utils
import functools
import gzip
import time

import httpx2
import pytest

from sse_client import (
    DEFAULT_RETRY_STATUSES,
    AsyncEventSource,
    EventSource,
    EventTooLarge,
    ReadyState,
    ResponseError,
    ServerSentEvent,
    UnrecoverableError,
)
from sse_client._core import Verdict, check_response, response_error, retry_after
from sse_client.testing import Drop, Reply, SSEServer, Stream, event

from .drivers import FAST, Driver, Recorder
from .scripts import CALL
from .servers import raw_server

# -- What a response means, with no I/O (spec: C-200, C-FAIL, C-CHARSET) -------------------


def response(
    status: int = 200, content_type: str | None = "text/event-stream", **headers: str
) -> httpx2.Response:
    all_headers = dict(headers)
    if content_type is not None:
        all_headers["Content-Type"] = content_type
    return httpx2.Response(status, headers=all_headers)


@pytest.mark.parametrize(
    ("status", "content_type", "verdict"),
    [
        (200, "text/event-stream", Verdict.OPEN),
        (200, "TEXT/EVENT-STREAM", Verdict.OPEN),
        (200, " text/event-stream ; charset=utf-8", Verdict.OPEN),
        (200, "text/event-stream; charset=latin1", Verdict.OPEN),
        (200, "text/plain", Verdict.FAIL),
        (200, "text/event-streams", Verdict.FAIL),
        (200, None, Verdict.FAIL),
        (204, None, Verdict.END),
        (201, "text/event-stream", Verdict.FAIL),
        (301, None, Verdict.FAIL),
        (500, "text/event-stream", Verdict.FAIL),
    ],
)
def test_check_response(status: int, content_type: str | None, verdict: Verdict) -> None:
    """spec: C-200, C-FAIL, C-CHARSET -- only 200 with the event-stream essence opens."""
    assert check_response(response(status, content_type)) is verdict


def test_a_status_fails_whether_or_not_it_is_retried() -> None:
    """503 fails the response; whether to retry it is the policy's decision."""
    assert check_response(response(503)) is Verdict.FAIL
    assert {429, 502, 503, 504} == DEFAULT_RETRY_STATUSES


def test_also_accepted_types_are_read_whole() -> None:
    """A 200 of a type in also_accept is one whole answer; anything else still fails."""
    json = response(200, "Application/JSON; charset=utf-8")
    assert check_response(json, {"application/json"}) is Verdict.WHOLE
    assert check_response(json) is Verdict.FAIL
    assert check_response(response(500, "application/json"), {"application/json"}) is Verdict.FAIL


def test_retry_after_seconds_and_dates() -> None:
    """Retry-After is read as seconds or as an HTTP date; nonsense means no minimum."""
    assert retry_after(response(503, **{"Retry-After": "12"})) == 12.0
    future = email.utils.formatdate(time.time() + 60, usegmt=True)
    assert 55 < retry_after(response(503, **{"Retry-After": future})) <= 60
    past = email.utils.formatdate(time.time() - 60, usegmt=True)
    assert retry_after(response(503, **{"Retry-After": past})) == 0.0
    assert retry_after(response(503, **{"Retry-After": "soon"})) == 0.0
    assert retry_after(response(503)) == 0.0


def test_response_error_messages() -> None:
    """The message says what was expected and what arrived, with the body."""
    error = response_error(response(404, "text/html"), b"<h1>Not Found</h1>")
    assert str(error) == "expected status 200, got 404 Not Found; body: '<h1>Not Found</h1>'"
    assert error.body_preview == "<h1>Not Found</h1>"
    error = response_error(response(200, "application/json"), b"")
    assert str(error) == "expected Content-Type 'text/event-stream', got 'application/json'"
    error = response_error(response(200, None), b"\xff")
    assert "got None" in str(error)
    assert error.body_preview == "\ufffd"


# -- 204 ends the source (spec: C-FAIL) ----------------------------------------------------


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


# -- The Content-Type's essence decides (spec: C-200, C-CHARSET) ---------------------------


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


# -- Another status fails, with a preview of its body; retry statuses are opt-in -----------


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


def test_error_body_cut_short_still_fails_cleanly(sse_server: SSEServer) -> None:
    """An error response whose body breaks off keeps what arrived as the preview."""
    sse_server.route("/s", Stream(b"partial error text", Drop(reset=True), status=500))
    with pytest.raises(ResponseError, match="500") as info:
        list(EventSource(sse_server.url + "/s"))
    assert info.value.body_preview == "partial error text"


@pytest.mark.anyio
async def test_async_error_body_cut_short_and_properties(sse_server: SSEServer) -> None:
    """The async twin keeps the partial preview too, and exposes the last response."""
    sse_server.route("/s", Stream(b"partial error text", Drop(reset=True), status=503))
    source = AsyncEventSource(sse_server.url + "/s")
    with pytest.raises(ResponseError) as info:
        await source.__anext__()
    assert info.value.body_preview == "partial error text"
    assert source.response is not None
    assert source.response.status_code == 503
    await source.aclose()


def test_retry_statuses_reconnect_after_retry_after(sse_server: SSEServer, drive: Driver) -> None:
    """Opt-in: 503 with Retry-After is waited out, then the stream is read."""
    sse_server.route(
        "/s", Reply(503, b"busy", {"Retry-After": "0"}), Stream(event("a", id="1")), Reply(204)
    )
    outcome = drive(sse_server.url + "/s", reconnect=FAST.replace(retry_statuses=True))
    assert [e.data for e in outcome.events] == ["a"]
    assert isinstance(outcome.errors[0], ResponseError)
    assert outcome.errors[0].status_code == 503


# -- Redirects are followed, and bounded (spec: C-REDIRECT) --------------------------------


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


# -- A JSON answer where a stream was asked for --------------------------------------------


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


# -- Compressed bodies ---------------------------------------------------------------------


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
