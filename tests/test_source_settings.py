"""The settings of a source, checked when they are made, before any request.

A policy, timeouts or a max_event_size that make no sense are a ValueError that names
the field; a policy is frozen and derives changed copies; only GET reconnects by
default. No I/O at all.
"""

from __future__ import annotations

from typing import Any

import pytest

from sse_client import (
    DEFAULT_RETRY_STATUSES,
    AsyncEventSource,
    EventSource,
    ReconnectPolicy,
    Timeouts,
)

# -- Settings that make no sense are refused, naming the field -----------------------------


@pytest.mark.parametrize(
    "options",
    [
        {"reconnection_time": -1},
        {"reconnection_time": "3"},
        {"max_delay": -1},
        {"max_delay": float("nan")},
        {"jitter": float("nan")},
        {"min_backoff": -0.1},
        {"reset_after": -1},
        {"multiplier": 0.5},
        {"multiplier": float("inf")},
        {"after": "sometimes"},
        {"max_attempts": -1},
        {"max_attempts": 0},
        {"max_attempts": 2.5},
        {"max_attempts": True},
        {"max_elapsed": -5.0},
        {"max_elapsed": float("nan")},
    ],
)
def test_a_policy_that_makes_no_sense_is_refused(options: dict[str, Any]) -> None:
    """A negative or NaN wait, a shrinking backoff, fewer than one attempt or an unknown
    ending is a ValueError that names the field, when the policy is made."""
    with pytest.raises(ValueError, match=next(iter(options))):
        ReconnectPolicy(**options)


@pytest.mark.parametrize(
    "options", [{"idle": -1}, {"connect": -1}, {"idle": float("nan")}, {"connect": float("nan")}]
)
def test_timeouts_that_make_no_sense_are_refused(options: dict[str, Any]) -> None:
    """A negative or NaN timeout is a ValueError that names it."""
    with pytest.raises(ValueError, match=next(iter(options))):
        Timeouts(**options)


@pytest.mark.parametrize("size", [0, -1, 1.5])
def test_a_max_event_size_that_makes_no_sense_is_refused_before_any_request(size: Any) -> None:
    """max_event_size must be positive (or None): told at construction, nothing sent."""
    with pytest.raises(ValueError, match="max_event_size"):
        EventSource("http://test/", max_event_size=size)
    with pytest.raises(ValueError, match="max_event_size"):
        AsyncEventSource("http://test/", max_event_size=size)


# -- A policy is frozen; its defaults ------------------------------------------------------


def test_a_policy_is_frozen_and_derives_copies() -> None:
    """replace() gives a changed copy; True for retry_statuses means the usual four."""
    policy = ReconnectPolicy(retry_statuses=True)
    assert policy.retry_statuses == DEFAULT_RETRY_STATUSES
    assert ReconnectPolicy(retry_statuses=[503]).retry_statuses == {503}
    assert isinstance(ReconnectPolicy(retry_statuses=[503]).retry_statuses, frozenset)
    changed = policy.replace(reconnection_time=0.5)
    assert (changed.reconnection_time, policy.reconnection_time) == (0.5, 3.0)
    with pytest.raises(AttributeError):
        policy.reconnection_time = 1.0  # type: ignore[misc]


@pytest.mark.parametrize(
    ("method", "reconnects"), [("GET", True), ("get", True), ("POST", False), ("REPORT", False)]
)
def test_only_get_reconnects_by_default(method: str, reconnects: bool) -> None:
    """Re-sending a non-idempotent request repeats its effect: opt in for other methods."""
    source = EventSource("http://test/", method=method)
    assert (source.policy.after != "never") is reconnects
    source.close()
