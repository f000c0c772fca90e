"""The decisions both sources share, with no I/O.

Rule: nothing here sends, reads or sleeps. :class:`SourceCore` decides (which request to
send, what a response means, what the last event ID is, whether and how long to wait
before the next attempt, by way of ``_backoff``); the drivers in ``_sync`` and
``_async`` only act on its answers. Requests are built with the classes of the user's
HTTP stack (``_http``).
"""

from __future__ import annotations

import email.utils
import enum
import functools
import logging
import re
import sys
import time
import types
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Collection,
    Generator,
    Iterator,
    Mapping,
)
from typing import TYPE_CHECKING, Any, Final, TypeAlias

from ._backoff import (
    Action,
    Attempt,
    End,
    Kind,
    Run,
    Wait,
    certificate_error,
    propose,
    resolve,
    waited,
)
from ._errors import BODY_PREVIEW_SIZE, EventTooLarge, HTTPResponse, ResponseError, StreamEnded
from ._http import Stack
from ._models import ReadyState, ServerSentEvent
from ._parser import EventStreamParser, InlineCommentParser
from ._policy import (
    NEVER,
    RECONNECT,
    Failure,
    HeadersArg,
    Hooks,
    PerAttempt,
    ReconnectPolicy,
    Resume,
    Stop,
    Timeouts,
)

if TYPE_CHECKING:
    from ._http import URL

__all__ = [
    "SourceCore",
    "Verdict",
    "check_response",
    "response_error",
]

logger = logging.getLogger("sse_client")

#: How every attempt after the first is made: a :class:`Resume`, or a function of the
#: source that returns one (``None``: as the first; :data:`STOP`: no more attempts),
#: async too on the async source.
ResumeArg: TypeAlias = (
    Resume
    | Callable[[Any], Resume | Stop | None]
    | Callable[[Any], Awaitable[Resume | Stop | None]]
    | None
)


class Verdict(enum.Enum):
    """What a response means for the stream (spec: C-200, C-FAIL)."""

    OPEN = "open"  # 200 text/event-stream: read events
    END = "end"  # 204: the server says stop; end cleanly
    FAIL = "fail"  # anything else: fail the connection (unless the policy retries it)
    WHOLE = "whole"  # 200 of a type in also_accept: the whole body is one event


