"""The parsing rules of the standard, one byte-exact case at a time.

Every case of the table is fed whole, byte by byte and in every split in two, and each
chunking must give the same events, ``last_event_id`` and ``reconnection_time``. Tags
(``spec: X``) refer to the project's restatement of the WHATWG rules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from sse_client import (
    DEFAULT_MAX_EVENT_SIZE,
    EventStreamParser,
    EventTooLarge,
    ServerSentEvent,
    SSEError,
)

from .cases import BOM, CASES, E, chunkings
from .reference import reference_parse


@dataclass
class Outcome:
    """What a parser produced from a whole stream."""

    events: list[ServerSentEvent]
    last_event_id: str
    reconnection_time: float | None
    comments: list[str] = field(default_factory=list)


def run(chunks: list[bytes], *, last_event_id: str = "") -> Outcome:
    """Feed ``chunks`` to a fresh parser, close it, and report what it produced."""
    comments: list[str] = []
    parser = EventStreamParser(last_event_id=last_event_id, on_comment=comments.append)
    events: list[ServerSentEvent] = []
    for chunk in chunks:
        events += parser.feed(chunk)
    events += parser.close()
    return Outcome(events, parser.last_event_id, parser.reconnection_time, comments)


@pytest.mark.parametrize(("stream", "events", "last_event_id", "retry_ms"), CASES)
def test_rule(
    stream: bytes, events: list[ServerSentEvent], last_event_id: str, retry_ms: int | None
) -> None:
    """Each case gives its events and final state under every chunking."""
    expected = (events, last_event_id, None if retry_ms is None else retry_ms / 1000)
    for name, chunks in chunkings(stream):
        got = run(chunks)
        assert (got.events, got.last_event_id, got.reconnection_time) == expected, name


@pytest.mark.parametrize(("stream", "events", "last_event_id", "retry_ms"), CASES)
def test_reference_agrees_with_the_table(
    stream: bytes, events: list[ServerSentEvent], last_event_id: str, retry_ms: int | None
) -> None:
    """The literal transcription the property tests compare against agrees with every case."""
    assert reference_parse(stream) == (events, last_event_id, retry_ms)


# -- One feed call at a time -------------------------------------------------------------


def test_event_completed_by_a_trailing_cr_is_returned_by_that_feed() -> None:
    """A CR at the end of a read ends its line at once (spec: P-CR-SPLIT)."""
    parser = EventStreamParser()
    assert parser.feed(b"data: a\r") == []
    assert parser.feed(b"\r") == [E(data="a")]
    assert parser.feed(b"\n") == []
    assert parser.feed(b"data: b\r\n\r") == [E(data="b")]
    assert parser.feed(b"\n") == []
    assert parser.feed(b"data: c\n\r") == [E(data="c")]


def test_lf_after_a_split_crlf_does_not_end_another_line() -> None:
    """The LF that completes a CRLF cut between reads is not a second line ending."""
    parser = EventStreamParser()
    assert parser.feed(b"data: a\r") == []
    # Were this LF a line ending of its own, the blank line would dispatch "a" alone.
    assert parser.feed(b"\ndata: b\n\n") == [E(data="a\nb")]


def test_only_one_lf_is_dropped_after_a_split_cr() -> None:
    """After a CR ending a read, only the LF right after it is absorbed."""
    parser = EventStreamParser()
    assert parser.feed(b"data: a\r") == []
    assert parser.feed(b"\n") == []
    assert parser.feed(b"\n") == [E(data="a")]


def test_empty_feed_between_cr_and_lf_changes_nothing() -> None:
    """An empty read between the two halves of a CRLF does not split it."""
    parser = EventStreamParser()
    assert parser.feed(b"data: a\r") == []
    assert parser.feed(b"") == []
    assert parser.feed(b"\ndata: b\n\n") == [E(data="a\nb")]


def test_multibyte_character_split_across_feeds_is_one_character() -> None:
    """A UTF-8 sequence cut between reads decodes as one character (spec: P-UTF8)."""
    parser = EventStreamParser()
    assert parser.feed(b"data: \xe2") == []
    assert parser.feed(b"\x82") == []
    assert parser.feed(b"\xac\xf0\x9f") == []
    assert parser.feed(b"\x98\x80\n\n") == [E(data="\u20ac\U0001f600")]


def test_truncated_sequence_completed_by_ascii_becomes_a_replacement() -> None:
    """A sequence cut short and continued by ASCII in the next read is one U+FFFD."""
    parser = EventStreamParser()
    assert parser.feed(b"data: \xe2\x82") == []
    assert parser.feed(b"x\n\n") == [E(data="\ufffdx")]


def test_bom_split_across_feeds_is_dropped() -> None:
    """A BOM cut into single bytes at the start is still dropped (spec: P-BOM)."""
    parser = EventStreamParser()
    assert parser.feed(b"\xef") == []
    assert parser.feed(b"\xbb") == []
    assert parser.feed(b"\xbfdata: a\n\n") == [E(data="a")]


def test_bom_after_the_first_bom_is_data_even_across_feeds() -> None:
    """Only the first BOM is dropped; a second one, however split, is data."""
    parser = EventStreamParser()
    assert parser.feed(b"\xef\xbb") == []
    assert parser.feed(b"\xbf\xef") == []
    assert parser.feed(b"\xbb\xbfdata: a\n\n") == []
    assert parser.feed(b"data: b\n\n") == [E(data="b")]


def test_bom_after_an_empty_first_feed_is_still_at_the_start() -> None:
    """An empty read does not start the stream: the BOM after it is still the first bytes."""
    parser = EventStreamParser()
    assert parser.feed(b"") == []
    assert parser.feed(BOM + b"data: a\n\n") == [E(data="a")]


@pytest.mark.parametrize(
    ("first", "event"),
    [
        (b"retry: 5\n", E(data="x" * 70, retry=5)),
        (b"event: e\n", E(event="e", data="x" * 70)),
        (b"id: 7\n", E(data="x" * 70, id="7")),
        (b"data: a\n", E(data="a\n" + "x" * 70)),
        (b"data: a\n\nretry: 5\n", E(data="x" * 70, retry=5)),
    ],
)
def test_a_long_read_continues_the_event_an_earlier_read_began(
    first: bytes, event: ServerSentEvent
) -> None:
    """Fields read before a long read of whole events belong to its first event."""
    parser = EventStreamParser()
    parser.feed(first)
    assert parser.feed(b"data: " + b"x" * 70 + b"\n\n")[-1] == event


def test_last_event_id_changes_only_at_the_blank_line() -> None:
    """The id field sets a buffer; the stream's last event ID follows at dispatch (D-ID)."""
    parser = EventStreamParser()
    parser.feed(b"id: 5\n")
    assert parser.last_event_id == ""
    parser.feed(b"\n")
    assert parser.last_event_id == "5"


