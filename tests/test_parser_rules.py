"""The parsing rules of the standard, case by case, under several chunkings.

Each case is fed whole, byte by byte, and in every two-way split; all must agree.
Tags (``spec: X``) refer to the project's restatement of the WHATWG rules.
"""

from __future__ import annotations

import pytest

from sse_client import EventStreamParser, EventTooLarge, ServerSentEvent

E = ServerSentEvent


def feed_all(chunks: list[bytes], **options: object) -> tuple[list[E], EventStreamParser]:
    parser = EventStreamParser(**options)  # type: ignore[arg-type]
    events: list[E] = []
    for chunk in chunks:
        events += parser.feed(chunk)
    events += parser.close()
    return events, parser


def chunkings(stream: bytes) -> list[list[bytes]]:
    """Whole, byte by byte, and every split in two."""
    result = [[stream], [stream[i : i + 1] for i in range(len(stream))]]
    result += [[stream[:i], stream[i:]] for i in range(1, len(stream))]
    return result


CASES = [
    # spec: P-EOL
    pytest.param(b"data: a\n\n", [E(data="a")], "", id="lf"),
    pytest.param(b"data: a\r\n\r\n", [E(data="a")], "", id="crlf"),
    pytest.param(b"data: a\r\r", [E(data="a")], "", id="cr-only-line-endings"),
    pytest.param(b"data: a\r\n\n", [E(data="a")], "", id="crlf-then-lf"),
    pytest.param(b"data: a\n\r\n", [E(data="a")], "", id="lf-then-crlf-is-one-blank-line"),
    pytest.param(
        b"data: a\ndata: b\rdata: c\r\ndata: d\n\n",
        [E(data="a\nb\nc\nd")],
        "",
        id="mixed-line-endings",
    ),
    pytest.param(
        b"data: a\n\r\ndata: b\n\n",
        [E(data="a"), E(data="b")],
        "",
        id="lf-crlf-does-not-merge-events",
    ),
    # spec: P-NOSPLIT
    pytest.param(
        "data: a\u2028b\u2029c\x85d\n\n".encode(),
        [E(data="a\u2028b\u2029c\x85d")],
        "",
        id="unicode-line-separators-are-data",
    ),
    pytest.param(
        b"data: a\x0bb\x0cc\x1cd\x1de\x1ef\n\n",
        [E(data="a\x0bb\x0cc\x1cd\x1de\x1ef")],
        "",
        id="control-separators-are-data",
    ),
    # spec: P-UTF8
    pytest.param(
        "data: h\u00e9llo \u20ac \U0001f600\n\n".encode(),
        [E(data="h\u00e9llo \u20ac \U0001f600")],
        "",
        id="multibyte-utf8",
    ),
    pytest.param(b"data: a\xffb\n\n", [E(data="a\ufffdb")], "", id="invalid-byte-is-replaced"),
    pytest.param(
        b"data: \xe2\x82\n\n", [E(data="\ufffd")], "", id="truncated-sequence-is-replaced"
    ),
    pytest.param(
        b"data: \xc0\xaf\n\n", [E(data="\ufffd\ufffd")], "", id="overlong-encoding-is-replaced"
    ),
    pytest.param(
        b"data: \xed\xa0\x80\n\n",
        [E(data="\ufffd\ufffd\ufffd")],
        "",
        id="surrogate-encoding-is-replaced",
    ),
    # spec: P-BOM
    pytest.param(b"\xef\xbb\xbfdata: a\n\n", [E(data="a")], "", id="leading-bom-is-dropped"),
    pytest.param(b"\xef\xbb\xbf\xef\xbb\xbfdata: a\n\n", [], "", id="second-bom-is-data"),
    pytest.param(b"data: a\n\n\xef\xbb\xbfdata: b\n\n", [E(data="a")], "", id="later-bom-is-data"),
    pytest.param("data: \ufeffa\n\n".encode(), [E(data="\ufeffa")], "", id="bom-inside-a-value"),
    # spec: P-BLANK, P-COMMENT
    pytest.param(b"\n\n\ndata: a\n\n\n\n", [E(data="a")], "", id="extra-blank-lines"),
    pytest.param(b": keep-alive\n\n:\n\ndata: a\n: inside\n\n", [E(data="a")], "", id="comments"),
    # spec: P-FIELD
    pytest.param(b"data:a\n\n", [E(data="a")], "", id="no-space-after-colon"),
    pytest.param(b"data:  a\n\n", [E(data=" a")], "", id="only-one-space-removed"),
    pytest.param(b"data:\ta\n\n", [E(data="\ta")], "", id="tab-is-kept"),
    pytest.param(b"data: a: b:c\n\n", [E(data="a: b:c")], "", id="value-keeps-later-colons"),
    pytest.param(b"data: a \n\n", [E(data="a ")], "", id="trailing-space-kept"),
    # spec: P-NOCOLON
    pytest.param(b"data\n\n", [E(data="")], "", id="data-alone-is-an-empty-line"),
    pytest.param(b"data\ndata\n\n", [E(data="\n")], "", id="two-bare-data-lines"),
    pytest.param(b"data:\n\n", [E(data="")], "", id="data-colon-alone-dispatches-empty"),
    pytest.param(b"event\ndata: a\n\n", [E(data="a")], "", id="bare-event-resets-type"),
    # spec: P-CASE, F-OTHER
    pytest.param(
        b"Data: a\nDATA: b\nEvent: x\nID: 1\n\n", [], "", id="field-names-are-case-sensitive"
    ),
    pytest.param(b"foo: bar\ndata: a\n\n", [E(data="a")], "", id="unknown-field-ignored"),
    pytest.param(b" data: a\n\n", [], "", id="leading-space-makes-another-field"),
    # spec: F-EVENT, D-EVENT, D-RESET
    pytest.param(b"event: add\ndata: a\n\n", [E(event="add", data="a")], "", id="named-event"),
    pytest.param(b"event:\ndata: a\n\n", [E(data="a")], "", id="empty-event-is-message"),
    pytest.param(
        b"event: a\nevent: b\ndata: x\n\n", [E(event="b", data="x")], "", id="last-event-wins"
    ),
    pytest.param(
        b"event: add\ndata: a\n\ndata: b\n\n",
        [E(event="add", data="a"), E(data="b")],
        "",
        id="event-type-does-not-leak",
    ),
    pytest.param(
        b"event: add\n\ndata: b\n\n", [E(data="b")], "", id="event-type-reset-without-data"
    ),
    # spec: F-DATA, D-TRIM
    pytest.param(b"data: a\ndata: b\n\n", [E(data="a\nb")], "", id="multi-line-data"),
    pytest.param(b"data: a\ndata\n\n", [E(data="a\n")], "", id="trailing-empty-data-line"),
    pytest.param(b"data:\ndata: a\n\n", [E(data="\na")], "", id="leading-empty-data-line"),
    # spec: F-ID, D-ID
    pytest.param(b"id: 1\ndata: a\n\n", [E(data="a", id="1")], "1", id="id"),
    pytest.param(
        b"id: 1\ndata: a\n\ndata: b\n\n",
        [E(data="a", id="1"), E(data="b", id="1")],
        "1",
        id="id-persists",
    ),
    pytest.param(
        b"id: 1\ndata: a\n\nid\ndata: b\n\n",
        [E(data="a", id="1"), E(data="b")],
        "",
        id="bare-id-resets",
    ),
    pytest.param(
        b"id: 1\ndata: a\n\nid:\ndata: b\n\n",
        [E(data="a", id="1"), E(data="b")],
        "",
        id="empty-id-resets",
    ),
    pytest.param(
        b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n",
        [E(data="a", id="1"), E(data="b", id="1")],
        "1",
        id="id-with-nul-is-ignored",
    ),
    pytest.param(b"id: 7\n\n", [], "7", id="id-only-block-updates-last-id-without-event"),
    pytest.param(b"data: a\nid: 3\n\n", [E(data="a", id="3")], "3", id="id-after-data-in-block"),
    pytest.param(b"id:  1\ndata: a\n\n", [E(data="a", id=" 1")], " 1", id="id-keeps-second-space"),
    pytest.param(
        "id: \u00e9\u20ac\ndata: a\n\n".encode(),
        [E(data="a", id="\u00e9\u20ac")],
        "\u00e9\u20ac",
        id="unicode-id",
    ),
    # spec: D-EMPTY
    pytest.param(b"retry: 5\n\n", [], "", id="retry-only-block-dispatches-nothing"),
    pytest.param(b"event: x\n\n", [], "", id="event-only-block-dispatches-nothing"),
    pytest.param(b": c\n\n", [], "", id="comment-only-block-dispatches-nothing"),
    # spec: D-EOF
    pytest.param(b"data: a\n\ndata: b\n", [E(data="a")], "", id="unterminated-event-discarded"),
    pytest.param(b"data: a\n\ndata: b", [E(data="a")], "", id="unterminated-line-discarded"),
    pytest.param(
        b"data: a\n\nid: 9\ndata: b\n", [E(data="a")], "", id="unterminated-id-not-committed"
    ),
]


