"""Properties of the parser that must hold for every stream and every chunking."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from sse_client import EventStreamParser, EventTooLarge, ServerSentEvent
from sse_client.testing import format_event

from .reference import reference_parse
from .stream_strategies import any_bytes, chunked, events, streams

settings.register_profile("sse", max_examples=300, deadline=None)
settings.load_profile("sse")


def parse(
    chunks: list[bytes], **options: object
) -> tuple[list[ServerSentEvent], EventStreamParser]:
    parser = EventStreamParser(**options)  # type: ignore[arg-type]
    result: list[ServerSentEvent] = []
    for chunk in chunks:
        result += parser.feed(chunk)
    result += parser.close()
    return result, parser


def state(parser: EventStreamParser) -> tuple[str, float | None]:
    return parser.last_event_id, parser.reconnection_time


@given(chunked())
@example((b"data: a\r\n\r\n", [b"data: a\r", b"\n\r", b"\n"]))
@example(("data: \u20ac\n\n".encode(), [b"data: \xe2", b"\x82", b"\xac\n\n"]))
@example((b"data: a\rdata: b\n\n", [b"data: a\rdata: b", b"\n\n"]))
def test_any_chunking_gives_the_same_events(case: tuple[bytes, list[bytes]]) -> None:
    """(a) Feeding a stream in any chunks equals feeding it whole, state included."""
    stream, chunks = case
    whole, whole_parser = parse([stream])
    pieces, pieces_parser = parse(chunks)
    assert pieces == whole
    assert state(pieces_parser) == state(whole_parser)


@given(chunked())
def test_parser_agrees_with_the_reference(case: tuple[bytes, list[bytes]]) -> None:
    """(e) For any stream and chunking the parser equals a literal transcription of the standard."""
    stream, chunks = case
    expected, last_event_id, retry = reference_parse(stream)
    got, parser = parse(chunks)
    assert got == expected
    assert parser.last_event_id == last_event_id
    assert parser.reconnection_time == (None if retry is None else retry / 1000)


@given(
    st.lists(
        st.sampled_from([b"data: x", b"id: 3", b"event: e", b": c", b"", b"retry: 7"]), max_size=30
    )
)
def test_line_endings_are_equivalent(lines: list[bytes]) -> None:
    """(b) The LF, CR and CRLF forms of a stream give the same events."""
    forms = [b"".join(line + ending for line in lines) for ending in (b"\n", b"\r", b"\r\n")]
    results = [parse([form]) for form in forms]
    assert results[0][0] == results[1][0] == results[2][0]
    assert state(results[0][1]) == state(results[1][1]) == state(results[2][1])


@given(st.lists(events, max_size=10), st.integers(min_value=1, max_value=7))
def test_format_then_parse_round_trips(sent: list[ServerSentEvent], size: int) -> None:
    """(c) Events encoded with format_event parse back equal, in any chunk size."""
    stream = b"".join(
        format_event(event.data, event=event.event, id=event.id, retry=event.retry)
        for event in sent
    )
    chunks = [stream[index : index + size] for index in range(0, len(stream), size)]
    got, _ = parse(chunks)
    expected = [
        ServerSentEvent(
            event=event.event,
            data=event.data.replace("\r\n", "\n").replace("\r", "\n"),
            id=event.id,
            retry=event.retry,
        )
        for event in sent
    ]
    assert got == expected


@given(chunked(any_bytes))
def test_arbitrary_bytes_never_raise(case: tuple[bytes, list[bytes]]) -> None:
    """(d) Without a limit, no input raises; the reference agrees on the events."""
    stream, chunks = case
    got, _ = parse(chunks, max_event_size=None)
    assert got == reference_parse(stream)[0]


@given(chunked(any_bytes | streams), st.integers(min_value=1, max_value=20))
def test_with_a_limit_only_event_too_large_is_raised(
    case: tuple[bytes, list[bytes]], limit: int
) -> None:
    """(d, f) With a small limit, only EventTooLarge is raised, whatever the chunking.

    Whether it is raised does not depend on the chunking, and the events delivered
    before it are a prefix of the events of the unlimited stream.
    """
    stream, chunks = case
    unlimited = reference_parse(stream)[0]

    def run(pieces: list[bytes]) -> tuple[list[ServerSentEvent], bool]:
        parser = EventStreamParser(max_event_size=limit)
        delivered: list[ServerSentEvent] = []
        try:
            for piece in pieces:
                delivered += parser.feed(piece)
        except EventTooLarge:
            return delivered, True
        return delivered, False

    whole_events, whole_raised = run([stream])
    chunk_events, chunk_raised = run(chunks)
    assert whole_raised == chunk_raised
    assert chunk_events == unlimited[: len(chunk_events)]
    if not chunk_raised:
        assert chunk_events == whole_events == unlimited


@pytest.mark.parametrize("limit", [1, 5, 64])
def test_limit_bounds_buffered_text(limit: int) -> None:
    """Whatever is fed, the parser never holds more than about three limits of text."""
    parser = EventStreamParser(max_event_size=limit)
    with pytest.raises(EventTooLarge):  # noqa: PT012 -- the loop is the stream
        for _ in range(10_000):
            parser.feed(b"x")
    assert not parser._line
