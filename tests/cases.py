"""The standard's parsing rules as a table of byte-exact cases, shared by the tests of
``feed()`` and of ``events()``, the ways to cut each case into reads, and what a caller
sees of reads under a ``max_event_size``. Tags (``spec: X``) refer to the project's
restatement of the WHATWG rules."""

from __future__ import annotations

import pytest

from sse_client import EventStreamParser, EventTooLarge, ServerSentEvent

E = ServerSentEvent
BOM = b"\xef\xbb\xbf"


def chunkings(stream: bytes) -> list[tuple[str, list[bytes]]]:
    """The stream whole, byte by byte, and cut in two at every position."""
    ways = [("whole", [stream]), ("bytewise", [stream[i : i + 1] for i in range(len(stream))])]
    ways += [(f"split-at-{i}", [stream[:i], stream[i:]]) for i in range(1, len(stream))]
    return ways


def case(
    name: str,
    stream: bytes | str,
    events: list[ServerSentEvent],
    last_event_id: str = "",
    retry_ms: int | None = None,
) -> object:
    """One row of the table: a stream, its events and the parser's final state."""
    raw = stream.encode() if isinstance(stream, str) else stream
    return pytest.param(raw, events, last_event_id, retry_ms, id=name)


CASES = [
    # spec: P-UTF8
    case("utf8-multibyte-characters", "data: \u00e9 \u20ac \U0001f600\n\n", [E(data="é € 😀")]),
    case("invalid-byte-becomes-replacement", b"data: a\xffb\n\n", [E(data="a\ufffdb")]),
    case("raw-0x85-is-invalid-not-nel", b"data: \x85\n\n", [E(data="\ufffd")]),
    case("truncated-sequence-before-lf", b"data: \xe2\x82\n\n", [E(data="\ufffd")]),
    case("truncated-sequence-before-cr", b"data: \xf0\x9f\x98\r\r", [E(data="\ufffd")]),
    case("overlong-encoding", b"data: \xc0\xaf\n\n", [E(data="\ufffd\ufffd")]),
    case("encoded-surrogate", b"data: \xed\xa0\x80\n\n", [E(data="\ufffd" * 3)]),
    case("latin1-byte-is-not-latin1", b"data: caf\xe9\n\n", [E(data="caf\ufffd")]),
    case("invalid-byte-in-field-name", b"da\xffta: x\n\n", []),
    # spec: P-BOM
    case("bom-at-start-is-dropped", BOM + b"data: a\n\n", [E(data="a")]),
    case("bom-alone", BOM, []),
    case("bom-then-blank-line", BOM + b"\ndata: a\n\n", [E(data="a")]),
    # The second BOM belongs to the first line, whose field name is then "\ufeffdata".
    case("second-bom-is-data", BOM + BOM + b"data: a\n\n", []),
    case("bom-inside-a-value-is-data", BOM + b"data: " + BOM + b"a\n\n", [E(data="\ufeffa")]),
    case("bom-after-first-event-is-data", b"data: a\n\n" + BOM + b"data: b\n\n", [E(data="a")]),
    case("half-a-bom-is-invalid-utf8", b"\xef\xbbdata: a\n\n", []),
    case("half-a-bom-on-its-own-line", b"\xef\xbb\ndata: a\n\n", [E(data="a")]),
    # spec: P-EOL
    case("lf-line-endings", b"event: e\ndata: a\n\n", [E("e", "a")]),
    case("crlf-line-endings", b"event: e\r\ndata: a\r\n\r\n", [E("e", "a")]),
    case("cr-only-line-endings", b"event: e\rdata: a\r\r", [E("e", "a")]),
    case(
        "mixed-line-endings",
        b"data: a\ndata: b\rdata: c\r\ndata: d\n\n",
        [E(data="a\nb\nc\nd")],
    ),
    case("lf-then-cr-is-two-endings", b"data: a\n\rdata: b\n\n", [E(data="a"), E(data="b")]),
    case("cr-then-crlf", b"data: a\r\r\ndata: b\n\n", [E(data="a"), E(data="b")]),
    case("lf-then-crlf", b"data: a\n\r\ndata: b\n\n", [E(data="a"), E(data="b")]),
    case("crlf-then-lf", b"data: a\r\n\ndata: b\r\n\r\n", [E(data="a"), E(data="b")]),
    # spec: P-CR-SPLIT (every two-way split of these cuts some CRLF in two)
    case("crlf-at-stream-start", b"\r\ndata: a\r\n\r\n", [E(data="a")]),
    case("crlf-blank-lines", b"data: a\r\n\r\n\r\n\r\ndata: b\r\n\r\n", [E(data="a"), E(data="b")]),
    # spec: P-NOSPLIT
    case(
        "unicode-separators-are-data",
        "data: a\u2028b\u2029c\u0085d\n\n",
        [E(data="a\u2028b\u2029c\u0085d")],
    ),
    case(
        "ascii-separators-are-data",
        b"data: a\x0bb\x0cc\x1cd\x1de\x1ef\n\n",
        [E(data="a\x0bb\x0cc\x1cd\x1de\x1ef")],
    ),
    case(
        "separators-never-make-a-blank-line",
        "data: a\u2028\u2028data: b\n\n",
        [E(data="a\u2028\u2028data: b")],
    ),
    case(
        "formfeeds-never-make-a-blank-line",
        b"data: a\x0c\x0cdata: b\x0b\x0b\n\n",
        [E(data="a\x0c\x0cdata: b\x0b\x0b")],
    ),
    case("separator-in-field-name", "data\u2028: x\n\n", []),
    # spec: P-BLANK
    case("blank-line-dispatches", b"data: a\n\ndata: b\n\n", [E(data="a"), E(data="b")]),
    case(
        "runs-of-blank-lines",
        b"\n\n\ndata: a\n\n\n\n\ndata: b\n\n\n",
        [E(data="a"), E(data="b")],
    ),
    case("no-blank-line-no-event", b"data: a\n", []),
    # spec: P-COMMENT
    case("comment-ignored", b": hello\ndata: a\n\n", [E(data="a")]),
    case("comment-inside-an-event", b"data: a\n: note\ndata: b\n\n", [E(data="a\nb")]),
    case("comment-only-block", b": keep-alive\n\n", []),
    case("colon-alone-is-a-comment", b":\n\n", []),
    case("comment-that-looks-like-a-field", b":data: x\n:id: 3\n:retry: 5\n\n", []),
    case("space-then-colon-is-not-a-comment", b" :x\ndata: a\n\n", [E(data="a")]),
    # spec: P-FIELD
    case("no-space-after-colon", b"data:a\n\n", [E(data="a")]),
    case("only-one-space-removed", b"data:  a\n\n", [E(data=" a")]),
    case("tab-is-kept", b"data:\ta\n\n", [E(data="\ta")]),
    case("space-then-tab", b"data: \ta\n\n", [E(data="\ta")]),
    case("name-ends-at-first-colon", b"data: a: b:c\n\n", [E(data="a: b:c")]),
    case("value-starting-with-colon", b"data:: x\n\n", [E(data=": x")]),
    case("trailing-spaces-kept", b"data: a  \n\n", [E(data="a  ")]),
    case("space-before-name-is-another-field", b" data: a\n\n", []),
    case("space-before-colon-is-another-field", b"data : a\n\n", []),
    # spec: P-NOCOLON
    case("data-without-colon", b"data\n\n", [E(data="")]),
    case("two-bare-data-lines", b"data\ndata\n\n", [E(data="\n")]),
    case("bare-data-between-lines", b"data: a\ndata\ndata: b\n\n", [E(data="a\n\nb")]),
    case("bare-event-empties-the-type", b"event: e\nevent\ndata: a\n\n", [E(data="a")]),
    case(
        "bare-id-resets-the-id",
        b"id: 1\ndata: a\n\nid\ndata: b\n\n",
        [E(data="a", id="1"), E(data="b")],
    ),
    case("bare-retry-is-ignored", b"retry\ndata: a\n\n", [E(data="a")]),
    case("bare-unknown-name", b"x\ndata: a\n\n", [E(data="a")]),
    # spec: P-CASE
    case("capitalised-data", b"Data: a\n\n", []),
    case("upper-case-data", b"DATA: a\n\n", []),
    case("capitalised-event", b"Event: e\ndata: a\n\n", [E(data="a")]),
    case("upper-case-id", b"ID: 1\ndata: a\n\n", [E(data="a")]),
    case("capitalised-retry", b"Retry: 5\ndata: a\n\n", [E(data="a")]),
    # spec: F-EVENT
    case("event-type", b"event: add\ndata: a\n\n", [E("add", "a")]),
    case("last-event-field-wins", b"event: a\nevent: b\ndata: x\n\n", [E("b", "x")]),
    case("event-after-data", b"data: x\nevent: late\n\n", [E("late", "x")]),
    case("event-type-keeps-inner-spaces", b"event:  spaced \ndata: x\n\n", [E(" spaced ", "x")]),
    case("event-type-may-be-message", b"event: message\ndata: x\n\n", [E(data="x")]),
    # spec: F-DATA
    case("data-lines-join-with-lf", b"data: a\ndata: b\ndata: c\n\n", [E(data="a\nb\nc")]),
    case("data-keeps-nul", b"data: a\x00b\n\n", [E(data="a\x00b")]),
    # spec: F-ID
    case("id-is-set", b"id: 7\ndata: a\n\n", [E(data="a", id="7")], "7"),
    case(
        "id-with-nul-is-ignored",
        b"id: 1\ndata: a\n\nid: 2\x00\ndata: b\n\n",
        [E(data="a", id="1"), E(data="b", id="1")],
        "1",
    ),
    case(
        "id-of-only-nul-is-ignored", b"id: 1\n\nid: \x00\ndata: a\n\n", [E(data="a", id="1")], "1"
    ),
    case(
        "empty-id-resets",
        b"id: 1\ndata: a\n\nid:\ndata: b\n\n",
        [E(data="a", id="1"), E(data="b")],
    ),
    case("id-loses-one-space-only", b"id:  x\ndata: a\n\n", [E(data="a", id=" x")], " x"),
    case("last-id-field-wins", b"id: 1\nid: 2\ndata: a\n\n", [E(data="a", id="2")], "2"),
    case("id-after-data", b"data: a\nid: 3\n\n", [E(data="a", id="3")], "3"),
    case(
        "id-keeps-separators",
        "id: a\u2028b\ndata: x\n\n",
        [E(data="x", id="a\u2028b")],
        "a\u2028b",
    ),
    # spec: F-RETRY
    case("retry-sets-reconnection-time", b"retry: 2500\n\n", [], retry_ms=2500),
    case("retry-without-space", b"retry:20\n\n", [], retry_ms=20),
    case("retry-zero", b"retry: 0\n\n", [], retry_ms=0),
    case("retry-leading-zeros", b"retry: 007\n\n", [], retry_ms=7),
    case("retry-with-plus-sign", b"retry: +5\n\n", []),
    case("retry-with-trailing-space", b"retry: 5 \n\n", []),
    case("retry-with-two-leading-spaces", b"retry:  5\n\n", []),
    case("retry-with-tab", b"retry:\t5\n\n", []),
    case("retry-decimal", b"retry: 1.5\n\n", []),
    case("retry-empty", b"retry:\n\n", []),
    case("retry-negative", b"retry: -1\n\n", []),
    case("retry-full-width-digit", "retry: \uff15\n\n", []),
    case("retry-arabic-indic-digit", "retry: \u0665\n\n", []),
    case("retry-superscript-digit", "retry: \u00b2\n\n", []),
    case("retry-with-unit", b"retry: 5s\n\n", []),
    case("retry-with-underscore", b"retry: 1_000\n\n", []),
    case("invalid-retry-keeps-previous", b"retry: 100\n\nretry: x\n\n", [], retry_ms=100),
    case(
        "retry-on-its-event-only",
        b"retry: 5\ndata: a\n\ndata: b\n\n",
        [E(data="a", retry=5), E(data="b")],
        retry_ms=5,
    ),
    case("retry-only-block-then-event", b"retry: 5\n\ndata: a\n\n", [E(data="a")], retry_ms=5),
    case("invalid-retry-event-has-none", b"retry: x\ndata: a\n\n", [E(data="a")]),
    case(
        "last-valid-retry-in-block-wins",
        b"retry: 5\nretry: 7\nretry: x\ndata: a\n\n",
        [E(data="a", retry=7)],
        retry_ms=7,
    ),
    # spec: F-OTHER
    case("unknown-field-ignored", b"foo: bar\ndata: a\n\n", [E(data="a")]),
    case("unknown-field-only", b"foo: bar\n\n", []),
    # spec: D-ID
    case(
        "id-persists-across-events",
        b"id: 1\ndata: a\n\ndata: b\n\n",
        [E(data="a", id="1"), E(data="b", id="1")],
        "1",
    ),
    case("id-only-block-updates-last-event-id", b"id: 5\n\n", [], "5"),
    case("id-only-block-then-event", b"id: 5\n\ndata: a\n\n", [E(data="a", id="5")], "5"),
    case(
        "id-persists-until-changed",
        b"id: 1\ndata: a\n\ndata: b\n\nid: 2\ndata: c\n\ndata: d\n\n",
        [E(data="a", id="1"), E(data="b", id="1"), E(data="c", id="2"), E(data="d", id="2")],
        "2",
    ),
    # spec: D-EMPTY
    case("event-only-block", b"event: e\n\n", []),
    case("retry-only-block", b"retry: 5\n\n", [], retry_ms=5),
    case("comment-id-retry-event-block", b"id: 1\nretry: 5\nevent: e\n: c\n\n", [], "1", 5),
    case("data-colon-alone", b"data:\n\n", [E(data="")]),
    case("data-colon-space-alone", b"data: \n\n", [E(data="")]),
    case("data-alone-with-type", b"event: e\ndata\n\n", [E("e", "")]),
    # spec: D-TRIM
    case("one-trailing-lf-removed", b"data: a\ndata\n\n", [E(data="a\n")]),
    case("three-bare-data-lines", b"data\ndata\ndata\n\n", [E(data="\n\n")]),
    case("value-of-one-space", b"data:  \n\n", [E(data=" ")]),
    # spec: D-EVENT
    case("default-type-is-message", b"data: a\n\n", [E("message", "a")]),
    case("empty-event-field-means-message", b"event:\ndata: a\n\n", [E(data="a")]),
    case("event-field-of-one-space-means-message", b"event: \ndata: a\n\n", [E(data="a")]),
    # spec: D-RESET
    case(
        "event-type-does-not-leak",
        b"event: e\ndata: a\n\ndata: b\n\n",
        [E("e", "a"), E(data="b")],
    ),
    case("event-only-block-does-not-leak", b"event: e\n\ndata: b\n\n", [E(data="b")]),
    case(
        "retry-does-not-leak",
        b"retry: 3\nevent: e\n\ndata: b\n\n",
        [E(data="b")],
        retry_ms=3,
    ),
    # spec: D-EOF
    case("unterminated-event-discarded", b"data: a\n\ndata: b\n", [E(data="a")]),
    case("unterminated-last-line-discarded", b"data: a\n\ndata: b", [E(data="a")]),
    case(
        "unterminated-id-is-not-the-last-event-id",
        b"id: 1\ndata: a\n\nid: 2\ndata: b\n",
        [E(data="a", id="1")],
        "1",
    ),
    case(
        "unterminated-retry-takes-effect",
        b"data: a\n\nretry: 9\ndata: b\n",
        [E(data="a")],
        retry_ms=9,
    ),
    case("retry-line-without-line-end-is-never-read", b"retry: 9", []),
    case("retry-line-ended-by-final-cr", b"retry: 9\r", [], retry_ms=9),
    case("event-ended-by-final-cr", b"data: a\r\r", [E(data="a")]),
    case("empty-stream", b"", []),
]


def until_too_large(
    chunks: list[bytes], limit: int, *, use_events: bool
) -> tuple[list[ServerSentEvent], bool, str, float | None]:
    """The events delivered before EventTooLarge, whether it was raised, and the state."""
    parser = EventStreamParser(max_event_size=limit)
    got: list[ServerSentEvent] = []
    raised = False
    try:
        if use_events:
            got.extend(parser.events(chunks))
        else:
            for chunk in chunks:
                got += parser.feed(chunk)
    except EventTooLarge:
        raised = True
    return got, raised, parser.last_event_id, parser.reconnection_time
