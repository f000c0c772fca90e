"""Helpers for testing code that consumes Server-Sent Events.

Public and stable. Describe what an endpoint answers, then serve it from a real
loopback server (:class:`SSEServer`, also the ``sse_server`` pytest fixture) or without
sockets (:class:`MockSSE` for ``httpx2.MockTransport`` or ``httpx.MockTransport``,
:func:`respx_route` for respx)::

    from sse_client import EventSource, ReconnectPolicy
    from sse_client.testing import Drop, Reply, SSEServer, Stream, event

    with SSEServer() as server:
        server.route(
            "/feed",
            Stream(event("one", id="1"), Drop()),  # first connection: one event, then a drop
            Reply(204),  # the reconnection: the stream is over
        )
        policy = ReconnectPolicy(reconnection_time=0.01)
        with EventSource(server.url + "/feed", reconnect=policy) as source:
            assert [e.data for e in source] == ["one"]
        assert server.requests[1].last_event_id == "1"

The vocabulary:

- A response is a :class:`Stream` (status 200, ``text/event-stream``, a body made of
  steps; ``chunked=True`` for chunked transfer-encoding) or a :class:`Reply` (a status,
  headers and a whole body: a 204, a 500 with a page, a 200 with the wrong
  Content-Type, :meth:`Reply.redirect`), or a function of the :class:`Request` that
  returns one, such as :func:`resumable_counter`.
- The steps of a stream: bytes (:func:`event` encodes one event, as
  :func:`format_event` does), :class:`Sleep`, :class:`Trickle` (one byte per write),
  :class:`Drop` (end the connection: a plain body just ends, ``reset=True`` resets the
  socket, a chunked body is cut inside a chunk), :class:`Stall` (send nothing more
  until the client hangs up or the server closes).
- A route takes one response per connection attempt, in order; the last one repeats.

Hostile servers are a line each::

    server.route("/endless", Stream(b"data: " + b"x" * 2**21, Stall()))  # a 2 MiB line
    server.route("/retry", Stream(event("a", retry=10**12), Drop()))  # wait ~30 years
    server.route("/loop", Reply.redirect("/loop"))  # a redirect loop
    server.route("/spin", Stream(Drop(reset=True)))  # every connection reset at once
"""

from __future__ import annotations

from ._format import format_event
from ._mock import MockSSE, build_response, respx_route
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
    "build_response",
    "event",
    "format_event",
    "respx_route",
    "resumable_counter",
]
