"""Hypothesis strategies for event streams and for ways to cut them into chunks."""

from __future__ import annotations

import itertools

from hypothesis import strategies as st

from sse_client import ServerSentEvent

#: Pieces that event streams are made of, hostile ones included.
PIECES = [
    b"data",
    b"data:",
    b"data: ",
    b"data:  x",
    b"event:",
    b"event: add",
    b"id:",
    b"id: 1",
    b"id: 2",
    b"id: a\x00b",
    b"retry: 15",
    b"retry: x",
    b"retry: +1",
    b": comment",
    b":",
    b"Data: x",
    b"x",
    b" ",
    b"\t",
    b"\n",
    b"\r",
    b"\r\n",
    b"\n\n",
    b"\xef\xbb\xbf",
    "\u20ac".encode(),
    "\U0001f600".encode(),
    "\u2028\u0085".encode(),
    b"\x0b\x0c\x1c",
    b"\xff",
    b"\xe2\x82",
    b"\xc0",
    b"\x00",
]

streams = st.lists(st.sampled_from(PIECES), max_size=40).map(b"".join)
"""Streams built from the pieces above: mostly well-formed, often hostile."""

any_bytes = st.binary(max_size=300)
"""Arbitrary bytes."""


@st.composite
def chunked(
    draw: st.DrawFn, stream_strategy: st.SearchStrategy[bytes] = streams
) -> tuple[bytes, list[bytes]]:
    """A stream and one way to cut it, with cuts often inside CRLF or UTF-8 sequences."""
    stream = draw(stream_strategy)
    interesting = [
        index
        for index in range(1, len(stream))
        if stream[index - 1 : index] == b"\r" or stream[index] & 0xC0 == 0x80
    ]
    cuts = draw(st.sets(st.integers(min_value=0, max_value=len(stream))))
    if interesting:
        cuts |= draw(st.sets(st.sampled_from(interesting)))
    points = [0, *sorted(cuts), len(stream)]
    return stream, [stream[start:end] for start, end in itertools.pairwise(points)]


text_values = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\r\n\x00"),
    max_size=20,
)
"""Single-line text (no CR, LF or NUL; no lone surrogates, which UTF-8 cannot carry)."""


events = st.builds(
    ServerSentEvent,
    event=text_values.filter(bool),  # an empty type is dispatched as "message"
    data=st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=40),
    id=text_values,
    retry=st.none() | st.integers(min_value=0, max_value=10**12),
)
"""Events that always carry their own id (the last event ID is sticky)."""
