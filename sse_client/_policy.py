"""The settings of a source, one value per concern: when and how soon it reconnects
(:class:`ReconnectPolicy`), how each reconnection is made (:class:`Resume`), how long it
waits for the network (:class:`Timeouts`), and what it tells you as things happen
(:class:`Hooks`, which may also decide, failure by failure, whether to reconnect).

Rule: pure data, checked when made, and no-op defaults. Nothing here does I/O, and this
module imports nothing of ours: ``_backoff`` and ``_core`` apply what it holds.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal, TypeAlias, TypeVar

if TYPE_CHECKING:
    import httpx
    import httpx2
    from tenacity import RetryCallState

__all__ = [
    "DEFAULT_RETRY_STATUSES",
    "STOP",
    "Failure",
    "Hooks",
    "ReconnectPolicy",
    "Resume",
    "Stop",
    "Timeouts",
]

# The defaults of ReconnectPolicy and Timeouts, in seconds unless said otherwise.
DEFAULT_RECONNECTION_TIME: Final = 3.0  # the standard suggests "a few seconds"
DEFAULT_MAX_DELAY: Final = 30.0  # the longest wait, a server's retry: included
DEFAULT_MULTIPLIER: Final = 2.0  # what each failure in a row multiplies the wait by
DEFAULT_JITTER: Final = 0.25  # the largest fraction of a backed-off wait added at random
#: The least a failed attempt waits before it doubles: a server that asks for
#: ``retry: 0`` (or a tiny value) and keeps failing must not be reconnected in a spin.
DEFAULT_MIN_BACKOFF: Final = 0.1
#: How long a connection that delivers nothing (a quiet stream kept open by keep-alive
#: comments) must stay open to count as healthy: proxies cut such streams at 30-100 s.
DEFAULT_RESET_AFTER: Final = 30.0
DEFAULT_IDLE_TIMEOUT: Final = 300.0  # without a byte, a stream counts as dead
DEFAULT_CONNECT_TIMEOUT: Final = 30.0  # to connect, to send the request, to get a pool slot
#: The statuses of ``ReconnectPolicy(retry_statuses=True)``: worth another try later.
DEFAULT_RETRY_STATUSES: Final = frozenset({429, 502, 503, 504})

#: What a source reconnects after: ``"always"`` (errors and clean ends, as a browser
#: does), ``"errors"`` (a body that ends cleanly ends the stream), ``"never"``.
ReconnectAfter = Literal["always", "errors", "never"]
#: A tenacity stop strategy: given the call state, whether to give up.
StopStrategy: TypeAlias = "Callable[[RetryCallState], bool]"
#: A tenacity wait strategy: given the call state, the seconds to wait.
WaitStrategy: TypeAlias = "Callable[[RetryCallState], float]"
#: Request headers: a mapping, pairs, or either stack's ``Headers``.
HeadersArg: TypeAlias = Mapping[str, str | bytes] | Sequence[tuple[str | bytes, str | bytes]] | None
_T = TypeVar("_T")
#: A value, or a function called before every attempt that returns it (on
#: :class:`AsyncEventSource`, an async function too).
PerAttempt: TypeAlias = _T | Callable[[], _T] | Callable[[], Awaitable[_T]]


def _check_seconds(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise ValueError(f"{name} must be a number of seconds >= 0, got {value!r}")


@dataclass(frozen=True, slots=True)
class ReconnectPolicy:
    """When a source reconnects, and how long it waits first. Frozen: derive a changed
    copy with :meth:`replace`.

    A connection that opened and then made progress (delivered an event, or moved the
    last event ID, as a priming ``id:`` block does) worked: however it ended, the next
    attempt waits exactly the reconnection time (the server's ``retry:``, else
    ``reconnection_time``), and the count of failures in a row starts again. So does a
    connection that stayed open ``reset_after`` seconds without progress. Every other
    attempt failed: no connection, a status to retry, or a stream that ended or broke
    before any progress. The n-th failure in a row waits ``max(reconnection time,
    min_backoff) * multiplier ** (n - 1)``, plus up to ``jitter`` of that at random;
    ``max_attempts`` and ``max_elapsed`` count failures only. No wait lasts more than
    ``max_delay``.

    Attributes:
        after: ``"always"`` (the standard: errors and clean ends; the default for GET),
            ``"errors"`` (a body that ends cleanly ends the stream; errors reconnect),
            or ``"never"``.
        reconnection_time: Seconds to wait before reconnecting, until the server's
            ``retry:`` field says otherwise.
        max_delay: The most seconds any wait may last, a server's value included.
        multiplier: How much each failure in a row multiplies the wait.
        jitter: The largest fraction of a failure's wait added at random.
        min_backoff: The least base of a failure's wait, so that ``retry: 0`` and a
            server that keeps failing is no spin.
        reset_after: Seconds after which an open connection counts as healthy even if
            it delivered nothing (``0``: as soon as it opens).
        max_attempts: Give up after this many failed attempts in a row.
        max_elapsed: Give up after failing for this many seconds in a row.
        retry_statuses: Statuses to reconnect after instead of failing; ``True`` for
            429, 502, 503 and 504. ``Retry-After`` is honoured, up to ``max_delay``.
            Read back, always a frozenset.
        stop: A tenacity stop strategy for failed attempts, combined with the two
            limits above.
        wait: A tenacity wait strategy for failed attempts, replacing the doubling
            described above (:class:`wait_reconnection_time` builds on the server's
            ``retry:``).

    Raises:
        ValueError: A value makes no sense (a negative or NaN number of seconds, a
            shrinking multiplier, fewer than one attempt, an unknown ``after``).

    Example:
        >>> policy = ReconnectPolicy(after="errors", max_attempts=5)
        >>> policy.replace(reconnection_time=0.5).reconnection_time
        0.5
    """

    after: ReconnectAfter = "always"
    reconnection_time: float = DEFAULT_RECONNECTION_TIME
    max_delay: float = DEFAULT_MAX_DELAY
    multiplier: float = DEFAULT_MULTIPLIER
    jitter: float = DEFAULT_JITTER
    min_backoff: float = DEFAULT_MIN_BACKOFF
    reset_after: float = DEFAULT_RESET_AFTER
    max_attempts: int | None = None
    max_elapsed: float | None = None
    retry_statuses: bool | Collection[int] = frozenset()
    stop: StopStrategy | None = None
    wait: WaitStrategy | None = None

    def __post_init__(self) -> None:
        if self.after not in ("always", "errors", "never"):
            raise ValueError(f"after must be 'always', 'errors' or 'never', got {self.after!r}")
        for name in ("reconnection_time", "max_delay", "jitter", "min_backoff", "reset_after"):
            _check_seconds(name, getattr(self, name))
        if self.max_elapsed is not None:
            _check_seconds("max_elapsed", self.max_elapsed)
        if not self.multiplier >= 1 or math.isinf(self.multiplier):
            raise ValueError(f"multiplier must be a finite number >= 1, got {self.multiplier!r}")
        attempts = self.max_attempts
        if attempts is not None and (isinstance(attempts, bool) or not isinstance(attempts, int)):
            raise ValueError(f"max_attempts must be a whole number or None, got {attempts!r}")
        if attempts is not None and attempts < 1:
            raise ValueError(f"max_attempts must be 1 or more, got {attempts!r}")
        statuses = self.retry_statuses
        if isinstance(statuses, bool):
            statuses = DEFAULT_RETRY_STATUSES if statuses else frozenset()
        object.__setattr__(self, "retry_statuses", frozenset(statuses))

    def replace(self, **changes: Any) -> ReconnectPolicy:
        """A copy with ``changes`` applied (urllib3's ``Retry.new``).

        Example:
            >>> ReconnectPolicy().replace(max_attempts=3).max_attempts
            3
        """
        return dataclasses.replace(self, **changes)


#: What a source does when the user says nothing: reconnect after everything (GET).
RECONNECT: Final = ReconnectPolicy()
#: Never reconnect (any other method, by default).
NEVER: Final = ReconnectPolicy(after="never")


@dataclass(frozen=True, slots=True)
class Resume:
    """How every attempt after the first is made, when it differs from the first.

    A stream opened by a POST is often resumed by a GET to the same URL carrying
    ``Last-Event-ID`` (MCP's streamable HTTP does so). A field left ``None`` keeps what
    the source was given (its URL, after a redirect on the same origin; its headers and
    params, functions included); the body is sent only if given here. ``Last-Event-ID``,
    ``Accept`` and ``Cache-Control`` are added as on every attempt.

    Attributes:
        method: The method of each reconnection.
        url: Where reconnections go (``None``: where the stream came from).
        headers: The headers of each reconnection (``None``: the source's).
        params: The query parameters (``None``: the source's).
        content: A raw body (bytes or str); also ``data`` (a form) and ``json``.

    Raises:
        ValueError: The body is an iterator, which could be sent only once.

    Example:
        >>> Resume(headers={"mcp-session-id": "abc"}).method
        'GET'
    """

    method: str = "GET"
    url: httpx2.URL | httpx.URL | str | None = None
    headers: HeadersArg = None
    params: Any = None
    content: str | bytes | None = None
    data: Mapping[str, Any] | None = None
    json: Any = None

    def __post_init__(self) -> None:
        if not isinstance(self.content, str | bytes | None):
            raise ValueError(
                "Resume content must be bytes or str, sent again at every reconnection, "
                f"got {type(self.content).__name__}"
            )
        object.__setattr__(self, "method", self.method.upper())


@dataclass(frozen=True, slots=True)
class Timeouts:
    """How long a source waits for the network.

    Attributes:
        connect: Seconds to connect, send the request and get a slot in the pool.
        idle: Seconds without a byte after which a connection counts as dead and is
            reestablished (``None``: wait forever). Keep-alive comments reset it.

    Raises:
        ValueError: A timeout is negative or NaN.

    Example:
        >>> Timeouts(idle=60).connect
        30.0
    """

    connect: float = DEFAULT_CONNECT_TIMEOUT
    idle: float | None = DEFAULT_IDLE_TIMEOUT

    def __post_init__(self) -> None:
        _check_seconds("connect", self.connect)
        if self.idle is not None:
            _check_seconds("idle", self.idle)


@dataclass(frozen=True, slots=True)
class Failure:
    """One failed attempt or ended stream, as :meth:`Hooks.on_error` sees it.

    Attributes:
        error: What happened: a :class:`StreamEnded` (the body ended), a network error
            of the HTTP stack, a :class:`ResponseError` (a status or Content-Type that
            is not an event stream), or an error of the HTTP stack that no retry can
            mend (a certificate that does not verify, an unsupported URL).
        attempt: How many attempts failed in a row, this one included; ``0`` when the
            connection worked (it delivered events) before it ended or broke.
        delay: What the policy answers: the seconds it would wait before reconnecting,
            or ``None`` if it would not reconnect.

    Example:
        >>> Failure(OSError("reset"), attempt=1, delay=3.0).delay
        3.0
    """

    error: Exception
    attempt: int
    delay: float | None


class Stop:
    """The type of :data:`STOP`, the answer of :meth:`Hooks.on_error` that stops.

    Example:
        >>> STOP
        STOP
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return "STOP"


#: Return it from :meth:`Hooks.on_error` to stop reconnecting: the error is raised (a
#: body that ended cleanly just ends the stream).
STOP: Final = Stop()


class Hooks:
    """What a source tells you as things happen. Subclass it and override what you need.

    Every method receives the source first (an :class:`EventSource` or an
    :class:`AsyncEventSource`), so a hook needs no reference of its own. They run in the
    iterating thread or task, and should return quickly; ``on_close`` runs where the
    source is closed (the thread or task that called ``close()``, or the iterating one
    when the stream ends), once its connection is released. An error a hook raises ends
    the source, closed and released, and propagates: from the iteration, or from
    ``close()`` for ``on_close``.

    Example:
        >>> class Log(Hooks):
        ...     def on_open(self, source, response):
        ...         print("open", response.status_code)
    """

    def on_open(self, source: Any, response: Any) -> None:
        """A response was accepted: the stream is open. Raise to reject it: the source
        closes and the exception propagates from the iteration."""

    def on_error(self, source: Any, failure: Failure) -> float | Stop | None:
        """An attempt failed or the stream ended. Return ``None`` to do what the policy
        says (``failure.delay``), a number of seconds to reconnect after that wait
        instead, or :data:`STOP` to stop."""
        return None

    def on_retry(self, source: Any, delay: float) -> None:
        """The source will reconnect after ``delay`` seconds."""

    def on_close(self, source: Any) -> None:
        """The source closed, for whatever reason, and released its connection. Called
        once; an error it raises comes out of ``close()`` (or of the iteration), after
        the release."""

    def on_comment(self, source: Any, text: str) -> None:
        """A comment line arrived (keep-alives, often ``": ping"``), in its place among
        the events. If it closes the source, nothing more is dispatched."""
