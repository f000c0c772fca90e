"""AsyncEventSource on a user's aiohttp session (asyncio only), against a real server.

The scenarios every stack shares run through the ``drive`` fixture (its
``asyncio-aiohttp`` case); here is what is particular to aiohttp: the session stays
the user's, its defaults do not cut a stream, closing and cancelling release the
connection, and ``aiter_events`` reads an aiohttp response.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import anyio
import httpx2
import pytest

from sse_client import (
    AsyncEventSource,
    EventSource,
    Hooks,
    ReadyState,
    ReconnectPolicy,
    ResponseError,
    StreamEnded,
    Timeouts,
    aiter_events,
)
from sse_client._aiohttp import Response
from sse_client.testing import Reply, Sleep, SSEServer, Stall, Stream, event

from .drivers import FAST, PROMPT, Calls, Recorder, aclose_ends_a_wait_for_headers, consume_while
from .scripts import (
    BUSY,
    BUSY_IDLE,
    BUSY_IDS,
    BUSY_PAUSE,
    IN_LOOP,
    IN_LOOP_SETTINGS,
    assert_dropped_by_reconnect,
)
from .servers import raw_server

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    """aiohttp runs on asyncio only."""
    return "asyncio"


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """A session as a user makes one, with a connector whose pool we can inspect."""
    async with aiohttp.ClientSession() as session:
        yield session


def pooled(session: aiohttp.ClientSession) -> int:
    """Connections the session's pool still holds, idle or in use."""
    connector = session.connector
    assert isinstance(connector, aiohttp.TCPConnector)
    idle = sum(len(entries) for entries in connector._conns.values())
    return idle + len(connector._acquired)


async def test_post_with_json_headers_and_last_event_id(
    sse_server: SSEServer, session: aiohttp.ClientSession
) -> None:
    """The request the core builds reaches the server whole: method, body, headers."""
    sse_server.route("/s", Stream(event("a", id="1")), Stream(event("b", id="2")), Reply(204))
    async with AsyncEventSource(
        sse_server.url + "/s",
        client=session,
        method="POST",
        json={"prompt": "hi"},
        headers=lambda: {"Authorization": b"Bearer t", "X-Note": "caf\u00e9".encode()},
        reconnect=ReconnectPolicy(reconnection_time=0.001),
    ) as source:
        got = [e.data async for e in source]
    assert got == ["a", "b"]
    first, second, _ = sse_server.requests
    assert first.method == second.method == "POST"
    assert json.loads(second.body) == {"prompt": "hi"}
    assert second.headers["accept"] == "text/event-stream"
    assert second.headers["cache-control"] == "no-cache"
    assert second.headers["authorization"] == "Bearer t"
    assert second.headers["x-note"].encode("latin-1").decode() == "caf\u00e9"
    assert (first.last_event_id, second.last_event_id) == (None, "1")
    assert not session.closed  # the session stays the user's


async def test_the_response_is_seen_through_httpx2_names(
    sse_server: SSEServer, session: aiohttp.ClientSession
) -> None:
    """``response`` and ``ResponseError`` read the same on aiohttp, with ``raw`` as aiohttp's."""
    sse_server.route("/ok", Stream(event("a")))
    sse_server.route("/no", Reply(404, b"no such stream"))
    opened: list[Any] = []

    class Opened(Hooks):
        def on_open(self, source: Any, response: Any) -> None:
            opened.append(response)

    async with AsyncEventSource(
        sse_server.url + "/ok", client=session, reconnect=False, hooks=Opened()
    ) as source:
        assert [e.data async for e in source] == ["a"]
    [response] = opened
    assert isinstance(response, Response)
    assert source.response is response
    assert response.status_code == 200
    assert response.reason_phrase == "OK"
    assert repr(response) == "<Response [200 OK]>"
    assert response.headers["content-type"].startswith("text/event-stream")
    assert isinstance(response.raw, aiohttp.ClientResponse)
    assert response.url == source.url == httpx2.URL(sse_server.url + "/ok")
    with pytest.raises(ResponseError, match="404") as info:
        async with AsyncEventSource(sse_server.url + "/no", client=session) as source:
            await source.__anext__()
    assert info.value.body_preview == "no such stream"
    assert info.value.response.status_code == 404
    assert pooled(session) <= 1  # at most the idle keep-alive connection of the 503


