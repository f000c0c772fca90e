"""How long to wait before reconnecting, and when to give up. The only importer of tenacity.

tenacity is used as a decision engine, not as a loop: the drivers keep their own loop
(so that ``close()`` can interrupt a wait and cancellation passes straight through) and
ask :class:`Backoff` for the next delay after each failure. Users configure it with
tenacity's own strategy objects (``stop=``, ``wait=``), which compose with ``|`` and ``+``.

When the count resets: after a connection that stayed open for the policy's
``reset_after`` seconds (the source calls :meth:`Backoff.reset`). A server that accepts
connections and closes them soon, even after an event or two, or that keeps failing,
backs off; a stream that worked for a while and then dropped starts again from the
reconnection time.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from tenacity import RetryCallState, Retrying, stop_after_attempt, stop_after_delay
from tenacity.stop import stop_base
from tenacity.wait import wait_base

from ._errors import ReconnectError

if TYPE_CHECKING:
    from ._policy import ReconnectPolicy

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
    def build(cls, policy: ReconnectPolicy, *, base: Callable[[], float]) -> Backoff:
        """The backoff of a :class:`ReconnectPolicy`; ``base()`` is the reconnection time."""
        stops: list[StopStrategy] = [] if policy.stop is None else [policy.stop]
        if policy.max_attempts is not None:
            stops.append(stop_after_attempt(policy.max_attempts))
        if policy.max_elapsed is not None:
            stops.append(stop_after_delay(policy.max_elapsed))
        wait = policy.wait or wait_reconnection_time(
            base,
            cap=policy.max_delay,
            multiplier=policy.multiplier,
            jitter=policy.jitter,
            floor=policy.min_backoff,
        )
        return cls(wait=wait, stop=_any_stop(stops), cap=policy.max_delay)

    @property
    def failures(self) -> int:
        """How many attempts failed in a row in the current run."""
        return 0 if self._state is None else self._state.attempt_number - 1

    def reset(self) -> None:
        """Start a new run: the last connection worked."""
        self._state = None

    def next_delay(self, error: BaseException, *, at_least: float = 0.0) -> float | None:
        """Record a failed attempt; return the seconds to wait before the next one, or
        ``None`` if the stop strategy gives up.

        Args:
            error: What went wrong.
            at_least: A lower bound from the server (``Retry-After``), still capped.
        """
        state = self._state = self._state or self._new_state()
        state.set_exception((type(error), error, error.__traceback__))
        delay = None
        if not self._stop(state):
            delay = min(self._cap, max(self._wait(state), at_least))
            state.idle_for += delay
            state.upcoming_sleep = delay
        state.prepare_for_next_attempt()
        return delay

    def gave_up(self, error: BaseException) -> ReconnectError:
        """The error that says the run gave up after ``error``."""
        failures = self.failures
        return ReconnectError(
            f"gave up reconnecting after {failures} failed attempt"
            f"{'' if failures == 1 else 's'}: {error!r}",
            attempts=failures,
        )

    def _new_state(self) -> RetryCallState:
        return RetryCallState(retry_object=_RETRYING, fn=None, args=(), kwargs={})


# A call state must name its Retrying object, though our strategies never look at it;
# one shared instance spares every source a Retrying (and its thread-local) of its own.
_RETRYING: Final = Retrying()


class _never(stop_base):
    def __call__(self, retry_state: RetryCallState) -> bool:
        return False


_NEVER: Final = _never()


def _any_stop(stops: list[StopStrategy]) -> StopStrategy:
    if not stops:
        return _NEVER
    return lambda state: any(stop(state) for stop in stops)