def check_response(response: HTTPResponse, also_accept: Collection[str] = ()) -> Verdict:
    """Decide what a response means (spec: C-200, C-FAIL; 204 beyond it)."""
    status = response.status_code
    if status == 204:
        return Verdict.END
    if status != 200:
        return Verdict.FAIL
    # spec: C-200, C-CHARSET -- the MIME essence, without parameters, any case. The
    # body is UTF-8 whatever a charset parameter says, so parameters are not checked.
    essence = response.headers.get("content-type", "").partition(";")[0].strip().lower()
    if essence == "text/event-stream":
        return Verdict.OPEN
    return Verdict.WHOLE if essence in also_accept else Verdict.FAIL


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
        "_accept",
        "_attempts",
        "_body",
        "_headers",
        "_opened_at",
        "_opened_id",
        "_resume",
        "_target",
        "_told",
        "_whole",
        "also_accept",
        "calls_back",
        "closed",
        "comments",
        "feed",
        "hooks",
        "max_event_size",
        "method",
        "named_url",
        "parser",
        "policy",
        "progressed",
        "ready_state",
        "response",
        "run",
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
        resume: ResumeArg,
        also_accept: Collection[str],
        timeout: Timeouts,
        max_event_size: int | None,
        hooks: Hooks | None,
    ) -> None:
        if last_event_id_header(last_event_id) is None:
            raise ValueError(
                "last_event_id cannot be sent as a header: it holds CR, LF, NUL or "
                f"another control character, got {last_event_id!r}"
            )
        if resume is not None and not isinstance(resume, Resume) and not callable(resume):
            raise TypeError(f"resume must be a Resume or a function, got {resume!r}")
        self.source = source
        self.stack = stack
        self.method = sys.intern(method.upper())  # one string per method, not per source
        # spec: C-REQ -- resending a non-idempotent request repeats its effect, so only
        # a source whose reconnections are GETs reconnects unless the user opts in
        # (beyond spec: other methods at all). A resume function is such an opt-in.
        if reconnect is None:
            again = self.method if resume is None else getattr(resume, "method", "GET")
            reconnect = again == "GET"
        if isinstance(reconnect, bool):
            reconnect = RECONNECT if reconnect else NEVER
        self.policy = reconnect
        resent = resume is None or callable(resume)  # is the first body sent again?
        if (
            resent
            and reconnect.after != "never"
            and isinstance(body.get("content"), Iterator | AsyncIterator)
        ):
            # Sent once, an iterator is empty the second time: a reconnection would send
            # an empty body in silence.
            raise ValueError(
                "content is an iterator, which cannot be sent again when the source "
                "reconnects: pass bytes or str, or reconnect=False"
            )
        self._resume = resume
        self.also_accept = (
            frozenset(kind.lower() for kind in also_accept) if also_accept else _EVENT_STREAM_ONLY
        )
        self._accept = ", ".join(["text/event-stream", *sorted(self.also_accept)])
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
        #: Whether building a request calls a function of the user's (a per-attempt
        #: setting, or a resume function), which may wait: the drivers' cue that
        #: building it must be interruptible too.
        self.calls_back = self._target is not None or callable(headers) or callable(resume)
        self._body = _body(body)
        self._attempts = 0
        self.ready_state = ReadyState.CONNECTING
        self.response: Any = None  # the stack's response, as the driver's type says
        self.closed = False
        # on_close: True once told; before, None if a close() caller tells it, False if
        # the iteration does (see close()).
        self._told: bool | None = False
        # What tells a connection that worked from one that failed (see on_failure).
        self._opened_at: float | None = None
        self._opened_id = ""
        self.progressed = False
        self.max_event_size = max_event_size
        self.timeout = _stack_timeout(stack, timeout)
        self.run = _NO_FAILURES
        self.hooks = _NO_HOOKS if hooks is None else hooks
        #: Whether comment lines are parsed, and come among the events: only for a hook
        #: that wants them.
        self.comments = type(self.hooks).on_comment is not Hooks.on_comment
        # spec: C-FRESH -- one parser for every connection, reset at each: the last event
        # ID and the reconnection time carry over. With a comment hook, comments come
        # back among the events, so that the driver reports both in the order the server
        # sent them.
        self.parser = (
            InlineCommentParser(
                last_event_id=last_event_id, max_event_size=max_event_size, on_comment=self.comment
            )
            if self.comments
            else EventStreamParser(last_event_id=last_event_id, max_event_size=max_event_size)
        )
        #: What the driver gives each read of the open body: the parser's ``feed``, or an
        #: answer of ``also_accept``'s, read whole.
        self.feed: Callable[[bytes], list[Any]] = self.parser.feed
        self._whole: WholeBody | None = None

    # -- State the user reads ----------------------------------------------------------

    @property
    def last_event_id(self) -> str:
        """The stream's last event ID: what a reconnection sends (spec: D-ID, C-LASTID)."""
        return self.parser.last_event_id

    @property
    def reconnection_time(self) -> float:
        """Seconds to wait before reconnecting: the server's ``retry:``, else the policy's."""
        retry = self.parser.reconnection_time
        return self.policy.reconnection_time if retry is None else retry

    # -- Decisions -----------------------------------------------------------------------

    def attempt(self, client: Any) -> Generator[Callable[[], Any], Any, Any]:
        """The request of the next attempt (spec: C-REQ, C-LASTID), built by ``client``.

        A generator, so that one description serves both drivers: it yields each setting
        given as a function, and takes back what the function returned (awaited, on the
        async side). Its return value is the request.
        """
        resume = self._resume if self._attempts else None
        self._attempts += 1
        if callable(resume):
            resume = yield functools.partial(resume, self.source)
            if isinstance(resume, Stop):  # nothing to resume (say, no last event ID yet)
                logger.info("the resume function answered STOP: not reconnecting")
                self.close()
                return None
            if resume is not None and not isinstance(resume, Resume):
                raise TypeError(
                    f"the resume function must return a Resume, None or STOP, got {resume!r}"
                )
        method, body = self.method, self._body
        headers: Any = self._headers
        if resume is not None:
            method, body = (
                resume.method,
                _body({"content": resume.content, "data": resume.data, "json": resume.json}),
            )
            if resume.headers is not None:
                headers = resume.headers
        if callable(headers):
            headers = yield headers
        if resume is not None and (resume.url is not None or resume.params is not None):
            url = self.url if resume.url is None else resume.url
            self.named_url = self.url = self._url(url, resume.params)
        elif self._target is not None:
            url, params = self._target
            if callable(url):
                url = yield url
            if callable(params):
                params = yield params
            self.named_url = self.url = self._url(url, params)
        merged = self.stack.module.Headers(headers)
        merged.setdefault("Accept", self._accept)
        merged.setdefault("Cache-Control", "no-cache")
        raw = [(name, value) for name, value in merged.raw if name.lower() != b"last-event-id"]
        last_event_id = self.last_event_id
        value = last_event_id_header(last_event_id)
        if value:
            raw.append((b"Last-Event-ID", value))
        elif value is None:
            logger.warning("Last-Event-ID not sent: %r holds a control character", last_event_id)
        logger.debug("connecting to %s %s (Last-Event-ID %r)", method, self.url, last_event_id)
        return client.build_request(method, self.url, headers=raw, timeout=self.timeout, **body)

    def _url(self, url: URL | str, params: Any) -> URL:
        # A URL's own query stays unless params are given (params=None would clear it).
        built: URL = self.stack.module.URL(
            str(url), **({} if params is None else {"params": params})
        )
        return built

    def on_response(self, response: Any) -> Verdict:
        """Take a response: open the stream, or say why not."""
        self.response = response
        verdict = check_response(response, self.also_accept)
        if verdict is Verdict.OPEN or verdict is Verdict.WHOLE:
            if response.history:  # redirected: the stream came from elsewhere
                self._follow_redirect(response.url)
            self.ready_state = ReadyState.OPEN  # spec: C-200
            self._opened_at = time.monotonic()
            self._opened_id = self.parser.last_event_id
            self.progressed = False
            self.parser.reset()  # spec: C-FRESH -- a new stream
            self.feed = self.parser.feed
            if verdict is Verdict.WHOLE:
                self._whole = WholeBody(self.parser.last_event_id, self.max_event_size)
                self.feed = self._whole.feed
            if logger.isEnabledFor(logging.INFO):  # an aiohttp response's url is made anew
                logger.info("stream open: %s %s", response.status_code, response.url)
            self.hooks.on_open(self.source, response)
            return Verdict.OPEN
        if verdict is Verdict.END:
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

    def progress(self, items: list[Any]) -> None:
        """Take the items one read of the open stream gave: whether an event was among
        them (a comment alone is no progress). The drivers ask only until it was."""
        self.progressed = not self.comments or any(
            isinstance(item, ServerSentEvent) for item in items
        )

    def comment(self, text: str) -> None:
        """Report a comment line, in its place among the events (beyond spec)."""
        self.hooks.on_comment(self.source, text)

    def final_items(self) -> list[ServerSentEvent]:
        """What the end of the open body completes: for a stream, nothing (spec: D-EOF);
        for a response of ``also_accept``, its whole body as one event, once."""
        return [] if self._whole is None else self._whole.close()

    def on_failure(self, error: Exception, response: Any = None) -> float:
        """Take a failed attempt or an ended stream; return the seconds to wait before
        the next attempt (spec: C-REESTABLISH, C-DELAY). A stream that ends here leaves
        the source closed, and the driver's loop ends with it.

        A connection that opened and then made progress (an event, or a moved last
        event ID: a priming ``id:`` block), or stayed open ``reset_after`` seconds,
        worked: its end is no failure (see ``_backoff``).

        Raises:
            The error itself when nothing reconnects after it (a clean end just ends
            the stream), ReconnectError when the policy's limits ran out, or
            UnrecoverableError when no retry can mend it.
        """
        now = time.monotonic()
        opened_at, self._opened_at = self._opened_at, None
        worked = opened_at is not None and (
            self.progressed
            or self.last_event_id != self._opened_id
            or now - opened_at >= self.policy.reset_after
        )
        if self.closed:
            return 0.0
        self.ready_state = ReadyState.CONNECTING
        if self._whole is not None:  # a whole answer was the stream: nothing to reconnect to
            self.close()
            return 0.0
        attempt = Attempt(
            error,
            self._kind(error),
            worked,
            0.0 if response is None else retry_after(response),
        )
        proposal = propose(
            self.policy, self.run, attempt, reconnection_time=self.reconnection_time, now=now
        )
        answer = self.hooks.on_error(self.source, Failure(error, proposal.attempt, proposal.delay))
        action = resolve(proposal, attempt, answer)
        self.run = waited(proposal, action)
        if logger.isEnabledFor(logging.INFO):
            logger.info("%s", self._tell(attempt, opened_at is not None, proposal.attempt, action))
        if isinstance(action, Wait):
            self.hooks.on_retry(self.source, action.seconds)
            return action.seconds
        self.close()
        if isinstance(action, End):
            return 0.0
        raise action.error

    def _kind(self, error: Exception) -> Kind:
        if isinstance(error, StreamEnded):
            return "ended" if error.clean else "broken"
        if isinstance(error, ResponseError):
            return "refused"
        if self.stack.retries(error) and certificate_error(error) is None:
            return "broken"
        return "futile"

    def _tell(self, attempt: Attempt, opened: bool, failures: int, action: Action) -> str:
        # One log line per failure: what happened, and what comes of it.
        if attempt.kind == "ended":
            last_event_id = self.last_event_id
            what = "the server ended the stream"
            if last_event_id:
                what += f" after id {last_event_id!r}"
        else:
            what = f"{'connection lost' if opened else 'could not connect'}: {attempt.error!r}"
        if isinstance(action, Wait):
            again = f"reconnecting in {action.seconds:.3f} s"
            if failures:
                again += f" (failure {failures} in a row)"
        elif isinstance(action, End):
            again = "not reconnecting"
        else:
            again = "giving up" if failures else "not reconnecting"
        return f"{what}; {again}"

    def close(self, *, caller: bool = False) -> bool:
        """Mark the source closed (spec: C-CLOSE); return whether it was open before.

        The parser is left as it is (another thread may be feeding it). ``on_close`` is
        told by :meth:`tell_closed`, once the driver released the connection, so that a
        hook that raises cannot keep a reader blocked or a connection held; it is told
        where the source was closed:
        by the ``caller`` of ``close()``, else by the iteration that ended.
        """
        self.ready_state = ReadyState.CLOSED
        if self.closed:
            return False
        self.closed = True
        self._told = None if caller else False
        logger.info("source closed")
        return True

    def tell_closed(self, *, caller: bool = False) -> None:
        """Call ``on_close``, once, if this is where the source was closed; its error,
        if any, propagates to the caller."""
        if self._told is (None if caller else False):
            self._told = True
            self.hooks.on_close(self.source)


