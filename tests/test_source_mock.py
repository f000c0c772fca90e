"""Both clients through the user's own client, on both stacks: MockTransport and respx.

Also iter_events / aiter_events over responses the user opened.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from types import ModuleType
from typing import Any

import httpx
import httpx2
import pytest
import respx

from sse_client import (
    AsyncEventSource,
    EventSource,
    Failure,
    Hooks,
    ReadyState,
    ReconnectPolicy,
    ResponseError,
    ServerSentEvent,
    StreamEnded,
    aiter_events,
    iter_events,
)
from sse_client.testing import Drop, MockSSE, Reply, Stall, Stream, event

from .drivers import Recorder

URL = "http://test/stream"
NOW = ReconnectPolicy(reconnection_time=0)


class Log(Hooks):
    """Hooks that write what happens, in order, to a list of lines."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines

    def on_open(self, source: Any, response: Any) -> None:
        self.lines.append(f"open {response.status_code}")

    def on_error(self, source: Any, failure: Failure) -> None:
        self.lines.append(f"error {type(failure.error).__name__}")

    def on_retry(self, source: Any, delay: float) -> None:
        self.lines.append(f"retry {delay}")

    def on_close(self, source: Any) -> None:
        self.lines.append("close")

    def on_comment(self, source: Any, text: str) -> None:
        self.lines.append(f"comment {text}")


def test_mock_transport_with_named_events_and_a_drop(http: ModuleType) -> None:
    """A user's MockTransport client works; drops and 204 behave as over sockets."""
    handler = MockSSE(
        Stream(event("a", event="add", id="1"), Drop(reset=True)),
        Stream(event("b", id="2"), Stall()),
        Reply(204),
    )
    hooks = Recorder()
    with http.Client(transport=http.MockTransport(handler)) as client:
        source = EventSource(URL, client=client, reconnect=NOW, hooks=hooks)
        with source:
            events = list(source)
    assert events == [
        ServerSentEvent(event="add", data="a", id="1"),
        ServerSentEvent(data="b", id="2"),
    ]
    assert [type(error) for error in hooks.errors] == [http.ReadError, http.ReadTimeout]
    assert [r.last_event_id for r in handler.requests] == [None, "1", "2"]
    assert source.ready_state is ReadyState.CLOSED


def test_reconnect_between_reads_needs_no_socket(http: ModuleType) -> None:
    """reconnect() in the loop drops the stream at the next read, on a transport with no
    socket to shut down too: the stream does not run on into its stall."""
    handler = MockSSE(Stream(event("a", id="1"), Stall()), Stream(event("b", id="2")), Reply(204))
    hooks = Recorder()
    got = []
    with (
        http.Client(transport=http.MockTransport(handler)) as client,
        EventSource(URL, client=client, reconnect=NOW, hooks=hooks) as source,
    ):
        for item in source:
            got.append(item.data)
            if item.data == "a":
                source.reconnect()
    assert got == ["a", "b"]
    assert [(type(e), getattr(e, "clean", None)) for e in hooks.errors] == [
        (StreamEnded, False),
        (StreamEnded, True),
    ]
    assert [r.last_event_id for r in handler.requests] == [None, "1", "2"]


@pytest.mark.anyio
async def test_async_reconnect_between_reads_needs_no_socket(http: ModuleType) -> None:
    """The same on AsyncEventSource."""
    handler = MockSSE(Stream(event("a", id="1"), Stall()), Stream(event("b", id="2")), Reply(204))
    hooks = Recorder()
    got = []
    async with (
        http.AsyncClient(transport=http.MockTransport(handler)) as client,
        AsyncEventSource(URL, client=client, reconnect=NOW, hooks=hooks) as source,
    ):
        async for item in source:
            got.append(item.data)
            if item.data == "a":
                source.reconnect()
    assert got == ["a", "b"]
    assert [(type(e), getattr(e, "clean", None)) for e in hooks.errors] == [
        (StreamEnded, False),
        (StreamEnded, True),
    ]


@pytest.mark.anyio
async def test_async_mock_transport(http: ModuleType) -> None:
    """The async client over an async MockTransport, chunked drop included."""
    handler = MockSSE(
        Stream(event("a", id="1"), Drop(), chunked=True), Stream(event("b")), Reply(204)
    )
    hooks = Recorder()
    async with (
        http.AsyncClient(transport=http.MockTransport(handler)) as client,
        AsyncEventSource(URL, client=client, reconnect=NOW, hooks=hooks) as source,
    ):
        events = [item async for item in source]
    assert [e.data for e in events] == ["a", "b"]
    assert [type(error) for error in hooks.errors] == [http.RemoteProtocolError, StreamEnded]


def test_respx_route() -> None:
    """respx mocks work through an httpx client given to the source (respx patches httpx)."""
    handler = MockSSE(Stream(event("hello", id="1")), Reply(204))
    with respx.mock, httpx.Client() as client:
        route = respx.get(URL).mock(side_effect=handler)
        with EventSource(URL, client=client, reconnect=NOW) as source:
            assert [e.data for e in source] == ["hello"]
        assert route.call_count == 2
    assert handler.requests[1].last_event_id == "1"