@pytest.mark.parametrize(("stream", "expected", "last_event_id"), CASES)
def test_rule(stream: bytes, expected: list[E], last_event_id: str) -> None:
    """Every chunking of the stream gives the expected events and last event ID."""
    for chunks in chunkings(stream):
        events, parser = feed_all(chunks)
        assert events == expected, chunks
        assert parser.last_event_id == last_event_id, chunks


RETRY_CASES = [
    pytest.param(b"retry: 1500\n\n", 1.5, id="digits"),
    pytest.param(b"retry: 0\n\n", 0.0, id="zero"),
    pytest.param(b"retry: +5\n\n", None, id="plus-sign"),
    pytest.param(b"retry: -5\n\n", None, id="minus-sign"),
    pytest.param(b"retry: 5 \n\n", None, id="trailing-space"),
    pytest.param(b"retry:  5\n\n", None, id="second-leading-space"),
    pytest.param(b"retry: 1.5\n\n", None, id="decimal-point"),
    pytest.param(b"retry:\n\n", None, id="empty"),
    pytest.param(b"retry\n\n", None, id="bare"),
    pytest.param("retry: \uff15\n\n".encode(), None, id="full-width-digit"),
    pytest.param("retry: \u0665\n\n".encode(), None, id="arabic-indic-digit"),
    pytest.param(b"retry: 5x\n\n", None, id="letters"),
    pytest.param(b"retry: 100\nretry: x\n\n", 0.1, id="invalid-keeps-previous"),
    pytest.param(b"retry: 250\n", 0.25, id="takes-effect-before-the-blank-line"),
    pytest.param(b"retry: 250\ndata: a", 0.25, id="takes-effect-in-a-discarded-event"),
    pytest.param(b"retry: 250", None, id="unterminated-line-has-no-effect"),
]


