"""The connection logic both sources share, with no I/O.

Rule: nothing here sends, reads or sleeps. :class:`SourceCore` decides (which request to
send, what a response means, what the last event ID is, whether and how long to wait
before the next attempt); the drivers in ``_sync`` and ``_async`` only act on its
answers. Requests are built with the classes of the user's HTTP stack (``_http``).
:class:`BaseEventSource` holds what the two sources share: their settings and the state
a user reads.
"""

from __future__ import annotations

import email.utils
import enum
import functools
import logging
import re
import time
import types
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Collection,
    Iterator,
    Mapping,
    Sequence,
)
from typing import TYPE_CHECKING, Any, Final, Generic, TypeAlias, TypeVar

from ._backoff import Backoff
from ._errors import BODY_PREVIEW_SIZE, HTTPResponse, ResponseError, SSEError
from ._http import Stack, stack_of
from ._models import ReadyState
from ._parser import DEFAULT_MAX_EVENT_SIZE, EventStreamParser, InlineCommentParser
from ._policy import NEVER, RECONNECT, STOP, Failure, Hooks, ReconnectPolicy, Stop, Timeouts

if TYPE_CHECKING:
    from ._http import URL

__all__ = [
    "BaseEventSource",
    "SourceCore",
    "StreamEnded",
    "Verdict",
    "check_response",
    "response_error",
]

logger = logging.getLogger("sse_client")

#: Request headers: a mapping, pairs, or either stack's ``Headers``.
HeadersArg = Mapping[str, str | bytes] | Sequence[tuple[str | bytes, str | bytes]] | None
_T = TypeVar("_T")
#: A value, or a function called before every attempt that returns it (on
#: :class:`AsyncEventSource`, an async function too).
PerAttempt: TypeAlias = _T | Callable[[], _T] | Callable[[], Awaitable[_T]]