def test_retry_takes_effect_when_its_line_is_read() -> None:
    """A retry field changes the reconnection time before its block ends (F-RETRY)."""
    parser = EventStreamParser()
    parser.feed(b"retry: 12")
    assert parser.reconnection_time is None
    parser.feed(b"34\n")
    assert parser.reconnection_time == 1.234
    assert parser.feed(b"data: a\n\n") == [E(data="a", retry=1234)]


def test_huge_retry_value_does_not_raise() -> None:
    """A 30-digit retry is accepted, in every chunking, as an enormous reconnection time."""
    stream = b"retry: " + b"9" * 30 + b"\ndata: a\n\n"
    for name, chunks in chunkings(stream):
        got = run(chunks)
        assert got.reconnection_time is not None, name
        assert got.reconnection_time > 10**14, name  # seconds: millions of years
        [event] = got.events
        assert event.retry is not None, name
        assert event.retry > 10**17, name


# -- State across the stream -------------------------------------------------------------


@pytest.mark.parametrize(
    ("stream", "events", "last_event_id"),
    [
        pytest.param(b"data: a\n\n", [E(data="a", id="41")], "41", id="carried-by-events"),
        pytest.param(b"", [], "41", id="kept-by-an-empty-stream"),
        pytest.param(b"data: a\n", [], "41", id="kept-by-an-unterminated-event"),
        pytest.param(b"id\ndata: a\n\n", [E(data="a")], "", id="reset-by-empty-id"),
        pytest.param(b"id\n\n", [], "", id="reset-by-an-id-only-block"),
        pytest.param(b"id: 42\ndata: a\n\n", [E(data="a", id="42")], "42", id="replaced"),
        pytest.param(b"id: 4\x002\ndata: a\n\n", [E(data="a", id="41")], "41", id="nul-id-kept"),
    ],
)
def test_initial_last_event_id(
    stream: bytes, events: list[ServerSentEvent], last_event_id: str
) -> None:
    """A seeded last event ID acts as if an earlier block had set it (beyond spec: C-LASTID)."""
    for name, chunks in chunkings(stream):
        got = run(chunks, last_event_id="41")
        assert (got.events, got.last_event_id) == (events, last_event_id), name
    assert reference_parse(stream, "41")[:2] == (events, last_event_id)


