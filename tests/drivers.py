"""Run one scenario through EventSource, and through AsyncEventSource on asyncio and trio.

Tests take the ``drive`` fixture (see conftest) and call it like a function; it
consumes a source built with the given arguments and reports what happened, so one
test body pins the same behaviour on all three drivers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx

from sse_client import AsyncEventSource, EventSource, ReadyState, ServerSentEvent


@dataclass
class Outcome:
    """What one run of a source saw."""

    events: list[ServerSentEvent]
    ready_state: ReadyState
    last_event_id: str
    reconnection_time: float
    url: httpx.URL
    errors: list[Exception] = field(default_factory=list)
    delays: list[float] = field(default_factory=list)
    opened: int = 0
    closed: int = 0


Driver = Callable[..., Outcome]


def _hooks(outcome_parts: dict[str, Any]) -> dict[str, Any]:
    outcome_parts.update(errors=[], delays=[], opened=0, closed=0)

    def on_open(response: httpx.Response) -> None:
        outcome_parts["opened"] += 1

    def on_close() -> None:
        outcome_parts["closed"] += 1

    return {
        "on_error": outcome_parts["errors"].append,
        "on_retry": outcome_parts["delays"].append,
        "on_open": on_open,
        "on_close": on_close,
    }


def drive_sync(url: str, *, limit: int | None = None, **kwargs: Any) -> Outcome:
    """Consume an EventSource (at most ``limit`` events), with every hook recording."""
    parts: dict[str, Any] = {}
    events: list[ServerSentEvent] = []
    with EventSource(url, **_hooks(parts), **kwargs) as source:
        for event in source:
            events.append(event)
            if limit is not None and len(events) >= limit:
                break
    return Outcome(
        events,
        source.ready_state,
        source.last_event_id,
        source.reconnection_time,
        source.url,
        **parts,
    )


def drive_async(backend: str) -> Driver:
    """The same as :func:`drive_sync`, with AsyncEventSource on ``backend``."""

    def drive(url: str, *, limit: int | None = None, **kwargs: Any) -> Outcome:
        async def main() -> Outcome:
            parts: dict[str, Any] = {}
            events: list[ServerSentEvent] = []
            async with AsyncEventSource(url, **_hooks(parts), **kwargs) as source:
                async for event in source:
                    events.append(event)
                    if limit is not None and len(events) >= limit:
                        break
            return Outcome(
                events,
                source.ready_state,
                source.last_event_id,
                source.reconnection_time,
                source.url,
                **parts,
            )

        async def bounded() -> Outcome:
            with anyio.fail_after(20):
                return await main()

        return anyio.run(bounded, backend=backend)

    return drive