@pytest.mark.anyio
async def test_async_respx_route() -> None:
    """respx with the async client."""
    handler = MockSSE(Reply(500, b"oops"))
    async with httpx.AsyncClient() as client:
        with respx.mock:
            respx.post(URL).mock(side_effect=handler)
            source = AsyncEventSource(URL, client=client, method="POST", json={"a": 1})
            with pytest.raises(ResponseError, match="500"):
                await source.__anext__()
            await source.aclose()
    assert handler.requests[0].body == b'{"a":1}'


def test_hooks_are_called_in_order(http: ModuleType) -> None:
    """on_open, on_error, on_retry and on_close tell the lifecycle in order."""
    log: list[str] = []
    handler = MockSSE(Stream(event("a", id="1")), Reply(204))
    with (
        http.Client(transport=http.MockTransport(handler)) as client,
        EventSource(URL, client=client, reconnect=NOW, hooks=Log(log)) as source,
    ):
        log.extend(f"event {item.data}" for item in source)
    assert log == ["open 200", "event a", "error StreamEnded", "retry 0.0", "close"]


def stream_response(
    *chunks: bytes, status: int = 200, content_type: str = "text/event-stream"
) -> httpx2.Response:
    return httpx2.Response(status, headers={"Content-Type": content_type}, content=b"".join(chunks))


def test_iter_events_over_an_opened_response() -> None:
    """iter_events reads a response the user opened, with no reconnection."""
    events = list(
        iter_events(stream_response(event("a", id="1"), b": c\n", event("b"), b"data: cut"))
    )
    assert events == [ServerSentEvent(data="a", id="1"), ServerSentEvent(data="b", id="1")]


def test_iter_events_204_yields_nothing(http: ModuleType) -> None:
    """A 204 is an empty stream."""
    assert list(iter_events(http.Response(204))) == []


def test_iter_events_refuses_other_responses() -> None:
    """A status or Content-Type that is not an event stream raises ResponseError."""
    with pytest.raises(ResponseError, match="got 401"):
        list(iter_events(stream_response(b"denied", status=401)))
    with pytest.raises(ResponseError, match="application/json"):
        list(iter_events(stream_response(b"{}", content_type="application/json")))


def test_iter_events_sees_comments_and_limits() -> None:
    """on_comment and max_event_size reach the parser."""
    seen: list[str] = []
    events = list(
        iter_events(
            stream_response(b":hi\n", event("a")), on_comment=seen.append, max_event_size=50
        )
    )
    assert [e.data for e in events] == ["a"]
    assert seen == ["hi"]


class DuckResponse:
    """A response of another HTTP library: only the attributes iter_events uses."""

    def __init__(self, status_code: int, chunks: list[bytes]) -> None:
        self.status_code = status_code
        self.headers = {"content-type": "text/event-stream"}
        self.chunks = chunks
        self.closed = False

    def iter_bytes(self) -> Iterator[bytes]:
        yield from self.chunks

    async def aiter_bytes(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk

    def close(self) -> None:
        self.closed = True

    async def aclose(self) -> None:
        self.closed = True


def test_iter_events_duck_typed() -> None:
    """Any object with status_code, headers and iter_bytes() works."""
    response = DuckResponse(200, [b"data: x\n", b"\n"])
    assert [e.data for e in iter_events(response)] == ["x"]
    failing = DuckResponse(500, [b"no"])
    with pytest.raises(ResponseError, match="500"):
        list(iter_events(failing))
    assert failing.closed


@pytest.mark.anyio
async def test_aiter_events_over_an_opened_response(http: ModuleType) -> None:
    """aiter_events is the async twin, duck-typed too."""
    async with (
        http.AsyncClient(
            transport=http.MockTransport(MockSSE(Stream(event("a"), event("b"))))
        ) as client,
        client.stream("GET", URL) as response,
    ):
        assert [e.data async for e in aiter_events(response)] == ["a", "b"]
    assert [e.data async for e in aiter_events(DuckResponse(200, [b"data: y\n\n"]))] == ["y"]
    assert [e async for e in aiter_events(DuckResponse(204, []))] == []
    failing = DuckResponse(404, [b"gone"])
    with pytest.raises(ResponseError, match="404"):
        async for _ in aiter_events(failing):
            pass
    assert failing.closed


def test_comments_and_events_keep_their_order_within_one_read(http: ModuleType) -> None:
    """A comment between two events of the same read is reported between them."""
    log: list[str] = []
    handler = MockSSE(Stream(event("a") + b":between\n" + event("b") + b":after\n"), Reply(204))
    with (
        http.Client(transport=http.MockTransport(handler)) as client,
        EventSource(URL, client=client, reconnect=NOW, hooks=Log(log)) as source,
    ):
        log.extend(f"event {item.data}" for item in source)
    assert log == [
        "open 200",
        "event a",
        "comment between",
        "event b",
        "comment after",
        "error StreamEnded",
        "retry 0.0",
        "close",
    ]


@pytest.mark.anyio
async def test_async_comments_and_events_keep_their_order(http: ModuleType) -> None:
    """The async client interleaves comments and events the same way."""
    log: list[str] = []
    handler = MockSSE(Stream(b":first\n" + event("a") + b":between\n" + event("b")), Reply(204))
    async with (
        http.AsyncClient(transport=http.MockTransport(handler)) as client,
        AsyncEventSource(URL, client=client, reconnect=NOW, hooks=Log(log)) as source,
    ):
        async for item in source:
            log.append(f"event {item.data}")  # noqa: PERF401 -- interleaved with the hook
    assert log[1:5] == ["comment first", "event a", "comment between", "event b"]
