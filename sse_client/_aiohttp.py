"""An ``aiohttp.ClientSession`` as the async client: asyncio only, loaded only for it.

:class:`AsyncEventSource` speaks to its client in the httpx2 API: ``build_request``,
``send``, and a response's ``aiter_bytes`` and ``aclose``. :class:`Session` gives an
aiohttp session those few calls, so that the async driver runs on it unchanged. The
core builds each request with httpx2's ``URL``, ``Headers`` and ``Timeout``, as for
httpx2; here they become the strings and ``ClientTimeout`` aiohttp takes. The body is
read with ``iter_any()``: what the socket gave, decompressed, in one piece per read.

Redirects are aiohttp's: it makes at most ten requests (nine redirects followed), and
across origins it drops
``Authorization``, ``Cookie`` and its own ``auth``, as httpx2 does. So the source's
rule (after a redirect to another origin, start again from the named URL) holds here
too.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Mapping
from typing import Any, Final

import aiohttp
import aiohttp.http_exceptions
from httpx2 import URL, Headers, InvalidURL, Timeout

from ._watch import IdleWatchdog

__all__ = [
    "ERRORS",
    "RETRYABLE",
    "URL",
    "Headers",
    "Response",
    "Session",
    "Timeout",
    "malformed",
]

#: What a source reconnects after on aiohttp: the network (a refused connect, a reset,
#: a server that hung up), timeouts (the idle timeout among them), and a broken body
#: (an incomplete chunked one). A bad URL or too many redirects is raised.
RETRYABLE: Final = (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, TimeoutError)
#: Every error of the stack: the retryable ones and those no retry mends (an invalid
#: URL, too many redirects).
ERRORS: Final = (aiohttp.ClientError, TimeoutError, InvalidURL)


def malformed(error: BaseException) -> bool:
    """Whether ``error`` says a response could not be read: aiohttp reports a garbled
    status line or a header line over its limit as a ``ClientResponseError`` with a
    status of 400 that no server sent, caused by its parser's ``HttpProcessingError``."""
    return isinstance(error, aiohttp.ClientResponseError) and isinstance(
        error.__cause__, aiohttp.http_exceptions.HttpProcessingError
    )


#: What an idle timeout raises on aiohttp (its own type for a read that timed out).
_IdleTimeout: Final[type[Exception]] = getattr(
    aiohttp, "SocketTimeoutError", aiohttp.ServerTimeoutError
)


class _Request:
    """A request's parts, as aiohttp takes them; while it is sent, it can end the wait
    for the response's headers from another task (``interrupt``), so that a source's
    connect needs no cancel scope."""

    __slots__ = ("_wait", "data", "headers", "idle", "json", "method", "timeout", "url")

    def __init__(
        self,
        method: str,
        url: str,
        headers: list[tuple[str, str]],
        timeout: aiohttp.ClientTimeout,
        idle: float | None,
        data: Any,
        json: Any,
    ) -> None:
        self.method, self.url, self.headers, self.timeout = method, url, headers, timeout
        self.idle, self.data, self.json = idle, data, json
        self._wait: asyncio.Timeout | None = None  # the wait for the headers, while sent

    def interrupt(self, error: BaseException) -> None:
        """End the wait for the response's headers now: ``send()`` raises TimeoutError."""
        if self._wait is not None:
            self._wait.reschedule(0.0)  # a time past: at the loop's next turn