def test_close_returns_nothing_and_discards_the_unfinished_event() -> None:
    """close() delivers no event: an event whose blank line never came is lost (D-EOF)."""
    parser = EventStreamParser()
    assert parser.feed(b"id: 3\ndata: a\n") == []
    assert parser.close() == []
    assert parser.last_event_id == ""


def test_close_twice_is_harmless() -> None:
    """Closing a closed parser returns nothing again and does not raise."""
    parser = EventStreamParser()
    parser.feed(b"data: a\n\n")
    assert parser.close() == []
    assert parser.close() == []


def test_feed_after_close_raises() -> None:
    """A closed parser refuses more bytes, even empty ones."""
    parser = EventStreamParser()
    parser.close()
    with pytest.raises(RuntimeError, match="closed"):
        parser.feed(b"data: a\n\n")
    with pytest.raises(RuntimeError, match="closed"):
        parser.feed(b"")


@pytest.mark.parametrize(
    "wrap",
    [
        pytest.param(bytearray, id="bytearray"),
        pytest.param(memoryview, id="memoryview"),
        pytest.param(lambda chunk: memoryview(b"xx" + chunk + b"yy")[2:-2], id="memoryview-slice"),
    ],
)
def test_bytes_like_input(wrap: Callable[[bytes], bytearray | memoryview]) -> None:
    """bytearray and memoryview chunks parse exactly as bytes do."""
    stream = BOM + "id: 1\r\ndata: \u20ac\r\n\r\nretry: 5\rdata: b\r\r".encode()
    for name, chunks in chunkings(stream):
        parser = EventStreamParser()
        events: list[ServerSentEvent] = []
        for chunk in chunks:
            events += parser.feed(wrap(chunk))
        assert events == [E(data="\u20ac", id="1"), E(data="b", id="1", retry=5)], name
        assert parser.reconnection_time == 0.005


def test_parsed_events_are_real_server_sent_events() -> None:
    """Parsed events are frozen ServerSentEvent instances, equal and hashing as built ones."""
    [event] = EventStreamParser().feed(b"event: e\nid: 1\ndata: a\n\n")
    [other] = EventStreamParser().feed(b"retry: 5\ndata: b\ndata: c\n\n")
    for parsed, built in [(event, E("e", "a", "1")), (other, E(data="b\nc", retry=5))]:
        assert type(parsed) is ServerSentEvent
        assert parsed == built
        assert hash(parsed) == hash(built)
        assert repr(parsed) == repr(built)
        assert not hasattr(parsed, "__dict__")
        with pytest.raises(AttributeError):
            parsed.data = "changed"  # type: ignore[misc]


