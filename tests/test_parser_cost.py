"""What the parser's work grows with: reads and events, never lines that change nothing.

A gzip'd body expands a thousandfold: 1 MiB on the wire can be 1 GiB of blank lines,
keep-alive comments or ``id:`` lines. Such content dispatches no event, so reading it
must cost C-level work, not a Python step per line. The cost is counted here in Python
lines run inside the parser (a trace hook), which no load on the machine can change.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any
from unittest.mock import patch

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sse_client import EventStreamParser, EventTooLarge, ServerSentEvent, _parser

from .cases import until_too_large
from .reference import reference_parse
from .strategies import (
    block_streams,
    chunked_streams,
    cut,
    data_run_streams,
    split_points,
    streams,
)

READ = 64 * 1024
#: Python lines the parser may run per 64 KiB read of content that dispatches nothing.
BUDGET_PER_READ = 1000


class OverBudget(Exception):
    """The parser ran more Python lines than the budget allows."""


@contextmanager
def python_line_budget(budget: int) -> Iterator[list[int]]:
    """Count the Python lines run in the parser module; raise OverBudget past ``budget``."""
    count = [0]

    def local(frame: FrameType, event: str, arg: Any) -> Any:
        if event == "line":
            count[0] += 1
            if count[0] > budget:
                raise OverBudget(f"more than {budget} Python lines")
        return local

    def tracer(frame: FrameType, event: str, arg: Any) -> Any:
        return local if frame.f_code.co_filename == _parser.__file__ else None

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        yield count
    finally:
        sys.settrace(previous)


def reads_of(unit: bytes, total: int) -> list[bytes]:
    """``total`` bytes of ``unit`` repeated, in 64 KiB reads (cut anywhere in a unit)."""
    body = (unit * (total // len(unit) + 1))[:total]
    return [body[start : start + READ] for start in range(0, total, READ)]


FLOODS = [
    pytest.param(b"\n", id="blank-lines"),
    pytest.param(b"\r\n", id="crlf-blank-lines"),
    pytest.param(b"\r", id="cr-blank-lines"),
    pytest.param(b":\n", id="empty-comments"),
    pytest.param(b": ping\n", id="comments"),
    pytest.param(b": ping\n\n", id="keep-alive-blocks"),
    pytest.param(b"id: 1\n", id="id-lines"),
    pytest.param(b"id: 1\n\n", id="id-blocks"),
    pytest.param(b"id: 1\r\n\r\n", id="crlf-id-blocks"),
    pytest.param(b"retry: 5\nretry: x\n", id="retry-lines"),
    pytest.param(b"event: e\nfoo: bar\nid\n\n", id="blocks-of-other-fields"),
    pytest.param(b"data:\n", id="data-lines-within-the-limit"),
    pytest.param(b"data: x\n:\n", id="data-and-comment-lines"),
]


@pytest.mark.parametrize("unit", FLOODS)
def test_content_that_dispatches_nothing_costs_no_python_step_per_line(unit: bytes) -> None:
    """4 MiB of lines that dispatch no event, in 64 KiB reads: a bounded number of
    Python lines per read, whatever the number of lines in it (a 64 KiB read holds
    up to 65,536 of them), and the reference's final state."""
    reads = reads_of(unit, 4 << 20)
    parser = EventStreamParser()
    with python_line_budget(BUDGET_PER_READ * len(reads)):
        got = [event for read in reads for event in parser.feed(read)]
    assert got == []
    # The state after 4 MiB is the state after the first two reads, by the reference.
    _, last_id, retry_ms = reference_parse(b"".join(reads[:2]))
    assert parser.last_event_id == last_id
    assert parser.reconnection_time == (None if retry_ms is None else retry_ms / 1000)


@pytest.mark.parametrize("unit", FLOODS)
def test_a_flood_ends_in_the_event_after_it(unit: bytes) -> None:
    """After a flood of 256 KiB, a blank line and an event come out as the reference says."""
    stream = b"".join(reads_of(unit, 256 * 1024)) + b"\n\nid: 9\ndata: after\n\n"
    parser = EventStreamParser()
    reads = cut(stream, list(range(0, len(stream), 1000)))
    got = [event for read in reads for event in parser.feed(read)]
    expected, last_id, _ = reference_parse(stream)
    assert got == expected
    assert got[-1] == ServerSentEvent(data="after", id="9")
    assert parser.last_event_id == last_id


def test_events_cost_python_steps_per_event_not_per_line() -> None:
    """Blank lines between events add no Python step: 1,000 events with a thousand blank
    lines after each cost what 1,000 events cost, give or take a few lines each."""
    stream = b"data: x\n" + b"\n" * 1000
    reads = reads_of(stream, len(stream) * 1000)
    parser = EventStreamParser()
    with python_line_budget(BUDGET_PER_READ * len(reads) + 20 * 1000):
        got = [event for read in reads for event in parser.feed(read)]
    assert len(got) == 1000


PROPERTY = settings(max_examples=200, deadline=None)


@PROPERTY
@given(chunked_streams(streams | block_streams()))
def test_many_lines_read_at_once_equal_the_reference(case: tuple[bytes, list[bytes]]) -> None:
    """With the line-by-line reading cut short after one or two lines, every piece goes
    to the C-level searches: they too equal the reference, in any chunking."""
    stream, chunks = case
    expected, last_id, retry_ms = reference_parse(stream)
    for steps in (1, 2):
        with patch.object(_parser, "_LINE_STEPS", steps):
            parser = EventStreamParser(max_event_size=None)
            got = [event for chunk in chunks for event in parser.feed(chunk)]
        assert (got, parser.last_event_id) == (expected, last_id), steps
        assert parser.reconnection_time == (None if retry_ms is None else retry_ms / 1000)


