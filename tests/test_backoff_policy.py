"""The reconnection policy, with recorded delays instead of sleeps."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import tenacity

from sse_client import ReconnectError, ReconnectPolicy, wait_reconnection_time
from sse_client._backoff import Backoff


def build(base: Callable[[], float] = lambda: 1.0, **options: Any) -> Backoff:
    """The backoff of a policy with ``options``, whose reconnection time is ``base()``."""
    return Backoff.build(ReconnectPolicy(**options), base=base)


def give_up(backoff: Backoff, error: BaseException) -> ReconnectError:
    """Record a failure the backoff must give up at; the error a source would raise."""
    assert backoff.next_delay(error) is None
    return backoff.gave_up(error)


def no_jitter(base: float = 1.0, cap: float = 30.0) -> wait_reconnection_time:
    return wait_reconnection_time(lambda: base, cap=cap, jitter=0.0)


def test_consecutive_failures_double_the_wait() -> None:
    """spec: C-DELAY -- the n-th failure in a row waits base * 2**(n-1)."""
    backoff = build(wait=no_jitter())
    delays = [backoff.next_delay(OSError("down")) for _ in range(6)]
    assert delays == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0]


def test_jitter_stays_within_a_quarter_above() -> None:
    """The default wait adds up to 25 % at random, never less than the base."""
    backoff = build()
    first = [build().next_delay(OSError()) or 0.0 for _ in range(200)]
    assert all(1.0 <= delay <= 1.25 for delay in first)
    assert len(set(first)) > 1
    assert (backoff.next_delay(OSError()) or 0.0) >= 1.0


def test_every_wait_is_capped() -> None:
    """A huge base (a hostile retry: field) is still capped."""
    backoff = build(base=lambda: 10.0**12, max_delay=30.0)
    assert backoff.next_delay(OSError()) == 30.0


def test_the_base_is_read_at_each_failure() -> None:
    """The server's retry field, changing between failures, becomes the new base."""
    base = [3.0]
    backoff = build(wait=wait_reconnection_time(lambda: base[0], jitter=0.0))
    assert backoff.next_delay(OSError()) == 3.0
    base[0] = 0.5
    assert backoff.next_delay(OSError()) == 1.0


def test_reset_starts_again_from_the_base() -> None:
    """After a healthy connection, the count restarts."""
    backoff = build(wait=no_jitter())
    backoff.next_delay(OSError())
    backoff.next_delay(OSError())
    assert backoff.failures == 2
    backoff.reset()
    assert backoff.failures == 0
    assert backoff.next_delay(OSError()) == 1.0


def test_max_attempts_gives_up_with_the_cause() -> None:
    """Giving up raises ReconnectError from the last failure, with the attempt count."""
    backoff = build(max_attempts=3)
    backoff.next_delay(OSError("one"))
    backoff.next_delay(OSError("two"))
    error = give_up(backoff, OSError("three"))
    assert "3 failed attempts" in str(error)
    assert error.attempts == 3


def test_one_attempt_is_singular() -> None:
    """The message counts one attempt in the singular."""
    assert "1 failed attempt:" in str(give_up(build(max_attempts=1), OSError()))


def test_max_elapsed_gives_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """Failing for longer than max_elapsed seconds gives up."""
    clock = [100.0]
    monkeypatch.setattr(tenacity.time, "monotonic", lambda: clock[0])  # type: ignore[attr-defined]
    backoff = build(max_elapsed=10.0)
    backoff.next_delay(OSError())
    clock[0] += 11.0
    assert backoff.next_delay(OSError()) is None


def test_tenacity_strategies_are_accepted() -> None:
    """Users pass tenacity's own stop and wait strategies."""
    backoff = build(stop=tenacity.stop_after_attempt(2), wait=tenacity.wait_fixed(0.25))
    assert backoff.next_delay(OSError()) == 0.25
    assert backoff.next_delay(OSError()) is None


def test_a_server_minimum_is_honoured_and_capped() -> None:
    """Retry-After raises the wait, up to the cap."""
    backoff = build(wait=no_jitter(), max_delay=30.0)
    assert backoff.next_delay(OSError(), at_least=5.0) == 5.0
    assert backoff.next_delay(OSError(), at_least=500.0) == 30.0


def test_unlimited_by_default() -> None:
    """Without limits, the policy never gives up."""
    backoff = build(wait=no_jitter(cap=0.0), max_delay=0.0)
    assert all(backoff.next_delay(OSError()) == 0.0 for _ in range(500))