# -- Comments ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stream", "comments"),
    [
        pytest.param(b": hello\n", [" hello"], id="text-after-the-colon"),
        pytest.param(b":\n", [""], id="empty-comment"),
        pytest.param(b"::x\n", [":x"], id="colon-in-comment"),
        pytest.param(b":a\r:b\r\n:c\n\n", ["a", "b", "c"], id="every-line-ending"),
        pytest.param(b"data: a\n:x\ndata: b\n\n:y\n", ["x", "y"], id="inside-and-between-events"),
        pytest.param(": \u20ac\xff\u2028\n".encode(), [" \u20ac\xff\u2028"], id="decoded"),
        pytest.param(b":caf\xe9\n", ["caf\ufffd"], id="invalid-bytes-replaced"),
        pytest.param(BOM + b":c\n", ["c"], id="after-the-bom"),
        pytest.param(b"data: :x\n\n", [], id="not-for-a-value-starting-with-colon"),
        pytest.param(b" :x\n", [], id="not-for-a-space-before-the-colon"),
        pytest.param(b"x:\nDATA:\n", [], id="not-for-unknown-fields"),
        pytest.param(b"data: a\n\n: unfinished", [], id="not-for-an-unfinished-line"),
        pytest.param(b"", [], id="not-for-nothing"),
    ],
)
def test_on_comment(stream: bytes, comments: list[str]) -> None:
    """on_comment gets the text after the colon of each comment line, and nothing else."""
    for name, chunks in chunkings(stream):
        assert run(chunks).comments == comments, name


def test_on_comment_is_called_as_the_line_is_read() -> None:
    """A comment is reported when its line ends, before the event around it is dispatched."""
    seen: list[str] = []
    parser = EventStreamParser(on_comment=seen.append)
    assert parser.feed(b"data: a\n: ping") == []
    assert seen == []
    assert parser.feed(b"\r") == []
    assert seen == [" ping"]
    assert parser.feed(b"\n\n") == [E(data="a")]
    assert seen == [" ping"]


def test_comments_without_a_callback_are_ignored() -> None:
    """Without on_comment, comment lines change nothing."""
    assert EventStreamParser().feed(b": hi\ndata: a\n: there\n\n") == [E(data="a")]


# -- The size limit (beyond spec) ---------------------------------------------------------


def test_default_max_event_size_is_one_mebibyte() -> None:
    """The default limit is 1 MiB of characters: a line that long passes, one more fails."""
    assert DEFAULT_MAX_EVENT_SIZE == 1 << 20
    line = b"data:" + b"x" * (DEFAULT_MAX_EVENT_SIZE - 5)
    assert EventStreamParser().feed(line + b"\n\n") == [E(data="x" * (DEFAULT_MAX_EVENT_SIZE - 5))]
    with pytest.raises(EventTooLarge):
        EventStreamParser().feed(line + b"x\n\n")


@pytest.mark.parametrize(
    ("stream", "events"),
    [
        pytest.param(b"data:" + b"x" * 5 + b"\n\n", [E(data="xxxxx")], id="line-at-the-limit"),
        pytest.param(b"x" * 10, [], id="unfinished-line-at-the-limit"),
        pytest.param(b"data:1234\ndata:12345\n\n", [E(data="1234\n12345")], id="data-at-limit"),
        pytest.param(b"data\n" * 11 + b"\n", [E(data="\n" * 10)], id="data-of-bare-lines"),
        pytest.param(
            ("data:" + "\u20ac" * 5 + "\n\n").encode(), [E(data="\u20ac" * 5)], id="chars"
        ),
        pytest.param(("\u20ac" * 10).encode(), [], id="unfinished-line-counts-chars"),
        pytest.param(b"data:12345\n\n" * 5, [E(data="12345")] * 5, id="many-events-at-the-limit"),
        pytest.param(b"data:" + b"\n" * 40 + b"data:x\n\n", [E(data=""), E(data="x")], id="blanks"),
    ],
)
def test_events_within_max_event_size_pass(stream: bytes, events: list[ServerSentEvent]) -> None:
    """Lines and data of at most max_event_size characters parse normally, in any chunking."""
    for name, chunks in chunkings(stream):
        parser = EventStreamParser(max_event_size=10)
        got: list[ServerSentEvent] = []
        for chunk in chunks:
            got += parser.feed(chunk)
        assert got == events, name


