"""The connection logic both sources share, with no I/O.

Rule: nothing here sends, reads or sleeps. :class:`SourceCore` decides (which request to
send, what a response means, what the last event ID is, how long to wait before the
next attempt); the drivers in ``_sync`` and ``_async`` only act on its answers. httpx is
builds the request with the classes of the user's HTTP stack (``_http``), never does I/O.
"""

from __future__ import annotations

import email.utils
import enum
import logging
import re
import time
from collections.abc import AsyncIterator, Callable, Collection, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from ._backoff import Backoff, StopStrategy, WaitStrategy
from ._errors import BODY_PREVIEW_SIZE, HTTPResponse, ResponseError, SSEError
from ._http import Stack

if TYPE_CHECKING:
    from ._http import URL, Response
from ._models import ReadyState
from ._parser import EventStreamParser, InlineCommentParser

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_IDLE_TIMEOUT",
    "DEFAULT_RECONNECTION_TIME",
    "DEFAULT_RETRY_STATUSES",
    "SourceCore",
    "StreamEnded",
    "Verdict",
    "check_response",
    "response_error",
]

logger = logging.getLogger("sse_client")

DEFAULT_RECONNECTION_TIME: Final = 3.0  # seconds; the standard suggests "a few seconds"
DEFAULT_IDLE_TIMEOUT: Final = 300.0  # seconds without a byte before a stream counts as dead
DEFAULT_CONNECT_TIMEOUT: Final = 30.0  # seconds to connect, to send the request, to get a pool slot
#: The statuses reconnected after when a source is given ``retry_statuses=True``.
DEFAULT_RETRY_STATUSES: Final = frozenset({429, 502, 503, 504})

#: Request headers: a mapping, pairs, or either stack's ``Headers``.
HeadersArg = Mapping[str, str] | Sequence[tuple[str, str]] | None
HeaderSource = HeadersArg | Callable[[], HeadersArg]


class StreamEnded(SSEError):
    """The server ended the response body. Reported to ``on_error``, never raised.

    The standard reconnects after it; with reconnection off, iteration just ends.
    It is the ``__cause__`` of a :class:`ReconnectError` when the server kept closing.
    """


class Verdict(enum.Enum):
    """What a response means for the stream (spec: C-200, C-FAIL)."""

    OPEN = "open"  # 200 text/event-stream: read events
    END = "end"  # 204: the server says stop; end cleanly
    FAIL = "fail"  # anything else: fail the connection
    RETRY = "retry"  # a status the user asked to reconnect after


def check_response(response: HTTPResponse, retry_statuses: Collection[int] = ()) -> Verdict:
    """Decide what a response means (spec: C-200, C-FAIL; 204 and retries beyond it)."""
    status = response.status_code
    if status == 204:
        return Verdict.END
    if status != 200:
        return Verdict.RETRY if status in retry_statuses else Verdict.FAIL
    # spec: C-200, C-CHARSET -- the MIME essence, without parameters, any case. The
    # body is UTF-8 whatever a charset parameter says, so parameters are not checked.
    essence = response.headers.get("content-type", "").partition(";")[0].strip().lower()
    return Verdict.OPEN if essence == "text/event-stream" else Verdict.FAIL


def response_error(response: Any, preview: bytes) -> ResponseError:
    """The error for a response that is not an event stream, with what the server said."""
    text = preview[:BODY_PREVIEW_SIZE].decode("utf-8", "replace")
    if response.status_code != 200:
        reason = getattr(response, "reason_phrase", "")
        message = f"expected status 200, got {response.status_code} {reason}".rstrip()
    else:
        content_type = response.headers.get("content-type")
        message = f"expected Content-Type 'text/event-stream', got {content_type!r}"
    if text:
        message += f"; body: {text!r}"
    return ResponseError(message, response=response, body_preview=text)


def retry_after(response: HTTPResponse) -> float:
    """Seconds the server asked us to wait in ``Retry-After`` (0.0 if absent or unreadable)."""
    value = response.headers.get("retry-after", "").strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return 0.0
    return max(0.0, when.timestamp() - time.time())


