"""The reconnection decision as a table: policy, run, attempt and answer in; action out.

No I/O and no clock: ``decide`` is pure, ``now`` is given, and jitter is 0 where a
figure must be exact. Tags refer to the project's restatement of the WHATWG rules.
"""

from __future__ import annotations

import math
import ssl
from typing import Any

import httpx2
import pytest
import tenacity

from sse_client import (
    STOP,
    ReconnectError,
    ReconnectPolicy,
    ResponseError,
    StreamEnded,
    UnrecoverableError,
    wait_reconnection_time,
)
from sse_client._backoff import (
    Attempt,
    End,
    Kind,
    Raise,
    ReconnectState,
    Run,
    Wait,
    decide,
    propose,
)

#: The policy of most rows: no jitter, so that every wait is exact.
EXACT = ReconnectPolicy(jitter=0)
NOW = 1000.0


def status(code: int, **headers: str) -> ResponseError:
    """A ResponseError for a response with ``code``."""
    return ResponseError(f"status {code}", response=httpx2.Response(code, headers=headers))


def certificate_failure() -> httpx2.ConnectError:
    """A connect error caused by a certificate that does not verify, as httpx2 raises it."""
    try:
        try:
            raise ssl.SSLCertVerificationError(1, "certificate verify failed")
        except ssl.SSLCertVerificationError as exc:
            raise httpx2.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED]") from exc
    except httpx2.ConnectError as exc:
        return exc


def attempt(kind: Kind, *, worked: bool = False, retry_after: float = 0.0) -> Attempt:
    """An attempt of ``kind`` with a typical error."""
    error: Exception = {
        "ended": StreamEnded(),
        "broken": httpx2.ReadError("reset"),
        "refused": status(503),
        "futile": certificate_failure(),
    }[kind]
    return Attempt(error, kind, worked, retry_after)


def run_of(failures: int, since: float = NOW - 5) -> Run:
    """A run of ``failures`` failed attempts in a row."""
    return Run(failures, since if failures else None)


def action_of(
    policy: ReconnectPolicy = EXACT,
    run: Run = Run(),  # noqa: B008 -- frozen
    done: Attempt | None = None,
    answer: Any = None,
    *,
    reconnection_time: float = 1.0,
) -> tuple[object, Run]:
    """The decision, with the reconnection time 1 s unless said otherwise."""
    assert done is not None
    return decide(policy, run, done, answer, reconnection_time=reconnection_time, now=NOW)


