"""Closing, cancelling and restarting sources, and what they leave behind.

spec: C-CLOSE -- close() aborts any fetch in flight and any pending wait, and nothing
reconnects afterwards.
"""

from __future__ import annotations

import socket
import threading
import time

import anyio
import httpx2
import pytest

from sse_client import (
    AsyncEventSource,
    EventSource,
    ReadyState,
    ReconnectPolicy,
    ResponseError,
    ServerSentEvent,
)
from sse_client.testing import Drop, Reply, Sleep, SSEServer, Stall, Stream, event

from .drivers import PROMPT, Recorder, consume_while, soon_after
from .scripts import IN_LOOP, IN_LOOP_SETTINGS, assert_dropped_by_reconnect


def open_connections(transport: httpx2.HTTPTransport | httpx2.AsyncHTTPTransport) -> int:
    """How many connections the client's pool still holds."""
    return len(transport._pool.connections)


def test_close_from_another_thread_interrupts_a_blocked_read(sse_server: SSEServer) -> None:
    """A read blocked on a silent server ends promptly when another thread closes."""
    sse_server.route("/s", Stream(event("a", id="1"), Stall()))
    got: list[ServerSentEvent] = []
    first = threading.Event()
    with EventSource(sse_server.url + "/s") as source:
        closer = soon_after(first, source.close)
        for item in source:
            got.append(item)
            first.set()
            started = time.monotonic()
        elapsed = time.monotonic() - started
        closer.join()
    assert [e.data for e in got] == ["a"]
    assert elapsed < PROMPT
    assert source.ready_state is ReadyState.CLOSED
    assert len(sse_server.requests) == 1  # and nothing reconnected


def test_close_from_another_thread_ends_a_backoff_wait(sse_server: SSEServer) -> None:
    """A 30-second wait before reconnecting ends at once when another thread closes."""
    sse_server.route("/s", Stream(event("a", id="1")))
    first = threading.Event()
    got = []
    with EventSource(
        sse_server.url + "/s", reconnect=ReconnectPolicy(reconnection_time=30.0)
    ) as source:
        closer = soon_after(first, source.close)
        for item in source:
            got.append(item.data)
            first.set()
            started = time.monotonic()
        elapsed = time.monotonic() - started
        closer.join()
    assert got == ["a"]
    assert elapsed < PROMPT
    assert len(sse_server.requests) == 1


def test_close_inside_the_loop_stops_at_once(sse_server: SSEServer) -> None:
    """Events already read but not yet delivered are dropped by close()."""
    sse_server.route("/s", Stream(event("a"), event("b"), event("c")))
    seen = []
    source = EventSource(sse_server.url + "/s")
    for item in source:
        seen.append(item.data)
        source.close()
    assert seen == ["a"]


def test_user_client_pool_is_empty_after_close(sse_server: SSEServer) -> None:
    """A user's client is not closed by the source, and keeps no connection of it."""
    sse_server.route("/s", Stream(event("a", id="1"), event("b"), Stall()))
    transport = httpx2.HTTPTransport()
    with httpx2.Client(transport=transport) as client:
        with EventSource(sse_server.url + "/s", client=client) as source:
            for _ in source:
                break
        assert open_connections(transport) == 0
        assert not client.is_closed


def test_reconnect_drops_the_connection_and_resumes(sse_server: SSEServer) -> None:
    """reconnect() from another thread reconnects with Last-Event-ID."""
    sse_server.route(
        "/s", Stream(event("a", id="1"), Stall()), Stream(event("b", id="2")), Reply(204)
    )
    first = threading.Event()
    got = []
    with EventSource(
        sse_server.url + "/s", reconnect=ReconnectPolicy(reconnection_time=0.001)
    ) as source:
        restarter = soon_after(first, source.reconnect)
        for item in source:
            got.append(item.data)
            first.set()
        restarter.join()
    assert got == ["a", "b"]
    assert [r.last_event_id for r in sse_server.requests] == [None, "1", "2"]


def test_reconnect_inside_the_loop_drops_the_stream(sse_server: SSEServer) -> None:
    """reconnect() called by the consumer itself, between events, drops the stream."""
    sse_server.route("/s", *IN_LOOP)
    hooks = Recorder()
    got = []
    with EventSource(sse_server.url + "/s", hooks=hooks, **IN_LOOP_SETTINGS) as source:
        for item in source:
            got.append(item.data)
            if item.data == "a":
                source.reconnect()
    assert_dropped_by_reconnect(got, hooks, sse_server)


@pytest.mark.anyio
async def test_async_reconnect_inside_the_loop_drops_the_stream(sse_server: SSEServer) -> None:
    """The same on AsyncEventSource: a reconnect() between reads is not lost."""
    sse_server.route("/s", *IN_LOOP)
    hooks = Recorder()
    got = []
    async with AsyncEventSource(sse_server.url + "/s", hooks=hooks, **IN_LOOP_SETTINGS) as source:
        async for item in source:
            got.append(item.data)
            if item.data == "a":
                source.reconnect()
    assert_dropped_by_reconnect(got, hooks, sse_server)


def test_closed_source_cannot_be_reused(sse_server: SSEServer) -> None:
    """Re-entering or iterating a closed source is a RuntimeError; closing twice is fine."""
    sse_server.route("/s", Reply(204))
    source = EventSource(sse_server.url + "/s")
    assert list(source) == []
    source.close()
    with pytest.raises(RuntimeError, match="closed EventSource"):
        iter(source)
    with pytest.raises(RuntimeError, match="closed EventSource"), source:
        pass


