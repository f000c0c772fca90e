"""Every exception sse_client raises on purpose.

::

    SSEError                  base class: catch this to catch everything below
    ├── ResponseError         the server answered, but not with an event stream
    │                         (a status other than 200/204, or a wrong Content-Type);
    │                         carries .response; the standard does not reconnect
    ├── ReconnectError        reconnection gave up (attempts or time ran out);
    │                         __cause__ is the last underlying failure
    ├── UnrecoverableError    a failure no retry can mend (a certificate that does
    │                         not verify, an unsupported URL); __cause__ is the reason
    ├── EventTooLarge         one event (or one line) exceeded max_event_size
    └── StreamEnded           the body ended: given to Hooks.on_error, never raised

    RuntimeError              misuse: iterating a closed source, feeding a closed parser

Parse problems are not errors: the standard ignores malformed lines, and so do we.
This module imports nothing of ours.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

__all__ = [
    "EventTooLarge",
    "ReconnectError",
    "ResponseError",
    "SSEError",
    "StreamEnded",
    "UnrecoverableError",
]

#: How many bytes of a rejected response's body an error keeps for its message.
BODY_PREVIEW_SIZE = 512


class HTTPResponse(Protocol):
    """What sse_client reads of a response: an httpx2 or httpx ``Response``, an LLM
    SDK's raw streaming response, or sse_client's view of an aiohttp response, which
    expose the same two attributes.

    Example:
        >>> def status(response: HTTPResponse) -> int:
        ...     return response.status_code
    """

    @property
    def status_code(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]: ...


class SSEError(Exception):
    """Base class of every error sse_client raises on purpose.

    Example:
        >>> issubclass(ResponseError, SSEError)
        True
    """


class ResponseError(SSEError):
    """The server answered, but not with an event stream.

    Raised for a status other than 200 (and 204, which ends a stream cleanly) or for a
    200 whose Content-Type is not ``text/event-stream``. The standard says this *fails
    the connection*: nothing reconnects. Check the URL, the credentials or the request
    body; :attr:`response` tells what the server said.

    Attributes:
        response: The response, already closed: your own object, whichever stack or SDK
            it comes from (see :class:`HTTPResponse`). Its status and headers are readable.
        body_preview: Up to 512 bytes of the body, decoded leniently ("" if unread).

    Example:
        >>> try:
        ...     ...  # for event in EventSource(url): ...
        ... except ResponseError as exc:
        ...     print(exc.response.status_code, exc.body_preview)
    """

    def __init__(self, message: str, *, response: HTTPResponse, body_preview: str = "") -> None:
        super().__init__(message)
        self.response = response
        self.body_preview = body_preview

    @property
    def status_code(self) -> int:
        """The response's HTTP status code."""
        return self.response.status_code


class ReconnectError(SSEError):
    """Reconnection gave up: the configured attempts or time ran out.

    ``__cause__`` is the last failure (a network error, an idle timeout, a retryable
    status). Raise the limits, or look at the cause.

    Attributes:
        attempts: How many connection attempts were made in the failing run.

    Example:
        >>> err = ReconnectError("gave up after 3 attempts", attempts=3)
        >>> err.attempts
        3
    """

    def __init__(self, message: str, *, attempts: int) -> None:
        super().__init__(message)
        self.attempts = attempts


class UnrecoverableError(SSEError):
    """A failure that no retry can mend: something on the client's side must change.

    A certificate that does not verify (anywhere in the failure's chain of causes), a
    URL the HTTP stack cannot fetch (an unsupported scheme, an invalid URL from a URL
    function), a redirect loop, a request the stack refuses to send. The source ends
    at once rather than retry for ever; :meth:`Hooks.on_error` may still ask for a
    retry. ``__cause__`` is the reason: the certificate error itself, or the stack's
    error.

    Example:
        >>> try:
        ...     ...  # for event in EventSource("https://self-signed.example/"): ...
        ... except UnrecoverableError as exc:
        ...     print("fix the client's side:", exc.__cause__)
    """


class EventTooLarge(SSEError):
    """One event's data, or one line, grew past ``max_event_size`` characters.

    A hostile or broken server can send an endless line; this bounds the memory a
    stream may take. Raise ``max_event_size`` (or pass ``None``) if the events are
    legitimately that large.

    Attributes:
        limit: The ``max_event_size`` that was exceeded.

    Example:
        >>> EventTooLarge(limit=10).limit
        10
    """

    def __init__(self, message: str = "", *, limit: int) -> None:
        super().__init__(message or f"an event or line exceeded max_event_size={limit}")
        self.limit = limit


class StreamEnded(SSEError):
    """The response body ended. Given to :meth:`Hooks.on_error`, never raised.

    ``clean`` tells a body that ended properly (the chunked terminator, the whole
    Content-Length, the end of a body delimited by the connection's close) from one
    that :meth:`EventSource.reconnect` cut. A broken body (an incomplete one, a reset,
    the idle timeout) is the HTTP stack's own network error instead.

    Attributes:
        clean: Whether the server ended the body properly.

    Example:
        >>> StreamEnded().clean
        True
    """

    def __init__(self, message: str = "the server ended the stream", *, clean: bool = True):
        super().__init__(message)
        self.clean = clean