async def test_the_sessions_total_timeout_does_not_cut_a_stream(sse_server: SSEServer) -> None:
    """A stream lasts as long as it lasts: the source's own timeouts replace the session's."""
    sse_server.route("/s", Stream(event("a"), Sleep(0.5), event("b")))
    timeout = aiohttp.ClientTimeout(total=0.2)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        AsyncEventSource(sse_server.url + "/s", client=session, reconnect=False) as source,
    ):
        got = [e.data async for e in source]
    assert got == ["a", "b"]


async def test_aclose_from_another_task_interrupts_a_read_and_releases(
    sse_server: SSEServer, session: aiohttp.ClientSession
) -> None:
    """aclose() ends a read blocked on a silent server; the connection is closed."""
    sse_server.route("/s", Stream(event("a", id="1"), Stall()))
    async with AsyncEventSource(sse_server.url + "/s", client=session) as source:
        got = await consume_while(source, source.aclose)
    assert got == ["a"]
    assert source.ready_state is ReadyState.CLOSED
    assert pooled(session) == 0


async def test_aclose_from_another_task_ends_a_wait_for_headers(
    session: aiohttp.ClientSession,
) -> None:
    """The request ends its own wait for the headers: no cancel scope needed."""
    await aclose_ends_a_wait_for_headers(client=session)


async def test_reconnect_from_another_task_restarts_a_wait_for_headers(
    session: aiohttp.ClientSession,
) -> None:
    """reconnect() while the headers are awaited: a new attempt at once, and the
    abandoned one is no failure."""
    stream = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\nid: 2\ndata: b\n\n"
    with raw_server(None, stream, b"HTTP/1.1 204 No Content\r\n\r\n") as server:
        hooks = Recorder()
        source = AsyncEventSource(server.url, client=session, hooks=hooks, reconnect=FAST)
        with anyio.fail_after(PROMPT):
            async with source, anyio.create_task_group() as group:

                async def restart_soon() -> None:
                    await anyio.sleep(0.2)
                    source.reconnect()

                group.start_soon(restart_soon)
                got = [item.data async for item in source]
    assert got == ["b"]
    assert [type(error) for error in hooks.errors] == [StreamEnded]  # b's clean end
    assert hooks.opened == 1


async def test_connecting_opens_no_cancel_scope(
    sse_server: SSEServer, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request of aiohttp's ends its own wait for the headers (the two tests
    above),
    so a connect needs no cancel scope: anyio's cost a few hundred bytes per stream and
    a state per task, held for the task's life, on thousands of streams."""
    sse_server.route("/s", Stream(event("a", id="1"), Stall()))
    scopes = Calls(monkeypatch, anyio, "CancelScope")
    async with AsyncEventSource(sse_server.url + "/s", client=session) as source:
        with anyio.fail_after(PROMPT):
            first = await source.__anext__()
        opened = scopes.stop()
    assert first.data == "a"
    assert opened == 0


async def test_cancellation_passes_through_and_leaks_nothing(
    sse_server: SSEServer, session: aiohttp.ClientSession
) -> None:
    """A cancelled task stops reading at once; the connection is released on exit."""
    sse_server.route("/s", Stream(event("a", id="1"), Stall()))
    with anyio.CancelScope() as scope:
        async with AsyncEventSource(sse_server.url + "/s", client=session) as source:
            await consume_while(source, scope.cancel)
    assert scope.cancelled_caught
    assert source.ready_state is ReadyState.CLOSED
    assert pooled(session) == 0


async def test_reconnect_from_another_task_resumes(
    sse_server: SSEServer, session: aiohttp.ClientSession
) -> None:
    """reconnect() drops the connection and resumes with Last-Event-ID."""
    sse_server.route(
        "/s", Stream(event("a", id="1"), Stall()), Stream(event("b", id="2")), Reply(204)
    )
    async with AsyncEventSource(
        sse_server.url + "/s", client=session, reconnect=ReconnectPolicy(reconnection_time=0.001)
    ) as source:
        got = await consume_while(source, source.reconnect)
    assert got == ["a", "b"]
    assert [r.last_event_id for r in sse_server.requests] == [None, "1", "2"]


