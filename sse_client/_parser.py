"""The sans-I/O event-stream parser: bytes in, events out.

Rule: this module does no I/O and imports neither httpx nor anyio nor tenacity. It
is driven by whoever has the bytes (our clients, a user's own loop, a test).

Theory of operation
-------------------
The clients call :meth:`EventStreamParser.feed` once per network read, so that is the
one path. It does C-level work per read and Python work per *event*: never per byte,
and never per line of content that dispatches nothing (gzip shrinks a body of blank
lines or keep-alive comments a thousandfold; reading it costs C work only).

1. **Hold bytes until a line ends.** A read with no LF or CR is put aside: constant
   work. In a trickle of small reads, whole lines that change nothing yet (no blank
   line, no ``retry:``, no comment to report) wait too: one pass per event, not per
   line. The first bytes lose one BOM (P-BOM).
2. **Make every line ending LF, then decode** the complete lines with ``"replace"``
   (P-EOL, P-UTF8; CR and LF never sit inside a UTF-8 sequence). A CR that ends the
   read has ended its line; we only drop one LF if the next read starts with it
   (P-CR-SPLIT). Nothing else ends a line (P-NOSPLIT): no ``str.splitlines()``.
3. **Finish the event under way**: its lines up to the first blank line.
4. **Scan the blocks up to the last blank line** with one regular expression, from a
   clean start (every buffer empty). A match is two *common blocks* (optional ``id:``
   and ``event:`` lines, one ``data:`` line) cut into fields by the engine; or a
   *quiet run* of blocks with no ``data`` line, which dispatch nothing (D-EMPTY) and
   can only change the ID, the reconnection time and the comments, found by a few
   C-level searches; or any other block, read line by line. Blank lines in a row act
   as one: after the first, the buffers are empty (P-BLANK, D-*).
5. **Read the last, unfinished block** at once, so that a ``retry:`` takes effect when
   its line is read (F-RETRY).

A large event comes as a run of data lines: short ones are split apart at once, long
ones taken one by one, and the run's size is counted once. Other lines are read one by
one only up to a few dozen per piece; the rest of a flood goes to the C-level searches.
With ``max_event_size``, a text longer than the limit has its lines measured in C
first, and the unfinished line is measured after the whole lines.

Spec tags (``# spec: X``) refer to the project's restatement of the WHATWG rules.
"""

from __future__ import annotations

import re
import sys
from codecs import IncrementalDecoder, getincrementaldecoder
from collections.abc import Callable, Iterable, Iterator
from itertools import chain
from typing import Any, Final

from ._errors import EventTooLarge
from ._models import ServerSentEvent, _EventFields

__all__ = ["DEFAULT_MAX_EVENT_SIZE", "EventStreamParser"]

#: The default bound on one event's data and on one line, in characters (1 MiB of ASCII).
DEFAULT_MAX_EVENT_SIZE: Final = 1 << 20


# A frozen dataclass's __init__ costs several times as much as filling a plain slotted
# object. So the parser fills this twin (same slots, no __init__: a call to it is
# cheaper than object.__new__) and then gives it its real class: an ordinary, equal,
# immutable ServerSentEvent. The twins share the base that holds the slots, so the
# class change finds their layouts equal at once. (Figures: bench/README.md.)
class _EventBuilder(_EventFields):
    __slots__ = ServerSentEvent.__slots__


_BOM: Final = b"\xef\xbb\xbf"

# The scanner's matches, and what its loop reads as the end of the event under way
# (its lines already in the buffers, then a blank line; None tells it apart).
_Match = tuple[str, str, str, str | None, str, str, str, str, str, str, str]
_UNDER_WAY: Final[_Match] = ("", "", "", None, "", "", "", "", "", "", "")

# A CR with something after it other than LF (spec: P-EOL -- a line ending of its own).
_lone_cr = re.compile(b"\r[^\n]").search

# How far into a read with a CR a lone CR is looked for before anything else.
_CR_PEEK: Final = 256

#: Retry values with more digits than this saturate at ``10**18 - 1`` ms (30 million
#: years): exact enough for any client, and ``int()`` stays cheap on hostile input.
_MAX_RETRY_DIGITS: Final = 18

# In a trickle of small reads, whole lines that change nothing yet are held back, up to
# this many bytes: enough for the lines of most events.
_HOLD_BYTES: Final = 256

