"""examples/mcp_client.py against the mcp package's own streamable-HTTP server.

The server is mcp's low-level ``Server`` with an in-memory event store (resumability on)
and a retry interval, served by uvicorn on 127.0.0.1 in a thread of this process; an ASGI
middleware records, on the server's side, every request and when its response ended. The
example runs as a process, as a user runs it.
"""

from __future__ import annotations

import itertools
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

try:
    import anyio
    import mcp_types as types
    import uvicorn
    from mcp.server.context import ServerRequestContext
    from mcp.server.lowlevel import Server
    from mcp.server.streamable_http import (
        EventCallback,
        EventId,
        EventMessage,
        EventStore,
        StreamId,
    )
    from starlette.types import ASGIApp, Message, Receive, Scope, Send
except ImportError as exc:  # the test extra brings them; a bare install may lack them
    pytest.skip(f"needs the mcp package and uvicorn: {exc}", allow_module_level=True)

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "mcp_client.py"
TIMEOUT = 30.0  # seconds the example, or the server's start or stop, may take
RETRY = 500  # milliseconds: the retry: of the server's priming events
WORK = 0.05  # seconds the closing tool works before it closes its stream


class MemoryEventStore(EventStore):
    """Every event of every stream, in order, in a list: enough for one test's session."""

    def __init__(self) -> None:
        self.events: list[tuple[EventId, StreamId, types.JSONRPCMessage | None]] = []
        self.ids = itertools.count(1)

    async def store_event(
        self, stream_id: StreamId, message: types.JSONRPCMessage | None
    ) -> EventId:
        event_id = str(next(self.ids))
        self.events.append((event_id, stream_id, message))
        return event_id

    async def replay_events_after(
        self, last_event_id: EventId, send_callback: EventCallback
    ) -> StreamId | None:
        ids = [event_id for event_id, _, _ in self.events]
        if last_event_id not in ids:
            return None
        start = ids.index(last_event_id)
        stream = self.events[start][1]
        for event_id, stream_id, message in self.events[start + 1 :]:
            if stream_id == stream and message is not None:  # priming events carry nothing
                await send_callback(EventMessage(message, event_id))
        return stream


NO_ARGUMENTS = {"type": "object", "properties": {}}
TOOLS = [
    types.Tool(name="hello", input_schema=NO_ARGUMENTS),
    types.Tool(
        name="greet",
        input_schema={
            "type": "object",
            "properties": {"name": {"type": "string"}},
            "required": ["name"],
        },
    ),
    types.Tool(name="long_job", input_schema=NO_ARGUMENTS),
]


async def list_tools(
    ctx: ServerRequestContext, params: types.PaginatedRequestParams | None
) -> types.ListToolsResult:
    return types.ListToolsResult(tools=TOOLS)


async def call_tool(
    ctx: ServerRequestContext, params: types.CallToolRequestParams
) -> types.CallToolResult:
    """hello answers at once; long_job works a little, closes its stream (the client is
    to come back after the retry interval), and then answers."""
    if params.name == "long_job" and ctx.close_sse_stream is not None:
        # The transport sends the priming event concurrently with this call: working a
        # moment first, as a long job does, lets it out before the stream is closed.
        await anyio.sleep(WORK)
        await ctx.close_sse_stream()
    return types.CallToolResult(content=[types.TextContent(text=f"{params.name}: done")])


@dataclass
class Exchange:
    """One request as the server saw it, and when its response ended."""

    method: str
    headers: dict[str, str]
    started: float
    body: bytes = b""
    ended: float | None = None

    @property
    def rpc_method(self) -> str | None:
        return json.loads(self.body).get("method") if self.body else None


@dataclass
class Recorder:
    """ASGI middleware: every HTTP exchange, in order of arrival, with server-side times."""

    app: ASGIApp
    exchanges: list[Exchange] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {
            name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]
        }
        exchange = Exchange(scope["method"], headers, started=time.monotonic())
        self.exchanges.append(exchange)

        async def receive_body() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                exchange.body += message.get("body", b"")
            return message

        async def send_timed(message: Message) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                exchange.ended = time.monotonic()

        await self.app(scope, receive_body, send_timed)


