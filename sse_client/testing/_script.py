"""What a scripted endpoint answers: responses made of steps, shared by the loopback
server and the ``MockTransport`` handler, so a test can move from one to the other."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from ._format import format_event

__all__ = [
    "Drop",
    "Reply",
    "Request",
    "Responder",
    "Sleep",
    "Stall",
    "Step",
    "Stream",
    "Trickle",
    "event",
]


@dataclass(frozen=True)
class Sleep:
    """Pause the stream for ``seconds`` (ended early if the server shuts down)."""

    seconds: float


@dataclass(frozen=True)
class Drop:
    """Cut the connection here, without ending the body properly.

    With ``reset=True`` the server resets the socket (the client sees a read error);
    otherwise it closes it, which in a chunked body is an incomplete read and in a
    plain body looks like the end of the stream.
    """

    reset: bool = False


@dataclass(frozen=True)
class Stall:
    """Send nothing more, and keep the connection open until the server shuts down."""


@dataclass(frozen=True)
class Trickle:
    """Send ``data`` one byte per write."""

    data: bytes


#: One piece of a streamed body: bytes to send, or an action.
Step = bytes | Sleep | Drop | Stall | Trickle


#: One encoded event, as a step: :func:`format_event` under a shorter name, since
#: scripts use it on every line (``Stream(event("hello", id="1"), Drop())``).
event = format_event


@dataclass(frozen=True)
class Stream:
    """A streamed response: status 200, ``text/event-stream``, then ``steps`` in order.

    Without a :class:`Drop` or :class:`Stall`, the body ends properly after the last step
    (the server closes the connection, or writes the last chunk if ``chunked``).

    Example:
        >>> Stream(event("a", id="1"), event("b", id="2"), Drop())  # doctest: +ELLIPSIS
        Stream(steps=...)
    """

    steps: tuple[Step, ...]
    status: int
    headers: Mapping[str, str]
    chunked: bool

    def __init__(
        self,
        *steps: Step,
        status: int = 200,
        content_type: str | None = "text/event-stream",
        headers: Mapping[str, str] | None = None,
        chunked: bool = False,
    ) -> None:
        all_headers = {} if content_type is None else {"Content-Type": content_type}
        all_headers["Cache-Control"] = "no-cache"
        all_headers.update(headers or {})
        object.__setattr__(self, "steps", steps)
        object.__setattr__(self, "status", status)
        object.__setattr__(self, "headers", all_headers)
        object.__setattr__(self, "chunked", chunked)


@dataclass(frozen=True)
class Reply:
    """A plain response: a status, headers and a whole body (204, 500, a redirect...).

    Example:
        >>> Reply(204)
        Reply(status=204, body=b'', headers={})
        >>> Reply.redirect("/elsewhere").status
        307
    """

    status: int
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def redirect(cls, location: str, status: int = 307) -> Reply:
        """A redirect to ``location``."""
        return cls(status, headers={"Location": location})


@dataclass(frozen=True)
class Request:
    """A request a scripted endpoint received.

    Attributes:
        method: The HTTP method.
        path: The path with its query string.
        headers: The headers, names in lower case.
        body: The request body.
        received: When it arrived, in seconds of :func:`time.monotonic` (to measure
            how long a client waited before reconnecting).
    """

    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes
    received: float = field(default_factory=time.monotonic, compare=False)

    @property
    def last_event_id(self) -> str | None:
        """The ``Last-Event-ID`` header, or ``None`` if it was not sent."""
        return self.headers.get("last-event-id")


#: What an endpoint answers to one request: a response, or a function of the request.
Responder = Stream | Reply | Callable[[Request], "Stream | Reply"]


class Script:
    """The responses of one endpoint, one per request in turn; the last one repeats."""

    def __init__(self, responses: Sequence[Responder]) -> None:
        if not responses:
            raise ValueError("an endpoint needs at least one response")
        self._responses = list(responses)
        self._served = 0

    def next(self, request: Request) -> Stream | Reply:
        """The response to ``request``."""
        index = min(self._served, len(self._responses) - 1)
        self._served += 1
        responder = self._responses[index]
        if isinstance(responder, Stream | Reply):
            return responder
        return responder(request)


def resumable_counter(total: int, *, per_connection: int, retry: int | None = None) -> Responder:
    """An endpoint that counts to ``total``, resuming after the request's Last-Event-ID.

    Each connection sends at most ``per_connection`` events (ids ``"1"``..``"total"``,
    data ``"event <n>"``) and then drops; once every event was sent it answers 204.

    Example:
        >>> counter = resumable_counter(10, per_connection=3, retry=5)
    """

    def respond(request: Request) -> Stream | Reply:
        last = request.last_event_id
        start = int(last) + 1 if last and last.isascii() and last.isdigit() else 1
        if start > total:
            return Reply(204)
        stop = min(total, start + per_connection - 1)
        steps: list[Step] = [] if retry is None else [format_event(None, retry=retry)]
        steps += [format_event(f"event {n}", id=str(n)) for n in range(start, stop + 1)]
        return Stream(*steps)

    return respond
