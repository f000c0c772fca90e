"""The HTTP layer: httpx2 by default, httpx when the user's object comes from it, and
any byte source for iter_events / aiter_events, an LLM SDK's raw responses among them."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from types import ModuleType
from typing import Any

import anthropic
import anyio
import httpx
import httpx2
import openai
import pytest

from sse_client import (
    AsyncEventSource,
    EventSource,
    ReconnectPolicy,
    ResponseError,
    ServerSentEvent,
    aiter_events,
    iter_events,
)
from sse_client.testing import Reply, SSEServer, Stream, event

# -- The stacks ---------------------------------------------------------------------------


def test_the_default_client_is_httpx2(sse_server: SSEServer) -> None:
    """Without a client, a source makes an httpx2 one; its URL and response are httpx2's."""
    sse_server.route("/s", Stream(event("a", id="1")), Reply(204))
    with EventSource(
        sse_server.url + "/s", reconnect=ReconnectPolicy(reconnection_time=0.001)
    ) as source:
        assert [e.data for e in source] == ["a"]
        assert isinstance(source.url, httpx2.URL)
        assert isinstance(source.response, httpx2.Response)


@pytest.mark.parametrize("stack", ["httpx2", "httpx"])
def test_a_users_client_of_either_stack_is_used(sse_server: SSEServer, stack: str) -> None:
    """A user's client of either stack carries the requests; the URL is of its stack."""
    http: Any = httpx2 if stack == "httpx2" else httpx
    sse_server.route("/s", Stream(event("a", id="1")), Reply(204))
    with (
        http.Client(headers={"X-Stack": stack}) as client,
        EventSource(
            httpx2.URL(sse_server.url + "/s"),
            client=client,
            reconnect=ReconnectPolicy(reconnection_time=0.001),
        ) as source,
    ):
        assert [e.data for e in source] == ["a"]
        assert isinstance(source.url, http.URL)
    assert [r.headers["x-stack"] for r in sse_server.requests] == [stack, stack]


@pytest.mark.anyio
async def test_a_users_async_client_of_either_stack_is_used(
    sse_server: SSEServer, http: ModuleType
) -> None:
    """The async twin on both stacks, asyncio and trio."""
    sse_server.route("/s", Stream(event("a", id="1")), Reply(204))
    async with (
        http.AsyncClient() as client,
        AsyncEventSource(
            sse_server.url + "/s", client=client, reconnect=ReconnectPolicy(reconnection_time=0.001)
        ) as source,
    ):
        assert [e.data async for e in source] == ["a"]
        assert isinstance(source.response, http.Response)


def test_a_response_error_carries_the_users_own_response(
    sse_server: SSEServer, http: ModuleType
) -> None:
    """ResponseError.response is the object of the user's stack."""
    sse_server.route("/s", Reply(401, b"who are you"))
    with http.Client() as client, pytest.raises(ResponseError) as info:
        list(EventSource(sse_server.url + "/s", client=client))
    assert isinstance(info.value.response, http.Response)
    assert info.value.body_preview == "who are you"


def test_a_client_of_another_library_is_refused() -> None:
    """Anything but an httpx2 or httpx client is a clear TypeError."""
    with pytest.raises(TypeError, match="httpx2"):
        EventSource("http://test/", client=object())  # type: ignore[arg-type]


