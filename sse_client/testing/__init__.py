"""Helpers for testing code that consumes Server-Sent Events.

Public and stable. Build streams from scripted steps, then serve them from a real
loopback server (:class:`SSEServer`, also the ``sse_server`` pytest fixture) or from an
``httpx.MockTransport`` handler (:class:`MockSSE`, also usable with respx)::

    from sse_client import EventSource
    from sse_client.testing import Drop, Reply, SSEServer, Stream, event

    with SSEServer() as server:
        server.route(
            "/feed",
            Stream(event("one", id="1"), Drop()),  # first connection: one event, then a drop
            Reply(204),  # the reconnection: the stream is over
        )
        with EventSource(server.url + "/feed", reconnection_time=0.01) as source:
            assert [e.data for e in source] == ["one"]
        assert server.requests[1].last_event_id == "1"
"""

from __future__ import annotations

from ._format import format_event
from ._mock import MockSSE
from ._script import (
    Drop,
    Reply,
    Request,
    Responder,
    Sleep,
    Stall,
    Step,
    Stream,
    Trickle,
    event,
    resumable_counter,
)
from ._server import SSEServer

__all__ = [
    "Drop",
    "MockSSE",
    "Reply",
    "Request",
    "Responder",
    "SSEServer",
    "Sleep",
    "Stall",
    "Step",
    "Stream",
    "Trickle",
    "event",
    "format_event",
    "resumable_counter",
]
