"""Whether to reconnect after a failed attempt or an ended stream, and how long to wait.
The decision core, and the only importer of tenacity.

:func:`decide` is a pure function of the policy, the history of the current run of
failures, what happened to the attempt, and the hook's answer; it returns :class:`Wait`,
:class:`End` or :class:`Raise`. It reads no clock (``now`` is given) and does no I/O, so
a table of cases tests it whole. The source splits it in two, :func:`propose` (what the
policy would do, which :meth:`Hooks.on_error` is shown) and :func:`resolve` (what the
hook's answer makes of it), and acts on the result.

The rules (spec: C-REESTABLISH, C-DELAY):

- A connection that worked (it opened, then delivered an event or moved the last event
  ID, or stayed open ``reset_after`` seconds) is no failure, however it ended: the next
  attempt waits exactly the reconnection time, capped by ``max_delay``, and the run of
  failures starts again. Browsers do the same, and servers that close streams at will
  rely on it to have clients poll at their ``retry:`` interval.
- Every other attempt failed. Failures in a row form a run: the n-th waits what the
  policy's ``wait`` strategy says (by default ``max(reconnection time, min_backoff) *
  multiplier ** (n - 1)`` plus jitter), at least ``Retry-After``, at most ``max_delay``;
  the policy's ``stop`` and its limits end the run with :class:`ReconnectError`.
- What no retry can mend (a certificate that does not verify, a URL the stack cannot
  fetch) is not retried: :class:`UnrecoverableError`, whose cause is the reason.

tenacity is used through its documented surface: its strategies, called with a
:class:`tenacity.RetryCallState` whose documented attributes describe the run.
"""

from __future__ import annotations

import dataclasses
import math
import random
import ssl
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal

from tenacity import Future, RetryCallState, Retrying, stop_after_attempt, stop_after_delay
from tenacity.wait import wait_base

from ._errors import ReconnectError, ResponseError, UnrecoverableError
from ._policy import (
    DEFAULT_JITTER,
    DEFAULT_MIN_BACKOFF,
    DEFAULT_MULTIPLIER,
    ReconnectPolicy,
    Stop,
)

if TYPE_CHECKING:
    from ._policy import StopStrategy

__all__ = [
    "Attempt",
    "End",
    "Proposal",
    "Raise",
    "ReconnectState",
    "Run",
    "Wait",
    "decide",
    "propose",
    "resolve",
    "wait_reconnection_time",
]

#: How an attempt ended: the server ended the body; the network, a timeout or
#: ``reconnect()`` broke the connection; the server answered with something other than
#: a stream; or something no retry can mend.
Kind = Literal["ended", "broken", "refused", "futile"]


@dataclass(frozen=True, slots=True)
class Attempt:
    """What happened to one attempt: the failure the decision is about.

    Attributes:
        error: The error (a :class:`StreamEnded` for an ended body).
        kind: How it ended (see ``Kind``).
        worked: Whether the connection worked before it ended: it opened, then made
            progress or stayed open ``reset_after`` seconds.
        retry_after: The least wait the server asked for, in seconds (``Retry-After``).
    """

    error: Exception
    kind: Kind
    worked: bool = False
    retry_after: float = 0.0


@dataclass(frozen=True, slots=True)
class Run:
    """The history of the current run of failed attempts in a row.

    Attributes:
        failures: How many attempts failed in a row.
        since: When the first of them failed (seconds of ``now``'s clock), or ``None``.
        waited: The seconds waited after them so far.
    """

    failures: int = 0
    since: float | None = None
    waited: float = 0.0


@dataclass(frozen=True, slots=True)
class Proposal:
    """What the policy would do: the :class:`Failure` the hook sees, and the next run.

    Attributes:
        attempt: Failed attempts in a row, this one included (0: the connection worked).
        delay: The seconds the policy would wait, or ``None`` if it would not reconnect.
        gave_up: Whether ``None`` means that the limits ran out.
        run: The history once this attempt is counted.
    """

    attempt: int
    delay: float | None
    gave_up: bool
    run: Run


@dataclass(frozen=True, slots=True)
class Wait:
    """Reconnect after ``seconds``."""

    seconds: float


@dataclass(frozen=True, slots=True)
class End:
    """End the stream quietly: the server ended it, and nothing reconnects."""


@dataclass(frozen=True, slots=True)
class Raise:
    """End the stream by raising ``error``."""

    error: Exception