def test_httpx_is_never_imported_unless_the_user_brings_it() -> None:
    """Importing the package and making sources, helpers and mocks leaves httpx out."""
    code = (
        "import sys, sse_client, sse_client.testing\n"
        "from sse_client.testing import MockSSE, Reply, build_response\n"
        "s = sse_client.EventSource('http://127.0.0.1:1/'); s.close()\n"
        "a = sse_client.AsyncEventSource('http://127.0.0.1:1/')\n"
        "list(sse_client.iter_events(build_response(Reply(204))))\n"
        "print('httpx' in sys.modules, 'httpx2' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.split() == ["False", "True"]


# -- Any byte source ------------------------------------------------------------------------


def test_iter_events_reads_any_iterable_of_bytes() -> None:
    """A list or a generator of reads is parsed as it is, with no checks."""
    reads = [b"data: a\n", b"\ndata: b\n\n", b"data: cut"]
    assert [e.data for e in iter_events(reads)] == ["a", "b"]
    assert [e.data for e in iter_events(iter(reads))] == ["a", "b"]


@pytest.mark.anyio
async def test_aiter_events_reads_any_async_iterable_of_bytes() -> None:
    """An async generator, or a plain iterable, of reads is parsed as it is."""

    async def reads() -> AsyncIterator[bytes]:
        yield b"data: a\n\n"
        yield b"data: b\n\n"

    assert [e.data async for e in aiter_events(reads())] == ["a", "b"]
    assert [e.data async for e in aiter_events([b"data: c\n\n"])] == ["c"]


@pytest.mark.parametrize("source", [42, "data: a\n\n", b"data: a\n\n"])
def test_iter_events_refuses_what_is_not_a_byte_source(source: object) -> None:
    """An int, a str or a bytes object: a TypeError that says what is accepted."""
    with pytest.raises(TypeError, match="iterable of bytes"):
        list(iter_events(source))


@pytest.mark.anyio
async def test_aiter_events_refuses_a_blocking_response() -> None:
    """A blocking byte iterator given to aiter_events: a TypeError naming iter_events."""

    class Blocking:
        def iter_bytes(self) -> Iterator[bytes]:
            yield b"data: a\n\n"

    with pytest.raises(TypeError, match="iter_events"):
        [e async for e in aiter_events(Blocking())]
    with pytest.raises(TypeError, match="iterable of bytes"):
        [e async for e in aiter_events(42)]


# -- A real LLM SDK ------------------------------------------------------------------------


def chat_completion_stream() -> Stream:
    """What an OpenAI-compatible server streams for a chat completion."""
    chunks = [
        {"id": "c1", "object": "chat.completion.chunk", "choices": [{"delta": {"content": t}}]}
        for t in ("Hel", "lo", "!")
    ]
    return Stream(*(event(json.dumps(chunk)) for chunk in chunks), event("[DONE]"))


def tokens(events: list[ServerSentEvent]) -> str:
    """The text of a chat completion's events, up to ``[DONE]``."""
    text = ""
    for item in events:
        if item.data == "[DONE]":
            break
        text += item.json()["choices"][0]["delta"]["content"]
    return text


def test_iter_events_reads_the_openai_sdks_raw_stream(sse_server: SSEServer) -> None:
    """openai's sync raw streaming response, from its own httpx2 client."""
    sse_server.route("/v1/chat/completions", chat_completion_stream())
    client = openai.OpenAI(base_url=sse_server.url + "/v1", api_key="test", max_retries=0)
    with client.chat.completions.with_streaming_response.create(
        model="m", messages=[{"role": "user", "content": "hi"}], stream=True
    ) as raw:
        assert tokens(list(iter_events(raw))) == "Hello!"
    client.close()
    (request,) = sse_server.requests
    assert json.loads(request.body)["stream"] is True
    assert request.headers["authorization"] == "Bearer test"


@pytest.mark.anyio
async def test_aiter_events_reads_the_openai_sdks_async_raw_stream(sse_server: SSEServer) -> None:
    """openai's async raw streaming response, whose iter_bytes() is an async iterator."""
    sse_server.route("/v1/chat/completions", chat_completion_stream())
    async with (
        openai.AsyncOpenAI(
            base_url=sse_server.url + "/v1", api_key="test", max_retries=0
        ) as client,
        client.chat.completions.with_streaming_response.create(
            model="m", messages=[{"role": "user", "content": "hi"}], stream=True
        ) as raw,
    ):
        assert tokens([e async for e in aiter_events(raw)]) == "Hello!"


def message_stream() -> Stream:
    """An Anthropic-style messages stream: typed events, text in content_block_delta."""
    deltas = [
        {"type": "content_block_delta", "delta": {"type": "text_delta", "text": text}}
        for text in ("Hel", "lo", "!")
    ]
    return Stream(
        event(json.dumps({"type": "message_start"}), event="message_start"),
        *(event(json.dumps(delta), event="content_block_delta") for delta in deltas),
        event(json.dumps({"type": "message_stop"}), event="message_stop"),
    )


def text_of(events: list[ServerSentEvent]) -> str:
    """The text of a messages stream, up to message_stop."""
    text = ""
    for item in events:
        if item.event == "message_stop":
            break
        if item.event == "content_block_delta":
            text += item.json()["delta"]["text"]
    return text


def test_iter_events_reads_the_anthropic_sdks_raw_stream(sse_server: SSEServer) -> None:
    """anthropic's sync raw streaming response, as the README shows it for async."""
    sse_server.route("/v1/messages", message_stream())
    client = anthropic.Anthropic(base_url=sse_server.url, api_key="test", max_retries=0)
    with client.messages.with_streaming_response.create(
        model="m", max_tokens=16, messages=[{"role": "user", "content": "hi"}], stream=True
    ) as raw:
        assert text_of(list(iter_events(raw))) == "Hello!"
    client.close()
    (request,) = sse_server.requests
    assert json.loads(request.body)["stream"] is True
    assert "anthropic-version" in request.headers


@pytest.mark.anyio
async def test_aiter_events_reads_the_anthropic_sdks_async_raw_stream(
    sse_server: SSEServer,
) -> None:
    """anthropic's async raw streaming response, exactly as in the README."""
    sse_server.route("/v1/messages", message_stream())
    async with (
        anthropic.AsyncAnthropic(base_url=sse_server.url, api_key="test", max_retries=0) as client,
        client.messages.with_streaming_response.create(
            model="m", max_tokens=16, messages=[{"role": "user", "content": "hi"}], stream=True
        ) as raw,
    ):
        assert text_of([e async for e in aiter_events(raw)]) == "Hello!"


def test_an_sdk_response_that_is_not_a_stream_is_checked(sse_server: SSEServer) -> None:
    """The SDK's raw response exposes its status: a 200 JSON body is a ResponseError."""
    sse_server.route(
        "/v1/chat/completions",
        Reply(200, b'{"error": "no stream"}', headers={"Content-Type": "application/json"}),
    )
    client = openai.OpenAI(base_url=sse_server.url + "/v1", api_key="test", max_retries=0)
    with client.chat.completions.with_streaming_response.create(
        model="m", messages=[{"role": "user", "content": "hi"}], stream=True
    ) as raw:
        with pytest.raises(ResponseError, match="application/json") as info:
            list(iter_events(raw))
        assert info.value.response is raw
    client.close()


@pytest.mark.anyio
async def test_the_default_async_client_works_on_both_backends(sse_server: SSEServer) -> None:
    """The default httpx2 async client, with no user client, on asyncio and trio."""
    sse_server.route("/s", Stream(event("a", id="1")), Reply(204))
    with anyio.fail_after(10):
        async with AsyncEventSource(
            sse_server.url + "/s", reconnect=ReconnectPolicy(reconnection_time=0.001)
        ) as source:
            assert [e.data async for e in source] == ["a"]
