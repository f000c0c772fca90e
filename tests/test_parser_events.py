"""``EventStreamParser.events()``: a whole stream from an iterable of chunks.

It must give exactly what ``feed()`` on every chunk and ``close()`` give. In a trickle of
small reads, ``feed()`` holds whole lines back until a blank line may have come; the tests
of held lines check that this delays nothing a caller can see.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sse_client import EventStreamParser, EventTooLarge, ServerSentEvent

from .cases import CASES, chunkings, until_too_large
from .reference import reference_parse
from .strategies import block_streams, crlf_block_streams, cut, split_points, streams, trickled

PROPERTY = settings(max_examples=200, deadline=None)

State = tuple[list[ServerSentEvent], str, float | None]


def through_events(chunks: list[bytes], max_event_size: int | None = None) -> State:
    parser = EventStreamParser(max_event_size=max_event_size)
    got = list(parser.events(chunks))
    return got, parser.last_event_id, parser.reconnection_time


def through_feed(chunks: list[bytes], max_event_size: int | None = None) -> State:
    parser = EventStreamParser(max_event_size=max_event_size)
    got = [event for chunk in chunks for event in parser.feed(chunk)]
    got += parser.close()
    return got, parser.last_event_id, parser.reconnection_time


def reference(stream: bytes) -> State:
    got, last_id, retry_ms = reference_parse(stream)
    return got, last_id, None if retry_ms is None else retry_ms / 1000


@pytest.mark.parametrize(("stream", "events", "last_event_id", "retry_ms"), CASES)
def test_rule_through_events(
    stream: bytes, events: list[ServerSentEvent], last_event_id: str, retry_ms: int | None
) -> None:
    """Every case of the rule table, under every chunking, through events()."""
    expected = (events, last_event_id, None if retry_ms is None else retry_ms / 1000)
    for name, chunks in chunkings(stream):
        assert through_events(chunks) == expected, name


@pytest.mark.parametrize(("stream", "events", "last_event_id", "retry_ms"), CASES)
def test_rule_in_a_long_stream(
    stream: bytes, events: list[ServerSentEvent], last_event_id: str, retry_ms: int | None
) -> None:
    """Each case four times over: long enough for the scanner, fed whole or in halves."""
    long = stream * 4
    for chunks in ([long], [long[: len(long) // 2], long[len(long) // 2 :]]):
        assert through_feed(chunks) == reference(long)
        assert through_events(chunks) == reference(long)


# The shapes of block the scanner reads whole, with and without spaces and ids.
COMMON_SHAPES = [
    b"data: a\n",
    b"data:b\n",
    b"event: e\ndata: c\n",
    b"event:f\ndata:\n",
    b"id: 1\ndata: d\n",
    b"id:2\nevent: g\ndata: h\n",
    b"event: i\nid: 3\ndata: j\n",
    b"id:\ndata: k\n",
    b"event: l\nid:\ndata: m\n",
    b"id: 4\nevent: o\nid: 5\ndata: p\n",
]


@pytest.mark.parametrize("gap", [b"\n", b"\n\n"])
def test_common_blocks_in_pairs_of_every_shape(gap: bytes) -> None:
    """A long read of common blocks, every shape after every other: the scanner takes
    them two at a time, so each shape is read both first and second of a pair."""
    stream = b"".join(
        first + b"\n" + second + gap for first in COMMON_SHAPES for second in COMMON_SHAPES
    )
    assert len(reference(stream)[0]) == 2 * len(COMMON_SHAPES) ** 2
    assert through_feed([stream]) == reference(stream)
    assert through_events([stream]) == reference(stream)


@pytest.mark.parametrize("shape", COMMON_SHAPES)
def test_a_common_block_then_another_kind(shape: bytes) -> None:
    """A common block, then one the scanner hands to the line loop: in a short read
    (one block per match) and in a long one (two per match)."""
    for repeat in (2, 12):
        stream = (shape + b"\nretry: 5\ndata: n\n\n" + shape + b"\n") * repeat
        assert through_feed([stream]) == reference(stream)


@pytest.mark.parametrize("blank", [b"\n", b"\n\n\n", b"\r\n\r\n", b"\r"])
def test_a_long_read_that_starts_with_blank_lines(blank: bytes) -> None:
    """After a whole event, a long read opens with blank lines: from a clean start they
    change nothing, and the blocks after them are scanned as usual."""
    rest = blank + b"id: 7\nevent: e\ndata: b\n\n" + b"data: c\n\n" * 8 + b"retry: 5\n"
    stream = b"data: a\n\n" + rest
    assert through_feed([stream[: -len(rest)], rest]) == reference(stream)
    assert through_events([stream[: -len(rest)], rest]) == reference(stream)


@PROPERTY
@given(st.one_of(streams, block_streams()), st.data())
def test_events_equals_the_reference_in_any_chunking(stream: bytes, data: st.DataObject) -> None:
    """Any stream, cut anywhere, gives the reference's events and state."""
    chunks = cut(stream, data.draw(split_points(stream)))
    assert through_events(chunks) == reference(stream)