class StreamEnded(SSEError):
    """The response body ended. Given to ``on_error``, never raised.

    ``clean`` tells a body that ended properly (the chunked terminator, the whole
    Content-Length, the end of a body delimited by the connection's close) from one
    that :meth:`EventSource.reconnect` cut. A broken body (an incomplete one, a reset,
    the idle timeout) is the HTTP stack's own network error instead.

    Attributes:
        clean: Whether the server ended the body properly.
    """

    def __init__(self, message: str = "the server ended the stream", *, clean: bool = True):
        super().__init__(message)
        self.clean = clean


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
        "_comments",
        "_headers",
        "_last_event_id",
        "_opened_at",
        "_reconnection_time",
        "_target",
        "backoff",
        "closed",
        "hooks",
        "max_event_size",
        "method",
        "named_url",
        "parser",
        "policy",
        "ready_state",
        "response",
        "source",
        "stack",
        "timeout",
        "url",
    )

    def __init__(
        self,
        source: object,
        url: PerAttempt[URL | str],
        *,
        stack: Stack,
        method: str,
        headers: PerAttempt[HeadersArg],
        params: PerAttempt[Any],
        body: dict[str, Any],
        last_event_id: str,
        reconnect: ReconnectPolicy | bool | None,
        timeout: Timeouts,
        max_event_size: int | None,
        hooks: Hooks | None,
    ) -> None:
        if last_event_id_header(last_event_id) is None:
            raise ValueError(
                "last_event_id cannot be sent as a header: it holds CR, LF, NUL or "
                f"another control character, got {last_event_id!r}"
            )
        self.source = source
        self.stack = stack
        self.method = method.upper()
        # spec: C-REQ -- resending a non-idempotent request repeats its effect, so only
        # GET reconnects unless the user opts in (beyond spec: other methods at all).
        if reconnect is None:
            reconnect = self.method == "GET"
        if isinstance(reconnect, bool):
            reconnect = RECONNECT if reconnect else NEVER
        self.policy = reconnect
        if reconnect.after != "never" and isinstance(body.get("content"), Iterator | AsyncIterator):
            # Sent once, an iterator is empty the second time: a reconnection would send
            # an empty body in silence.
            raise ValueError(
                "content is an iterator, which cannot be sent again when the source "
                "reconnects: pass bytes or str, or reconnect=False"
            )
        # A URL or params given as functions name the target anew at every attempt.
        self._target: tuple[Any, Any] | None = None
        #: The URL the user named; the origin that the user's credentials are for.
        self.named_url: URL
        if callable(url) or callable(params):
            self._target = (url, params)
            self.named_url = stack.module.URL("")
        else:
            self.named_url = self._url(url, params)
        self.url: URL = self.named_url
        self._headers = headers
        # Most streams send no body: they share one empty mapping.
        self._body = {name: value for name, value in body.items() if value is not None} or _NO_BODY
        self.ready_state = ReadyState.CONNECTING
        self.response: Any = None  # the stack's response, as the driver's type says
        self.parser: EventStreamParser | None = None
        self.closed = False
        self._last_event_id = last_event_id
        self._reconnection_time = reconnect.delay
        self._opened_at: float | None = None
        self.max_event_size = max_event_size
        self.timeout = _stack_timeout(stack, timeout)
        self.backoff: Backoff | None = None  # made at the first failure: most streams never fail
        self.hooks = _NO_HOOKS if hooks is None else hooks
        # Comments are parsed only for a hook that wants them.
        self._comments = type(self.hooks).on_comment is not Hooks.on_comment

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

    def per_attempt(self) -> list[Any]:
        """The values to resolve before an attempt: headers, and the URL and params when
        they are functions. A driver calls each callable (and awaits what it returns, on
        the async side), then passes the results to :meth:`build_request`."""
        values: list[Any] = [self._headers]
        if self._target is not None:
            values += self._target
        return values

    def build_request(self, client: Any, headers: HeadersArg, *target: Any) -> Any:
        """The request for the next attempt (spec: C-REQ, C-LASTID), built by ``client``."""
        if target:
            url, params = target
            self.named_url = self.url = self._url(url, params)
        merged = self.stack.module.Headers(headers)
        merged.setdefault("Accept", "text/event-stream")
        merged.setdefault("Cache-Control", "no-cache")
        raw = [(name, value) for name, value in merged.raw if name.lower() != b"last-event-id"]
        last_event_id = self.last_event_id
        value = last_event_id_header(last_event_id)
        if value:
            raw.append((b"Last-Event-ID", value))
        elif value is None:
            logger.warning("Last-Event-ID not sent: %r holds a control character", last_event_id)
        logger.debug("connecting to %s (Last-Event-ID %r)", self.url, last_event_id)
        return client.build_request(
            self.method, self.url, headers=raw, timeout=self.timeout, **self._body
        )

    def _url(self, url: URL | str, params: Any) -> URL:
        # A URL's own query stays unless params are given (params=None would clear it).
        built: URL = self.stack.module.URL(
            str(url), **({} if params is None else {"params": params})
        )
        return built

    def on_response(self, response: Any) -> Verdict:
        """Take a response: open the stream, or say why not."""
        self.response = response
        verdict = check_response(response, self.policy.statuses)
        if verdict is Verdict.OPEN:
            self._follow_redirect(response.url)
            self.ready_state = ReadyState.OPEN  # spec: C-200
            self._opened_at = time.monotonic()
            # spec: C-FRESH -- a new stream for the parser; the ID and retry carry over.
            # With a comment hook, comments come back among the events, so that the
            # driver reports both in the order the server sent them.
            if self._comments:
                self.parser = InlineCommentParser(
                    last_event_id=self._last_event_id,
                    max_event_size=self.max_event_size,
                    on_comment=self.comment,
                )
            else:
                self.parser = EventStreamParser(
                    last_event_id=self._last_event_id, max_event_size=self.max_event_size
                )
            logger.info("stream open: %s %s", response.status_code, response.url)
            self.hooks.on_open(self.source, response)
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
        if final == self.url:
            return  # no redirect, or the same one again
        self.url = final if _origin(final) == _origin(self.named_url) else self.named_url
        if final != self.url:
            logger.info("redirected to %s; reconnections go to %s", final, self.url)

    def comment(self, text: str) -> None:
        """Report a comment line, in its place among the events (beyond spec)."""
        self.hooks.on_comment(self.source, text)

    def on_failure(self, error: Exception, response: Any = None) -> float:
        """Take a failed attempt or an ended stream; return the seconds to wait before
        the next attempt (spec: C-REESTABLISH). A stream that ends here leaves the
        source closed, and the driver's loop ends with it.

        Raises:
            The error itself when nothing reconnects after it (a clean end just ends
            the stream), or ReconnectError when the policy's limits ran out.
        """
        self._fold_parser()
        if self.closed:
            return 0.0
        self.ready_state = ReadyState.CONNECTING
        clean = isinstance(error, StreamEnded) and error.clean
        opened_at, self._opened_at = self._opened_at, None
        backoff = self.backoff
        if backoff is None:
            backoff = self.backoff = Backoff.build(self.policy, base=lambda: self.reconnection_time)
        if opened_at is not None and time.monotonic() - opened_at >= self.policy.reset_after:
            backoff.reset()  # the connection was healthy: this failure is the first
        if clean:
            logger.info("the server ended the stream")
        else:
            logger.info("connection lost: %r", error)
        after = self.policy.after
        reconnects = after == "always" or (after == "errors" and not clean)
        if isinstance(error, ResponseError):
            reconnects = reconnects and error.status_code in self.policy.statuses
        at_least = 0.0 if response is None else retry_after(response)
        delay = backoff.next_delay(error, at_least=at_least)
        answer = self.hooks.on_error(
            self.source, Failure(error, backoff.failures, delay if reconnects else None)
        )
        if answer is None:
            if not reconnects:
                answer = STOP
            elif delay is None:
                self.close()
                raise backoff.gave_up(error) from error
            else:
                answer = delay
        if isinstance(answer, Stop):
            self.close()
            if clean:
                return 0.0
            raise error
        if not answer >= 0:
            raise ValueError(f"on_error must return seconds >= 0, None or STOP, got {answer!r}")
        logger.info("reconnecting in %.3f s (failure %d)", answer, backoff.failures)
        self.hooks.on_retry(self.source, answer)
        return float(answer)

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
        self.hooks.on_close(self.source)
        return True

    def _fold_parser(self) -> None:
        # spec: C-FRESH, D-EOF -- keep what outlives a connection, drop the rest.
        if self.parser is not None:
            self._last_event_id = self.parser.last_event_id
            if self.parser.reconnection_time is not None:
                self._reconnection_time = self.parser.reconnection_time
            self.parser.close()
            self.parser = None