# (policy, failures before, attempt, reconnection time, the hook's answer) -> action
CASES = [
    # spec: C-DELAY -- a stream that worked: exactly the reconnection time, a new run.
    pytest.param(EXACT, 0, attempt("ended", worked=True), 1.0, None, Wait(1.0), id="worked-ended"),
    pytest.param(
        ReconnectPolicy(), 4, attempt("ended", worked=True), 2.0, None, Wait(2.0),
        id="worked-after-failures-no-jitter-no-doubling",
    ),
    pytest.param(EXACT, 0, attempt("broken", worked=True), 0.5, None, Wait(0.5), id="worked-lost"),
    pytest.param(EXACT, 0, attempt("ended", worked=True), 0.0, None, Wait(0.0), id="worked-at-0"),
    pytest.param(EXACT, 0, attempt("ended", worked=True), 99.0, None, Wait(30.0), id="worked-cap"),
    pytest.param(
        EXACT.replace(after="errors"), 0, attempt("ended", worked=True), 1.0, None, End(),
        id="worked-ended-after-errors",
    ),
    pytest.param(
        EXACT.replace(after="errors"), 0, attempt("broken", worked=True), 1.0, None, Wait(1.0),
        id="worked-broken-after-errors",
    ),
    pytest.param(
        EXACT.replace(after="never"), 0, attempt("ended", worked=True), 1.0, None, End(),
        id="worked-ended-never",
    ),
    pytest.param(
        EXACT.replace(after="never"), 0, attempt("broken", worked=True), 1.0, None, Raise,
        id="worked-broken-never-raises",
    ),
    pytest.param(
        EXACT.replace(max_attempts=1), 0, attempt("ended", worked=True), 1.0, None, Wait(1.0),
        id="worked-is-no-attempt-against-the-limit",
    ),
    # Failures back off: max(base, min_backoff) * 2 ** (n - 1), capped.
    pytest.param(EXACT, 0, attempt("broken"), 1.0, None, Wait(1.0), id="first-failure"),
    pytest.param(EXACT, 2, attempt("broken"), 1.0, None, Wait(4.0), id="third-failure"),
    pytest.param(EXACT, 9, attempt("broken"), 1.0, None, Wait(30.0), id="failure-capped"),
    pytest.param(EXACT, 0, attempt("ended"), 0.0, None, Wait(0.1), id="ended-at-once-no-spin"),
    pytest.param(EXACT, 3, attempt("ended"), 0.0, None, Wait(0.8), id="ended-at-once-doubles"),
    pytest.param(
        EXACT.replace(after="errors"), 0, attempt("ended"), 1.0, None, End(),
        id="empty-body-after-errors-ends",
    ),
    pytest.param(
        EXACT.replace(min_backoff=0), 0, attempt("broken"), 0.0, None, Wait(0.0),
        id="no-floor-when-asked",
    ),
    pytest.param(
        EXACT.replace(multiplier=1e300), 5, attempt("broken"), 1.0, None, Wait(30.0),
        id="overflowing-multiplier-capped",
    ),
    # Statuses: refused unless asked; Retry-After raises the wait, within the cap.
    pytest.param(EXACT, 0, attempt("refused"), 1.0, None, Raise, id="status-raises"),
    pytest.param(
        EXACT.replace(retry_statuses=True), 0, attempt("refused", retry_after=7.0), 1.0, None,
        Wait(7.0), id="status-retried-retry-after",
    ),
    pytest.param(
        EXACT.replace(retry_statuses=True), 0, attempt("refused", retry_after=900.0), 1.0, None,
        Wait(30.0), id="retry-after-capped",
    ),
    pytest.param(
        EXACT.replace(retry_statuses={500}), 0, attempt("refused"), 1.0, None, Raise,
        id="status-not-among-those-asked",
    ),
    # What no retry can mend ends at once, unless the hook asks for a retry.
    pytest.param(EXACT, 0, attempt("futile"), 1.0, None, Raise, id="futile-raises"),
    pytest.param(EXACT, 0, attempt("futile"), 1.0, 5.0, Wait(5.0), id="futile-hook-retries"),
    # Limits count failures in a row.
    pytest.param(EXACT.replace(max_attempts=3), 1, attempt("broken"), 1.0, None, Wait(2.0),
                 id="within-max-attempts"),
    pytest.param(EXACT.replace(max_attempts=3), 2, attempt("broken"), 1.0, None, Raise,
                 id="max-attempts-gives-up"),
    pytest.param(EXACT.replace(max_attempts=3), 2, attempt("broken"), 1.0, 0.5, Wait(0.5),
                 id="hook-goes-on-after-the-limit"),
    # The hook's answer.
    pytest.param(EXACT, 0, attempt("ended", worked=True), 1.0, STOP, End(), id="stop-ends"),
    pytest.param(EXACT, 0, attempt("broken"), 1.0, STOP, Raise, id="stop-raises-an-error"),
    pytest.param(EXACT, 0, attempt("broken"), 1.0, 0, Wait(0.0), id="hook-at-once"),
    pytest.param(EXACT, 0, attempt("broken"), 1.0, math.inf, Wait(math.inf), id="hook-forever"),
    pytest.param(EXACT, 0, attempt("refused"), 1.0, 2.0, Wait(2.0), id="hook-retries-a-status"),
]  # fmt: skip


@pytest.mark.parametrize(("policy", "failures", "done", "retry", "answer", "expected"), CASES)
def test_the_decision(
    policy: ReconnectPolicy,
    failures: int,
    done: Attempt,
    retry: float,
    answer: Any,
    expected: object,
) -> None:
    """Each row: what the policy and the hook's answer make of one attempt."""
    action, _ = action_of(policy, run_of(failures), done, answer, reconnection_time=retry)
    if expected is Raise:
        assert isinstance(action, Raise)
    else:
        assert action == expected


def test_a_connection_that_worked_starts_a_new_run() -> None:
    """spec: C-DELAY -- the count of failures restarts, and the hook sees attempt 0."""
    before = run_of(5)
    proposal = propose(EXACT, before, attempt("ended", worked=True), reconnection_time=0.5, now=NOW)
    assert (proposal.attempt, proposal.delay, proposal.run) == (0, 0.5, Run())
    _, after = action_of(EXACT, before, attempt("broken"))
    assert (after.failures, after.since) == (6, before.since)


def test_a_failed_run_records_its_start_and_its_waits() -> None:
    """The first failure starts the run at now; each wait is added to it."""
    _, run = action_of(EXACT, Run(), attempt("broken"))
    assert run == Run(1, NOW, 1.0)
    _, run = action_of(EXACT, run, attempt("broken"))
    assert run == Run(2, NOW, 3.0)
    _, run = action_of(EXACT, run, attempt("broken"), answer=0.25)
    assert run.waited == 3.25