@contextmanager
def serving(app: ASGIApp) -> Iterator[str]:
    """Serve ``app`` with uvicorn on 127.0.0.1 in a thread; yield its base URL; stop it."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    # log_config=None: leave this process's logging as it is.
    config = uvicorn.Config(
        app, http="h11", ws="none", log_config=None, timeout_graceful_shutdown=5
    )
    server = uvicorn.Server(config)
    before = set(threading.enumerate())
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="uvicorn")
    thread.start()
    try:
        deadline = time.monotonic() + TIMEOUT
        while not server.started:
            assert thread.is_alive(), "uvicorn did not start"
            assert time.monotonic() < deadline, "uvicorn did not start in time"
            time.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(TIMEOUT)
        sock.close()
        assert not thread.is_alive(), "uvicorn did not stop in time"
        assert set(threading.enumerate()) <= before, "a thread of the server outlived it"


@dataclass
class Run:
    """What the example printed, and what the server saw."""

    lines: list[Any]
    exchanges: list[Exchange]
    store: MemoryEventStore


def run_example(*, json_response: bool) -> Run:
    """Run the example against a fresh mcp server; fail unless it exits 0, stderr empty."""
    server = Server("sse_client-test", on_list_tools=list_tools, on_call_tool=call_tool)
    store = MemoryEventStore()
    app = server.streamable_http_app(
        event_store=store, retry_interval=RETRY, json_response=json_response
    )
    recorder = Recorder(app)
    with serving(recorder) as url:
        process = subprocess.run(
            [sys.executable, str(EXAMPLE), url + "/mcp"],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
    assert (process.returncode, process.stderr) == (0, ""), process.stdout + process.stderr
    lines = [json.loads(line) for line in process.stdout.splitlines()]
    return Run(lines, recorder.exchanges, store)


def text_result(text: str) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": text}], "isError": False}


def test_every_tool_without_arguments_is_called_once_and_a_closed_stream_is_resumed() -> None:
    """One JSON line per tool without arguments, each once; the stream mcp closes after
    its priming event is resumed with a GET carrying Last-Event-ID and the session, after
    the server's retry interval (within -50/+200 ms of the close, on the server's clock)."""
    run = run_example(json_response=False)
    assert run.lines == [
        {"tool": "hello", "result": text_result("hello: done")},
        {"tool": "long_job", "result": text_result("long_job: done")},
    ]
    exchanges = run.exchanges
    assert [(x.method, x.rpc_method) for x in exchanges] == [
        ("POST", "initialize"),
        ("POST", "notifications/initialized"),
        ("POST", "tools/list"),
        ("POST", "tools/call"),
        ("POST", "tools/call"),
        ("GET", None),
        ("DELETE", None),
    ]
    assert "mcp-session-id" not in exchanges[0].headers  # the answer to it gives one
    session = exchanges[1].headers["mcp-session-id"]
    assert all(x.headers["mcp-session-id"] == session for x in exchanges[1:])
    assert all(x.headers["mcp-protocol-version"] == "2025-11-25" for x in exchanges[1:])
    closed, resume = exchanges[4], exchanges[5]
    call = json.loads(closed.body)
    assert call["params"] == {"name": "long_job", "arguments": {}}
    # The call's first priming event, the POST's (mcp sends another one on the resume).
    primed = next(
        id for id, stream, message in run.store.events if stream == str(call["id"]) and not message
    )
    assert resume.headers["last-event-id"] == primed
    assert resume.body == b""
    assert closed.ended is not None
    waited = resume.started - closed.ended
    assert RETRY / 1000 - 0.05 <= waited <= RETRY / 1000 + 0.2, waited


def test_json_answers_are_taken_as_well() -> None:
    """With mcp's JSON responses (no streams, so nothing to resume), every answer is one
    JSON body: the same lines, all POSTs."""
    run = run_example(json_response=True)
    assert run.lines == [
        {"tool": "hello", "result": text_result("hello: done")},
        {"tool": "long_job", "result": text_result("long_job: done")},
    ]
    assert [x.method for x in run.exchanges] == ["POST"] * 5 + ["DELETE"]