class SourceCore:
    """The state and decisions of one source, shared by :class:`EventSource` and its twin."""

    __slots__ = (
        "_body",
        "_delivered",
        "_headers",
        "_last_event_id",
        "_on_close",
        "_on_comment",
        "_on_error",
        "_on_open",
        "_on_retry",
        "_reconnection_time",
        "backoff",
        "closed",
        "max_event_size",
        "method",
        "named_url",
        "parser",
        "ready_state",
        "reconnect",
        "response",
        "retry_statuses",
        "stack",
        "timeout",
        "url",
    )

    def __init__(
        self,
        url: object,
        *,
        stack: Stack,
        method: str,
        headers: HeaderSource,
        params: Any,
        content: Any,
        data: Any,
        json: Any,
        last_event_id: str,
        reconnect: bool | None,
        reconnection_time: float,
        max_reconnection_time: float,
        max_attempts: int | None,
        max_elapsed: float | None,
        stop: StopStrategy | None,
        wait: WaitStrategy | None,
        retry_statuses: bool | Collection[int],
        max_event_size: int | None,
        connect_timeout: float,
        idle_timeout: float | None,
        on_open: Callable[[Any], object] | None,
        on_error: Callable[[Exception], object] | None,
        on_retry: Callable[[float], object] | None,
        on_close: Callable[[], object] | None,
        on_comment: Callable[[str], object] | None,
    ) -> None:
        if last_event_id_header(last_event_id) is None:
            raise ValueError(
                "last_event_id cannot be sent as a header: it holds CR, LF, NUL or "
                f"another control character, got {last_event_id!r}"
            )
        if reconnection_time < 0:
            raise ValueError(f"reconnection_time must be >= 0 seconds, got {reconnection_time!r}")
        self.method = method.upper()
        # spec: C-REQ -- resending a non-idempotent request repeats its effect, so only
        # GET reconnects unless the user opts in (beyond spec: other methods at all).
        self.reconnect = self.method == "GET" if reconnect is None else reconnect
        if self.reconnect and isinstance(content, Iterator | AsyncIterator):
            # Sent once, an iterator is empty the second time: a reconnection would send
            # an empty body in silence.
            raise ValueError(
                "content is an iterator, which cannot be sent again when the source "
                "reconnects: pass bytes or str, or reconnect=False"
            )
        self.stack = stack
        #: The URL the user named; the origin that the user's credentials are for.
        self.named_url: URL = stack.module.URL(str(url), params=params)
        self.url: URL = self.named_url
        self.ready_state = ReadyState.CONNECTING
        self.response: Response | None = None
        self.parser: EventStreamParser | None = None
        self.closed = False
        self._headers = headers
        self._body = {"content": content, "data": data, "json": json}
        self._last_event_id = last_event_id
        self._reconnection_time = reconnection_time
        self.retry_statuses: Collection[int] = (
            (DEFAULT_RETRY_STATUSES if retry_statuses else ())
            if isinstance(retry_statuses, bool)
            else frozenset(retry_statuses)
        )
        self.max_event_size = max_event_size
        self.timeout = stack.module.Timeout(connect_timeout, read=idle_timeout)
        self.backoff = Backoff.build(
            base=lambda: self.reconnection_time,
            cap=max_reconnection_time,
            max_attempts=max_attempts,
            max_elapsed=max_elapsed,
            stop=stop,
            wait=wait,
        )
        self._on_open = on_open
        self._on_error = on_error
        self._on_retry = on_retry
        self._on_close = on_close
        self._on_comment = on_comment
        self._delivered = False

    # -- State the user reads ----------------------------------------------------------

    @property
    def last_event_id(self) -> str:
        """The stream's last event ID: what a reconnection sends (spec: D-ID, C-LASTID)."""
        return self._last_event_id if self.parser is None else self.parser.last_event_id

    @property
    def reconnection_time(self) -> float:
        """Seconds to wait before reconnecting: the server's ``retry:``, else the initial value."""
        if self.parser is not None and self.parser.reconnection_time is not None:
            return self.parser.reconnection_time
        return self._reconnection_time

    # -- Decisions -----------------------------------------------------------------------

    def build_request(self, client: Any) -> Any:
        """The request for the next attempt (spec: C-REQ, C-LASTID), built by ``client``."""
        given = self._headers() if callable(self._headers) else self._headers
        headers = self.stack.module.Headers(given)
        headers.setdefault("Accept", "text/event-stream")
        headers.setdefault("Cache-Control", "no-cache")
        raw = [(name, value) for name, value in headers.raw if name.lower() != b"last-event-id"]
        last_event_id = self.last_event_id
        value = last_event_id_header(last_event_id)
        if value:
            raw.append((b"Last-Event-ID", value))
        elif value is None:
            logger.warning("Last-Event-ID not sent: %r holds a control character", last_event_id)
        logger.debug("connecting to %s (Last-Event-ID %r)", self.url, last_event_id)
        return client.build_request(
            self.method,
            self.url,
            headers=raw,
            timeout=self.timeout,
            **self._body,
        )

    def on_response(self, response: Any) -> Verdict:
        """Take a response: open the stream, or say why not."""
        self.response = response
        verdict = check_response(response, self.retry_statuses)
        if verdict is Verdict.OPEN:
            self._follow_redirect(response.url)
            self.ready_state = ReadyState.OPEN  # spec: C-200
            self._delivered = False
            # spec: C-FRESH -- a new stream for the parser; the ID and retry carry over.
            # With a comment hook, comments come back among the events, so that the
            # driver reports both in the order the server sent them.
            parser_class = EventStreamParser if self._on_comment is None else InlineCommentParser
            self.parser = parser_class(
                last_event_id=self._last_event_id,
                max_event_size=self.max_event_size,
                on_comment=self._on_comment,
            )
            logger.info("stream open: %s %s", response.status_code, response.url)
            if self._on_open is not None:
                self._on_open(response)
        elif verdict is Verdict.END:
            logger.info("server answered 204: the stream is over")
            self.close()
        return verdict

    def _follow_redirect(self, final: URL) -> None:
        # spec: C-REDIRECT -- later attempts go where the stream actually came from, as
        # in a browser, but only on the origin the user named. The user's headers (and
        # the client's auth and cookies) are for that origin: across origins the
        # client's redirect policy drops them, and a reconnection sent straight to the
        # other origin would carry them there. So a redirect to another origin is
        # followed again, by the client and its policy, at every attempt.
        self.url = final if _origin(final) == _origin(self.named_url) else self.named_url
        if final != self.url:
            logger.info("redirected to %s; reconnections go to %s", final, self.url)

    def comment(self, text: str) -> None:
        """Report a comment line, in its place among the events (beyond spec)."""
        assert self._on_comment is not None
        self._on_comment(text)

    def on_events(self) -> None:
        """The open connection delivered events: the next failure starts a new run."""
        if not self._delivered:
            self._delivered = True
            self.backoff.reset()

    def on_failure(self, error: Exception, response: Any = None) -> float:
        """Take a failed attempt or a lost stream; return the seconds to wait (C-REESTABLISH).

        Raises:
            The error itself, if this source does not reconnect (a ``StreamEnded`` is
            the caller's to turn into a clean end), or ReconnectError when the
            backoff gives up.
        """
        self._fold_parser()
        if self.closed:
            return 0.0
        self.ready_state = ReadyState.CONNECTING
        logger.info("connection lost: %r", error)
        if self._on_error is not None:
            self._on_error(error)
        if not self.reconnect:
            self.close()
            raise error
        at_least = 0.0 if response is None else retry_after(response)
        try:
            delay = self.backoff.next_delay(error, at_least=at_least)
        except SSEError:
            self.close()
            raise
        logger.info("reconnecting in %.3f s (attempt %d)", delay, self.backoff.attempts)
        if self._on_retry is not None:
            self._on_retry(delay)
        return delay

    def close(self) -> bool:
        """Mark the source closed (spec: C-CLOSE); return whether it was open before.

        The parser is left in place (another thread may be feeding it); the last event
        ID stays readable through it.
        """
        self.ready_state = ReadyState.CLOSED
        if self.closed:
            return False
        self.closed = True
        logger.info("source closed")
        if self._on_close is not None:
            self._on_close()
        return True

    def _fold_parser(self) -> None:
        # spec: C-FRESH, D-EOF -- keep what outlives a connection, drop the rest.
        if self.parser is not None:
            self._last_event_id = self.parser.last_event_id
            if self.parser.reconnection_time is not None:
                self._reconnection_time = self.parser.reconnection_time
            self.parser.close()
            self.parser = None


