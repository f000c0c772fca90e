"""Properties of the parser that hold for every stream and every way of cutting it."""

from __future__ import annotations

import codecs
import re

from hypothesis import example, given, settings
from hypothesis import strategies as st

from sse_client import EventStreamParser, EventTooLarge, ServerSentEvent
from sse_client.testing import format_event

from .reference import reference_parse
from .strategies import (
    arbitrary_bytes,
    chunked_streams,
    comments,
    cut,
    events,
    line_lists,
    split_points,
    streams,
)

PROPERTY = settings(max_examples=200, deadline=None)

State = tuple[list[ServerSentEvent], str, float | None]


def parse(
    chunks: list[bytes], *, last_event_id: str = "", max_event_size: int | None = None
) -> State:
    """Feed ``chunks`` to a fresh parser and close it; return its events and final state."""
    parser = EventStreamParser(last_event_id=last_event_id, max_event_size=max_event_size)
    got: list[ServerSentEvent] = []
    for chunk in chunks:
        got += parser.feed(chunk)
    got += parser.close()
    return got, parser.last_event_id, parser.reconnection_time


def reference(stream: bytes, last_event_id: str = "") -> State:
    """The reference result, with the reconnection time in seconds as the parser has it."""
    got, last_id, retry_ms = reference_parse(stream, last_event_id)
    return got, last_id, None if retry_ms is None else retry_ms / 1000


def parse_until_too_large(
    chunks: list[bytes], limit: int
) -> tuple[list[ServerSentEvent], EventTooLarge | None]:
    """The events delivered before EventTooLarge, and the error (None if none was raised)."""
    parser = EventStreamParser(max_event_size=limit)
    got: list[ServerSentEvent] = []
    try:
        for chunk in chunks:
            got += parser.feed(chunk)
    except EventTooLarge as exc:
        return got, exc
    got += parser.close()
    return got, None


# (a) chunking invariance


@PROPERTY
@given(chunked_streams())
@example((b"data: a\r\n\r\n", [b"data: a\r", b"\n\r", b"\n"]))
@example(("data: \u20ac\n\n".encode(), [b"data: \xe2", b"\x82", b"\xac\n\n"]))
@example((b"\xef\xbb\xbfdata: a\n\n", [b"\xef", b"\xbb", b"\xbfdata: a\n\n"]))
@example((b"data: a\rdata: b\r\r", [b"data: a", b"\r", b"data: b\r", b"\r"]))
def test_any_chunking_gives_the_same_result_as_whole(case: tuple[bytes, list[bytes]]) -> None:
    """(a) Feeding a stream in any chunks equals feeding it whole, final state included."""
    stream, chunks = case
    assert b"".join(chunks) == stream
    assert parse(chunks) == parse([stream])


@PROPERTY
@given(st.data())
def test_byte_by_byte_gives_the_same_result_as_whole(data: st.DataObject) -> None:
    """(a) The finest chunking of all, one byte per feed, equals feeding the stream whole."""
    stream = data.draw(streams)
    assert parse([stream[i : i + 1] for i in range(len(stream))]) == parse([stream])


@PROPERTY
@given(chunked_streams())
def test_each_feed_returns_every_event_its_bytes_complete(case: tuple[bytes, list[bytes]]) -> None:
    """(a) After each feed the parser has delivered exactly what the bytes so far complete.

    The reference parses the prefix as a whole stream, where a final CR ends its line: so
    an event completed by a CR at the end of a read must be delivered by that read.
    """
    stream, chunks = case
    parser = EventStreamParser(max_event_size=None)
    got: list[ServerSentEvent] = []
    fed = 0
    for chunk in chunks:
        got += parser.feed(chunk)
        fed += len(chunk)
        state = (got, parser.last_event_id, parser.reconnection_time)
        assert state == reference(stream[:fed])


def reference_comments(stream: bytes) -> list[str]:
    """The text after the colon of every complete comment line of ``stream``."""
    text = stream.decode("utf-8", "replace").removeprefix("\ufeff")
    *lines, _unfinished = re.split("\r\n|\r|\n", text)
    return [line[1:] for line in lines if line.startswith(":")]


@PROPERTY
@given(chunked_streams())
@example((b": a\r\n:b\r", [b": a\r", b"\n:b", b"\r"]))
def test_comments_do_not_depend_on_chunking(case: tuple[bytes, list[bytes]]) -> None:
    """(a) on_comment sees every complete comment line once, in order, in any chunking."""
    stream, chunks = case
    seen: list[str] = []
    parser = EventStreamParser(max_event_size=None, on_comment=seen.append)
    for chunk in chunks:
        parser.feed(chunk)
    parser.close()
    assert seen == reference_comments(stream)


# (b) line-ending equivalence