@pytest.mark.parametrize(
    ("stream", "before"),
    [
        pytest.param(b"x" * 11, [], id="endless-line"),
        pytest.param(b"data: a\n\n" + b"y" * 11, [E(data="a")], id="endless-line-after-an-event"),
        pytest.param(b"data:" + b"x" * 6 + b"\n\n", [], id="data-line-too-long"),
        pytest.param(b":" + b"x" * 10 + b"\n", [], id="comment-line-too-long"),
        pytest.param(b"foo:" + b"x" * 7 + b"\n", [], id="unknown-field-line-too-long"),
        pytest.param(b"data:12345\ndata:12345\n\n", [], id="data-over-the-limit"),
        pytest.param(b"data: 1234\n" * 3 + b"\n", [], id="spaced-data-over-the-limit"),
        pytest.param(b"data\n" * 12 + b"\n", [], id="data-of-bare-lines-over-the-limit"),
        pytest.param(b"data:12345\ndata:12345\n", [], id="unterminated-data-over-the-limit"),
        pytest.param(("\u20ac" * 11).encode(), [], id="multibyte-endless-line"),
        pytest.param(b"x" * 6 + b"\xff" * 5, [], id="invalid-bytes-count-as-characters"),
    ],
)
def test_event_over_max_event_size_raises(stream: bytes, before: list[ServerSentEvent]) -> None:
    """A line or an event's data over max_event_size raises EventTooLarge in every chunking."""
    for name, chunks in chunkings(stream):
        parser = EventStreamParser(max_event_size=10)
        got: list[ServerSentEvent] = []
        with pytest.raises(EventTooLarge) as info:  # noqa: PT012 -- the raising feed is unknown
            for chunk in chunks:
                got += parser.feed(chunk)
        assert info.value.limit == 10, name
        assert "10" in str(info.value), name
        assert got == before[: len(got)], name


def test_endless_line_raises_once_past_the_limit() -> None:
    """Byte after byte, an endless line raises exactly when it passes the limit."""
    parser = EventStreamParser(max_event_size=100)
    for _ in range(100):
        assert parser.feed(b"x") == []
    with pytest.raises(EventTooLarge):
        parser.feed(b"x")


def test_endless_line_in_small_chunks_raises_in_the_chunk_that_passes_the_limit() -> None:
    """Fed seven bytes at a time, an endless line raises in the chunk that crosses the limit."""
    parser = EventStreamParser(max_event_size=100)
    fed = 0
    while fed + 7 <= 100:
        assert parser.feed(b"z" * 7) == []
        fed += 7
    with pytest.raises(EventTooLarge):
        parser.feed(b"z" * 7)


@pytest.mark.parametrize(("rest", "raises"), [(b"efghij", False), (b"efghijk", True)])
def test_a_line_begun_beside_lines_that_wait_counts_from_its_start(
    rest: bytes, raises: bool
) -> None:
    """In a trickle, whole lines wait with the line begun after them: that line's first
    bytes count toward the limit as much as the bytes that follow."""
    parser = EventStreamParser(max_event_size=10)
    assert parser.feed(b"id") == []
    assert parser.feed(b": 1\nabcd") == []  # "id: 1" waits with "abcd"
    if raises:
        with pytest.raises(EventTooLarge):
            parser.feed(rest)  # "abcdefghijk": 11 characters
    else:
        assert parser.feed(rest) == []  # "abcdefghij": 10
        assert parser.feed(b"\n\n") == []  # no data, no event; the id is taken
        assert parser.last_event_id == "1"


def test_endless_multibyte_line_counts_characters_not_bytes() -> None:
    """An unfinished line of multi-byte characters is measured in characters as it grows."""
    parser = EventStreamParser(max_event_size=10)
    euro = "\u20ac".encode()
    for _ in range(10):
        for byte in euro:
            assert parser.feed(bytes([byte])) == []
    assert parser.feed(euro[:2]) == []  # half a character is not a character yet
    with pytest.raises(EventTooLarge):
        parser.feed(euro[2:])


