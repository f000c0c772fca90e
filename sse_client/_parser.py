"""The sans-I/O event-stream parser: bytes in, events out.

Rule: this module does no I/O and imports neither httpx nor anyio nor tenacity. It
is driven by whoever has the bytes (our clients, a user's own loop, a test).

Theory of operation
-------------------
Each call to :meth:`EventStreamParser.feed` does C-speed work per read and Python work
per *event* (per line only in short texts and blocks of an unusual shape), never per byte:

1. **Hold bytes until a line ends.** A read with no LF or CR is appended, as bytes,
   to the unfinished line: constant work, nothing decoded or re-copied. The stream's
   first bytes lose one BOM, even one cut across reads (P-BOM).
2. **Decode complete lines only, and settle the line endings.** Everything up to the
   last LF or CR is joined and decoded with ``"replace"`` (P-UTF8): CR, LF and the
   line's end are ASCII, never inside a UTF-8 sequence, so decoding line by line is
   decoding the stream. Where the text holds a CR, CRLF and lone CR become LF (P-EOL;
   with no lone CR, deleting every CR is the cheapest rewrite), except in the blocks
   of a CRLF text that step 4 scans as they came. A CR that ends the read has already
   ended its line, so events it completes are dispatched now; we only remember to drop
   one LF if the next read starts with it (P-CR-SPLIT). Nothing else ends a line
   (P-NOSPLIT): we never call ``str.splitlines()``.
3. **Read short texts, and the rest of an unfinished event, line by line.** One loop
   implements the standard's steps with the event's buffers in locals, finding each
   line end with ``str.find`` (a C memchr): a 256 KiB event arriving in 10 KiB reads
   costs one pass per read, with no re-scan of what came before.
4. **Scan the rest in C, up to its last blank line.** One regular expression cuts the
   common block (optional ``id:``/``event:`` lines, one ``data:`` line, blank lines)
   into fields, and hands any other block over whole, to be read line by line
   (P-FIELD ... F-OTHER). A text from a clean start first tries a match of one common
   block (a read of exactly one event is common); the rest goes two common blocks per
   match, as each match has a fixed cost in the engine. Several blank lines in a row
   act as one: after the first, the buffers are empty and the stream's last event ID
   already equals the buffer (P-BLANK, D-*). The lines of the last, unfinished block
   go to the line loop at once, so a ``retry:`` takes effect as soon as its line is
   read (F-RETRY); its buffers wait for the blank line. A CRLF text is scanned as it
   came, from its first CRLF blank line to its last, with a twin expression whose
   lines end in CRLF: rewriting it would cost two passes over its bytes. A lone LF
   inside a value it cut (a line ending of its own) sends the scanned part back to be
   rewritten and read as above; any other block, and all after it, goes there too.
5. **Measure the unfinished line last.** With ``max_event_size``, the bytes after the
   read's last line ending are measured once the whole lines before them have taken
   effect, as a byte-by-byte reading would have it.

:meth:`EventStreamParser.events` drives the same steps over an iterable of reads, with
the trickle of step 1 in local variables, and holds a small read of whole lines back
while it cannot have completed an event: a stream trickling in a few bytes per read
then costs one pass per event rather than one per line.

Spec tags (``# spec: X``) refer to the project's restatement of the WHATWG rules.
"""

from __future__ import annotations

import re
import sys
from codecs import getincrementaldecoder
from collections.abc import Callable, Iterable, Iterator
from contextlib import suppress
from itertools import chain
from typing import Any, Final

from ._errors import EventTooLarge
from ._models import ServerSentEvent, _EventFields

__all__ = ["DEFAULT_MAX_EVENT_SIZE", "EventStreamParser"]

#: The default bound on one event's data and on one line, in characters (1 MiB of ASCII).
DEFAULT_MAX_EVENT_SIZE: Final = 1 << 20


# Building a frozen dataclass through its __init__ costs about three times as much as
# building a plain slotted object, and the parser builds one object per event. So it
# builds this twin, which has the very same slots and no __init__ at all, fills its
# slots, and then gives it its real class: the result is an ordinary, equal, immutable
# ServerSentEvent. (A call to a class with no __init__ is cheaper than object.__new__.)
# The twins share the base that holds the slots and add the same ones to it (none from
# Python 3.11), so the class change finds their layouts equal at the base, without
# comparing their __slots__: about a quarter of its cost.
class _EventBuilder(_EventFields):
    __slots__ = ServerSentEvent.__slots__