@pytest.mark.parametrize(("stream", "seconds"), RETRY_CASES)
def test_retry_field(stream: bytes, seconds: float | None) -> None:
    """spec: F-RETRY -- only ASCII digits set the reconnection time, as soon as the line is read."""
    for chunks in chunkings(stream):
        _, parser = feed_all(chunks)
        assert parser.reconnection_time == seconds, chunks


def test_retry_is_reported_on_its_event_only() -> None:
    """ServerSentEvent.retry is set on the block that carried a valid retry field, not later."""
    events, _ = feed_all([b"retry: 10\ndata: a\n\ndata: b\n\nretry: x\ndata: c\n\n"])
    assert [e.retry for e in events] == [10, None, None]


def test_huge_retry_does_not_raise() -> None:
    """A 5000-digit retry value saturates instead of tripping int()'s digit limit."""
    parser = EventStreamParser()
    parser.feed(b"retry: " + b"9" * 5000 + b"\ndata: a\n\n")
    assert parser.reconnection_time is not None
    assert parser.reconnection_time > 10**14


def test_retry_value_of_eighteen_digits_is_exact() -> None:
    """Values up to 18 digits are taken exactly."""
    (event,) = EventStreamParser().feed(b"retry: 123456789012345678\ndata: a\n\n")
    assert event.retry == 123456789012345678