def test_endless_line_holds_bounded_memory() -> None:
    """A hostile endless line is refused after about max_event_size bytes, not buffered."""
    limit = 64 * 1024
    parser = EventStreamParser(max_event_size=limit)
    chunk = b"data: " + b"x" * 4090
    fed = 0
    with pytest.raises(EventTooLarge):  # noqa: PT012 -- the raising feed is the point
        while fed < 100 * limit:
            parser.feed(chunk)
            fed += len(chunk)
    assert fed <= limit


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
def test_long_reads_that_end_inside_a_line(newline: bytes) -> None:
    """Reads longer than a few hundred bytes, cut inside a line, with each line ending."""
    body = b"".join(
        b"data: " + bytes([65 + i]) * 300 + newline + b"id: " + str(i).encode() + newline * 2
        for i in range(6)
    )
    expected = [E(data=chr(65 + i) * 300, id=str(i)) for i in range(6)]
    for cut_at in (700, 1000, 1500):
        parser = EventStreamParser()
        got = parser.feed(body[:cut_at]) + parser.feed(body[cut_at:])
        assert got == expected, cut_at


def crlf_blocks(count: int, stray: bytes = b"", at: int = -1, ids: bool = False) -> bytes:
    """``count`` CRLF blocks as an LLM stream writes them (with ``ids``, every other one
    has an id); block ``at`` begins with ``stray`` (lines of its own, or a line that
    ``stray`` runs into)."""
    return b"".join(
        (stray if i == at else b"")
        + (b"id: %d\r\n" % i if ids and i % 2 else b"")
        + b'event: delta\r\ndata: {"n": %d}\r\n\r\n' % i
        for i in range(count)
    )


# Where a CRLF stream read as CRLF text goes wrong, and must be read by the book: a
# lone LF inside the data or the event type (so one line is two), in the first or the
# second block of a pair and after whole events; a lone CR; blocks of other shapes.
CRLF_STRAYS = [
    pytest.param(b"data: a\nb: c\r\n", id="lf-inside-data"),
    pytest.param(b"data: a\ndata: c\r\n", id="lf-inside-data-starts-a-data-line"),
    pytest.param(b"event: a\nid: 9\r\n", id="lf-inside-event"),
    pytest.param(b"event: a\ndata: b\r\n\r\n", id="lf-inside-event-of-a-whole-block"),
    pytest.param(b"data: a\rdata: b\r\n", id="lone-cr-inside-data"),
    pytest.param(b"data: a\r\rdata: b\r\n", id="lone-cr-ends-a-block"),
    pytest.param(b"\n", id="lone-lf-blank-line"),
    pytest.param(b"retry: 7\r\n", id="retry-line"),
    pytest.param(b": keep-alive\r\n\r\n", id="comment-block"),
    pytest.param(b"id: a\0b\r\n", id="nul-in-id"),
    pytest.param(b"id: 3\r\n", id="id-line"),
    pytest.param(b"id:3\r\n", id="id-line-with-no-space"),
    pytest.param(b"data: a\nb\r\n\r\n", id="lf-inside-data-of-a-common-block"),
    pytest.param(b"event: a\nb\r\ndata: c\r\n\r\n", id="lf-inside-event-of-a-common-block"),
]


@pytest.mark.parametrize("stray", CRLF_STRAYS)
@pytest.mark.parametrize("at", [0, 1, 2, 5])
@pytest.mark.parametrize("ids", [False, True], ids=["no-ids", "ids"])
def test_crlf_streams_with_a_stray(stray: bytes, at: int, ids: bool) -> None:
    """A long CRLF stream with one stray (spec: P-EOL) is read as the standard says,
    whole and cut in two anywhere: its events, and the last event ID they carry."""
    stream = crlf_blocks(8, stray, at, ids)
    expected, last_id, retry = reference_parse(stream)
    assert len(expected) >= 7  # the stray spoils one block at most
    for i in range(len(stream)):
        parser = EventStreamParser()
        got = parser.feed(stream[:i]) + parser.feed(stream[i:])
        assert (got, parser.last_event_id) == (expected, last_id), i
        assert parser.reconnection_time == (None if retry is None else retry / 1000)