@PROPERTY
@given(st.one_of(streams, block_streams()), st.data())
def test_events_equals_the_reference_in_a_trickle(stream: bytes, data: st.DataObject) -> None:
    """Reads of 1 to 7 bytes, where lines are held back, change nothing."""
    assert through_events(data.draw(trickled(stream))) == reference(stream)


def with_empty_reads(chunks: list[bytes], before: list[bool]) -> list[bytes]:
    """``chunks`` with an empty read in front of each one whose flag is set."""
    pairs = zip(chunks, before, strict=True)
    return [piece for chunk, empty in pairs for piece in [b""] * empty + [chunk]]


@PROPERTY
@given(st.one_of(streams, block_streams()), st.data())
def test_empty_reads_in_a_trickle_change_nothing(stream: bytes, data: st.DataObject) -> None:
    """A read of no bytes, anywhere among small reads (held lines included), is nothing."""
    chunks = data.draw(trickled(stream))
    before = data.draw(st.lists(st.booleans(), min_size=len(chunks), max_size=len(chunks)))
    assert through_events([*with_empty_reads(chunks, before), b""]) == reference(stream)


@pytest.mark.parametrize("ending", [b"\n", b"\r\n", b"\r"])
def test_an_empty_read_between_held_lines_and_a_blank_line(ending: bytes) -> None:
    """Held lines, an empty read, then the line ending of a blank line: the event comes
    with that read (the empty read is not taken for the end of a line)."""
    chunks = [b"\n", b"data: x" + ending, b"", ending, b"data: y" + ending + ending]
    expected = [ServerSentEvent(data="x"), ServerSentEvent(data="y")]
    assert through_events(chunks) == (expected, "", None)
    assert reads_per_event(chunks, use_events=True) == [4, 5]


@PROPERTY
@given(block_streams(), st.data())
def test_feed_equals_the_reference_on_long_block_streams(
    stream: bytes, data: st.DataObject
) -> None:
    """Long streams of common blocks (the scanner's work), cut anywhere, through feed()."""
    chunks = cut(stream, data.draw(split_points(stream)))
    assert through_feed(chunks) == reference(stream)


@PROPERTY
@given(crlf_block_streams(), st.data())
def test_feed_equals_the_reference_on_crlf_streams_with_stray_line_endings(
    stream: bytes, data: st.DataObject
) -> None:
    """Long CRLF streams (read as CRLF text) with a lone CR or LF here and there, in a
    line ending or inside a value, cut anywhere, through feed() and events()."""
    chunks = cut(stream, data.draw(split_points(stream)))
    assert through_feed(chunks) == reference(stream)
    assert through_events(chunks) == reference(stream)


