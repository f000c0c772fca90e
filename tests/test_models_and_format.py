"""ServerSentEvent, ReadyState, the error tree and format_event."""

from __future__ import annotations

import dataclasses
import json

import pytest

from sse_client import (
    EventStreamParser,
    EventTooLarge,
    ReadyState,
    ReconnectError,
    ResponseError,
    ServerSentEvent,
    SSEError,
    StreamEnded,
)
from sse_client.testing import format_event


def test_event_defaults_and_equality() -> None:
    """An event defaults to type "message", empty data and id, no retry; it compares by value."""
    event = ServerSentEvent()
    assert (event.event, event.data, event.id, event.retry) == ("message", "", "", None)
    assert ServerSentEvent(data="a", id="1") == ServerSentEvent("message", "a", "1")
    assert hash(ServerSentEvent(data="a")) == hash(ServerSentEvent(data="a"))


def test_event_is_frozen_and_slotted() -> None:
    """Events cannot change and carry no __dict__, including those the parser builds."""
    (parsed,) = EventStreamParser().feed(b"data: a\n\n")
    for event in (ServerSentEvent(data="a"), parsed):
        with pytest.raises(dataclasses.FrozenInstanceError):
            event.data = "b"  # type: ignore[misc]
        assert not hasattr(event, "__dict__")
        assert type(event) is ServerSentEvent
        assert dataclasses.replace(event, data="b").data == "b"


def test_event_json() -> None:
    """.json() decodes the data; non-JSON data raises JSONDecodeError."""
    assert ServerSentEvent(data='{"a": [1, 2]}').json() == {"a": [1, 2]}
    with pytest.raises(json.JSONDecodeError):
        ServerSentEvent(data="[DONE]").json()


def test_event_repr_is_readable() -> None:
    """The repr shows type and data, and id and retry only when set."""
    assert repr(ServerSentEvent(data="a")) == "ServerSentEvent(event='message', data='a')"
    assert (
        repr(ServerSentEvent(event="add", data="a", id="1", retry=5))
        == "ServerSentEvent(event='add', data='a', id='1', retry=5)"
    )


def test_ready_state_numbers() -> None:
    """The standard's numbers: CONNECTING 0, OPEN 1, CLOSED 2."""
    assert [ReadyState.CONNECTING, ReadyState.OPEN, ReadyState.CLOSED] == [0, 1, 2]


def test_every_error_is_an_sse_error() -> None:
    """One base class catches everything the library raises on purpose."""
    for error in (ResponseError, ReconnectError, EventTooLarge, StreamEnded):
        assert issubclass(error, SSEError)
    assert issubclass(SSEError, Exception)
    assert EventTooLarge(limit=3).limit == 3
    assert "max_event_size=3" in str(EventTooLarge(limit=3))
    assert ReconnectError("gave up", attempts=2).attempts == 2


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"data": "a"}, b"data: a\n\n"),
        ({"data": "a\nb\r\nc\rd"}, b"data: a\ndata: b\ndata: c\ndata: d\n\n"),
        ({"data": ""}, b"data\n\n"),
        ({"data": " lead"}, b"data:  lead\n\n"),
        ({"data": "a", "event": "message"}, b"data: a\n\n"),
        ({"data": "a", "event": "add"}, b"event: add\ndata: a\n\n"),
        ({"data": "a", "id": "1"}, b"id: 1\ndata: a\n\n"),
        ({"data": "a", "id": ""}, b"id\ndata: a\n\n"),
        ({"data": "a", "retry": 1500}, b"retry: 1500\ndata: a\n\n"),
        ({"comment": "keep-alive"}, b":keep-alive\n\n"),
        ({"comment": "a\nb", "data": "x"}, b":a\n:b\ndata: x\n\n"),
        ({"id": "5"}, b"id: 5\n\n"),
    ],
)
def test_format_event(kwargs: dict[str, object], expected: bytes) -> None:
    """format_event writes the wire format, and the parser reads the same event back."""
    encoded = format_event(**kwargs)  # type: ignore[arg-type]
    assert encoded == expected
    events = EventStreamParser().feed(encoded)
    if kwargs.get("data") is None:
        assert events == []
    else:
        data = str(kwargs["data"]).replace("\r\n", "\n").replace("\r", "\n")
        assert events[0].data == data
        assert events[0].event == (kwargs.get("event") or "message")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"data": "a", "id": "1\n2"},
        {"data": "a", "id": "1\r2"},
        {"data": "a", "id": "1\x002"},
        {"data": "a", "event": "a\nb"},
        {"data": "a", "retry": -1},
    ],
)
def test_format_event_refuses_what_cannot_be_encoded(kwargs: dict[str, object]) -> None:
    """An id or type with a line break, an id with NUL, a negative retry: ValueError."""
    with pytest.raises(ValueError):  # noqa: PT011 -- each case has its own message
        format_event(**kwargs)  # type: ignore[arg-type]