def test_event_completed_by_trailing_cr_is_returned_now() -> None:
    """spec: P-CR-SPLIT -- a CR ends its line at once; the event is not held back."""
    parser = EventStreamParser()
    assert parser.feed(b"data: a\r") == []
    assert parser.feed(b"\r") == [E(data="a")]
    assert parser.feed(b"\n") == []  # the LF of a CRLF cut in two
    assert parser.feed(b"data: b\n\n") == [E(data="b")]


def test_lf_after_cr_is_dropped_only_once() -> None:
    """spec: P-CR-SPLIT -- only one LF right after a chunk-ending CR is swallowed."""
    parser = EventStreamParser()
    assert parser.feed(b"data: a\r") == []
    assert parser.feed(b"\n\n") == [E(data="a")]


def test_multibyte_character_split_across_feeds_decodes_once() -> None:
    """spec: P-UTF8 -- a character cut between reads is one character."""
    parser = EventStreamParser()
    euro = "\u20ac".encode()
    assert parser.feed(b"data: " + euro[:1]) == []
    assert parser.feed(euro[1:2]) == []
    assert parser.feed(euro[2:] + b"\n\n") == [E(data="\u20ac")]


def test_bom_split_across_feeds_is_dropped() -> None:
    """spec: P-BOM -- a BOM cut between reads is still the stream's first character."""
    parser = EventStreamParser()
    assert parser.feed(b"\xef") == []
    assert parser.feed(b"\xbb") == []
    assert parser.feed(b"\xbfdata: a\n\n") == [E(data="a")]


def test_empty_feeds_change_nothing() -> None:
    """Feeding no bytes returns no events and keeps the state."""
    parser = EventStreamParser()
    assert parser.feed(b"") == []
    assert parser.feed(b"data: a\r") == []
    assert parser.feed(b"") == []
    assert parser.feed(b"\n\n") == [E(data="a")]


def test_initial_last_event_id_is_carried() -> None:
    """A resumed stream's events carry the seeded ID until an id field changes it."""
    parser = EventStreamParser(last_event_id="41")
    assert parser.last_event_id == "41"
    assert parser.feed(b"data: a\n\nid: 42\ndata: b\n\n") == [
        E(data="a", id="41"),
        E(data="b", id="42"),
    ]


def test_bytearray_and_memoryview_are_accepted() -> None:
    """Any bytes-like chunk works."""
    parser = EventStreamParser()
    assert parser.feed(bytearray(b"data: \xe2\x82")) == []
    assert parser.feed(memoryview(b"\xac\n")) == []
    assert parser.feed(memoryview(b"\n")) == [E(data="\u20ac")]


def test_on_comment_sees_every_comment_line() -> None:
    """The callback gets the text after the colon, unchanged, for each comment line only."""
    seen: list[str] = []
    events, _ = feed_all([b": ping\n:\n::x\ndata: a\n:  two\n\n"], on_comment=seen.append)
    assert seen == [" ping", "", ":x", "  two"]
    assert events == [E(data="a")]


def test_on_comment_fires_as_the_line_is_read() -> None:
    """A comment is reported by the feed that completes its line, before any blank line."""
    seen: list[str] = []
    parser = EventStreamParser(on_comment=seen.append)
    parser.feed(b": keep")
    assert seen == []
    parser.feed(b"-alive\n")
    assert seen == [" keep-alive"]