class WholeBody:
    """A response of ``also_accept`` (a JSON answer where a stream was asked for): its
    body, read whole within ``max_event_size``, is one ``message`` event at its end."""

    __slots__ = ("_body", "_ended", "_last_event_id", "_limit")

    def __init__(self, last_event_id: str, max_event_size: int | None) -> None:
        self._last_event_id = last_event_id
        self._limit = max_event_size
        self._body = bytearray()
        self._ended = False

    def feed(self, data: bytes) -> list[ServerSentEvent]:
        """Keep the body's bytes; nothing is complete before its end."""
        self._body += data
        if self._limit is not None and len(self._body) > self._limit:
            self._ended = True
            raise EventTooLarge(
                f"an answer's body exceeded max_event_size={self._limit}", limit=self._limit
            )
        return []

    def close(self) -> list[ServerSentEvent]:
        """The whole body as one event, the first time; then nothing."""
        if self._ended:
            return []
        self._ended = True
        text = bytes(self._body).decode("utf-8", "replace")
        return [ServerSentEvent(data=text, id=self._last_event_id)]


# spec: C-LASTID -- our choice, grounded in HTTP rather than in a browser. RFC 9110's
# field-value grammar holds no C0 control but tab, and no DEL, and h11 refuses to send
# them (so would the stream's every reconnection). Chromium trims only tab and space
# at the edges and sends VT, FF, other controls and DEL as they are. We trim VT and FF
# at the edges too, since they are whitespace around an ID, and withhold a value that
# still holds a control: the server then starts afresh, and the stream goes on.
#: What is trimmed from the edges of a Last-Event-ID value: tab, space, VT and FF.
_EDGE_SPACE: Final = "\t \x0b\x0c"
#: Characters no header value may hold once its edges are trimmed (RFC 9110): the C0
#: controls but tab, and DEL. (A server's id never holds CR or LF: they end its line.)
_UNSENDABLE: Final = re.compile("[\x00-\x08\x0a-\x1f\x7f]")


