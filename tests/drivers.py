"""Run one scenario through EventSource, and through AsyncEventSource on asyncio and trio.

Tests take the ``drive`` fixture (see conftest) and call it like a function; it
consumes a source built with the given arguments and reports what happened, so one
test body pins the same behaviour on all three drivers, and on every HTTP stack: the
source's own httpx2 client, an httpx client given by the user, and (asyncio only) a
user's aiohttp session. ``drive.http`` is the stack's module (for aiohttp, its errors
under httpx's names), for the errors a test expects.

Tests that act on a source while it is being read (close it, cancel it, reconnect it)
do so from another thread or task shortly after its first event: :func:`soon_after`,
:func:`soon_after_async` and :func:`consume_while`.
"""

from __future__ import annotations

import contextlib
import importlib
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Protocol

import anyio
import pytest

from sse_client import (
    AsyncEventSource,
    EventSource,
    Failure,
    Hooks,
    ReadyState,
    ReconnectPolicy,
    ServerSentEvent,
    Stop,
)

#: Reconnect at once, and count every connection as healthy: tests that drop
#: connections on purpose do not wait for the backoff.
FAST = ReconnectPolicy(reconnection_time=0.001, reset_after=0)

# A busy machine may take a while to deliver the first event, so the other thread or task
# acts a moment after the consumer has it, never at a fixed time from the start; and a
# "prompt" end is one well under the waits it cuts short (a stall, a 30 s backoff).
SETTLE = 0.05  # seconds for the source to block again in its read or wait
PROMPT = 5.0  # seconds


@dataclass
class Outcome:
    """What one run of a source saw."""

    events: list[ServerSentEvent]
    ready_state: ReadyState
    last_event_id: str
    reconnection_time: float
    url: Any
    errors: list[Exception] = field(default_factory=list)
    delays: list[float] = field(default_factory=list)
    opened: int = 0
    closed: int = 0


class Driver(Protocol):
    """Consume a source built from the arguments; ``http`` is the stack it runs on."""

    http: ModuleType
    __name__: str

    def __call__(self, url: str, **kwargs: Any) -> Outcome: ...


class Recorder(Hooks):
    """Hooks that record what they are told (and decide nothing)."""

    def __init__(self) -> None:
        self.errors: list[Exception] = []
        self.delays: list[float] = []
        self.comments: list[str] = []
        self.opened = 0
        self.closed = 0

    def on_open(self, source: Any, response: Any) -> None:
        self.opened += 1

    def on_error(self, source: Any, failure: Failure) -> float | Stop | None:
        self.errors.append(failure.error)
        return None

    def on_retry(self, source: Any, delay: float) -> None:
        self.delays.append(delay)

    def on_close(self, source: Any) -> None:
        self.closed += 1

    def outcome(self, events: list[ServerSentEvent], source: Any) -> Outcome:
        """What the run saw, ``source`` being over."""
        return Outcome(
            events,
            source.ready_state,
            source.last_event_id,
            source.reconnection_time,
            source.url,
            self.errors,
            self.delays,
            self.opened,
            self.closed,
        )


class CommentRecorder(Recorder):
    """A recorder that asks for comments too."""

    def on_comment(self, source: Any, text: str) -> None:
        self.comments.append(text)


def drive_sync(url: str, *, limit: int | None = None, pause: float = 0.0, **kwargs: Any) -> Outcome:
    """Consume an EventSource (at most ``limit`` events), with every hook recording (a
    ``hooks=`` recorder of the caller's, or a new one); ``pause`` seconds after the first
    event, as a consumer busy with it."""
    hooks: Recorder = kwargs.setdefault("hooks", Recorder())
    events: list[ServerSentEvent] = []
    with EventSource(url, **kwargs) as source:
        for event in source:
            events.append(event)
            if len(events) == 1:
                time.sleep(pause)
            if limit is not None and len(events) >= limit:
                break
    return hooks.outcome(events, source)


def drive_async(backend: str) -> Callable[..., Outcome]:
    """The same as :func:`drive_sync`, with AsyncEventSource on ``backend``."""

    def drive(
        url: str,
        *,
        limit: int | None = None,
        pause: float = 0.0,
        client_factory: Any = None,
        **kwargs: Any,
    ) -> Outcome:
        async def main() -> Outcome:
            hooks: Recorder = kwargs.setdefault("hooks", Recorder())
            events: list[ServerSentEvent] = []
            async with contextlib.AsyncExitStack() as stack:
                if client_factory is not None:
                    kwargs["client"] = await stack.enter_async_context(client_factory())
                source = await stack.enter_async_context(AsyncEventSource(url, **kwargs))
                async for event in source:
                    events.append(event)
                    if len(events) == 1:
                        await anyio.sleep(pause)
                    if limit is not None and len(events) >= limit:
                        break
            return hooks.outcome(events, source)

        async def bounded() -> Outcome:
            with anyio.fail_after(20):
                return await main()

        return anyio.run(bounded, backend=backend)

    return drive