def test_what_is_raised_and_why() -> None:
    """A failure is raised itself; giving up raises ReconnectError from it; what no
    retry mends raises UnrecoverableError whose cause is the certificate error."""
    broken = attempt("broken")
    action, _ = action_of(EXACT, Run(), broken, STOP)
    assert isinstance(action, Raise)
    assert action.error is broken.error
    action, _ = action_of(EXACT.replace(max_attempts=3), run_of(2), broken)
    assert isinstance(action, Raise)
    assert isinstance(action.error, ReconnectError)
    assert action.error.__cause__ is broken.error
    assert action.error.attempts == 3
    assert str(action.error).startswith("gave up reconnecting after 3 failed attempts: ")
    action, _ = action_of(EXACT.replace(max_attempts=1), Run(), broken)
    assert isinstance(action, Raise)
    assert "after 1 failed attempt: " in str(action.error)
    futile = attempt("futile")
    action, _ = action_of(EXACT, Run(), futile)
    assert isinstance(action, Raise)
    assert isinstance(action.error, UnrecoverableError)
    assert isinstance(action.error.__cause__, ssl.SSLCertVerificationError)
    assert "certificate verify failed" in str(action.error)
    redirects = Attempt(httpx2.TooManyRedirects("loop"), "futile")
    action, _ = action_of(EXACT, Run(), redirects, STOP)
    assert isinstance(action, Raise)
    assert action.error.__cause__ is redirects.error


def test_max_elapsed_counts_from_the_first_failure() -> None:
    """Failing for longer than max_elapsed seconds in a row gives up."""
    policy = EXACT.replace(max_elapsed=10.0)
    action, _ = action_of(policy, Run(1, NOW - 9.0), attempt("broken"))
    assert isinstance(action, Wait)
    action, _ = action_of(policy, Run(1, NOW - 11.0), attempt("broken"))
    assert isinstance(action, Raise)
    assert isinstance(action.error, ReconnectError)


@pytest.mark.parametrize("answer", [-1.0, math.nan, "soon"])
def test_a_hook_answer_that_makes_no_sense_is_refused(answer: Any) -> None:
    """on_error must return seconds >= 0, None or STOP."""
    with pytest.raises(ValueError, match="on_error must return"):
        action_of(EXACT, Run(), attempt("broken"), answer)


def test_jitter_adds_up_to_its_fraction_to_failures_only() -> None:
    """The default jitter: 0-25 % above a failure's wait, and nothing on a healthy wait."""
    policy = ReconnectPolicy()
    waits = [action_of(policy, Run(), attempt("broken"))[0] for _ in range(200)]
    seconds = [w.seconds for w in waits if isinstance(w, Wait)]
    assert len(seconds) == 200
    assert all(1.0 <= s <= 1.25 for s in seconds)
    assert len(set(seconds)) > 1
    healthy = {action_of(policy, Run(), attempt("ended", worked=True))[0] for _ in range(50)}
    assert healthy == {Wait(1.0)}


def test_tenacity_strategies_apply_to_failures() -> None:
    """A user's tenacity wait and stop replace the defaults for failures; a stream that
    worked still waits the reconnection time."""
    policy = EXACT.replace(stop=tenacity.stop_after_attempt(2), wait=tenacity.wait_fixed(0.25))
    assert action_of(policy, Run(), attempt("broken"))[0] == Wait(0.25)
    assert isinstance(action_of(policy, run_of(1), attempt("broken"))[0], Raise)
    assert action_of(policy, run_of(1), attempt("ended", worked=True))[0] == Wait(1.0)


def test_a_wait_builds_on_the_servers_retry() -> None:
    """wait_reconnection_time reads the reconnection time, and composes with tenacity's."""
    wait = wait_reconnection_time(multiplier=1, jitter=0) + tenacity.wait_fixed(1)
    policy = EXACT.replace(wait=wait)
    assert action_of(policy, run_of(3), attempt("broken"), reconnection_time=2.5)[0] == Wait(3.5)
    growing = EXACT.replace(wait=wait_reconnection_time(multiplier=3, jitter=0))
    assert action_of(growing, run_of(2), attempt("broken"), reconnection_time=0.5)[0] == Wait(4.5)


def test_strategies_see_the_run_in_tenacitys_terms() -> None:
    """The call state a strategy gets: the attempt number, the run's time, the error."""
    seen: list[ReconnectState] = []

    def record(state: tenacity.RetryCallState) -> float:
        assert isinstance(state, ReconnectState)
        seen.append(state)
        return 0.5

    broken = attempt("broken")
    action_of(EXACT.replace(wait=record), Run(2, NOW - 7.0, 3.0), broken, reconnection_time=2.0)
    (state,) = seen
    assert state.attempt_number == 3
    assert state.seconds_since_start == 7.0
    assert state.idle_for == 3.0
    assert state.reconnection_time == 2.0
    assert state.outcome is not None
    assert state.outcome.exception() is broken.error


def test_wait_reconnection_time_is_for_a_source() -> None:
    """Given another call state, the strategy says what it is for; bad settings are refused."""
    state = tenacity.RetryCallState(tenacity.Retrying(), fn=None, args=(), kwargs={})
    with pytest.raises(TypeError, match="ReconnectPolicy"):
        wait_reconnection_time()(state)
    with pytest.raises(ValueError, match="multiplier"):
        wait_reconnection_time(multiplier=0.5)