_BOM: Final = b"\xef\xbb\xbf"

# A CR with something after it other than LF (spec: P-EOL -- a line ending of its own).
_lone_cr = re.compile(b"\r[^\n]").search


def _lf(data: bytes) -> bytes:
    """``data`` (whole lines that do not end with CR) with every CRLF and CR as LF."""
    # Only CRLFs (every CR is one CRLF's) is the common case, and dropping every CR is
    # the cheapest rewrite. (A search for a lone CR costs more instructions than
    # counting the CRLFs, but about half the time.)
    if _lone_cr(data) is None:
        return data.replace(b"\r", b"")
    return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")


class _LineCounter:
    """Counts the characters of a long unfinished line, as its bytes arrive."""

    __slots__ = ("_decoder", "chars")

    def __init__(self) -> None:
        self._decoder = getincrementaldecoder("utf-8")("replace")
        self.chars = 0

    def add(self, piece: bytes | memoryview) -> int:
        self.chars += len(self._decoder.decode(piece))
        return self.chars


# In EventStreamParser.events(), a small read of whole lines with no blank line is held
# back, to be read with the next (a trickle of tiny reads costs one pass per event,
# not one per line): at most this many reads in a row, each of fewer bytes than this.
_HOLD_READS: Final = 16
_HOLD_BYTES: Final = 128

# A read's complete lines are taken as a memoryview, not a copy, past this many bytes.
_VIEW_AT: Final = 512

# Texts shorter than this (characters) are read line by line: for a line or two, a
# Python loop costs less than starting the scanner. (At least 2: see _process.)
_SHORT: Final = 64

#: Retry values with more digits than this saturate at ``10**18 - 1`` ms (30 million
#: years): exact enough for any client, and ``int()`` stays cheap on hostile input.
_MAX_RETRY_DIGITS: Final = 18


def _milliseconds(digits: str) -> int:
    """The value of a valid ``retry:`` field (ASCII digits only)."""
    if len(digits) > _MAX_RETRY_DIGITS:
        return 10**_MAX_RETRY_DIGITS - 1
    return int(digits)


# The scanner. At a block start (a non-empty line), exactly one branch matches, so the
# matches tile the text with nothing skipped:
#   - a common block, cut into fields in C: an optional "id:" line, an optional
#     "event:" line, an optional "id:" line, one "data:" line, then blank lines.
#     (spec: P-FIELD -- " ?" drops one leading space; an id holding NUL is not common.)
#     The id groups keep their "id:" so that an empty id is told from a missing one.
#   - any other block: its lines, each with its LF, then the blank lines after it,
#     in one group.
# It is given text that starts at a line and ends with a blank line; a blank line where
# a block would start matches nothing, so findall steps over it (from a clean start,
# where the scanner is used, a blank line changes nothing).
# (Empty alternatives "(?:...|)" run faster in the re engine than "(?:...)?". Where
# Python has them (3.11+), possessive quantifiers save the engine its backtracking
# records; nothing here could backtrack into a match anyway.)
_P: Final = "+" if sys.version_info >= (3, 11) else ""
_COMMON: Final = (
    rf"(?:(id:[^\n\0]*{_P})\n|)(?:event: ?{_P}([^\n]*{_P})\n|)(?:(id:[^\n\0]*{_P})\n|)"
    rf"data{{}} ?{_P}([^\n]*{_P})\n\n+{_P}"
)
_OTHER: Final = rf"|((?:[^\n]+{_P}\n)+{_P}\n*{_P})"
# Each match has a fixed cost in the re engine (in CPython 3.11 a malloc and a free,
# among others) larger than that of five more groups. So a match takes a second common
# block when one follows (its ":" group tells whether it did); at the text's end, "\Z"
# spares the engine trying one.
_scan_pairs = re.compile(
    _COMMON.format(":") + r"(?:\Z|" + _COMMON.format("(:)") + "|)" + _OTHER
).findall
# One common block at the start of a text (the last group is "" if it ends the text).
# A read often holds exactly one event, and a match of one costs less than a findall.
_match_block = re.compile(_COMMON.format(":") + r"(?:(\Z)|)").match