# The most a read with no line ending tests the pending bytes against: an int of one
# digit, which the interpreter compares the cheap way (sys.maxsize, for no limit, has
# three). A line that passes it is measured, and the limit is the bound from then on.
_LINE_BOUND: Final = (1 << 30) - 1

# A piece of lines is read line by line up to this many lines (at least one), the rest
# by _take_many. (Real events have few lines, or long ones: ten 1 KiB lines per read.)
_LINE_STEPS: Final = 32

# A run of data lines is split at once, at a cost per character, or taken line by line,
# at a cost per line: for lines this long or longer, taking them is the cheaper.
_LONG_LINE: Final = 256


def _milliseconds(digits: str) -> int:
    """The value of a valid ``retry:`` field (ASCII digits only)."""
    if len(digits) > _MAX_RETRY_DIGITS:
        return 10**_MAX_RETRY_DIGITS - 1
    return int(digits)


def _id_value(line: str) -> str:
    """The value of an ``id:`` line the scanner took whole (spec: P-FIELD, F-ID)."""
    return line[4:] if line[3:4] == " " else line[3:]


# The scanner. Given text from a block start to a blank line, from a clean start,
# exactly one branch matches at each block, so the matches tile the text:
#   - a common block: optional "id:", "event:" and "id:" lines, one "data:" line, blank
#     lines. (spec: P-FIELD -- " ?" drops one space; an id with NUL is not common; the
#     id groups keep "id:" to tell an empty id from none.) A match has a fixed cost in
#     the engine larger than five more groups', so it takes a second common block when
#     one follows (its ":" group says so); "\Z" spares it the try at the text's end.
#   - a quiet run: blocks with no data line ("data" then ":" or the line's end), each
#     followed by a blank line; a blank line alone is one too.
#   - any other block (it has a data line): its lines in one group, then blank lines.
# ("(?:...|)" runs faster than "(?:...)?". Possessive quantifiers, from Python 3.11,
# save the engine backtracking records it could never use.)
_P: Final = "+" if sys.version_info >= (3, 11) else ""
_COMMON: Final = (
    rf"(?:(id:[^\n\0]*{_P})\n|)(?:event: ?{_P}([^\n]*{_P})\n|)(?:(id:[^\n\0]*{_P})\n|)"
    rf"data{{}} ?{_P}([^\n]*{_P})\n\n+{_P}"
)
_scan = re.compile(
    rf"{_COMMON.format(':')}(?:\Z|{_COMMON.format('(:)')}|)"
    rf"|(\n+{_P}|(?:(?:(?!data[:\n])[^\n]+{_P}\n)*{_P}\n)+{_P})"
    rf"|((?:[^\n]+{_P}\n)+{_P})\n+{_P}"
).findall

# A text of exactly one common block: one match costs less than a search for the last
# blank line and a findall.
_one_block = re.compile(_COMMON.format(":") + r"\Z").match

# The fields of many lines at once, one C-level search each, in lines with an LF put in
# front (spec: P-FIELD, P-NOCOLON): every data value and comment (P-COMMENT), in order;
# the last event type, id without NUL (F-ID) and retry of ASCII digits (F-RETRY), found
# by ".*" backing off from the end (the engine looks for the LF backwards).
_DATA_LINE = re.compile(r"\ndata(?::[ ]?([^\n]*))?(?=\n)")
_comments = re.compile(r"\n:([^\n]*)").findall
_last_event = re.compile(r"(?s:.*)\nevent(?::[ ]?([^\n]*))?(?=\n)").match
_last_id = re.compile(r"(?s:.*)\nid(?::[ ]?([^\n\0]*))?(?=\n)").match
_last_retry = re.compile(r"(?s:.*)\nretry:[ ]?([0-9]+)(?=\n)").match


def _check_size(size: object) -> None:
    # A whole number of characters: 1.5 or True would make a limit that means nothing.
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
        raise ValueError(f"max_event_size must be a positive whole number or None, got {size!r}")


