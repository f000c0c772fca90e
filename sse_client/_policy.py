"""The settings of a source, one value per concern: when and how soon it reconnects
(:class:`ReconnectPolicy`), how long it waits for the network (:class:`Timeouts`), and
what it tells you as things happen (:class:`Hooks`, which may also decide, failure by
failure, whether to reconnect).

Rule: pure data and no-op defaults. Nothing here does I/O; ``_core`` applies them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal

from ._backoff import BACKOFF_FLOOR, DEFAULT_JITTER, DEFAULT_MAX_RECONNECTION_TIME

if TYPE_CHECKING:
    from ._backoff import StopStrategy, WaitStrategy

__all__ = [
    "DEFAULT_RETRY_STATUSES",
    "STOP",
    "Failure",
    "Hooks",
    "ReconnectPolicy",
    "Stop",
    "Timeouts",
]

DEFAULT_RECONNECTION_TIME: Final = 3.0  # seconds; the standard suggests "a few seconds"
DEFAULT_RESET_AFTER: Final = 60.0  # seconds a connection must stay open to reset the backoff
DEFAULT_IDLE_TIMEOUT: Final = 300.0  # seconds without a byte before a stream counts as dead
DEFAULT_CONNECT_TIMEOUT: Final = 30.0  # seconds to connect, to send the request, to get a pool slot
#: The statuses of ``ReconnectPolicy(retry_statuses=True)``: worth another try later.
DEFAULT_RETRY_STATUSES: Final = frozenset({429, 502, 503, 504})

#: What a source reconnects after: ``"always"`` (errors and clean ends, as a browser
#: does), ``"errors"`` (a body that ends cleanly ends the stream), ``"never"``.
ReconnectAfter = Literal["always", "errors", "never"]


@dataclass(frozen=True, slots=True)
class ReconnectPolicy:
    """When a source reconnects, and how long it waits first. Frozen: derive a changed
    copy with :func:`dataclasses.replace` or :meth:`replace`.

    The first reconnection after a healthy connection waits the reconnection time: the
    server's ``retry:`` field, or ``delay`` until it sends one. Each consecutive failure
    doubles the wait (``multiplier``), from at least ``min_backoff`` seconds, adds up to
    ``jitter`` of it at random, and never waits more than ``max_delay``. The count of
    consecutive failures restarts once a connection stayed open ``reset_after`` seconds.

    Attributes:
        after: ``"always"`` (the standard: errors and clean ends; the default for GET),
            ``"errors"`` (a body that ends cleanly ends the stream; errors reconnect),
            or ``"never"``.
        delay: The initial reconnection time, in seconds.
        max_delay: The most seconds any wait may last, a server's value included.
        multiplier: How much each consecutive failure multiplies the wait.
        jitter: The largest random fraction added to a wait.
        min_backoff: The least base of a wait after two or more failures in a row, so
            that ``retry: 0`` does not reconnect in a spin.
        reset_after: Seconds a connection must stay open before the next failure counts
            as the first again (``0``: as soon as it opens).
        max_attempts: Give up after this many failed attempts in a row.
        max_elapsed: Give up after failing for this many seconds in a row.
        retry_statuses: Statuses to reconnect after instead of failing; ``True`` for 429,
            502, 503 and 504. ``Retry-After`` is honoured, up to ``max_delay``.
        stop: A tenacity stop strategy, combined with the two limits above.
        wait: A tenacity wait strategy, replacing the doubling described above.

    Example:
        >>> policy = ReconnectPolicy(after="errors", max_attempts=5)
        >>> policy.replace(delay=0.5).delay
        0.5
    """

    after: ReconnectAfter = "always"
    delay: float = DEFAULT_RECONNECTION_TIME
    max_delay: float = DEFAULT_MAX_RECONNECTION_TIME
    multiplier: float = 2.0
    jitter: float = DEFAULT_JITTER
    min_backoff: float = BACKOFF_FLOOR
    reset_after: float = DEFAULT_RESET_AFTER
    max_attempts: int | None = None
    max_elapsed: float | None = None
    retry_statuses: bool | Collection[int] = frozenset()
    stop: StopStrategy | None = None
    wait: WaitStrategy | None = None

    def __post_init__(self) -> None:
        if self.after not in ("always", "errors", "never"):
            raise ValueError(f"after must be 'always', 'errors' or 'never', got {self.after!r}")
        for name in ("delay", "max_delay", "jitter", "min_backoff", "reset_after"):
            value = getattr(self, name)
            if not value >= 0:  # NaN too
                raise ValueError(f"{name} must be >= 0 seconds, got {value!r}")
        if not self.multiplier >= 1:
            raise ValueError(f"multiplier must be >= 1, got {self.multiplier!r}")
        statuses = self.retry_statuses
        if isinstance(statuses, bool):
            statuses = DEFAULT_RETRY_STATUSES if statuses else frozenset()
        object.__setattr__(self, "retry_statuses", frozenset(statuses))

    @property
    def statuses(self) -> frozenset[int]:
        """:attr:`retry_statuses` as given, made a set (``True`` is the usual four)."""
        statuses: frozenset[int] = self.retry_statuses  # type: ignore[assignment]
        return statuses  # __post_init__ made it a frozenset

    def replace(self, **changes: Any) -> ReconnectPolicy:
        """A copy with ``changes`` applied (urllib3's ``Retry.new``)."""
        return dataclasses.replace(self, **changes)


#: What a source does when the user says nothing: reconnect after everything (GET).
RECONNECT: Final = ReconnectPolicy()
#: Never reconnect (any other method, by default).
NEVER: Final = ReconnectPolicy(after="never")


@dataclass(frozen=True, slots=True)
class Timeouts:
    """How long a source waits for the network.

    Attributes:
        connect: Seconds to connect, send the request and get a slot in the pool.
        idle: Seconds without a byte after which a connection counts as dead and is
            reestablished (``None``: wait forever). Keep-alive comments reset it.

    Example:
        >>> Timeouts(idle=60).connect
        30.0
    """

    connect: float = DEFAULT_CONNECT_TIMEOUT
    idle: float | None = DEFAULT_IDLE_TIMEOUT


@dataclass(frozen=True, slots=True)
class Failure:
    """One failed attempt or ended stream, as :meth:`Hooks.on_error` sees it.

    Attributes:
        error: What happened: a :class:`StreamEnded` (the body ended), a network error
            of the HTTP stack, or a :class:`ResponseError` (a status or Content-Type
            that is not an event stream).
        attempt: How many failures in a row, this one included.
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
    iterating thread or task, and should return quickly.

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
        """The source closed, for whatever reason. Called once."""

    def on_comment(self, source: Any, text: str) -> None:
        """A comment line arrived (keep-alives, often ``": ping"``), in its place among
        the events."""