Action = Wait | End | Raise


class ReconnectState(RetryCallState):
    """tenacity's call state as a source's strategies see it, plus the stream's
    reconnection time. Made afresh for each failed attempt of a run.

    Documented tenacity attributes: ``attempt_number`` (failed attempts in a row, this
    one included), ``start_time`` (when the run's first failure happened),
    ``outcome_timestamp`` (now), ``outcome`` (a failed future holding the error) and
    ``idle_for`` (the seconds waited so far in the run).

    Attributes:
        reconnection_time: The stream's reconnection time, in seconds: the server's
            ``retry:``, else the policy's.
    """

    def __init__(
        self, *, reconnection_time: float, failures: int, since: float, now: float, run: Run
    ) -> None:
        super().__init__(retry_object=_RETRYING, fn=None, args=(), kwargs={})
        self.reconnection_time = reconnection_time
        self.attempt_number = failures
        self.start_time = since
        self.outcome_timestamp = now
        self.idle_for = run.waited

    def failed_with(self, error: BaseException) -> ReconnectState:
        """Record the attempt's error as its outcome."""
        outcome = Future(self.attempt_number)
        outcome.set_exception(error)
        self.outcome = outcome
        return self


class wait_reconnection_time(wait_base):
    """Wait the stream's reconnection time, backing off over failures in a row.

    A tenacity wait strategy for :attr:`ReconnectPolicy.wait`: the n-th failure in a
    row waits ``max(reconnection time, min_backoff) * multiplier ** (n - 1)``, plus a
    random ``0..jitter`` fraction of that, so that clients dropped together do not
    return together. The reconnection time is the server's ``retry:`` (else the
    policy's), read at each failure; the policy caps the result with ``max_delay``.
    It composes with tenacity's strategies: ``wait_reconnection_time(jitter=0) +
    wait_random(0, 1)``.

    Args:
        multiplier: What each failure in a row multiplies the wait by (``1``: no growth).
        min_backoff: The least base, so that ``retry: 0`` is no spin.
        jitter: The largest fraction added at random.

    Example:
        >>> policy = ReconnectPolicy(wait=wait_reconnection_time(multiplier=1.5, jitter=0))
    """

    def __init__(
        self,
        *,
        multiplier: float = DEFAULT_MULTIPLIER,
        min_backoff: float = DEFAULT_MIN_BACKOFF,
        jitter: float = DEFAULT_JITTER,
    ) -> None:
        ReconnectPolicy(multiplier=multiplier, min_backoff=min_backoff, jitter=jitter)  # checks
        self.multiplier = multiplier
        self.min_backoff = min_backoff
        self.jitter = jitter

    def __call__(self, retry_state: RetryCallState) -> float:
        if not isinstance(retry_state, ReconnectState):
            raise TypeError(
                "wait_reconnection_time waits for a source: pass it in a ReconnectPolicy"
            )
        base = max(retry_state.reconnection_time, self.min_backoff)
        if base == 0:
            return 0.0
        try:
            delay = base * self.multiplier ** (retry_state.attempt_number - 1)
        except OverflowError:
            delay = math.inf  # a run long enough for that waits max_delay anyway
        return delay * (1.0 + self.jitter * random.random())


def propose(
    policy: ReconnectPolicy,
    run: Run,
    attempt: Attempt,
    *,
    reconnection_time: float,
    now: float,
) -> Proposal:
    """What the policy would do after ``attempt``, given the ``run`` before it.

    Args:
        policy: The source's policy.
        run: The failures in a row before this attempt.
        attempt: What happened.
        reconnection_time: The stream's reconnection time (the server's ``retry:``, else
            the policy's), in seconds.
        now: The time, on the clock ``run.since`` is read on.
    """
    reconnects = policy.after == "always" or (policy.after == "errors" and attempt.kind != "ended")
    if attempt.kind == "refused":
        status = attempt.error.status_code if isinstance(attempt.error, ResponseError) else 0
        statuses: frozenset[int] = policy.retry_statuses  # type: ignore[assignment]
        reconnects = reconnects and status in statuses  # (made a frozenset when checked)
    elif attempt.kind == "futile":
        reconnects = False
    if attempt.worked:
        # spec: C-DELAY -- a stream that worked is no failure: exactly the reconnection
        # time, and a new run.
        delay = float(min(policy.max_delay, reconnection_time)) if reconnects else None
        return Proposal(0, delay, False, Run())
    failures = run.failures + 1
    since = now if run.since is None else run.since
    run = dataclasses.replace(run, failures=failures, since=since)
    if not reconnects:
        return Proposal(failures, None, False, run)
    state = ReconnectState(
        reconnection_time=reconnection_time, failures=failures, since=since, now=now, run=run
    ).failed_with(attempt.error)
    if _stop(policy)(state):
        return Proposal(failures, None, True, run)
    wait = (policy.wait or _default_wait(policy))(state)
    delay = float(min(policy.max_delay, max(wait, attempt.retry_after)))
    return Proposal(failures, delay, False, run)