ENDINGS = [b"\n", b"\r", b"\r\n"]


@PROPERTY
@given(line_lists, st.data())
def test_lf_cr_and_crlf_forms_give_the_same_result(lines: list[bytes], data: st.DataObject) -> None:
    """(b) The LF, CR and CRLF forms of a stream give the same events and state."""
    forms = [b"".join(line + ending for line in lines) for ending in ENDINGS]
    results = [parse(cut(form, data.draw(split_points(form)))) for form in forms]
    assert results[0] == results[1] == results[2]


@PROPERTY
@given(line_lists, st.data())
def test_mixed_line_endings_give_the_same_result(lines: list[bytes], data: st.DataObject) -> None:
    """(b) Ending each line with any of LF, CR or CRLF, chosen per line, changes nothing."""
    endings: list[bytes] = []
    for line in lines:
        # A CR ending, then an empty line ending in LF, would be one CRLF: not that.
        after_cr = not line and endings and endings[-1] == b"\r"
        endings.append(data.draw(st.sampled_from([b"\r", b"\r\n"] if after_cr else ENDINGS)))
    mixed = b"".join(line + ending for line, ending in zip(lines, endings, strict=True))
    lf = b"".join(line + b"\n" for line in lines)
    assert parse(cut(mixed, data.draw(split_points(mixed)))) == parse([lf])


# (c) round trip through format_event