def last_event_id_header(last_event_id: str) -> bytes | None:
    """The ``Last-Event-ID`` header value for an ID (spec: C-LASTID).

    The ID itself stays verbatim; on the wire its edges lose tab, space, VT and FF, and
    the rest is UTF-8. ``b""`` means there is nothing to send; ``None`` that the ID
    holds a control character no header may carry (RFC 9110), so none is sent.

    Example:
        >>> last_event_id_header(" 5\t"), last_event_id_header("a\x0bb")
        (b'5', None)
    """
    value = last_event_id.strip(_EDGE_SPACE)
    return None if _UNSENDABLE.search(value) else value.encode("utf-8")


#: The ``also_accept`` of a source that takes event streams only: one empty set shared by
#: every such source (each would make its own, of 216 bytes).
_EVENT_STREAM_ONLY: Final[frozenset[str]] = frozenset()

#: The body of a request that has none, the hooks of a source given none, and the
#: history of a source that never failed. Shared by every such source, since thousands
#: may live in one process (none holds state).
_NO_BODY: Final[Mapping[str, Any]] = types.MappingProxyType({})
_NO_HOOKS: Final = Hooks()
_NO_FAILURES: Final = Run()


def _body(body: Mapping[str, Any]) -> Mapping[str, Any]:
    # The body arguments that were given: most streams send none.
    return {name: value for name, value in body.items() if value is not None} or _NO_BODY


@functools.lru_cache(maxsize=32)
def _stack_timeout(stack: Stack, timeout: Timeouts) -> Any:
    # One timeout object per stack and setting, shared by the sources that use them.
    return stack.module.Timeout(timeout.connect, read=timeout.idle)


def _origin(url: Any) -> tuple[str, str, int | None]:
    default = {"http": 80, "https": 443}.get(url.scheme)
    return url.scheme, url.host, default if url.port is None else url.port