@PROPERTY
@given(st.one_of(streams, block_streams()), st.data(), st.integers(min_value=1, max_value=40))
def test_events_and_feed_agree_on_the_limit(stream: bytes, data: st.DataObject, limit: int) -> None:
    """With a limit, both deliver the same events, raise EventTooLarge alike, and leave
    the same last event ID and reconnection time."""
    chunks = data.draw(
        st.one_of(trickled(stream), split_points(stream).map(lambda p: cut(stream, p)))
    )
    before = data.draw(st.lists(st.booleans(), min_size=len(chunks), max_size=len(chunks)))
    chunks = with_empty_reads(chunks, before)
    assert until_too_large(chunks, limit, use_events=True) == until_too_large(
        chunks, limit, use_events=False
    )


def test_events_and_feed_agree_on_the_state_at_the_limit() -> None:
    """A line that crosses the limit while its read is held back: the retry before it
    takes effect through events() as through feed()."""
    chunks = [b"retry: 12\nid: 5\n\n" + b"x" * 15, b"x\n"]
    for use_events in (True, False):
        assert until_too_large(chunks, 10, use_events=use_events) == ([], True, "5", 0.012)
    chunks = [b"id: 5\nretry: 12\n" + b"x" * 15, b"x\n"]  # held: no blank line in it
    for use_events in (True, False):
        assert until_too_large(chunks, 10, use_events=use_events) == ([], True, "", 0.012)


def test_held_lines_read_at_the_limit_then_the_lf_of_their_last_crlf() -> None:
    """Held lines ending with CR, read when a later (here empty) read is measured: the
    LF that starts the next read is still the second half of that CRLF."""
    chunks = [b"\n", b"retry: 5\r", b"", b"\ndata: a\r\n", b"\r\n"]
    expected = ([ServerSentEvent(data="a", retry=5)], False, "", 0.005)
    for use_events in (True, False):
        assert until_too_large(chunks, 8, use_events=use_events) == expected


def test_held_lines_then_a_trickle_measure_the_unfinished_line_once() -> None:
    """A read crossing the limit after held lines: the unfinished line is measured once.

    Six characters and half a seventh are not over a limit of six.
    """
    chunks = [b"\x00", b"\r", b"\x00" * 6 + b"\xc2"]
    for use_events in (True, False):
        assert until_too_large(chunks, 6, use_events=use_events) == ([], False, "", None)


def reads_per_event(chunks: list[bytes], *, use_events: bool) -> list[int]:
    """For each event, how many chunks had been read when it was handed out."""
    parser = EventStreamParser(max_event_size=None)
    if not use_events:
        return [i + 1 for i, chunk in enumerate(chunks) for _ in parser.feed(chunk)]
    read = 0

    def counted() -> Iterator[bytes]:
        nonlocal read
        for chunk in chunks:
            read += 1
            yield chunk

    return [read for _ in parser.events(counted())]


@PROPERTY
@given(st.one_of(streams, block_streams()), st.data())
def test_events_yields_each_event_with_the_read_that_completes_it(
    stream: bytes, data: st.DataObject
) -> None:
    """Holding lines back never delays an event: each comes out of events() before the
    next read is asked for, exactly when feed() would return it."""
    chunks = data.draw(
        st.one_of(trickled(stream), split_points(stream).map(lambda p: cut(stream, p)))
    )
    assert reads_per_event(chunks, use_events=True) == reads_per_event(chunks, use_events=False)


def test_text_instead_of_bytes_is_a_clear_type_error() -> None:
    """Reads of str (a response's iter_text()) are refused with a message that says so."""
    with pytest.raises(TypeError, match="bytes, not str"):
        EventStreamParser().feed("data: a\n\n")  # type: ignore[arg-type]
    for reads in (["data: a\n\n"], [b"data: a\n\n", "da"], [b"data: a\n\n", "\n"]):
        with pytest.raises(TypeError, match="bytes, not str"):
            list(EventStreamParser().events(reads))  # type: ignore[arg-type]


def test_events_closes_the_parser_at_the_end() -> None:
    parser = EventStreamParser()
    assert [e.data for e in parser.events([b"data: a\n\n", b"data: unfinished\n"])] == ["a"]
    with pytest.raises(RuntimeError):
        parser.feed(b"data: b\n\n")