#: What a browser trims from the edges of a Last-Event-ID value (Fetch's header
#: normalisation as Chromium applies it): tab, space, VT and FF.
_EDGE_SPACE: Final = "\t \x0b\x0c"
#: Characters no HTTP/1.1 header value may hold once its edges are trimmed: the C0
#: controls but tab, and DEL. (A server's id never holds CR or LF: they end its line.)
_UNSENDABLE: Final = re.compile("[\x00-\x08\x0a-\x1f\x7f]")


def last_event_id_header(last_event_id: str) -> bytes | None:
    """The ``Last-Event-ID`` header value for an ID (spec: C-LASTID).

    The ID itself stays verbatim; on the wire its edges lose tab, space, VT and FF, as
    in Chromium, and the rest is UTF-8. ``b""`` means there is nothing to send; ``None``
    that the ID holds a control character no header may carry, so none is sent.

    Example:
        >>> last_event_id_header(" 5\t"), last_event_id_header("a\x0bb")
        (b'5', None)
    """
    value = last_event_id.strip(_EDGE_SPACE)
    return None if _UNSENDABLE.search(value) else value.encode("utf-8")


def _origin(url: Any) -> tuple[str, str, int | None]:
    default = {"http": 80, "https": 443}.get(url.scheme)
    return url.scheme, url.host, default if url.port is None else url.port