def test_close_discards_and_is_idempotent() -> None:
    """spec: D-EOF -- close() returns nothing, twice; feeding after it is a misuse."""
    parser = EventStreamParser()
    parser.feed(b"id: 5\ndata: a\n")
    assert parser.close() == []
    assert parser.close() == []
    assert parser.last_event_id == ""
    with pytest.raises(RuntimeError, match="closed"):
        parser.feed(b"\n")


class TestMaxEventSize:
    """max_event_size bounds the memory one event or line may take."""

    def test_endless_line_raises_in_small_chunks(self) -> None:
        """An endless line with no line ending crosses the limit and raises."""
        parser = EventStreamParser(max_event_size=100)
        parser.feed(b"data: ")
        fed = 6

        def feed_forever() -> None:
            nonlocal fed
            for _ in range(1000):
                parser.feed(b"x" * 7)
                fed += 7

        with pytest.raises(EventTooLarge) as info:
            feed_forever()
        assert info.value.limit == 100
        assert fed <= 100  # it raised as soon as the buffered line crossed the limit

    def test_endless_line_raises_in_one_chunk(self) -> None:
        """A single chunk holding a line longer than the limit raises too."""
        with pytest.raises(EventTooLarge):
            EventStreamParser(max_event_size=100).feed(b"data: " + b"x" * 200)

    def test_long_data_over_many_lines_raises(self) -> None:
        """Data assembled from many short lines is bounded too."""
        parser = EventStreamParser(max_event_size=100)
        with pytest.raises(EventTooLarge):  # noqa: PT012 -- the loop is the stream
            for _ in range(100):
                parser.feed(b"data: 0123456789\n")

    def test_whole_large_event_in_one_chunk_raises(self) -> None:
        """An event over the limit raises even when it arrives whole."""
        with pytest.raises(EventTooLarge):
            EventStreamParser(max_event_size=50).feed(b"data: 0123456789\n" * 10 + b"\n")

    def test_line_at_the_limit_passes(self) -> None:
        """A line exactly max_event_size long (field name included) is fine; one more raises."""
        events = EventStreamParser(max_event_size=20).feed(b"data: " + b"x" * 14 + b"\n\n")
        assert events == [E(data="x" * 14)]
        with pytest.raises(EventTooLarge):
            EventStreamParser(max_event_size=20).feed(b"data: " + b"x" * 15 + b"\n\n")

    def test_data_at_the_limit_passes(self) -> None:
        """Data of exactly max_event_size characters, over several lines, is fine."""
        stream = b"data: 0123456789\n" * 2 + b"\n"  # data: 21 characters with the LF
        assert len(EventStreamParser(max_event_size=21).feed(stream)) == 1
        with pytest.raises(EventTooLarge):
            EventStreamParser(max_event_size=20).feed(stream)

    def test_many_small_events_never_raise(self) -> None:
        """The limit is per event, not per stream or per chunk."""
        parser = EventStreamParser(max_event_size=20)
        events = parser.feed(b"data: 0123456789\n\n" * 1000)
        assert len(events) == 1000

    def test_none_disables(self) -> None:
        """max_event_size=None lets a 2 MiB event through."""
        events = EventStreamParser(max_event_size=None).feed(b"data: " + b"x" * (2 << 20) + b"\n\n")
        assert len(events[0].data) == 2 << 20

    def test_default_is_one_mebibyte(self) -> None:
        """The default limit stops a 2 MiB line."""
        with pytest.raises(EventTooLarge):
            EventStreamParser().feed(b"data: " + b"x" * (2 << 20))

    def test_parser_stays_broken(self) -> None:
        """After the limit was crossed, every feed raises the same error."""
        parser = EventStreamParser(max_event_size=10)
        with pytest.raises(EventTooLarge):
            parser.feed(b"data: " + b"x" * 20)
        with pytest.raises(EventTooLarge):
            parser.feed(b"\n\n")

    @pytest.mark.parametrize("size", [0, -1])
    def test_nonpositive_limit_is_rejected(self, size: int) -> None:
        """A limit must be positive."""
        with pytest.raises(ValueError, match="max_event_size"):
            EventStreamParser(max_event_size=size)