def test_events_is_lazy_and_yields_each_event_when_its_read_arrives() -> None:
    reads: list[bytes] = []

    def chunks() -> Iterator[bytes]:
        for chunk in (b"data: a\n", b"\n", b"data: b\n\n"):
            reads.append(chunk)
            yield chunk

    it = EventStreamParser().events(chunks())
    assert next(it).data == "a"
    assert reads == [b"data: a\n", b"\n"]  # not a read more than the event needed
    assert next(it).data == "b"


@pytest.mark.parametrize(
    "reads",
    [
        [b"data: a\n\n", b"data: b\n", b"\n", b"data: c\n\n"],  # held, then an LF
        [b"data: a\n\n", b"data: b\r\n", b"\r\n", b"data: c\n\n"],  # CRLF, held
        [b"data: a\n\n", b"data: b\r", b"\r", b"data: c\n\n"],  # CR, held
        [b"data: a\n\n", b"data: b\nx", b"\n\n", b"data: c\n\n"],  # two LFs in one read
        [b"data: a\n\n", b"data: b\r", b"x\r\r", b"data: c\n\n"],  # two CRs in one read
    ],
)
def test_a_blank_line_after_held_lines_yields_at_once(reads: list[bytes]) -> None:
    """The read that completes a blank line after held lines hands its event out before
    the next read is asked for."""
    done: list[bytes] = []

    def chunks() -> Iterator[bytes]:
        for chunk in reads:
            done.append(chunk)
            yield chunk

    it = EventStreamParser().events(chunks())
    assert next(it).data == "a"
    assert next(it).data == "b"
    assert done == reads[:3]


def test_a_retry_held_back_at_the_end_still_takes_effect() -> None:
    parser = EventStreamParser()
    assert list(parser.events([b"data: a\n\n", b"retry: 5", b"0\n"])) == [ServerSentEvent(data="a")]
    assert parser.reconnection_time == 0.05


def test_a_retry_held_back_when_the_reads_fail_still_takes_effect() -> None:
    def chunks() -> Iterator[bytes]:
        yield b"data: a\n\n"
        yield b"retry: 70\n"
        raise OSError("connection reset")

    parser = EventStreamParser()
    with pytest.raises(OSError, match="reset"):
        list(parser.events(chunks()))
    assert parser.reconnection_time == 0.07


def test_comments_are_reported_as_each_read_arrives() -> None:
    """With on_comment set, nothing is held back: a keep-alive is heard at once."""
    heard: list[str] = []
    snapshots: list[list[str]] = []

    def chunks() -> Iterator[bytes]:
        yield b": ping\n"
        snapshots.append(list(heard))
        yield b"data: x\n\n"

    parser = EventStreamParser(on_comment=heard.append)
    assert [e.data for e in parser.events(chunks())] == ["x"]
    assert snapshots == [[" ping"]]


def test_bytes_like_chunks() -> None:
    chunks: list[bytes | bytearray | memoryview] = [
        bytearray(b"data: a"),
        memoryview(b"\n\ndata: b\n"),
        b"\n",
    ]
    assert [e.data for e in EventStreamParser().events(chunks)] == ["a", "b"]


def test_a_bytes_like_chunk_after_held_lines() -> None:
    chunks: list[bytes | bytearray] = [b"data: a\n", b"data: b\n", bytearray(b"\n")]
    assert [e.data for e in EventStreamParser().events(chunks)] == ["a\nb"]


def test_held_lines_do_not_count_toward_the_line_limit() -> None:
    """Held lines are read before an unfinished line is measured against the limit."""
    parser = EventStreamParser(max_event_size=10)
    chunks = [b"event: abc\n", b"id: 12345\n", b"data: 12", b"34\n\n"]
    assert list(parser.events(chunks)) == [ServerSentEvent("abc", "1234", "12345")]


def test_a_line_over_the_limit_raises_from_events() -> None:
    parser = EventStreamParser(max_event_size=10)
    with pytest.raises(EventTooLarge):
        list(parser.events([b"data: 1", b"23456789012\n"]))
