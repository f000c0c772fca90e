"""How long to wait before reconnecting, and when to give up. The only importer of tenacity.

tenacity is used as a decision engine, not as a loop: the drivers keep their own loop
(so that ``close()`` can interrupt a wait and cancellation passes straight through) and
ask :class:`Backoff` for the next delay after each failure. Users configure it with
tenacity's own strategy objects (``stop=``, ``wait=``), which compose with ``|`` and ``+``.

When the count resets: after a connection that delivered at least one event. A server
that accepts connections and closes them at once, or that keeps failing, backs off; a
stream that worked for a while and then dropped starts again from the reconnection time.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Final

from tenacity import RetryCallState, Retrying, stop_after_attempt, stop_after_delay
from tenacity.stop import stop_base
from tenacity.wait import wait_base

from ._errors import ReconnectError

__all__ = ["Backoff", "StopStrategy", "WaitStrategy", "wait_reconnection_time"]

#: A tenacity stop strategy: given the call state, whether to give up.
StopStrategy = Callable[[RetryCallState], bool]
#: A tenacity wait strategy: given the call state, the seconds to wait.
WaitStrategy = Callable[[RetryCallState], float]

DEFAULT_MAX_RECONNECTION_TIME: Final = 30.0  # seconds
DEFAULT_JITTER: Final = 0.25  # a fraction of the delay, added at random
#: The least a repeated failure waits before it doubles: a server that asks for
#: ``retry: 0`` (or a tiny value) and keeps failing must not be reconnected in a spin.
BACKOFF_FLOOR: Final = 0.1  # seconds


class wait_reconnection_time(wait_base):
    """Wait the stream's reconnection time, doubling on each consecutive failure.

    The base is read at each failure from ``base()`` (the server's ``retry:`` field, or
    the source's initial reconnection time), so the server's value is always the
    floor. The first failure waits ``base``, exactly as the server asked, ``0``
    included; the n-th consecutive one waits ``max(base, floor) * multiplier ** (n -
    1)``, so that a tiny base still backs off. Each wait gets a random ``0..jitter``
    fraction of itself added, so that many clients dropped together do not return
    together, and never lasts more than ``cap`` seconds.

    Example:
        >>> wait = wait_reconnection_time(lambda: 3.0, cap=30.0, jitter=0.0)
    """

    def __init__(
        self,
        base: Callable[[], float],
        *,
        cap: float = DEFAULT_MAX_RECONNECTION_TIME,
        multiplier: float = 2.0,
        jitter: float = DEFAULT_JITTER,
        floor: float = BACKOFF_FLOOR,
    ) -> None:
        self.base = base
        self.cap = cap
        self.multiplier = multiplier
        self.jitter = jitter
        self.floor = floor

    def __call__(self, retry_state: RetryCallState) -> float:
        exponent = min(retry_state.attempt_number - 1, 64)  # 2**64 s outlasts any cap
        base = self.base() if exponent == 0 else max(self.base(), self.floor)
        delay = min(self.cap, base * self.multiplier**exponent)
        return min(self.cap, delay * (1.0 + self.jitter * random.random()))


class Backoff:
    """The reconnection policy of one source: a tenacity call state and two strategies.

    Args:
        wait: Seconds to wait after a failure.
        stop: Whether to give up after a failure.
        cap: The most seconds any wait may last, a ``Retry-After`` included.

    Example:
        >>> backoff = Backoff(wait=lambda state: 1.0, stop=lambda state: False)
        >>> backoff.next_delay(OSError("refused"))
        1.0
    """

    __slots__ = ("_cap", "_state", "_stop", "_wait")

    def __init__(
        self,
        *,
        wait: WaitStrategy,
        stop: StopStrategy,
        cap: float = DEFAULT_MAX_RECONNECTION_TIME,
    ) -> None:
        self._wait = wait
        self._stop = stop
        self._cap = cap
        self._state: RetryCallState | None = None  # made at the first failure of a run

    @classmethod
    def build(
        cls,
        *,
        base: Callable[[], float],
        cap: float,
        max_attempts: int | None,
        max_elapsed: float | None,
        stop: StopStrategy | None,
        wait: WaitStrategy | None,
    ) -> Backoff:
        """The policy a source asks for: our wait unless ``wait`` is given, any stop given."""
        stops: list[StopStrategy] = [] if stop is None else [stop]
        if max_attempts is not None:
            stops.append(stop_after_attempt(max_attempts))
        if max_elapsed is not None:
            stops.append(stop_after_delay(max_elapsed))
        return cls(
            wait=wait_reconnection_time(base, cap=cap) if wait is None else wait,
            stop=_any_stop(stops),
            cap=cap,
        )

    @property
    def attempts(self) -> int:
        """The number of the connection attempt under way in the current run."""
        return 1 if self._state is None else self._state.attempt_number

    def reset(self) -> None:
        """Start a new run: the last connection worked."""
        self._state = None

    def next_delay(self, error: BaseException, *, at_least: float = 0.0) -> float:
        """Record a failed attempt and return the seconds to wait before the next one.

        Args:
            error: What went wrong; it becomes the ``__cause__`` if we give up.
            at_least: A lower bound from the server (``Retry-After``), still capped.

        Raises:
            ReconnectError: The stop strategy says to give up.
        """
        state = self._state = self._state or self._new_state()
        state.set_exception((type(error), error, error.__traceback__))
        if self._stop(state):
            attempts = state.attempt_number
            raise ReconnectError(
                f"gave up reconnecting after {attempts} failed attempt"
                f"{'' if attempts == 1 else 's'}: {error!r}",
                attempts=attempts,
            ) from error
        delay = min(self._cap, max(self._wait(state), at_least))
        state.idle_for += delay
        state.upcoming_sleep = delay
        state.prepare_for_next_attempt()
        return delay

    def _new_state(self) -> RetryCallState:
        return RetryCallState(retry_object=_RETRYING, fn=None, args=(), kwargs={})


# A call state must name its Retrying object, though our strategies never look at it;
# one shared instance spares every source a Retrying (and its thread-local) of its own.
_RETRYING: Final = Retrying()


class _never(stop_base):
    def __call__(self, retry_state: RetryCallState) -> bool:
        return False


def _any_stop(stops: list[StopStrategy]) -> StopStrategy:
    if not stops:
        return _never()
    return lambda state: any(stop(state) for stop in stops)