class AiohttpErrors:
    """aiohttp's errors under the httpx names the tests expect, as ``drive.http``."""

    __name__ = "aiohttp"

    def __init__(self) -> None:
        import aiohttp

        self.RemoteProtocolError = aiohttp.ClientPayloadError  # a broken body
        self.ReadError = aiohttp.ClientConnectionError  # a reset, a hang-up
        self.ReadTimeout = aiohttp.SocketTimeoutError
        self.ConnectError = aiohttp.ClientConnectorError
        self.TooManyRedirects = aiohttp.TooManyRedirects
        self.AsyncClient = aiohttp.ClientSession


class OnStack:
    """A driver on one HTTP stack: httpx2 through the source's own client, or a user's
    httpx client or aiohttp session (closed after the run)."""

    def __init__(self, drive: Callable[..., Outcome], stack: str, *, is_async: bool) -> None:
        self._drive = drive
        self._is_async = is_async
        self.http: Any = AiohttpErrors() if stack == "aiohttp" else importlib.import_module(stack)
        self.__name__ = drive.__name__

    def __call__(self, url: str, **kwargs: Any) -> Outcome:
        if self.http.__name__ == "httpx2" or "client" in kwargs:
            return self._drive(url, **kwargs)
        if self._is_async:
            # An async client belongs to the event loop of the run: make it there.
            kwargs["client_factory"] = self.http.AsyncClient
            return self._drive(url, **kwargs)
        with self.http.Client() as client:
            return self._drive(url, client=client, **kwargs)


def soon_after(first: threading.Event, action: Callable[[], object]) -> threading.Thread:
    """Start a thread that runs ``action`` shortly after ``first`` is set."""

    def run() -> None:
        assert first.wait(30)
        time.sleep(SETTLE)
        action()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


async def soon_after_async(first: anyio.Event, action: Callable[[], object]) -> None:
    """Run ``action`` (awaiting what it returns, if anything) shortly after ``first`` is set."""
    await first.wait()
    await anyio.sleep(SETTLE)
    result = action()
    if isinstance(result, Awaitable):
        await result


async def consume_while(source: AsyncEventSource, action: Callable[[], object]) -> list[str]:
    """Iterate ``source`` to its end (within PROMPT), running ``action`` in another task
    shortly after the first event; return the data of the events seen."""
    got: list[str] = []
    first = anyio.Event()
    with anyio.fail_after(PROMPT):
        async with anyio.create_task_group() as group:
            group.start_soon(soon_after_async, first, action)
            async for item in source:
                got.append(item.data)
                first.set()
    return got


class Calls:
    """Counts the calls of ``owner.name`` from now until ``stop()`` (or the test's end),
    where a per-read cost would show: a timer armed, a cancel scope opened."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, owner: object, name: str) -> None:
        self.count = 0
        self._owner, self._name, self._original = owner, name, getattr(owner, name)

        def counting(*args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return self._original(*args, **kwargs)

        monkeypatch.setattr(owner, name, counting)  # put back at the test's end, at the latest

    def stop(self) -> int:
        """Put the original back; the count so far."""
        setattr(self._owner, self._name, self._original)
        return self.count


async def aclose_ends_a_wait_for_headers(client: Any) -> None:
    """Against a server that accepts the connection and never answers, ``aclose()`` from
    another task ends a source's wait for the headers at once (on ``client``, or the
    source's own), and counts no failure."""
    from .servers import raw_server

    with raw_server(None) as server:
        hooks = Recorder()
        async with AsyncEventSource(server.url, client=client, hooks=hooks) as source:

            async def close_soon() -> None:
                await anyio.sleep(0.2)
                await source.aclose()

            with anyio.fail_after(PROMPT):
                async with anyio.create_task_group() as group:
                    group.start_soon(close_soon)
                    assert [item async for item in source] == []
    assert source.ready_state is ReadyState.CLOSED
    assert (hooks.errors, hooks.closed) == ([], 1)
