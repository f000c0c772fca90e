"""Server scripts and requests that tests in more than one file play.

``IN_LOOP``: a stream that only reconnect() moves on past its first event (the sources'
reconnection tests, and aiohttp's). ``BUSY``: a stream that goes on sending while its
consumer holds off (the idle timeout's tests, and aiohttp's). ``CALL``: the JSON-RPC
call that opens an MCP-like stream (what a source sends with it, and what a JSON answer
to it means).
"""

from __future__ import annotations

from typing import Any

from sse_client import ReconnectPolicy, StreamEnded, Timeouts
from sse_client.testing import Reply, Sleep, SSEServer, Stall, Stream, event

from .drivers import PROMPT, Recorder

#: A stream whose first event comes alone, then stalls: only reconnect() moves it on.
#: The idle timeout bounds a run that ignored reconnect(); its error would say so.
IN_LOOP = (Stream(event("a", id="1"), Sleep(0.05), Stall()), Stream(event("b", id="2")), Reply(204))
IN_LOOP_SETTINGS: dict[str, Any] = {
    "reconnect": ReconnectPolicy(reconnection_time=0.001),
    "timeout": Timeouts(idle=PROMPT),
}


#: 40 events of 10 KB after a first one, 40 ms apart (400 KB in 1.6 s): sent all along
#: while a consumer holds off after the first (``BUSY_PAUSE``, three ``BUSY_IDLE``
#: periods), then a clean end and a 204.
BUSY = (
    Stream(
        event("a", id="0"),
        *(step for n in range(1, 41) for step in (event("x" * 10_000, id=str(n)), Sleep(0.04))),
    ),
    Reply(204),
)
BUSY_IDS = [str(n) for n in range(41)]
BUSY_IDLE = 0.5  # seconds: the idle timeout
BUSY_PAUSE = 1.5  # seconds the consumer holds off after the first event


def assert_dropped_by_reconnect(got: list[str], hooks: Recorder, sse_server: SSEServer) -> None:
    """The stream was dropped at once by reconnect(), not by the idle timeout."""
    assert got == ["a", "b"]
    [error] = hooks.errors[:1]
    assert isinstance(error, StreamEnded)
    assert not error.clean
    assert [r.last_event_id for r in sse_server.requests] == [None, "1", "2"]


CALL = {"jsonrpc": "2.0", "id": 1, "method": "tools/call"}