@PROPERTY
@given(chunked_streams(streams | block_streams()), split_points(b"x" * 40))
def test_many_lines_read_at_once_cross_the_limit_where_line_by_line_does(
    case: tuple[bytes, list[bytes]], limits: list[int]
) -> None:
    """Read by the C-level searches, a stream crosses ``max_event_size`` exactly where
    the line-by-line reading does: same events before, same state after."""
    _, chunks = case
    for limit in {max(1, limit) for limit in limits[:3]} or {5}:
        outcomes = []
        for steps in (1, _parser._LINE_STEPS):
            with patch.object(_parser, "_LINE_STEPS", steps):
                outcomes.append(until_too_large(chunks, limit, use_events=False))
        assert outcomes[0] == outcomes[1], limit


@pytest.mark.parametrize("retry_at", [0, 40, 90])
def test_a_flood_of_data_lines_crosses_the_limit_where_line_by_line_does(retry_at: int) -> None:
    """A read of a hundred data lines, more than the limit holds: read in C past the
    first lines, it is refused at the same line as line by line, with a retry: before
    that line taken and one after it not (spec: F-RETRY; beyond spec: the limit)."""
    lines = [b"data: xxxx\n"] * 100
    lines.insert(retry_at, b"retry: 7\n")
    outcomes = []
    for steps in (1, 1000):
        with patch.object(_parser, "_LINE_STEPS", steps):
            parser = EventStreamParser(max_event_size=200)
            with pytest.raises(EventTooLarge):
                parser.feed(b"".join(lines))
        outcomes.append(parser.reconnection_time)
    # 40 data values of four characters (and an LF each) fit in 200; the 41st does not.
    assert outcomes == [0.007, 0.007] if retry_at <= 40 else [None, None]


def test_a_large_event_of_short_data_lines_costs_python_steps_per_read() -> None:
    """A 256 KiB event of 64-byte data lines, in 16 KiB reads: a few dozen Python lines
    per read, not some per line (its runs of data lines are split at once)."""
    stream = (b"data: " + b"x" * 57 + b"\n") * 4096 + b"\n"
    reads = [stream[start : start + 16384] for start in range(0, len(stream), 16384)]
    parser = EventStreamParser()
    with python_line_budget(100 * len(reads)):
        got = [event for read in reads for event in parser.feed(read)]
    assert got == [ServerSentEvent(data="\n".join(["x" * 57] * 4096))]


@PROPERTY
@given(chunked_streams(data_run_streams() | block_streams() | streams))
def test_runs_of_data_lines_taken_either_way_equal_the_reference(
    case: tuple[bytes, list[bytes]],
) -> None:
    """Data lines taken one by one (every line long) or split at once (every line
    short) give the reference's result, in any chunking."""
    stream, chunks = case
    expected, last_id, retry_ms = reference_parse(stream)
    for long_line in (0, sys.maxsize):
        with patch.object(_parser, "_LONG_LINE", long_line):
            parser = EventStreamParser(max_event_size=None)
            got = [event for chunk in chunks for event in parser.feed(chunk)]
        assert (got, parser.last_event_id) == (expected, last_id), long_line
        assert parser.reconnection_time == (None if retry_ms is None else retry_ms / 1000)


@PROPERTY
@given(chunked_streams(data_run_streams()), st.integers(min_value=1, max_value=200))
def test_runs_of_data_lines_cross_the_limit_where_line_by_line_does(
    case: tuple[bytes, list[bytes]], limit: int
) -> None:
    """Taken a run at a time, data lines cross ``max_event_size`` exactly where the
    line-by-line reading does: same events before, same state after."""
    _, chunks = case
    outcomes = []
    for long_line, steps in ((0, sys.maxsize), (sys.maxsize, _parser._LINE_STEPS), (0, 1)):
        with (
            patch.object(_parser, "_LONG_LINE", long_line),
            patch.object(_parser, "_LINE_STEPS", steps),
        ):
            outcomes.append(until_too_large(chunks, limit, use_events=False))
    assert outcomes[0] == outcomes[1] == outcomes[2], limit


def test_a_trickle_reads_the_lines_of_an_event_in_one_pass() -> None:
    """Lines finished by small reads wait for the blank line, as none of them changes
    what a caller sees before it: the event is read in one pass, not a pass per line
    (which costs about twice the Python lines)."""
    lines = [b"event: e", b"id: 1"] + [b"data: abcdefghijklmnopq"] * 8
    event = [piece for line in lines for piece in (line[:4], line[4:] + b"\n")] + [b"\n"]
    parser = EventStreamParser()
    with python_line_budget(45 * len(lines) * 100):
        got = [got for _ in range(100) for read in event for got in parser.feed(read)]
    expected = ServerSentEvent(event="e", data="\n".join(["abcdefghijklmnopq"] * 8), id="1")
    assert got == [expected] * 100


def test_a_trickle_of_short_lines_is_never_measured_in_characters() -> None:
    """Byte by byte, lines shorter than the limit never reach the character count of a
    long unfinished line: the byte count starts again at every line end (or, with whole
    lines waiting before the line, is made exact once it passes the limit)."""
    stream = b"event: e\ndata: 1234\n\n" * 200
    parser = EventStreamParser(max_event_size=10)
    with patch.object(_parser, "getincrementaldecoder", side_effect=AssertionError):
        got = [
            event for byte in range(len(stream)) for event in parser.feed(stream[byte : byte + 1])
        ]
    assert got == [ServerSentEvent(event="e", data="1234")] * 200