async def test_reconnect_inside_the_loop_drops_the_stream(
    sse_server: SSEServer, session: aiohttp.ClientSession
) -> None:
    """reconnect() between reads wakes no read: the next one finds the stream dropped."""
    sse_server.route("/s", *IN_LOOP)
    hooks = Recorder()
    got = []
    async with AsyncEventSource(
        sse_server.url + "/s", client=session, hooks=hooks, **IN_LOOP_SETTINGS
    ) as source:
        async for item in source:
            got.append(item.data)
            if item.data == "a":
                source.reconnect()
    assert_dropped_by_reconnect(got, hooks, sse_server)


async def test_aiter_events_reads_an_aiohttp_response(
    sse_server: SSEServer, session: aiohttp.ClientSession
) -> None:
    """A response the user opened with aiohttp: checked, then parsed."""
    sse_server.route("/ok", Stream(event("a", id="1"), event("b")))
    sse_server.route("/no", Reply(404, b"no such stream"))
    async with session.get(sse_server.url + "/ok") as response:
        assert [e.data async for e in aiter_events(response)] == ["a", "b"]
    async with session.get(sse_server.url + "/no") as response:
        with pytest.raises(ResponseError, match="404") as info:
            [e async for e in aiter_events(response)]
    assert info.value.body_preview == "no such stream"


async def test_a_header_aiohttp_cannot_send_as_given_is_refused(
    sse_server: SSEServer, session: aiohttp.ClientSession
) -> None:
    """aiohttp sends header values as UTF-8: other bytes would change on the wire."""
    sse_server.route("/s", Reply(204))
    async with AsyncEventSource(
        sse_server.url + "/s", client=session, headers={"X-Raw": b"\xff"}
    ) as source:
        with pytest.raises(ValueError, match="X-Raw"):
            await source.__anext__()
    assert sse_server.requests == ()


def test_the_blocking_source_refuses_an_aiohttp_session() -> None:
    """aiohttp is async only: EventSource says so at construction."""

    async def make() -> aiohttp.ClientSession:
        return aiohttp.ClientSession()

    async def main() -> None:
        async with await make() as session:
            with pytest.raises(TypeError, match="async only: use AsyncEventSource"):
                EventSource("http://127.0.0.1:1/s", client=session)  # type: ignore[arg-type]

    anyio.run(main)


async def test_a_busy_consumer_is_no_idle_stream_when_aiohttp_stops_reading(
    sse_server: SSEServer,
) -> None:
    """With a small read buffer, aiohttp stops reading from the socket while the
    consumer holds off, and no byte arrives: the stream looked idle while the server sent
    (the source timed out, reconnected and lost its place). The watchdog counts only the
    time the source waits for bytes."""
    sse_server.route("/s", *BUSY)
    hooks = Recorder()
    async with aiohttp.ClientSession(read_bufsize=1024) as small_buffer:
        source = AsyncEventSource(
            sse_server.url + "/s",
            client=small_buffer,
            hooks=hooks,
            timeout=Timeouts(idle=BUSY_IDLE),
            reconnect=FAST,
        )
        got: list[str | None] = []
        with anyio.fail_after(PROMPT + 5):
            async with source:
                async for item in source:
                    got.append(item.id)
                    if len(got) == 1:
                        await anyio.sleep(BUSY_PAUSE)
    assert got == BUSY_IDS
    assert [type(error) for error in hooks.errors] == [StreamEnded]  # the body's clean end


async def test_the_idle_timeout_arms_no_timer_per_read(
    sse_server: SSEServer, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With an idle timeout, a read arms no timer of its own: aiohttp's sock_read armed one
    per read, and on a thousand busy streams the timers it cancelled kept the garbage
    collector at work (p99 2-4x a read with no timeout). The watchdog looks a few times
    per idle period instead; a stall is still noticed (test_idle_timeout_... on every
    stack)."""
    reads = 100
    steps = [step for n in range(reads) for step in (event(str(n)), Sleep(0.002))]
    sse_server.route("/s", Stream(*steps), Reply(204))
    loop = asyncio.get_running_loop()
    source = AsyncEventSource(
        sse_server.url + "/s", client=session, timeout=Timeouts(idle=60), reconnect=False
    )
    with anyio.fail_after(10):
        async with source:
            first = await source.__anext__()
            timers = [Calls(monkeypatch, loop, "call_at"), Calls(monkeypatch, loop, "call_later")]
            rest = [e.data async for e in source]
            armed = sum(calls.stop() for calls in timers)
    assert [first.data, *rest] == [str(n) for n in range(reads)]
    assert armed < reads // 4, armed