def test_ready_state_is_connecting_then_open(sse_server: SSEServer) -> None:
    """spec: C-STATES -- CONNECTING at creation, OPEN while reading, CLOSED after."""
    sse_server.route("/s", Stream(event("a")), Reply(204))
    source = EventSource(sse_server.url + "/s", reconnect=ReconnectPolicy(reconnection_time=0.01))
    initial, response = source.ready_state, source.response
    assert initial is ReadyState.CONNECTING
    assert response is None
    states = [source.ready_state for _ in source]
    assert states == [ReadyState.OPEN]
    assert source.ready_state is ReadyState.CLOSED
    assert source.response is not None
    assert source.response.status_code == 204


@pytest.mark.anyio
async def test_aclose_from_another_task_interrupts_a_read(sse_server: SSEServer) -> None:
    """aclose() from another task ends a read blocked on a silent server."""
    sse_server.route("/s", Stream(event("a", id="1"), Stall()))
    async with AsyncEventSource(sse_server.url + "/s") as source:
        got = await consume_while(source, source.aclose)
    assert got == ["a"]
    assert source.ready_state is ReadyState.CLOSED
    assert len(sse_server.requests) == 1


@pytest.mark.anyio
async def test_aclose_from_another_task_ends_a_backoff_wait(sse_server: SSEServer) -> None:
    """A 30-second wait before reconnecting ends at once on aclose()."""
    sse_server.route("/s", Stream(event("a", id="1")))
    async with AsyncEventSource(
        sse_server.url + "/s", reconnect=ReconnectPolicy(reconnection_time=30.0)
    ) as source:
        got = await consume_while(source, source.aclose)
    assert got == ["a"]
    assert len(sse_server.requests) == 1


@pytest.mark.anyio
async def test_cancellation_passes_through_and_leaks_nothing(sse_server: SSEServer) -> None:
    """A cancelled task stops reading at once; the connection is released on exit."""
    sse_server.route("/s", Stream(event("a", id="1"), Stall()))
    transport = httpx2.AsyncHTTPTransport()
    async with httpx2.AsyncClient(transport=transport) as client:
        with anyio.CancelScope() as scope:
            async with AsyncEventSource(sse_server.url + "/s", client=client) as source:
                await consume_while(source, scope.cancel)
        assert scope.cancelled_caught
        assert source.ready_state is ReadyState.CLOSED
        assert open_connections(transport) == 0


@pytest.mark.anyio
async def test_async_reconnect_resumes(sse_server: SSEServer) -> None:
    """reconnect() from another task reconnects with Last-Event-ID."""
    sse_server.route(
        "/s", Stream(event("a", id="1"), Stall()), Stream(event("b", id="2")), Reply(204)
    )
    async with AsyncEventSource(
        sse_server.url + "/s", reconnect=ReconnectPolicy(reconnection_time=0.001)
    ) as source:
        got = await consume_while(source, source.reconnect)
    assert got == ["a", "b"]
    assert [r.last_event_id for r in sse_server.requests] == [None, "1", "2"]


@pytest.mark.anyio
async def test_async_closed_source_cannot_be_reused(sse_server: SSEServer) -> None:
    """Re-entering or iterating a closed AsyncEventSource is a RuntimeError."""
    sse_server.route("/s", Reply(204))
    source = AsyncEventSource(sse_server.url + "/s")
    assert [e async for e in source] == []
    await source.aclose()
    with pytest.raises(RuntimeError, match="closed AsyncEventSource"):
        source.__aiter__()
    with pytest.raises(RuntimeError, match="closed AsyncEventSource"):
        async with source:
            pass


def test_error_body_cut_short_still_fails_cleanly(sse_server: SSEServer) -> None:
    """An error response whose body breaks off keeps what arrived as the preview."""
    sse_server.route("/s", Stream(b"partial error text", Drop(reset=True), status=500))
    with pytest.raises(ResponseError, match="500") as info:
        list(EventSource(sse_server.url + "/s"))
    assert info.value.body_preview == "partial error text"


def test_reconnection_time_follows_the_server_while_streaming(sse_server: SSEServer) -> None:
    """spec: F-RETRY -- the server's retry field is visible at once, mid-stream."""
    sse_server.route(
        "/s", Stream(event("a"), Sleep(0.3), event(None, retry=250), event("b")), Reply(204)
    )
    seen: list[float] = []
    with EventSource(
        sse_server.url + "/s", reconnect=ReconnectPolicy(reconnection_time=5.0)
    ) as source:
        seen.extend(source.reconnection_time for _ in source)
    assert seen == [5.0, 0.25]


@pytest.mark.anyio
async def test_async_error_body_cut_short_and_properties(sse_server: SSEServer) -> None:
    """The async twin keeps the partial preview too, and exposes the last response."""
    sse_server.route("/s", Stream(b"partial error text", Drop(reset=True), status=503))
    source = AsyncEventSource(sse_server.url + "/s")
    with pytest.raises(ResponseError) as info:
        await source.__anext__()
    assert info.value.body_preview == "partial error text"
    assert source.response is not None
    assert source.response.status_code == 503
    await source.aclose()


@pytest.mark.anyio
async def test_aclose_interrupts_a_connect_that_gets_no_answer() -> None:
    """A server that accepts the connection but never answers: aclose() still ends it."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/s"
        async with AsyncEventSource(url) as source:

            async def close_soon() -> None:
                await anyio.sleep(0.2)
                await source.aclose()

            with anyio.fail_after(PROMPT):
                async with anyio.create_task_group() as group:
                    group.start_soon(close_soon)
                    assert [item async for item in source] == []
        assert source.ready_state is ReadyState.CLOSED
