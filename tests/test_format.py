"""format_event writes exactly the bytes expected, and the parser reads them back."""

from __future__ import annotations

import pytest

from sse_client import EventStreamParser, ServerSentEvent
from sse_client.testing import format_event

E = ServerSentEvent


def parse(stream: bytes, *, last_event_id: str = "") -> tuple[list[E], EventStreamParser]:
    """Parse a whole stream with a fresh parser; return its events and the parser."""
    parser = EventStreamParser(last_event_id=last_event_id)
    return parser.feed(stream), parser


@pytest.mark.parametrize(
    ("kwargs", "wire", "events"),
    [
        pytest.param({"data": "hello"}, b"data: hello\n\n", [E(data="hello")], id="one-line"),
        pytest.param(
            {"data": "a\nb\nc"}, b"data: a\ndata: b\ndata: c\n\n", [E(data="a\nb\nc")], id="lf"
        ),
        pytest.param({"data": "a\r\nb"}, b"data: a\ndata: b\n\n", [E(data="a\nb")], id="crlf"),
        pytest.param({"data": "a\rb"}, b"data: a\ndata: b\n\n", [E(data="a\nb")], id="cr"),
        pytest.param(
            {"data": "a\r\n\rb\n"},
            b"data: a\ndata\ndata: b\ndata\n\n",
            [E(data="a\n\nb\n")],
            id="mixed-line-breaks-and-a-trailing-one",
        ),
        pytest.param({"data": ""}, b"data\n\n", [E(data="")], id="empty-data-dispatches"),
        pytest.param({"data": "\n"}, b"data\ndata\n\n", [E(data="\n")], id="data-of-one-lf"),
        pytest.param({"data": " x"}, b"data:  x\n\n", [E(data=" x")], id="leading-space-kept"),
        pytest.param({"data": "a: b"}, b"data: a: b\n\n", [E(data="a: b")], id="colon-in-data"),
        pytest.param(
            {"data": "a\u2028b\x85c\x0bd"},
            "data: a\u2028b\x85c\x0bd\n\n".encode(),
            [E(data="a\u2028b\x85c\x0bd")],
            id="other-separators-stay-on-the-line",
        ),
        pytest.param(
            {"data": "\u20ac\x00"}, b"data: \xe2\x82\xac\x00\n\n", [E(data="\u20ac\x00")], id="utf8"
        ),
        pytest.param(
            {"data": "hello\nworld", "event": "greeting", "id": "1"},
            b"event: greeting\nid: 1\ndata: hello\ndata: world\n\n",
            [E("greeting", "hello\nworld", "1")],
            id="all-fields",
        ),
        pytest.param(
            {"data": "x", "event": "message"}, b"data: x\n\n", [E(data="x")], id="message-omitted"
        ),
        pytest.param(
            {"data": "x", "event": " odd"}, b"event:  odd\ndata: x\n\n", [E(" odd", "x")], id="type"
        ),
        pytest.param(
            {"data": "x", "retry": 1500},
            b"retry: 1500\ndata: x\n\n",
            [E(data="x", retry=1500)],
            id="retry",
        ),
        pytest.param(
            {"data": "x", "retry": 0},
            b"retry: 0\ndata: x\n\n",
            [E(data="x", retry=0)],
            id="retry-zero",
        ),
        pytest.param({"data": None}, b"\n", [], id="nothing-at-all"),
        pytest.param({"id": "7"}, b"id: 7\n\n", [], id="id-without-data"),
        pytest.param({"retry": 10}, b"retry: 10\n\n", [], id="retry-without-data"),
        pytest.param({"event": "e"}, b"event: e\n\n", [], id="event-without-data"),
        pytest.param({"comment": "keep-alive"}, b":keep-alive\n\n", [], id="comment"),
        pytest.param({"comment": ""}, b":\n\n", [], id="empty-comment"),
        pytest.param({"comment": "a\nb\r\nc"}, b":a\n:b\n:c\n\n", [], id="multi-line-comment"),
        pytest.param(
            {"data": "x", "comment": "c"}, b":c\ndata: x\n\n", [E(data="x")], id="comment-first"
        ),
    ],
)
def test_format_event(kwargs: dict[str, str | int | None], wire: bytes, events: list[E]) -> None:
    """Each combination of fields is written byte for byte, and parses back to its events."""
    written = format_event(**kwargs)  # type: ignore[arg-type]
    assert written == wire
    assert parse(written)[0] == events


@pytest.mark.parametrize(
    ("id", "last_event_id"),
    [
        pytest.param("7", "7", id="set"),
        pytest.param("", "", id="reset"),
        pytest.param(" spaced ", " spaced ", id="spaces-kept"),
        pytest.param("\u20ac", "\u20ac", id="non-ascii"),
        pytest.param(None, "5", id="absent-keeps-the-previous"),
    ],
)
def test_format_event_id(id: str | None, last_event_id: str) -> None:
    """The id written is the stream's last event ID after the block, seeded with "5"."""
    for data in (None, "x"):
        events, parser = parse(format_event(data, id=id), last_event_id="5")
        assert parser.last_event_id == last_event_id
        assert events == ([] if data is None else [E(data="x", id=last_event_id)])


def test_empty_id_is_written_as_a_reset() -> None:
    """id="" writes a bare id line, which resets the last event ID (spec: F-ID)."""
    assert format_event("x", id="") == b"id\ndata: x\n\n"


def test_comment_reaches_on_comment() -> None:
    """Each comment line written comes back to on_comment, without a space added."""
    seen: list[str] = []
    parser = EventStreamParser(on_comment=seen.append)
    parser.feed(format_event(comment="one\ntwo") + format_event("x", comment=" three"))
    assert seen == ["one", "two", " three"]


def test_retry_reaches_the_reconnection_time() -> None:
    """A retry written by format_event sets the parser's reconnection time."""
    _, parser = parse(format_event(retry=2500))
    assert parser.reconnection_time == 2.5


def test_blocks_concatenate_into_a_stream() -> None:
    """Blocks written one after another parse as a stream of the events, the id sticking."""
    stream = (
        format_event("a", id="1")
        + format_event(comment="ping")
        + format_event("b", event="e")
        + format_event(id="")
        + format_event("c")
    )
    events, parser = parse(stream)
    assert events == [E(data="a", id="1"), E("e", "b", "1"), E(data="c")]
    assert parser.last_event_id == ""


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param({"id": "a\nb"}, "id", id="id-with-lf"),
        pytest.param({"id": "a\rb"}, "id", id="id-with-cr"),
        pytest.param({"id": "a\r\n"}, "id", id="id-with-crlf"),
        pytest.param({"id": "a\x00b"}, "NUL", id="id-with-nul"),
        pytest.param({"event": "a\nb"}, "event", id="event-with-lf"),
        pytest.param({"event": "a\r"}, "event", id="event-with-cr"),
        pytest.param({"retry": -1}, "retry", id="negative-retry"),
    ],
)
def test_format_event_refuses_what_cannot_be_written(
    kwargs: dict[str, str | int], message: str
) -> None:
    """Values that the wire format cannot carry raise ValueError naming the field."""
    with pytest.raises(ValueError, match=message):
        format_event("x", **kwargs)  # type: ignore[arg-type]