# The same scanner for text with CRLF line endings, read as it came: rewriting them
# first costs two passes over the bytes (a search for lone CRs, then dropping CRs),
# and this scanner's longer lines cost less than that. Values are "[^\r]*", as fast
# as "[^\n]*" in the re engine ("[^\r\n]*" is three times as slow): so a common block
# holds no lone CR, but its event and data values may hold an LF, a line ending of its
# own, which the caller checks for. After the blank line that ends a block, any run of
# CRs and LFs is blank lines too, which change nothing from a clean start (a set takes
# them for fewer steps than a repeated group "(?:\r\n)+"). Any other block, and
# anything after it, goes into the last group, to be rewritten to LF and read as usual.
_COMMON_CRLF: Final = (
    rf"(?:(id:[^\r\n\0]*{_P})\r\n|)(?:event: ?{_P}([^\r]*{_P})\r\n|)"
    rf"(?:(id:[^\r\n\0]*{_P})\r\n|)data{{}} ?{_P}([^\r]*{_P})\r\n\r\n[\r\n]*{_P}"
)
_scan_crlf_pairs = re.compile(
    _COMMON_CRLF.format(":") + r"(?:\Z|" + _COMMON_CRLF.format("(:)") + r"|)|([\s\S]+)"
).findall


class EventStreamParser:
    """An incremental parser for ``text/event-stream`` bodies, exactly as the standard says.

    Feed it the body's bytes in any chunking; it returns the events each chunk
    completes. It keeps the stream's state (:attr:`last_event_id`,
    :attr:`reconnection_time`) for whoever reconnects. Use a new parser for each
    connection, seeded with the previous one's ``last_event_id``.

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
        "_closed",
        "_data",
        "_data_size",
        "_dirty",
        "_error",
        "_event",
        "_guarded",
        "_head",
        "_id_buffer",
        "_limit",
        "_line",
        "_line_chars",
        "_line_limit",
        "_line_size",
        "_on_comment",
        "_retry",
        "_skip_lf",
        "_started",
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
        if max_event_size is not None and max_event_size < 1:
            raise ValueError(f"max_event_size must be positive or None, got {max_event_size!r}")
        #: The stream's last event ID: what a reconnection sends as ``Last-Event-ID``.
        self.last_event_id: str = last_event_id
        #: The reconnection time in seconds from the last valid ``retry:`` field, if any.
        self.reconnection_time: float | None = None
        self._limit = max_event_size
        self._line_limit = sys.maxsize if max_event_size is None else max_event_size
        self._on_comment = on_comment
        self._closed = False
        self._guarded = True  # a read needs _guard(): not started, closed, or after a CR
        self._error: EventTooLarge | None = None  # set once a limit was crossed
        self._started = False  # have the first bytes (a possible BOM) been seen?
        self._head = b""  # the first bytes, while they may still be a BOM
        self._skip_lf = False  # the last text ended with CR: drop one LF that follows
        # The unfinished last line, as it arrived (and, for a moment in _complete_lines,
        # a view of the complete lines of a read, to be joined to it).
        self._line: list[bytes | memoryview] = []
        self._line_size = 0  # its length in bytes
        self._line_chars: _LineCounter | None = None  # its length in characters, once long
        # The buffers of the event being read (spec: "data buffer", "event type
        # buffer", "last event ID buffer"), plus the block's valid retry value.
        self._data: list[str] = []
        self._data_size = 0
        self._event = ""
        self._id_buffer = last_event_id
        self._retry: int | None = None
        # Is an event under way: does a buffer hold something, or the id buffer differ
        # from the last event ID? (Derived from the above; _run_lines keeps it.)
        self._dirty = False

    def feed(self, data: bytes | bytearray | memoryview) -> list[ServerSentEvent]:
        """Parse the next bytes of the stream.

        Returns:
            The events whose blank line these bytes completed, in order (often none).

        Raises:
            EventTooLarge: An event's data or a line grew past ``max_event_size``.
            RuntimeError: The parser was closed.
            TypeError: A read is not bytes-like (text, say).
        """
        if data.__class__ is not bytes or self._guarded:  # (cheaper than type())
            data = self._guard(data)
        if 10 not in data and 13 not in data:  # ints: a byte search with no conversions
            # No LF or CR here (a trickle): keep the bytes as they are, constant work.
            if data:
                self._line.append(data)
                self._line_size += len(data)
                if self._line_size > self._line_limit:
                    self._check_line()
            return []
        return self._complete_lines(data)

    def events(self, chunks: Iterable[bytes | bytearray | memoryview]) -> Iterator[ServerSentEvent]:
        """Parse a whole stream: yield the events of ``chunks``, then close the parser.

        The same events as calling :meth:`feed` on every chunk and :meth:`close` at the
        end, for less work per chunk: the bytes of a read with no line ending are put
        aside right here, and while no blank line can have arrived (and no
        ``on_comment`` is set), a few reads' lines are read together. Each event is
        yielded as soon as the chunk that completes it has been read; a ``retry:``
        line takes effect by then too, or by the end of ``chunks``. An event whose
        blank line never came is discarded at the end.

        Raises:
            EventTooLarge: An event's data or a line grew past ``max_event_size``.
            RuntimeError: The parser was closed.
            TypeError: A read is not bytes-like (text, say).

        Example:
            >>> parser = EventStreamParser()
            >>> [event.data for event in parser.events([b"data: a\\n\\nda", b"ta: b\\n\\n"])]
            ['a', 'b']
        """
        # The events go out in the lists that each read returns; chain() hands them on
        # one by one in C, so no Python frame is resumed per event.
        return chain.from_iterable(self._batches(chunks))

    def _batches(
        self, chunks: Iterable[bytes | bytearray | memoryview]
    ) -> Iterator[list[ServerSentEvent]]:
        """The generator behind :meth:`events`: the events of each read, as a list."""
        feed = self.feed
        complete = self._complete_lines
        may_end_block = self._may_end_block
        mid_line = self._mid_line
        line = self._line
        limited = self._limit is not None
        limit = self._line_limit
        # Small reads of whole lines are held back only while they cannot complete an
        # event, and only if nobody waits to hear of a comment.
        hold = 0 if self._on_comment is not None else _HOLD_READS
        held = 0  # reads of whole lines held back in `line`, not read yet
        # Bytes take the paths below, which skip feed()'s checks, while the parser is
        # not guarded (see _guard); anything else goes through feed().
        fast = None if self._guarded else bytes
        size = self._line_size  # bytes in `line`, held lines included (if limited)
        try:
            for chunk in chunks:
                if chunk.__class__ is fast:  # (cheaper than type() in Python 3.11)
                    if 10 not in chunk and 13 not in chunk:
                        # No line ending (a trickle): feed()'s constant work, in locals.
                        # (line.append, not a bound method: Python 3.11 runs it inline.)
                        line.append(chunk)
                        if limited:
                            size += len(chunk)
                            if size > limit:
                                self._line_size = size
                                if held:  # read the held lines: only the unfinished
                                    held = 0  # one counts (and reading measures it)
                                    events = self._read_held()
                                    size = self._line_size
                                    assert not events  # held lines hold no blank line
                                    fast = None if self._guarded else bytes  # (a CR last?)
                                else:
                                    self._check_line()
                        continue
                    if (
                        held < hold
                        and len(chunk) < _HOLD_BYTES
                        and (
                            # No blank line can be here (two line endings in a row, but
                            # CR LF): LF only, no LF LF, and none across the last read's end.
                            # (partition takes one argument, so a call costs fewer instructions
                            # than count or find; `in` would first try b"\n\n" as an int.)
                            (not chunk.partition(b"\n\n")[1] and (chunk[0] != 10 or mid_line()))
                            if 13 not in chunk
                            else not may_end_block(chunk)
                        )
                    ):
                        # Hold these lines for the next read.
                        line.append(chunk)
                        size += len(chunk)
                        held += 1
                        continue
                    held = 0  # (complete() reads them now, and sets the line's size)
                    events = complete(chunk)  # feed() without the checks done here
                else:
                    self._line_size = size
                    events = []
                    if held:
                        held = 0
                        events = self._read_held()
                    events += feed(chunk)
                fast = None if self._guarded else bytes
                size = self._line_size
                if events:
                    yield events
            self._line_size = size
            if held:  # lines held at the end still count (a retry: among them)
                held = 0
                yield self._read_held()
        finally:
            self._line_size = size
            if held:  # the chunks or the consumer stopped early
                with suppress(EventTooLarge):
                    self._read_held()
        self.close()

    def _may_end_block(self, chunk: bytes) -> bool:
        """Could ``chunk`` (which holds a CR), read after the bytes in the unfinished
        line, hold a blank line?

        Two line endings in a row make a blank line, except CR then LF. This errs on
        the side of yes (a CRLF cut between reads counts as maybe).
        """
        # Inside the chunk. (bytes.find, not `in`: with a bytes operand, `in` first
        # tries to read it as an int, and the exception it discards costs more.)
        if chunk.find(b"\r\r") >= 0 or chunk.find(b"\n\n") >= 0 or chunk.find(b"\n\r") >= 0:
            return True
        # Across the last read's end.
        first = chunk[0]
        return (first == 10 or first == 13) and not self._mid_line()

    def _mid_line(self) -> bool:
        """Does the unfinished line hold bytes after the last line ending read?

        (No means a line ending that comes next may end a blank line. An empty read
        kept last errs on the side of no.)
        """
        if not self._line:  # the last read ended with a line ending
            return False
        last = self._line[-1]
        return bool(last) and last[-1] != 10 and last[-1] != 13

    def _read_held(self) -> list[ServerSentEvent]:
        """Read the whole lines that :meth:`events` held back in the unfinished line."""
        data = b"".join(self._line)
        self._line.clear()
        self._line_chars = None
        return self._complete_lines(data)

    def _guard(self, data: bytes | bytearray | memoryview) -> bytes:
        """The rare cases of a read: closed, not bytes, the stream's start, a CR before."""
        if self._closed:
            if self._error is not None:
                raise self._error
            raise RuntimeError("this parser is closed; use a new one for a new stream")
        if type(data) is not bytes:
            if isinstance(data, str):
                raise TypeError(
                    "the parser reads bytes, not str: give it the body's bytes "
                    "(response.iter_bytes(), not iter_text())"
                )
            data = bytes(data)
        if not self._started:
            # spec: P-BOM -- drop one BOM at the very start, even if cut across reads.
            data = self._head + data
            if len(data) < 3 and _BOM.startswith(data):
                self._head = data
                return b""
            self._started = True
            self._head = b""
            if data[:3] == _BOM:
                data = data[3:]
        if self._skip_lf and data:
            self._skip_lf = False
            if data[0] == 10:  # spec: P-CR-SPLIT -- the LF of a CRLF cut in two
                data = data[1:]
        self._guarded = not self._started or self._skip_lf
        return data

    def _complete_lines(self, data: bytes) -> list[ServerSentEvent]:
        """Decode and interpret the complete lines of ``data``; keep its unfinished end."""
        # Only complete lines are decoded: a line ends at an ASCII byte, never inside a
        # UTF-8 sequence, so decoding line by line is decoding the stream (P-UTF8).
        has_cr = 13 in data
        last = data[-1]
        if last == 10 or last == 13:  # a read of whole lines, the common case
            whole: bytes | memoryview = data
            tail = b""
        else:
            end = data.rfind(10)
            if has_cr:
                cr = data.rfind(13)
                if cr > end:
                    end = cr
            end += 1
            # The complete lines: a view of the read's start, if long (a slice would
            # copy the read once more before the join or the decoding copies it again).
            whole = memoryview(data)[:end] if end > _VIEW_AT else data[:end]
            tail = data[end:]
        line = self._line
        if line:
            line.append(whole)
            head: bytes | memoryview = b"".join(line)
            line.clear()
            self._line_chars = None
            has_cr = 13 in head  # (held lines may hold CRs)
        else:
            head = whole
        if tail:
            line.append(tail)
            self._line_size = len(tail)
        else:
            self._line_size = 0
        events: list[Any] = []
        if has_cr:
            # spec: P-EOL, P-CR-SPLIT -- a CR ends its line now; if it ends the read too,
            # an LF starting the next read belongs to it. CR and LF are ASCII: rewriting
            # them before decoding changes nothing else in the text.
            if type(head) is not bytes:
                head = bytes(head)
            if head[-1] == 13:
                self._skip_lf = self._guarded = not self._line_size
                # (The last CR has nothing after it, so the search passes it over.)
                if _lone_cr(head) is None:  # every other CR is a CRLF's
                    head = head.replace(b"\r", b"") + b"\n"
                else:
                    head = head.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            elif _SHORT <= len(head) <= self._line_limit:
                # Read as CRLF text. (Its bytes are at most the limit, so its characters
                # are too, and no line or event in it can be over the limit.)
                self._read_crlf(head.decode("utf-8", "replace"), events)
                if self._line_size > self._line_limit:
                    self._check_line()
                return events
            else:
                head = _lf(head)
        # spec: P-UTF8 -- U+FFFD. (bytes.decode takes its arguments faster than str().)
        if type(head) is bytes:
            text = head.decode("utf-8", "replace")
        else:
            text = str(head, "utf-8", "replace")
        # Interpret the text: whole lines, each ending in LF, from a line start.
        length = len(text)
        if length < _SHORT or length > self._line_limit:
            # A line or two: cheaper line by line. Or a text longer than the limit, the
            # only kind that can hold a line or an event over it: the line loop
            # measures every line and every event.
            self._run_lines(text, 0, events, False)
        elif self._dirty:
            # The first lines finish the event that earlier reads left unfinished: read
            # them up to its blank line, then the rest from a clean start.
            pos = self._run_lines(text, 0, events, True)
            if pos < length:
                self._process(text, pos, events)
        else:
            # From a clean start, often exactly one event (a read of one, or a
            # trickle's), which one match takes for less than a findall would.
            match = _match_block(text)
            if match is None:
                self._process(text, 0, events)
            else:
                # A common block, already cut into fields by the scanner: optional
                # "event" and "id" lines, one "data" line, then a blank line.
                id1, event, id2, payload, alone = match.groups()
                last_id = self.last_event_id
                if id1 or id2:
                    last_id = (id2 or id1)[3:]
                    if last_id[:1] == " ":
                        last_id = last_id[1:]  # spec: P-FIELD, F-ID, D-ID
                obj: Any = _EventBuilder()  # spec: D-EVENT -- see _EventBuilder
                obj.event = event or "message"
                obj.data = payload
                obj.id = last_id
                obj.retry = None
                obj.__class__ = ServerSentEvent
                events.append(obj)
                self.last_event_id = self._id_buffer = last_id
                if alone is None:  # more follows
                    self._process(text, match.end(), events)
        if self._line_size > self._line_limit:
            # Measured after the whole lines before it took effect, as if the stream
            # were read byte by byte (a retry: or id: before it counts).
            self._check_line()
        return events

    def close(self) -> list[ServerSentEvent]:
        """Mark the end of the stream.

        spec: D-EOF -- an event whose blank line never came is discarded, and so is an
        unfinished last line; the last event ID is left as the last dispatch set it.
        A ``retry:`` already read has taken effect. Closing twice is harmless.

        Returns:
            Always an empty list: no event is completed by the end of the stream. The
            return value keeps ``close`` symmetrical with :meth:`feed` for drivers.
        """
        self._closed = self._guarded = True
        self._line.clear()
        self._line_chars = None
        self._data = []
        return []

    # -- Interpreting lines ------------------------------------------------------------

    def _process(self, text: str, pos: int, events: list[Any]) -> None:
        """Interpret ``text`` from ``pos``, a clean start (every buffer empty) at a line
        start, to its end: whole lines, each ending in LF."""
        # Its blocks up to the last blank line are scanned in C, unless they are too few
        # to pay for it. What follows is at most one unfinished block, for the line loop
        # (the scanner would try it as a common block, then cut it in lines, before the
        # loop read it).
        length = len(text)
        if length - pos < _SHORT:
            stop = 0
        elif text[-2] == "\n":  # it ends with a blank line (past pos: _SHORT > 1)
            stop = length
        else:
            stop = text.rfind("\n\n", pos) + 2
        if stop >= pos + 2:
            last_id = self.last_event_id
            # Two common blocks per match (inline: a call costs more).
            for id1, event, id2, data, id3, event2, id4, second, data2, block in _scan_pairs(
                text, pos, stop
            ):
                if block:
                    last_id = self._other_block(block, last_id, events)
                    continue
                if id1 or id2:
                    last_id = (id2 or id1)[3:]
                    if last_id[:1] == " ":
                        last_id = last_id[1:]
                obj: Any = _EventBuilder()
                obj.event = event or "message"
                obj.data = data
                obj.id = last_id
                obj.retry = None
                obj.__class__ = ServerSentEvent
                events.append(obj)
                if second:
                    if id3 or id4:
                        last_id = (id4 or id3)[3:]
                        if last_id[:1] == " ":
                            last_id = last_id[1:]
                    obj = _EventBuilder()
                    obj.event = event2 or "message"
                    obj.data = data2
                    obj.id = last_id
                    obj.retry = None
                    obj.__class__ = ServerSentEvent
                    events.append(obj)
            # The last block's id is the stream's and the buffer's.
            self.last_event_id = self._id_buffer = last_id
            pos = stop
        if pos < length:
            self._run_lines(text, pos, events, False)

    def _read_crlf(self, text: str, events: list[Any]) -> None:
        """Interpret ``text``: whole lines from a line start, with CRs but no CR last."""
        # A CRLF blank line ("\r\n\r\n") ends an event, whatever comes before it: its
        # LF ends a line, and the CRLF after it is an empty line. So the text is cut
        # right after blank lines: the end of an event under way, read by the book;
        # the blocks from there to the last blank line, scanned as CRLF text; then the
        # last, unfinished block. Each piece but the middle is rewritten to LF.
        start = 0
        if self._dirty:
            start = text.find("\r\n\r\n") + 4
            if start == 3:  # no CRLF blank line: all of it by the book
                start = len(text)
            piece = text[:start].replace("\r\n", "\n").replace("\r", "\n")
            pos = self._run_lines(piece, 0, events, True)
            if pos < len(piece):  # (a blank line of another kind came first)
                self._process(piece, pos, events)
        stop = text.rfind("\r\n\r\n") + 4
        if stop - start >= _SHORT:
            count = len(events)
            last_id = self.last_event_id
            # Two common blocks per match, as in _process, each value checked for an
            # LF of its own.
            for id1, event, id2, data, id3, event2, id4, second, data2, rest in _scan_crlf_pairs(
                text, start, stop
            ):
                if rest:
                    # An uncommon block, from a clean start: it and all after it are
                    # read by the book.
                    self.last_event_id = self._id_buffer = last_id
                    start = stop - len(rest)
                    break
                if "\n" in data or "\n" in event:
                    # Nothing but these events has taken effect yet: drop them and read
                    # all of it by the book.
                    del events[count:]
                    break
                if id1 or id2:
                    last_id = (id2 or id1)[3:]
                    if last_id[:1] == " ":
                        last_id = last_id[1:]
                obj: Any = _EventBuilder()
                obj.event = event or "message"
                obj.data = data
                obj.id = last_id
                obj.retry = None
                obj.__class__ = ServerSentEvent
                events.append(obj)
                if second:
                    if "\n" in data2 or "\n" in event2:
                        del events[count:]
                        break
                    if id3 or id4:
                        last_id = (id4 or id3)[3:]
                        if last_id[:1] == " ":
                            last_id = last_id[1:]
                    obj = _EventBuilder()
                    obj.event = event2 or "message"
                    obj.data = data2
                    obj.id = last_id
                    obj.retry = None
                    obj.__class__ = ServerSentEvent
                    events.append(obj)
            else:
                self.last_event_id = self._id_buffer = last_id
                start = stop
        if start < len(text):
            self._process(text[start:].replace("\r\n", "\n").replace("\r", "\n"), 0, events)

    def _other_block(self, block: str, last_id: str, events: list[Any]) -> str:
        """Read a block the scanner did not cut (``last_id`` is the stream's so far) line
        by line, up to its blank line; return the stream's last event ID after it."""
        self.last_event_id = self._id_buffer = last_id
        self._run_lines(block, 0, events, False)
        return self.last_event_id

    def _run_lines(self, text: str, pos: int, events: list[Any], once: bool) -> int:
        """Interpret the lines of ``text`` from ``pos`` (a line start), by the book.

        ``text`` ends with LF. With ``once``, stop after the first blank line and return
        the position after it; otherwise read to the end (and return its length). The
        event's buffers live in locals meanwhile, and go back to ``self`` at the end.
        """
        # A line or the data may hold at most `limit` characters (the data's size
        # below counts one LF per line, the last one too).
        limited = self._limit is not None
        limit = self._line_limit
        data_limit = limit + 1
        # The buffers of the event being read (spec: "data buffer", "event type
        # buffer", "last event ID buffer") and the block's valid retry value.
        data = self._data
        size = self._data_size  # characters in the data buffer, its LFs included
        event = self._event
        id_buffer = self._id_buffer
        last_id = self.last_event_id
        retry = self._retry
        find = text.find
        length = len(text)
        while pos < length:
            end = find("\n", pos)
            if end == pos:  # spec: P-BLANK -- dispatch
                last_id = id_buffer  # spec: D-ID
                if data:  # spec: D-EMPTY
                    obj: Any = _EventBuilder()  # see its comment
                    obj.event = event or "message"  # spec: D-EVENT
                    obj.data = "\n".join(data)  # spec: D-TRIM -- no trailing LF
                    obj.id = id_buffer
                    obj.retry = retry
                    obj.__class__ = ServerSentEvent
                    events.append(obj)
                    data = []  # spec: D-RESET
                    size = 0
                event = ""
                retry = None
                pos += 1
                if once:
                    break
                continue
            if text[pos : pos + 6] == "data: ":  # the most common line, cut once
                data.append(text[pos + 6 : end])  # spec: F-DATA
                if limited:  # (with no limit, nothing is counted)
                    size += end - pos - 5
                    if size > data_limit or end - pos > limit:
                        self._too_large()
                pos = end + 1
                continue
            if end - pos > limit:
                self._too_large()
            line = text[pos:end]
            pos = end + 1
            name, colon, value = line.partition(":")
            if value[:1] == " ":
                value = value[1:]  # spec: P-FIELD
            if name == "data":  # spec: F-DATA
                data.append(value)
                size += len(value) + 1
                if size > data_limit:
                    self._too_large()
            elif name == "event":  # spec: F-EVENT
                event = value
            elif name == "id":  # spec: F-ID -- a NUL voids the whole field
                if "\0" not in value:
                    id_buffer = value
            elif name == "retry":  # spec: F-RETRY -- ASCII digits only
                if value.isdigit() and value.isascii():
                    retry = _milliseconds(value)
                    self.reconnection_time = retry / 1000
            elif not name and colon and self._on_comment is not None:
                self._comment(line[1:], events)  # spec: P-COMMENT
            # spec: F-OTHER, P-CASE -- anything else is ignored
        self._data = data
        self._data_size = size
        self._event = event
        self._id_buffer = id_buffer
        self.last_event_id = last_id
        self._retry = retry
        # Whether the next text continues an event (the scanner needs a clean start).
        self._dirty = bool(data or event or retry is not None or id_buffer != last_id)
        return pos

    def _comment(self, text: str, events: list[Any]) -> None:
        """Report a comment line (beyond spec: the standard ignores them)."""
        assert self._on_comment is not None
        self._on_comment(text)

    def _check_line(self) -> None:
        """The unfinished line holds more bytes than the limit: count its characters.

        The limit is in characters, which are as many as the bytes or fewer, so the
        count only starts once the bytes pass the limit; it then follows the line
        incrementally and raises as soon as the characters pass it too.
        """
        assert self._limit is not None
        if self._line_chars is None:
            self._line_chars = _LineCounter()
            for piece in self._line[:-1]:
                self._line_chars.add(piece)
        if self._line_chars.add(self._line[-1]) > self._limit:
            self._too_large()

    def _too_large(self) -> None:
        # Where the oversized event ends is unknown, so the parser cannot resynchronise:
        # it drops its buffers and raises the same error from every later feed().
        assert self._limit is not None
        self._closed = self._guarded = True
        self._line.clear()
        self._line_chars = None
        self._data = []
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