def resolve(proposal: Proposal, attempt: Attempt, answer: float | Stop | None) -> Action:
    """What to do, given the policy's ``proposal`` and the hook's ``answer``.

    Raises:
        ValueError: ``answer`` is neither ``None``, :data:`STOP` nor seconds >= 0.
    """
    if isinstance(answer, Stop) or (answer is None and proposal.delay is None):
        if answer is None and proposal.gave_up:
            return Raise(_gave_up(proposal.attempt, attempt.error))
        if attempt.kind == "ended":
            return End()
        if attempt.kind == "futile":
            return Raise(unrecoverable(attempt.error))
        return Raise(attempt.error)
    if answer is None:
        assert proposal.delay is not None
        return Wait(proposal.delay)
    seconds: object = answer  # what a hook may return, whatever its annotation says
    if not isinstance(seconds, int | float) or not seconds >= 0:
        raise ValueError(f"on_error must return seconds >= 0, None or STOP, got {answer!r}")
    return Wait(float(seconds))


def decide(
    policy: ReconnectPolicy,
    run: Run,
    attempt: Attempt,
    answer: float | Stop | None = None,
    *,
    reconnection_time: float,
    now: float,
) -> tuple[Action, Run]:
    """The whole decision: the action after ``attempt``, and the run that follows.

    Example:
        >>> from sse_client import StreamEnded
        >>> decide(ReconnectPolicy(), Run(), Attempt(StreamEnded(), "ended", worked=True),
        ...        reconnection_time=0.5, now=0.0)
        (Wait(seconds=0.5), Run(failures=0, since=None, waited=0.0))
    """
    proposal = propose(policy, run, attempt, reconnection_time=reconnection_time, now=now)
    action = resolve(proposal, attempt, answer)
    return action, waited(proposal, action)


def waited(proposal: Proposal, action: Action) -> Run:
    """The run after ``action``: a failed attempt's wait counts in ``idle_for``."""
    run = proposal.run
    if isinstance(action, Wait) and run.failures:
        return dataclasses.replace(run, waited=run.waited + action.seconds)
    return run


def unrecoverable(error: Exception) -> UnrecoverableError:
    """The error that ends a source after ``error``, which no retry can mend; its
    ``__cause__`` is the reason: the certificate error in ``error``'s chain, if any."""
    reason = certificate_error(error) or error
    final = UnrecoverableError(f"{type(reason).__name__}: {reason}")
    final.__cause__ = reason
    return final


def certificate_error(error: BaseException) -> BaseException | None:
    """The certificate verification error at the root of ``error``, if there is one."""
    seen: set[int] = set()
    cause: BaseException | None = error
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return cause
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return None


def _gave_up(failures: int, error: Exception) -> ReconnectError:
    gave_up = ReconnectError(
        f"gave up reconnecting after {failures} failed attempt"
        f"{'' if failures == 1 else 's'}: {error!r}",
        attempts=failures,
    )
    gave_up.__cause__ = error
    return gave_up


def _stop(policy: ReconnectPolicy) -> StopStrategy:
    stops: list[StopStrategy] = [] if policy.stop is None else [policy.stop]
    if policy.max_attempts is not None:
        stops.append(stop_after_attempt(policy.max_attempts))
    if policy.max_elapsed is not None:
        stops.append(stop_after_delay(policy.max_elapsed))
    return lambda state: any(stop(state) for stop in stops)


def _default_wait(policy: ReconnectPolicy) -> wait_reconnection_time:
    return wait_reconnection_time(
        multiplier=policy.multiplier, min_backoff=policy.min_backoff, jitter=policy.jitter
    )


# A call state must name its Retrying object, though our strategies never look at it;
# one shared instance spares every decision a Retrying (and its thread-local) of its own.
_RETRYING: Final = Retrying()
