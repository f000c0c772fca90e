"""Hypothesis strategies: event streams, hostile bytes, the ways to cut them, and events."""

from __future__ import annotations

import itertools

from hypothesis import strategies as st

from sse_client import ServerSentEvent

#: Field lines, whole or in part, as servers (and broken servers) write them.
FIELD_PIECES: list[bytes] = [
    b"data",
    b"data:",
    b"data: ",
    b"data: x",
    b"data:x",
    b"data:  two spaces",
    b"data:\ttab",
    b"data: a:b",
    b"event",
    b"event:",
    b"event: add",
    b"event: message",
    b"id",
    b"id:",
    b"id: 1",
    b"id: 2",
    b"id:  spaced",
    b"id: a\x00b",
    b"retry: 15",
    b"retry:0",
    b"retry:  5",
    b"retry: 5 ",
    b"retry: +5",
    b"retry: 1.5",
    b"retry: -1",
    "retry: \uff15".encode(),
    b"retry: " + b"9" * 30,
    b":",
    b": comment",
    b"::",
    b"Data: x",
    b"DATA",
    b"foo: bar",
    b"x",
    b" ",
    b"\t",
    b":",
]

#: Everything that ends a line, and runs of them.
LINE_ENDINGS: list[bytes] = [b"\n", b"\r", b"\r\n", b"\n\n", b"\r\r", b"\r\n\r\n", b"\n\r"]

#: Characters that must stay data, encoded and raw, valid and not.
ODD_PIECES: list[bytes] = [
    b"\xef\xbb\xbf",  # a BOM
    b"\xef\xbb",  # the start of a BOM
    "\u00e9".encode(),  # two bytes
    "\u20ac".encode(),  # three bytes
    "\U0001f600".encode(),  # four bytes
    "\u2028\u2029\u0085".encode(),  # Unicode line and paragraph separators, NEL
    b"\x0b\x0c\x1c\x1d\x1e",  # VT, FF, and the information separators
    b"\x00",
    b"\x85",  # a lone continuation byte
    b"\xff",
    b"\xc0\xaf",  # an overlong encoding
    b"\xed\xa0\x80",  # an encoded surrogate
    b"\xe2\x82",  # a truncated three-byte sequence
    b"\xf0\x9f\x98",  # a truncated four-byte sequence
]

VOCABULARY: list[bytes] = FIELD_PIECES + LINE_ENDINGS + ODD_PIECES

event_streams: st.SearchStrategy[bytes] = st.lists(st.sampled_from(VOCABULARY), max_size=40).map(
    b"".join
)
"""Streams built from the vocabulary: mostly event-stream shaped, often hostile."""

arbitrary_bytes: st.SearchStrategy[bytes] = st.binary(max_size=300)
"""Any bytes at all."""

streams: st.SearchStrategy[bytes] = st.one_of(
    event_streams,
    arbitrary_bytes,
    st.lists(st.sampled_from(VOCABULARY) | st.binary(max_size=8), max_size=30).map(b"".join),
)
"""Event-stream shaped streams, arbitrary bytes, and the two mixed."""


def _is_awkward_cut(stream: bytes, index: int) -> bool:
    """Whether cutting before ``stream[index]`` splits a CRLF or a UTF-8 sequence."""
    before, after = stream[index - 1], stream[index]
    return (
        (before == 0x0D and after == 0x0A)
        or (before >= 0xC0 and after & 0xC0 == 0x80)
        or (before & 0xC0 == 0x80 and after & 0xC0 == 0x80)
    )


@st.composite
def split_points(draw: st.DrawFn, stream: bytes) -> list[int]:
    """Sorted cut positions inside ``stream``, forcing some cuts inside CRLF and UTF-8."""
    cuts = set(draw(st.lists(st.integers(min_value=0, max_value=len(stream)), max_size=12)))
    awkward = [index for index in range(1, len(stream)) if _is_awkward_cut(stream, index)]
    if awkward:
        # Usually take every awkward cut at once, else a drawn subset of them.
        if draw(st.booleans()):
            cuts.update(awkward)
        else:
            cuts.update(draw(st.lists(st.sampled_from(awkward), max_size=8)))
    return sorted(cuts)


def cut(stream: bytes, points: list[int]) -> list[bytes]:
    """The chunks of ``stream`` between the cut ``points`` (empty chunks included)."""
    bounds = [0, *points, len(stream)]
    return [stream[start:end] for start, end in itertools.pairwise(bounds)]


@st.composite
def chunked_streams(
    draw: st.DrawFn, stream_strategy: st.SearchStrategy[bytes] = streams
) -> tuple[bytes, list[bytes]]:
    """A stream and one way of cutting it into chunks."""
    stream = draw(stream_strategy)
    return stream, cut(stream, draw(split_points(stream)))