_ClientT = TypeVar("_ClientT")
_ResponseT = TypeVar("_ResponseT")


class BaseEventSource(Generic[_ClientT, _ResponseT]):
    """What :class:`EventSource` and :class:`AsyncEventSource` share: their settings,
    and the state a user reads.

    Args:
        url: The stream's URL, or a function called before every attempt that returns
            it (on :class:`AsyncEventSource`, an async function too), for targets that
            move, such as a cursor in the query.
        client: Your own client, of httpx2 or httpx (auth, proxies, transports, mocks):
            ``Client`` for :class:`EventSource`, ``AsyncClient`` for its twin, which
            also takes an ``aiohttp.ClientSession`` (asyncio only). It is not closed by
            the source. Without one, the source makes and closes an httpx2 one.
        method: The HTTP method. Only GET reconnects by default: resending a POST
            repeats its effect (an LLM generates again), so opt in with ``reconnect``.
        headers: Extra request headers, or a function called before every attempt that
            returns them (async too on :class:`AsyncEventSource`), for tokens that expire.
        params: Query parameters, or a function returning them before every attempt.
        content: A raw request body (bytes or str to be sent again on reconnection).
            Also ``data`` (a form) and ``json``.
        last_event_id: The last event ID to resume from; sent on the first request too.
        reconnect: A :class:`ReconnectPolicy`: when to reconnect, and how long to wait.
            ``True`` is the default policy, ``False`` never reconnects; ``None`` (the
            default) reconnects for GET only.
        timeout: :class:`Timeouts` for connecting and for an idle stream.
        max_event_size: The most characters one event or line may hold (``None``: no
            limit); crossing it raises :class:`EventTooLarge`.
        hooks: A :class:`Hooks` object: told of every open, failure, wait, comment and
            close, and asked, failure by failure, whether to reconnect.

    Example:
        >>> source = EventSource(
        ...     "https://example.com/stream",
        ...     reconnect=ReconnectPolicy(after="errors", max_attempts=5),
        ...     timeout=Timeouts(idle=60),
        ... )
        >>> source.policy.max_attempts
        5
    """

    __slots__ = ("_client", "_core", "_owns_client")
    _client: Any  # the user's client, or the source's own, as the driver calls it

    def __init__(
        self,
        url: PerAttempt[URL | str],
        *,
        client: _ClientT | None = None,
        method: str = "GET",
        headers: PerAttempt[HeadersArg] = None,
        params: PerAttempt[Any] = None,
        content: Any = None,
        data: Any = None,
        json: Any = None,
        last_event_id: str = "",
        reconnect: ReconnectPolicy | bool | None = None,
        timeout: Timeouts = Timeouts(),  # noqa: B008 -- frozen, so one default is fine
        max_event_size: int | None = DEFAULT_MAX_EVENT_SIZE,
        hooks: Hooks | None = None,
    ) -> None:
        stack = stack_of(client)
        self._core = SourceCore(
            self,
            url,
            stack=stack,
            method=method,
            headers=headers,
            params=params,
            body={"content": content, "data": data, "json": json},
            last_event_id=last_event_id,
            reconnect=reconnect,
            timeout=timeout,
            max_event_size=max_event_size,
            hooks=hooks,
        )
        self._owns_client = client is None
        self._start(stack, client)

    def _start(self, stack: Stack, client: _ClientT | None) -> None:
        """Set up the driver: its client (the given one, or its own), its buffers."""
        raise NotImplementedError

    @property
    def ready_state(self) -> ReadyState:
        """CONNECTING, OPEN or CLOSED (spec: C-STATES)."""
        return self._core.ready_state

    @property
    def url(self) -> URL:
        """Where the next connection goes: after a redirect on the same origin, the
        stream's final URL (of the client's stack)."""
        return self._core.url

    @property
    def last_event_id(self) -> str:
        """The stream's last event ID, sent as ``Last-Event-ID`` when reconnecting."""
        return self._core.last_event_id

    @property
    def reconnection_time(self) -> float:
        """Seconds to wait before reconnecting (the server's ``retry:`` once it sent one)."""
        return self._core.reconnection_time

    @property
    def response(self) -> _ResponseT | None:
        """The current (or last) response: its status and headers."""
        response: _ResponseT | None = self._core.response
        return response

    @property
    def policy(self) -> ReconnectPolicy:
        """The reconnection policy in force."""
        return self._core.policy


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


#: The body of a request that has none; and the hooks of a source given none. Shared by
#: every such source, since thousands may live in one process (neither holds state).
_NO_BODY: Final[Mapping[str, Any]] = types.MappingProxyType({})
_NO_HOOKS: Final = Hooks()


@functools.lru_cache(maxsize=32)
def _stack_timeout(stack: Stack, timeout: Timeouts) -> Any:
    # One timeout object per stack and setting, shared by the sources that use them.
    return stack.module.Timeout(timeout.connect, read=timeout.idle)


def _origin(url: Any) -> tuple[str, str, int | None]:
    default = {"http": 80, "https": 443}.get(url.scheme)
    return url.scheme, url.host, default if url.port is None else url.port