@pytest.mark.parametrize(
    ("block", "event"),
    [
        pytest.param(b"data: a\nb: c\r\n\r\n", E("message", "a"), id="lf-inside-data"),
        pytest.param(b"event: a\nb\r\ndata: c\r\n\r\n", E("a", "c"), id="lf-inside-event"),
        pytest.param(b"id: 7\r\ndata: a\nid: 8\r\n\r\n", E("message", "a", "8"), id="lf-then-id"),
    ],
)
def test_crlf_block_with_a_lone_lf_inside_a_value(block: bytes, event: ServerSentEvent) -> None:
    """A lone LF ends a line even inside a CRLF stream (spec: P-EOL), in a block whose
    CRLF lines alone would make a common one: in either block of a scanned pair, first
    or after whole events, the block's lines are read where that LF cuts them."""
    for at in range(6):
        got = EventStreamParser().feed(crlf_blocks(6, block, at))
        want = [E("delta", f'{{"n": {i}}}', "8" if i >= at and event.id else "") for i in range(6)]
        want.insert(at, event)
        assert got == want, at


def test_crlf_read_ending_with_cr() -> None:
    """A read of CRLF lines that ends with the CR of its last CRLF: the LF that starts
    the next read is dropped, and a lone CR before it still ends a line."""
    for stray in (b"", b"data: a\rdata: b\r\n"):
        stream = crlf_blocks(4, stray, 2)
        expected = reference_parse(stream)[0]
        parser = EventStreamParser()
        got = parser.feed(stream[:-1])
        assert got == expected  # the CR ended the blank line: all four are here
        assert parser.feed(stream[-1:]) == []


def test_crlf_read_that_continues_an_event_with_no_blank_line() -> None:
    """A long CRLF read that neither ends the event under way nor holds a blank line is
    read by the book: its lines join the event, and the next read dispatches it."""
    parser = EventStreamParser()
    assert parser.feed(b"data: a\r\n") == []
    assert parser.feed(b"id: 3\r\ndata: " + b"b" * 80 + b"\r\n") == []
    assert parser.feed(b"\r\n") == [E("message", "a\n" + "b" * 80, "3")]


def test_crlf_read_crossing_the_limit_after_whole_events() -> None:
    """A CRLF read of whole events whose unfinished last line crosses the limit raises,
    after the lines before that line took effect (its retry and the events' id)."""
    parser = EventStreamParser(max_event_size=100)
    with pytest.raises(EventTooLarge):
        parser.feed(b"retry: 12\r\nid: 4\r\n" + crlf_blocks(2) + b"data: " + b"x" * 120)
    assert (parser.reconnection_time, parser.last_event_id) == (0.012, "4")


def test_whole_lines_before_an_oversized_line_take_effect() -> None:
    """In the read that crosses the limit, the whole lines before the oversized one are
    interpreted first, as a byte-by-byte reading would: their retry and id count."""
    parser = EventStreamParser(max_event_size=10)
    with pytest.raises(EventTooLarge):
        parser.feed(b"retry: 12\nid: 5\n\n" + b"x" * 11)
    assert (parser.reconnection_time, parser.last_event_id) == (0.012, "5")


def test_parser_keeps_raising_after_event_too_large() -> None:
    """After EventTooLarge every later feed raises it again, even after close()."""
    parser = EventStreamParser(max_event_size=10)
    with pytest.raises(EventTooLarge) as first:
        parser.feed(b"data: " + b"x" * 20 + b"\n\n")
    for chunk in [b"data: ok\n\n", b"", b"\n"]:
        with pytest.raises(EventTooLarge) as again:
            parser.feed(chunk)
        assert again.value.limit == first.value.limit == 10
    parser.close()
    with pytest.raises(EventTooLarge):
        parser.feed(b"data: ok\n\n")


def test_event_too_large_is_an_sse_error() -> None:
    """EventTooLarge can be caught as the library's base error."""
    with pytest.raises(SSEError):
        EventStreamParser(max_event_size=1).feed(b"xx")