def normalised(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


@PROPERTY
@given(st.lists(st.tuples(events, comments), max_size=8), st.data())
def test_format_event_round_trips(
    sent: list[tuple[ServerSentEvent, str | None]], data: st.DataObject
) -> None:
    """(c) Events written with format_event parse back equal, data line endings made LF."""
    stream = b"".join(
        format_event(e.data, event=e.event, id=e.id, retry=e.retry, comment=comment)
        for e, comment in sent
    )
    got, last_event_id, reconnection_time = parse(cut(stream, data.draw(split_points(stream))))
    assert got == [
        ServerSentEvent(e.event or "message", normalised(e.data), e.id, e.retry) for e, _ in sent
    ]
    assert last_event_id == (sent[-1][0].id if sent else "")
    retries = [e.retry for e, _ in sent if e.retry is not None]
    assert reconnection_time == (retries[-1] / 1000 if retries else None)


@PROPERTY
@given(st.lists(st.tuples(events, comments), max_size=8))
def test_format_event_round_trips_comments(sent: list[tuple[ServerSentEvent, str | None]]) -> None:
    """(c) Comments written with format_event reach on_comment line by line, in order."""
    stream = b"".join(format_event(e.data, comment=comment) for e, comment in sent)
    seen: list[str] = []
    EventStreamParser(on_comment=seen.append).feed(stream)
    assert seen == [
        line
        for _, comment in sent
        if comment is not None
        for line in normalised(comment).split("\n")
    ]


# (d) robustness


@PROPERTY
@given(chunked_streams(arbitrary_bytes | streams))
def test_arbitrary_bytes_never_raise_without_a_limit(case: tuple[bytes, list[bytes]]) -> None:
    """(d) Without a size limit, no input and no chunking makes the parser raise."""
    _, chunks = case
    parse(chunks, max_event_size=None)


@PROPERTY
@given(chunked_streams(arbitrary_bytes | streams), st.integers(min_value=1, max_value=12))
def test_arbitrary_bytes_raise_nothing_but_event_too_large(
    case: tuple[bytes, list[bytes]], limit: int
) -> None:
    """(d) With a small size limit, EventTooLarge is the only exception there can be."""
    _, chunks = case
    _, error = parse_until_too_large(chunks, limit)
    assert error is None or error.limit == limit


@PROPERTY
@given(chunked_streams(arbitrary_bytes | streams))
def test_default_limit_never_trips_on_small_streams(case: tuple[bytes, list[bytes]]) -> None:
    """(d) With the default limit, streams far smaller than it parse as without a limit."""
    _, chunks = case
    parser = EventStreamParser()
    got: list[ServerSentEvent] = []
    for chunk in chunks:
        got += parser.feed(chunk)
    assert got == parse(chunks)[0]


# (e) differential against the reference transcription


@PROPERTY
@given(chunked_streams())
@example((b"data: a\r\n\r\n", [b"data: a\r", b"\n\r\n"]))
@example((b"\xef\xbb\xbf\xef\xbb\xbfdata: x\n\n", [b"\xef\xbb\xbf\xef", b"\xbb\xbfdata: x\n\n"]))
@example((b"id: 1\n\nid\x00\ndata\n\n", [b"id: 1\n\nid\x00\ndata\n\n"]))
def test_parser_equals_the_reference(case: tuple[bytes, list[bytes]]) -> None:
    """(e) For any stream and chunking the parser equals a literal transcription of the standard."""
    stream, chunks = case
    assert parse(chunks) == reference(stream)


@PROPERTY
@given(chunked_streams(), st.sampled_from(["", "7", "seed", "\u20ac"]))
def test_parser_equals_the_reference_with_a_seeded_id(
    case: tuple[bytes, list[bytes]], seed: str
) -> None:
    """(e) A seeded last event ID is carried exactly as the reference carries it."""
    stream, chunks = case
    assert parse(chunks, last_event_id=seed) == reference(stream, seed)


@PROPERTY
@given(chunked_streams())
def test_a_limit_larger_than_the_stream_changes_nothing(case: tuple[bytes, list[bytes]]) -> None:
    """(e) No line or event can outgrow a limit of the stream's length: results are unchanged."""
    stream, chunks = case
    assert parse(chunks, max_event_size=max(1, len(stream))) == reference(stream)


# (f) the size limit does not depend on the chunking

EUROS = "\u20ac\u20ac\u20ac\u20ac\n".encode()


@PROPERTY
@given(chunked_streams(), st.integers(min_value=1, max_value=12))
@example((b"x" * 11, [b"x" * 5, b"x" * 6]), 10)
@example((EUROS, [EUROS[:5], EUROS[5:]]), 4)
def test_event_too_large_does_not_depend_on_chunking(
    case: tuple[bytes, list[bytes]], limit: int
) -> None:
    """(f) Whether EventTooLarge is raised is the same for any chunking, and the events
    delivered before it are a prefix of the reference's events."""
    stream, chunks = case
    whole_events, whole_error = parse_until_too_large([stream], limit)
    chunked_events, chunked_error = parse_until_too_large(chunks, limit)
    assert (chunked_error is None) == (whole_error is None)
    expected = reference(stream)[0]
    assert chunked_events == expected[: len(chunked_events)]
    assert whole_events == expected[: len(whole_events)]
    if whole_error is None:
        assert chunked_events == whole_events == expected


def must_raise(stream: bytes, limit: int) -> bool:
    """Whether some line, or some event's data, of ``stream`` is longer than ``limit``.

    Lengths are in characters. A final line with no line ending counts the characters
    decoded so far: the bytes of a character still incomplete at the end are not one yet.
    """
    if stream.startswith(b"\xef\xbb\xbf"):
        stream = stream[3:]
    *complete, unfinished = re.split(rb"\r\n|\r|\n", stream)
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    if len(decoder.decode(unfinished, final=False)) > limit:
        return True
    data_size = 0  # characters in the data buffer, its LFs included
    for raw in complete:
        line = raw.decode("utf-8", "replace")
        if len(line) > limit:
            return True
        if not line:
            data_size = 0
            continue
        name, _, value = line.partition(":")
        if name == "data":
            data_size += len(value.removeprefix(" ")) + 1
            if data_size - 1 > limit:
                return True
    return False


@PROPERTY
@given(chunked_streams(), st.integers(min_value=1, max_value=12))
@example((b"data: x\n\n", [b"data: x\n", b"\n"]), 5)
@example((b"data: x\n\n", [b"data: x\n\n"]), 5)
@example((b"abc\xe2\x82", [b"abc\xe2\x82"]), 3)
def test_event_too_large_exactly_when_a_line_or_the_data_passes_the_limit(
    case: tuple[bytes, list[bytes]], limit: int
) -> None:
    """(f) EventTooLarge is raised if and only if a line or an event's data is too long."""
    stream, chunks = case
    _, error = parse_until_too_large(chunks, limit)
    assert (error is not None) == must_raise(stream, limit)


@PROPERTY
@given(chunked_streams(arbitrary_bytes | streams), chunked_streams(), st.booleans())
def test_reset_starts_a_fresh_stream_that_keeps_the_id_and_retry(
    first: tuple[bytes, list[bytes]], second: tuple[bytes, list[bytes]], closed: bool
) -> None:
    """spec: C-FRESH -- after any first stream, cut anywhere (closed or not), reset()
    reads the next one as a fresh parser seeded with the last event ID would, the
    reconnection time carrying over until the new stream sets its own."""
    parser = EventStreamParser(max_event_size=None)
    for chunk in first[1]:
        parser.feed(chunk)
    if closed:
        parser.close()
    last_event_id, retry = parser.last_event_id, parser.reconnection_time
    parser.reset()
    got: list[ServerSentEvent] = []
    for chunk in second[1]:
        got += parser.feed(chunk)
    expected, expected_id, expected_retry = reference(second[0], last_event_id)
    assert got == expected
    assert parser.last_event_id == expected_id
    assert parser.reconnection_time == (retry if expected_retry is None else expected_retry)
