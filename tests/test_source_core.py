"""The decisions of SourceCore, with no I/O at all."""

from __future__ import annotations

import email.utils
import time
from typing import Any

import httpx2
import pytest

from sse_client import (
    DEFAULT_RETRY_STATUSES,
    AsyncEventSource,
    EventSource,
    ReconnectPolicy,
    Timeouts,
)
from sse_client._core import Verdict, check_response, response_error, retry_after


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


def requests_of(**options: Any) -> list[httpx2.Request]:
    """The requests a source sends to a transport that answers 204."""
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(204)

    with httpx2.Client(transport=httpx2.MockTransport(handler)) as client:
        assert list(EventSource("http://test/stream", client=client, **options)) == []
    return seen


def test_default_request() -> None:
    """spec: C-REQ -- GET, Accept: text/event-stream, no caching, no Last-Event-ID."""
    (request,) = requests_of()
    assert request.method == "GET"
    assert request.headers["accept"] == "text/event-stream"
    assert request.headers["cache-control"] == "no-cache"
    assert "last-event-id" not in request.headers


def test_user_headers_may_override_accept_but_not_last_event_id() -> None:
    """User headers are kept; a user Last-Event-ID is replaced by the stream's own."""
    (request,) = requests_of(
        headers=[("Accept", "text/event-stream, */*"), ("Last-Event-ID", "bogus")],
        last_event_id="7",
    )
    assert request.headers["accept"] == "text/event-stream, */*"
    assert request.headers.get_list("last-event-id") == ["7"]


def test_timeouts_are_the_sources_own() -> None:
    """The idle timeout is the read timeout of every request, never httpx's 5 s default."""
    (request,) = requests_of(timeout=Timeouts(idle=123.0, connect=4.0))
    timeout = request.extensions["timeout"]
    assert timeout["read"] == 123.0
    assert timeout["connect"] == 4.0
    (request,) = requests_of()
    assert request.extensions["timeout"]["read"] == 300.0


@pytest.mark.parametrize("value", ["a\nb", "a\rb", "a\x00b"])
def test_last_event_id_with_line_breaks_or_nul_is_refused(value: str) -> None:
    """spec: C-LASTID -- a value with CR, LF or NUL can never be sent."""
    with pytest.raises(ValueError, match="last_event_id"):
        EventSource("http://test/", last_event_id=value)


@pytest.mark.parametrize(
    "options",
    [
        {"reconnection_time": -1},
        {"reconnection_time": "3"},
        {"max_delay": -1},
        {"max_delay": float("nan")},
        {"jitter": float("nan")},
        {"min_backoff": -0.1},
        {"reset_after": -1},
        {"multiplier": 0.5},
        {"multiplier": float("inf")},
        {"after": "sometimes"},
        {"max_attempts": -1},
        {"max_attempts": 0},
        {"max_attempts": 2.5},
        {"max_attempts": True},
        {"max_elapsed": -5.0},
        {"max_elapsed": float("nan")},
    ],
)
def test_a_policy_that_makes_no_sense_is_refused(options: dict[str, Any]) -> None:
    """A negative or NaN wait, a shrinking backoff, fewer than one attempt or an unknown
    ending is a ValueError that names the field, when the policy is made."""
    with pytest.raises(ValueError, match=next(iter(options))):
        ReconnectPolicy(**options)


@pytest.mark.parametrize(
    "options", [{"idle": -1}, {"connect": -1}, {"idle": float("nan")}, {"connect": float("nan")}]
)
def test_timeouts_that_make_no_sense_are_refused(options: dict[str, Any]) -> None:
    """A negative or NaN timeout is a ValueError that names it."""
    with pytest.raises(ValueError, match=next(iter(options))):
        Timeouts(**options)


@pytest.mark.parametrize("size", [0, -1, 1.5])
def test_a_max_event_size_that_makes_no_sense_is_refused_before_any_request(size: Any) -> None:
    """max_event_size must be positive (or None): told at construction, nothing sent."""
    with pytest.raises(ValueError, match="max_event_size"):
        EventSource("http://test/", max_event_size=size)
    with pytest.raises(ValueError, match="max_event_size"):
        AsyncEventSource("http://test/", max_event_size=size)


def test_a_policy_is_frozen_and_derives_copies() -> None:
    """replace() gives a changed copy; True for retry_statuses means the usual four."""
    policy = ReconnectPolicy(retry_statuses=True)
    assert policy.retry_statuses == DEFAULT_RETRY_STATUSES
    assert ReconnectPolicy(retry_statuses=[503]).retry_statuses == {503}
    assert isinstance(ReconnectPolicy(retry_statuses=[503]).retry_statuses, frozenset)
    changed = policy.replace(reconnection_time=0.5)
    assert (changed.reconnection_time, policy.reconnection_time) == (0.5, 3.0)
    with pytest.raises(AttributeError):
        policy.reconnection_time = 1.0  # type: ignore[misc]


@pytest.mark.parametrize(
    ("method", "reconnects"), [("GET", True), ("get", True), ("POST", False), ("REPORT", False)]
)
def test_only_get_reconnects_by_default(method: str, reconnects: bool) -> None:
    """Re-sending a non-idempotent request repeats its effect: opt in for other methods."""
    source = EventSource("http://test/", method=method)
    assert (source.policy.after != "never") is reconnects
    source.close()