def test_no_limit_when_max_event_size_is_none() -> None:
    """max_event_size=None accepts a 2 MiB line and a 2 MiB event, whole and in chunks."""
    big = b"x" * (2 << 20)
    stream = b"data: " + big + b"\ndata: " + big + b"\n\n"
    expected = [E(data=f"{big.decode()}\n{big.decode()}")]
    assert EventStreamParser(max_event_size=None).feed(stream) == expected
    parser = EventStreamParser(max_event_size=None)
    events: list[ServerSentEvent] = []
    for start in range(0, len(stream), 65536):
        events += parser.feed(stream[start : start + 65536])
    assert events == expected


@pytest.mark.parametrize("size", [0, -1, -(1 << 20), 1.5, True])
def test_max_event_size_must_be_positive(size: int) -> None:
    """A limit below one character, or not a whole number of them, is a mistake and
    raises ValueError at once (the sources make their parser when made, so they refuse
    it before any request)."""
    with pytest.raises(ValueError, match="max_event_size"):
        EventStreamParser(max_event_size=size)


def test_reset_drops_what_the_last_stream_left_and_keeps_its_state() -> None:
    """spec: C-FRESH, D-EOF -- an unfinished event, a CR waiting for its LF and the BOM
    check go with the old stream; the last event ID and the retry stay; a closed parser
    reads again."""
    parser = EventStreamParser()
    assert parser.feed(b"retry: 250\nid: 1\ndata: a\n\nid: 2\ndata: cut\r") == [
        E(data="a", id="1", retry=250)
    ]
    parser.close()
    with pytest.raises(RuntimeError, match="reset"):
        parser.feed(b"data: x\n\n")
    parser.reset()
    # The LF is no longer the old CR's: with the BOM, the new stream starts here.
    assert parser.feed(BOM + b"\ndata: b\n\n") == [E(data="b", id="1")]
    assert (parser.last_event_id, parser.reconnection_time) == ("1", 0.25)


def test_empty_reads_between_lines_change_nothing() -> None:
    """An empty read is no line and no byte: an LF after it still ends an event when it
    follows a line end, in a trickle or not."""
    parser = EventStreamParser()
    assert parser.feed(b"data: a\n") == []
    assert parser.feed(b"") == []
    assert parser.feed(b"") == []
    assert parser.feed(b"\n") == [E(data="a")]
    assert parser.feed(b"") == []
    assert parser.feed(b"data: b") == []
    assert parser.feed(b"") == []
    assert parser.feed(b"\n") == []
    assert parser.feed(b"") == []
    assert parser.feed(b"\ndata: c\n\n") == [E(data="b"), E(data="c")]


@pytest.mark.parametrize("limit", [None, 40])
def test_a_line_past_the_pending_bytes_bound_is_measured_once(
    monkeypatch: pytest.MonkeyPatch, limit: int | None
) -> None:
    """Reads with no line ending test the pending bytes against a bound of at most the
    limit (one digit of an int, the cheap compare): a line longer than a bound below the
    limit is measured, then the limit is the bound, and it is refused exactly there."""
    from sse_client import _parser

    monkeypatch.setattr(_parser, "_LINE_BOUND", 10)
    parser = EventStreamParser(max_event_size=limit)
    assert parser.feed(b"data: ") == []
    for _ in range(34):
        assert parser.feed(b"x") == []
    if limit is None:
        assert parser.feed(b"x" * 100) == []
        assert parser.feed(b"\n\n") == [E(data="x" * 134)]
    else:
        with pytest.raises(EventTooLarge):
            parser.feed(b"x")  # 41 characters


@pytest.mark.parametrize("first", [b"data: x\r\n" * 40, b"data: x\n" * 40, b""])
def test_a_lone_cr_far_into_a_read_of_crlfs_is_a_line_ending(first: bytes) -> None:
    """spec: P-EOL -- a lone CR deep in a long read (past the first bytes looked at
    before the rest) still ends its line, among CRLFs, lone LFs or nothing else."""
    stream = first + b"data: a\rdata: b\r\n\r\n"
    expected = [E(data="\n".join(["x"] * (40 if first else 0) + ["a", "b"]))]
    assert EventStreamParser().feed(stream) == expected
    assert reference_parse(stream)[0] == expected