line_contents: st.SearchStrategy[bytes] = st.lists(
    st.sampled_from(FIELD_PIECES + ODD_PIECES), max_size=3
).map(b"".join)
"""The content of one line: no CR and no LF anywhere in it."""

line_lists: st.SearchStrategy[list[bytes]] = st.lists(line_contents | st.just(b""), max_size=25)
"""The lines of a stream (empty ones are blank lines), before line endings are chosen."""

single_line_text: st.SearchStrategy[str] = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\r\n\x00"),
    max_size=15,
)
"""Text fit for ``event`` or ``id``: no CR, LF or NUL, no lone surrogate."""

any_text: st.SearchStrategy[str] = st.text(
    alphabet=st.characters(exclude_categories=["Cs"]) | st.sampled_from("\r\n\u2028\x85"),
    max_size=30,
)
"""Text fit for ``data`` and comments: anything UTF-8 can carry, line breaks included."""

events: st.SearchStrategy[ServerSentEvent] = st.builds(
    ServerSentEvent,
    event=single_line_text,
    data=any_text,
    id=single_line_text,
    retry=st.none() | st.integers(min_value=0, max_value=10**15),
)
"""Events as a server means them (an empty type means ``message``)."""

comments: st.SearchStrategy[str | None] = st.none() | any_text
"""A comment to write before an event's fields, or none."""


#: Lines of well-formed blocks: the shapes the parser's scanner takes in one step, and
#: their near misses (no space, an empty value, a NUL in the id, a retry, a comment).
BLOCK_LINES: list[bytes] = [
    b"id: 7",
    b"id:8",
    b"id:",
    b"id: a\x00b",
    b"event: delta",
    b"event:",
    b'data: {"n": 1}',
    b"data:x",
    b"data",
    b"data: \xe2\x82\xac",
    b"retry: 25",
    b": keep-alive",
]


@st.composite
def block_streams(draw: st.DrawFn) -> bytes:
    """Long streams of event blocks (one line ending each), as real servers write them."""
    ending = draw(st.sampled_from([b"\n", b"\r\n", b"\r"]))
    blocks = draw(
        st.lists(st.lists(st.sampled_from(BLOCK_LINES), min_size=1, max_size=4), max_size=30)
    )
    parts = []
    for lines in blocks:
        parts.append(b"".join(line + ending for line in lines))
        parts.append(ending * draw(st.integers(min_value=0, max_value=2)))
    return b"".join(parts)


#: Lines of large events: mostly "data: " lines, and what may interrupt a run of them.
RUN_LINES: list[bytes] = [
    b"data: x",
    b"data: " + b"y" * 20,
    b"data: ",
    b"data: data: z",
    b"data:  two",
    b"data:w",
    b"data",
    b"Data: v",
    b"event: e",
    b"id: 5",
    b"retry: 30",
    b": c",
]


@st.composite
def data_run_streams(draw: st.DrawFn) -> bytes:
    """Events of many data lines, each line most likely a "data: " line."""
    ending = draw(st.sampled_from([b"\n", b"\r\n", b"\r"]))
    line = st.sampled_from(RUN_LINES[:2]) | st.sampled_from(RUN_LINES)
    blocks = draw(st.lists(st.lists(line, min_size=1, max_size=40), max_size=6))
    return b"".join(b"".join(line + ending for line in lines) + ending for lines in blocks)


#: Where a CRLF stream from a careless server goes wrong: a lone CR or LF that ends a
#: line, or that sits inside a value (so one line is two).
STRAYS: list[bytes] = [
    b"\r",
    b"\n",
    b"data: a\nb\r\n",
    b"data: a\rb\r\n",
    b"event: e\nid: 9\r\n",
    b"event: e\ndata: x\r\n",
    b"id: 4\ndata: y\r\n",
    b"data: z\n\r\n",
]


@st.composite
def crlf_block_streams(draw: st.DrawFn) -> bytes:
    """Long CRLF streams of event blocks, with at most two strays put among their
    lines: the cases a CRLF scanner must hand back to be read by the book."""
    blocks = draw(
        st.lists(st.lists(st.sampled_from(BLOCK_LINES), min_size=1, max_size=4), max_size=30)
    )
    lines = [line + b"\r\n" for block in blocks for line in [*block, b""]]
    for _ in range(draw(st.integers(min_value=0, max_value=2))):
        index = draw(st.integers(min_value=0, max_value=len(lines)))
        lines.insert(index, draw(st.sampled_from(STRAYS)))
    return b"".join(lines)


@st.composite
def trickled(draw: st.DrawFn, stream: bytes) -> list[bytes]:
    """``stream`` cut into pieces of 1 to 7 bytes, as a slow network delivers it."""
    chunks = []
    index = 0
    while index < len(stream):
        size = draw(st.integers(min_value=1, max_value=7))
        chunks.append(stream[index : index + size])
        index += size
    return chunks