class Session:
    """A user's ``aiohttp.ClientSession``, answering the calls a source makes.

    The session stays the user's: its connector, cookies, auth and default headers
    apply, and the source never closes it.
    """

    __slots__ = ("session",)

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session

    def build_request(
        self,
        method: str,
        url: URL,
        *,
        headers: list[tuple[bytes, bytes]],
        timeout: Timeout,
        content: Any = None,
        data: Any = None,
        json: Any = None,
    ) -> _Request:
        """The request's parts, as aiohttp takes them."""
        # No total: a stream lasts as long as it lasts. The connect timeout bounds the
        # wait for a socket, from the pool or new. The idle timeout is not aiohttp's
        # sock_read, which arms a timer at every read: on a thousand busy streams the
        # timers it cancels kept the garbage collector at work, and a full collection
        # every few seconds held every stream up (p99 2-4x a read with no timeout). It
        # bounds the wait for the headers in send(), and the body through a watchdog
        # per stream that wakes a few times per idle period (Response).
        return _Request(
            method,
            str(url),
            [(name.decode("latin-1"), _text(name, value)) for name, value in headers],
            _limits(timeout.connect),
            timeout.read,
            data if content is None else content,
            json,
        )

    async def send(self, request: _Request, *, stream: bool, follow_redirects: bool) -> Response:
        """Send the request; the response's headers are in, its body not yet read."""
        async with asyncio.timeout(request.idle) as request._wait:  # None: no limit
            try:
                response = await self.session.request(
                    request.method,
                    request.url,
                    headers=request.headers,
                    data=request.data,
                    json=request.json,
                    timeout=request.timeout,
                    allow_redirects=follow_redirects,
                )
            finally:
                request._wait = None
        return Response(response, request.idle)


class Response(IdleWatchdog):
    """An aiohttp response, read through the names a source and its user read.

    ``status_code``, ``reason_phrase``, ``headers`` and ``url`` (an ``httpx2.URL``) are
    what :class:`ResponseError` and the hooks report; ``raw`` is aiohttp's own
    ``ClientResponse``.
    """

    __slots__ = ("_idle_timeout", "raw")

    #: Its watchdog ends an idle read with aiohttp's own timeout error, raised by the
    #: read itself; nothing else to tell (see ``Stack.waker``).
    timed_out: Final = None

    def __init__(self, raw: aiohttp.ClientResponse, idle: float | None = None) -> None:
        super().__init__()
        self.raw = raw
        self._idle_timeout = idle  # seconds without a byte after which the body is dead

    @property
    def url(self) -> URL:
        """The URL the response came from, after any redirects."""
        return URL(str(self.raw.url))

    @property
    def history(self) -> tuple[aiohttp.ClientResponse, ...]:
        """The redirect responses that led here, first to last (aiohttp's own)."""
        return self.raw.history

    @property
    def status_code(self) -> int:
        """The HTTP status."""
        return self.raw.status

    @property
    def reason_phrase(self) -> str:
        """The status line's reason, as the server sent it."""
        return self.raw.reason or ""

    @property
    def headers(self) -> Mapping[str, str]:
        """The response headers, any case."""
        return self.raw.headers

    def aiter_bytes(self) -> AsyncIterator[bytes]:
        """The body, decompressed, as the reads deliver it; with an idle timeout, a read
        that waits that long for a byte raises aiohttp's ``SocketTimeoutError``."""
        if self._idle_timeout is not None and self._timer is None:
            self._watch(self._idle_timeout)
        return self.raw.content.iter_any()

    def _bytes_read(self) -> int:
        return self.raw.content.total_bytes

    def _expire(self, message: str) -> None:
        self.interrupt(_IdleTimeout(message))

    def interrupt(self, error: BaseException) -> None:
        """Make the read under way, or the next one, raise ``error``.

        aiohttp's stream wakes its reader itself, so a source can drop the stream from
        another task without a cancel scope around every read.
        """
        self.raw.content.set_exception(error)

    async def aclose(self) -> None:
        """Release the connection: back to the pool after a whole body, else closed."""
        self.release()
        if self.raw.content.at_eof():
            self.raw.release()
        else:
            self.raw.close()

    def __repr__(self) -> str:
        return f"<Response [{self.status_code} {self.reason_phrase}]>"


@functools.lru_cache(maxsize=64)
def _limits(connect: float | None) -> aiohttp.ClientTimeout:
    # One (frozen) value per connect timeout, shared by the sources that use it.
    return aiohttp.ClientTimeout(total=None, connect=connect, sock_read=None)


def _text(name: bytes, value: bytes) -> str:
    # aiohttp takes header values as str and sends them as UTF-8, so a value must be
    # UTF-8 to reach the server as given (Last-Event-ID always is).
    try:
        return value.decode()
    except UnicodeDecodeError:
        raise ValueError(
            f"aiohttp sends header values as UTF-8; {name.decode('latin-1')} is not: {value!r}"
        ) from None