class EventStreamParser:
    """An incremental parser for ``text/event-stream`` bodies, exactly as the standard says.

    Feed it the body's bytes in any chunking; it returns the events each chunk
    completes. It keeps the stream's state (:attr:`last_event_id`,
    :attr:`reconnection_time`) for whoever reconnects: at each new connection,
    :meth:`reset` it (or make a new one seeded with its ``last_event_id``).

    Args:
        last_event_id: The stream's initial last event ID (for a resumed stream).
        max_event_size: The most characters one event's data, or one line, may hold;
            ``None`` for no limit. Crossing it raises :class:`EventTooLarge`.
        on_comment: Called with the text after the ``:`` of every comment line
            (servers send them as keep-alives), as the line is read.

    Example:
        >>> parser = EventStreamParser()
        >>> parser.feed(b"event: greeting\\ndata: hel")
        []
        >>> parser.feed(b"lo\\n\\n")
        [ServerSentEvent(event='greeting', data='hello')]
    """

    __slots__ = (
        "_data",
        "_data_size",
        "_dirty",
        "_error",
        "_event",
        "_head",
        "_hold",
        "_id_buffer",
        "_limit",
        "_line",
        "_line_bytes",
        "_line_chars",
        "_line_decoder",
        "_line_limit",
        "_on_comment",
        "_plain",
        "_retry",
        "_skip_lf",
        "last_event_id",
        "reconnection_time",
    )

    def __init__(
        self,
        *,
        last_event_id: str = "",
        max_event_size: int | None = DEFAULT_MAX_EVENT_SIZE,
        on_comment: Callable[[str], object] | None = None,
    ) -> None:
        _check_size(max_event_size)
        #: The stream's last event ID: what a reconnection sends as ``Last-Event-ID``.
        self.last_event_id: str = last_event_id
        #: The reconnection time in seconds from the last valid ``retry:`` field, if any.
        self.reconnection_time: float | None = None
        # The most characters a line or an event's data may hold (no limit: sys.maxsize).
        self._limit = sys.maxsize if max_event_size is None else max_event_size
        self._on_comment = on_comment
        self._hold = min(_HOLD_BYTES, self._limit)
        # What the pending bytes are tested against in feed(): the limit, or less.
        self._line_limit = min(self._limit, _LINE_BOUND)
        self._start()

    def _start(self) -> None:
        # The state of one stream: what a new stream starts without (spec: C-FRESH).
        # The class of reads that may skip _guard(): bytes, or None while every read needs
        # it (the stream not started, a CR last, or the parser closed).
        self._plain: type | None = None
        self._error: Exception | None = None  # what every read raises once closed
        self._head: bytes | None = b""  # the first bytes while they may be a BOM, then None
        self._skip_lf = False  # the last read ended with CR: drop one LF that follows
        # The bytes after the last line read: the unfinished line as it arrived, after
        # whole lines that wait with it in a trickle (see feed()), at most _hold bytes.
        self._line: list[bytes] = []
        # Their length in bytes (counted up: small ints cost no allocation); the
        # unfinished line's, or more when whole lines wait with it.
        self._line_bytes = 0
        self._line_chars = 0  # its length in characters, once measured
        self._line_decoder: IncrementalDecoder | None = None  # what measures it, once long
        # The buffers of the event being read (spec: "data buffer", "event type
        # buffer", "last event ID buffer"), plus the block's valid retry value.
        self._data: list[str] = []
        self._data_size = 0  # characters in the data buffer, one LF per line included
        self._event = ""
        self._id_buffer = self.last_event_id
        self._retry: int | None = None
        # May an event be under way (a line read since the last blank line)? If not,
        # every buffer is empty and the id buffer is the last event ID.
        self._dirty = False

    def reset(self) -> None:
        """Start a new stream, as a source does at every connection (spec: C-FRESH).

        What the last stream left unfinished is dropped (spec: D-EOF): an event whose
        blank line never came, an unfinished line; a BOM is skipped again at the new
        stream's start. :attr:`last_event_id` and :attr:`reconnection_time` carry over.
        A closed parser reads again.

        Example:
            >>> parser = EventStreamParser()
            >>> parser.feed(b"id: 7\ndata: a\n\nid: 8\ndata: cut")
            [ServerSentEvent(data='a', id='7')]
            >>> parser.reset()
            >>> parser.feed(b"\xef\xbb\xbfdata: b\n\n")
            [ServerSentEvent(data='b', id='7')]
        """
        self._start()

    def feed(self, data: bytes | bytearray | memoryview) -> list[ServerSentEvent]:
        """Parse the next bytes of the stream.

        Returns:
            The events whose blank line these bytes completed, in order (often none).

        Raises:
            EventTooLarge: An event's data or a line grew past ``max_event_size``.
            RuntimeError: The parser was closed.
            TypeError: A read is not bytes-like (text, say).
        """
        # (A class test is cheaper than type(); _guard makes any other read bytes.)
        if data.__class__ is not self._plain:
            data = self._guard(data)
        if 10 not in data and 13 not in data:  # ints: a byte search with no conversions
            # No LF or CR here (a trickle): keep the bytes as they are, constant work.
            # (The fewest steps: in a trickle, most reads come here. An empty read is
            # kept too: testing for it costs every read more than keeping it.)
            self._line.append(data)  # type: ignore[arg-type]
            size = self._line_bytes + len(data)
            self._line_bytes = size
            if size > self._line_limit:
                self._check_line(data)  # type: ignore[arg-type]
            return []
        read: bytes = data  # type: ignore[assignment]
        line = self._line
        if line:
            # Earlier reads began a line, maybe after whole lines held back: finish it.
            line.append(read)
            read = b"".join(line)
            if (
                # In a trickle of small reads, whole lines that change nothing a caller
                # sees yet (within the limit, no blank line, no CR to read, no retry:,
                # no comment for on_comment) wait with the unfinished line: one pass per
                # event, not per line. (A blank line is an LF after another, or an LF
                # first: the pending pieces may be empty reads.)
                len(read) + self._data_size <= self._hold
                and read[0] != 10
                and read.find(b"\n\n") < 0
                and 13 not in read
                and read.find(b"retry") < 0
                and (self._on_comment is None or (read[0] != 58 and read.find(b"\n:") < 0))
            ):
                # (The pieces stay: the next line end joins them again, with its read.)
                self._line_bytes = len(read)  # (the unfinished line's, and more)
                return []
            line.clear()
            self._line_bytes = 0
        # Decode the complete lines only: a line ends at an ASCII byte, never inside a
        # UTF-8 sequence, so decoding line by line is decoding the stream (P-UTF8).
        # (Every local of feed() costs each of its calls: the rare work is elsewhere.)
        tail = b""
        if 13 in read:
            read, tail = self._cr_lines(read)
        elif read[-1] != 10:  # the read ends inside a line
            tail = read[read.rfind(10) + 1 :]
            read = read[: len(read) - len(tail)]
        try:
            text = read.decode()  # (cheaper with no arguments to parse)
        except UnicodeDecodeError:
            text = read.decode("utf-8", "replace")  # spec: P-UTF8 -- U+FFFD
        one = None if self._dirty else _one_block(text)
        if one and len(text) <= self._limit:
            # The whole read is one common block, from a clean start: a server that
            # flushes every event sends one per read. Built here, not by _read(),
            # which costs a third more per such read (bench/README.md).
            id1, event, id2, value = one.groups()
            last_id = self._id_buffer
            if id1 or id2:  # spec: F-ID, D-ID
                last_id = _id_value(id2 or id1)
            obj: Any = _EventBuilder()  # spec: D-EVENT -- see _EventBuilder
            obj.event = event or "message"
            obj.data = value
            obj.id = last_id
            obj.retry = None
            obj.__class__ = ServerSentEvent
            events: list[Any] = [obj]
            self.last_event_id = self._id_buffer = last_id
        else:
            events = []
            self._read(text, events)
        if tail:
            # The unfinished line, measured after the whole lines before it took effect,
            # as if the stream were read byte by byte (a retry: or id: before it counts).
            line.append(tail)
            self._line_bytes = len(tail)
            if self._line_bytes > self._line_limit:
                self._check_line(tail)
        return events

    def _cr_lines(self, read: bytes) -> tuple[bytes, bytes]:
        """A read with a CR: its whole lines with LF line endings, and what follows them."""
        tail = b""
        if read[-1] != 10 and read[-1] != 13:  # the read ends inside a line
            end = max(read.rfind(10), read.rfind(13))
            tail = read[end + 1 :]
            read = read[: end + 1]
        # spec: P-EOL, P-CR-SPLIT -- a CR ends its line now; if it ends the read, an LF
        # starting the next read belongs to it. (CR and LF are ASCII.)
        if read[-1] == 13:
            if not tail:
                self._skip_lf = True
                self._plain = None
            read += b"\n"  # (a CRLF now, which becomes one LF below)
        # Each CR a CRLF's (the usual case): dropping them is far cheaper than replacing
        # CRLFs. Whether they are is told by putting a CR back before each LF, which
        # rebuilds the read only if every line ended with CRLF: two passes of memchr and
        # memcpy, cheaper than a regex search that stops at every CR. (A stream of lone
        # CRs shows one in its first bytes: it is spared the two passes.)
        if _lone_cr(read, 0, _CR_PEEK) is None:
            lf = read.replace(b"\r", b"")
            if lf.replace(b"\n", b"\r\n") == read or _lone_cr(read) is None:
                return lf, tail  # (the second test: CRLFs mixed with lone LFs)
        return read.replace(b"\r\n", b"\n").replace(b"\r", b"\n"), tail

    def events(self, chunks: Iterable[bytes | bytearray | memoryview]) -> Iterator[ServerSentEvent]:
        """Parse a whole stream: yield the events of ``chunks``, then close the parser.

        The same as calling :meth:`feed` on every chunk and :meth:`close` at the end:
        each event is yielded as soon as the chunk that completes it has been read. An
        event whose blank line never came is discarded at the end.

        Raises:
            EventTooLarge: An event's data or a line grew past ``max_event_size``.
            RuntimeError: The parser was closed.
            TypeError: A read is not bytes-like (text, say).

        Example:
            >>> parser = EventStreamParser()
            >>> [event.data for event in parser.events([b"data: a\\n\\nda", b"ta: b\\n\\n"])]
            ['a', 'b']
        """
        # chain() hands the events on in C: no Python frame is resumed per event.
        return chain.from_iterable(self._batches(chunks))

    def _batches(
        self, chunks: Iterable[bytes | bytearray | memoryview]
    ) -> Iterator[list[ServerSentEvent]]:
        """The events of each read that completes some, as a list; then close."""
        feed = self.feed  # (called from Python, as the clients call it: the cheap way)
        for chunk in chunks:
            events = feed(chunk)
            if events:
                yield events
        self.close()

    def close(self) -> list[ServerSentEvent]:
        """Mark the end of the stream.

        spec: D-EOF -- an event whose blank line never came is discarded, and so is an
        unfinished last line; the last event ID is left as the last dispatch set it.
        A ``retry:`` already read has taken effect. Closing twice is harmless.

        Returns:
            Always an empty list: no event is completed by the end of the stream. The
            return value keeps ``close`` symmetrical with :meth:`feed` for drivers.
        """
        if self._error is None:
            self._error = RuntimeError("this parser is closed; reset() it for a new stream")
        self._plain = None
        self._line.clear()
        self._line_decoder = None
        self._data = []
        return []

    # -- Bytes to text -----------------------------------------------------------------

    def _guard(self, data: bytes | bytearray | memoryview) -> bytes:
        """The rare cases of a read: closed, not bytes, the stream's start, a CR before."""
        if self._error is not None:
            raise self._error
        if type(data) is not bytes:
            if isinstance(data, str):
                raise TypeError(
                    "the parser reads bytes, not str: give it the body's bytes "
                    "(response.iter_bytes(), not iter_text())"
                )
            data = bytes(data)
        if self._head is not None:
            # spec: P-BOM -- drop one BOM at the very start, even if cut across reads.
            data = self._head + data
            if len(data) < 3 and _BOM.startswith(data):
                self._head = data
                return b""
            self._head = None
            if data[:3] == _BOM:
                data = data[3:]
        if self._skip_lf and data:
            self._skip_lf = False
            if data[0] == 10:  # spec: P-CR-SPLIT -- the LF of a CRLF cut in two
                data = data[1:]
        self._plain = None if self._skip_lf else bytes
        return data

    # -- Interpreting lines ------------------------------------------------------------

    def _read(self, text: str, events: list[Any]) -> None:
        """Interpret ``text``: whole lines, each ending in LF, from a line start."""
        length = len(text)
        limit = self._limit
        if length > limit and max(map(len, text.split("\n"))) > limit:
            # A line over the limit: read the lines before it, then refuse it.
            cut = 0
            while text.find("\n", cut) - cut <= limit:
                cut = text.find("\n", cut) + 1
            if cut:
                self._read(text[:cut], events)
            self._too_large()
        # Finish the event under way: its lines up to the first blank line, which
        # dispatches it in the loop below.
        pos = self._take(text, 0, events) if self._dirty else 0
        if pos < 0:  # no blank line: the event goes on
            return
        # The last blank line: an LF after another, or at text[0] (from pos on, as an LF
        # ends the line before pos).
        stop = text.rfind("\n\n", pos - 1 if pos else 0) + 2
        if stop == 1:
            stop = 1 if text[0] == "\n" else pos
        items: list[_Match] = _scan(text, pos, stop) if stop > pos else []
        if self._dirty:
            items = [_UNDER_WAY, *items]
        if items:
            last_id = self._id_buffer  # the stream's last event ID, once a blank line came
            for id1, event, id2, data, id3, event2, id4, second, data2, quiet, block in items:
                retry = None
                if quiet or block or data is None:
                    self._id_buffer = last_id
                    if block:
                        self._take(block, 0, events)
                    elif quiet and quiet[0] != "\n":  # (blank lines alone change nothing)
                        self._take_many(quiet, events)
                    last_id = self._id_buffer  # spec: D-ID
                    event = self._event
                    retry = self._retry
                    self._event = ""  # spec: D-RESET
                    self._retry = None
                    if not self._data:  # spec: D-EMPTY
                        continue
                    data = "\n".join(self._data)  # spec: D-TRIM -- no trailing LF
                    self._data = []
                    self._data_size = 0
                elif id1 or id2:  # spec: F-ID, D-ID
                    last_id = _id_value(id2 or id1)
                obj: Any = _EventBuilder()  # spec: D-EVENT -- see _EventBuilder
                obj.event = event or "message"
                obj.data = data
                obj.id = last_id
                obj.retry = retry
                obj.__class__ = ServerSentEvent
                events.append(obj)
                if second:
                    # The pair's second common block, built here rather than by a turn
                    # of the loop, which costs more per event (bench/README.md).
                    if id3 or id4:
                        last_id = _id_value(id4 or id3)
                    obj = _EventBuilder()
                    obj.event = event2 or "message"
                    obj.data = data2
                    obj.id = last_id
                    obj.retry = None
                    obj.__class__ = ServerSentEvent
                    events.append(obj)
            self.last_event_id = self._id_buffer = last_id
        self._dirty = stop < length
        if self._dirty:  # the lines of the next, unfinished block
            self._take(text, stop, events)

    def _take(self, text: str, pos: int, events: list[Any]) -> int:
        """Read the lines of ``text`` from ``pos`` (a line start) into the buffers, up to
        the first blank line (spec: P-FIELD ... F-OTHER); return the index after that
        line, or -1 if none came."""
        data = self._data
        size = self._data_size
        data_limit = self._limit + 1  # (the size counts one LF per line)
        find = text.find
        length = len(text)
        steps = _LINE_STEPS
        split = True  # may a run of short data lines still be split at once?
        while pos < length:
            end = find("\n", pos)
            if end == pos:  # spec: P-BLANK
                self._data_size = size
                return pos + 1
            if text[pos : pos + 6] == "data: ":  # spec: F-DATA
                # A large event comes as a run of data lines: their values go to the
                # buffer together, and the size is counted once for the run.
                start = pos
                lines = len(data)
                if split and end - pos < _LONG_LINE:
                    # Short lines: all of them up to the blank line, if they are data
                    # lines, in one split. (Tried once: it costs the rest's length.)
                    split = False
                    stop = find("\n\n", pos) + 1 or length
                    values = text[pos + 6 : stop - 1].split("\ndata: ")
                    if "\n" not in "".join(values):
                        data += values
                        pos = stop
                # Long lines one by one, as long as they come.
                while text[pos : pos + 6] == "data: ":
                    data.append(text[pos + 6 : end])
                    pos = end + 1
                    end = find("\n", pos)
                    if end - pos < _LONG_LINE:
                        break  # (a short line is one step, below)
                # Each line is "data: ", the value and an LF, which the size counts.
                size += pos - start - 6 * (len(data) - lines)
                if size > data_limit:
                    self._too_large()
            else:
                line = text[pos:end]
                name, colon, value = line.partition(":")
                if value[:1] == " ":
                    value = value[1:]  # spec: P-FIELD
                if name == "data":  # spec: F-DATA
                    data.append(value)
                    size += len(value) + 1
                    if size > data_limit:
                        self._too_large()
                elif name == "event":  # spec: F-EVENT
                    self._event = value
                elif name == "id":  # spec: F-ID -- a NUL voids the whole field
                    if "\0" not in value:
                        self._id_buffer = value
                elif name == "retry":  # spec: F-RETRY -- ASCII digits only
                    if value.isdigit() and value.isascii():
                        self._retry = _milliseconds(value)
                        self.reconnection_time = self._retry / 1000
                elif not name and colon and self._on_comment is not None:
                    self._comment(line[1:], events)  # spec: P-COMMENT
                # spec: F-OTHER, P-CASE -- anything else is ignored
                pos = end + 1
            steps -= 1
            if not steps and pos < length:
                # A flood of lines: the rest, up to the next blank line, in C. (An LF
                # ends the line before pos: a blank line at pos is found too.)
                self._data_size = size
                blank = find("\n\n", pos - 1) + 1
                self._take_many(text[pos:blank] if blank else text[pos:], events)
                return blank + 1 if blank else -1
        self._data_size = size
        return -1

    def _take_many(self, text: str, events: list[Any]) -> None:
        """Read ``text`` (whole lines; blank ones only where no data line is) into the
        buffers with a few C-level searches: the effect of reading it line by line, at
        a cost per line of the engine's, not of a Python step."""
        text = "\n" + text
        values = _DATA_LINE.findall(text)
        if values:
            size = self._data_size + sum(map(len, values)) + len(values)
            if size > self._limit + 1:
                # Read the lines before the data line that crosses the limit, then refuse.
                size = self._data_size
                for match in _DATA_LINE.finditer(text):  # pragma: no branch -- one crosses it
                    size += len(match[1] or "") + 1
                    if size > self._limit + 1:
                        self._take_many(text[1 : match.start() + 1], events)
                        self._too_large()
            self._data += values  # spec: F-DATA
            self._data_size = size
        found = _last_event(text)
        if found:
            self._event = found[1] or ""  # spec: F-EVENT
        found = _last_id(text)
        if found:
            self._id_buffer = found[1] or ""  # spec: F-ID
        found = _last_retry(text)
        if found:
            self._retry = _milliseconds(found[1])  # spec: F-RETRY
            self.reconnection_time = self._retry / 1000
        if self._on_comment is not None:
            for comment in _comments(text):  # spec: P-COMMENT
                self._comment(comment, events)

    def _comment(self, text: str, events: list[Any]) -> None:
        """Report a comment line (beyond spec: the standard ignores them)."""
        assert self._on_comment is not None
        self._on_comment(text)

    def _check_line(self, piece: bytes) -> None:
        """The pending bytes, ``piece`` last, are more than ``_line_limit``. If the unfinished
        line is, count its characters (as many as the bytes or fewer), from now on as
        they arrive, and refuse it once they pass the limit too."""
        if self._line_bytes - len(piece) <= self._line_limit:  # the first time past it
            pending = b"".join(self._line)
            size = len(pending) - 1 - pending.rfind(10)  # the unfinished line's bytes
            self._line_bytes = size
            if size <= self._limit:
                # Whole lines held back before it made up the rest, or the test's bound
                # is below the limit (see _LINE_BOUND): from now on, test the limit.
                self._line_limit = self._limit
                return
            self._line_decoder = getincrementaldecoder("utf-8")("replace")
            self._line_chars = len(self._line_decoder.decode(pending[-size:]))
        else:
            assert self._line_decoder is not None
            self._line_chars += len(self._line_decoder.decode(piece))
        if self._line_chars > self._limit:
            self._too_large()

    def _too_large(self) -> None:
        # Where the oversized event ends is unknown, so the parser cannot resynchronise:
        # it drops its buffers and raises the same error from every later feed().
        self.close()
        self._error = EventTooLarge(
            f"an event's data or a line exceeded max_event_size={self._limit} characters",
            limit=self._limit,
        )
        raise self._error


class CommentLine(str):
    """A comment line's text, placed among the events by :class:`InlineCommentParser`."""

    __slots__ = ()


class InlineCommentParser(EventStreamParser):
    """A parser whose ``feed`` returns comment lines among the events, in stream order.

    For the clients: ``on_comment`` alone is called while ``feed`` runs, before the
    events that preceded the comment are returned. This parser puts a
    :class:`CommentLine` in the returned list instead, so a driver can report events
    and comments in the order the server sent them. ``on_comment`` must be given (it
    turns comment reporting on) but is not called.
    """

    __slots__ = ()

    def _comment(self, text: str, events: list[Any]) -> None:
        events.append(CommentLine(text))
