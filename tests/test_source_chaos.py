"""Chaos: a server that drops the connection at random byte offsets, and resumes.

Every connection sends the events after the request's Last-Event-ID and is cut at a
random byte: mid-line, mid-field, inside a CRLF, inside a multi-byte character. Across
hundreds of drops the client must deliver every event exactly once, in order.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from sse_client import ReconnectPolicy
from sse_client.testing import Drop, Reply, Request, SSEServer, Stream, format_event

from .drivers import Driver

TOTAL = 300


def chaos_endpoint(seed: int) -> tuple[list[str], Callable[[Request], Stream | Reply]]:
    """The expected data, and an endpoint that cuts each connection at a random byte."""
    rng = random.Random(seed)
    data = [f"n{n} \u20ac\U0001f600 {'x' * rng.randint(0, 40)}" for n in range(1, TOTAL + 1)]
    blocks = [
        format_event(text, id=str(n), event="tick").replace(b"\n", b"\r\n" if n % 3 == 0 else b"\n")
        for n, text in enumerate(data, start=1)
    ]

    def respond(request: Request) -> Stream | Reply:
        last = request.last_event_id
        start = int(last) if last else 0
        if start >= TOTAL:
            return Reply(204)
        body = b"".join(blocks[start:])
        cut = rng.randint(1, min(len(body), 400))
        return Stream(body[:cut], Drop(reset=rng.random() < 0.3))

    return data, respond


def test_every_event_once_in_order_across_random_drops(
    sse_server: SSEServer, drive: Driver
) -> None:
    """Hundreds of random cuts lose, duplicate and reorder nothing."""
    expected, respond = chaos_endpoint(seed=1234)
    sse_server.route("/chaos", respond)
    outcome = drive(
        sse_server.url + "/chaos", reconnect=ReconnectPolicy(reconnection_time=0, max_delay=0)
    )
    assert [e.data for e in outcome.events] == expected
    assert [e.id for e in outcome.events] == [str(n) for n in range(1, TOTAL + 1)]
    assert {e.event for e in outcome.events} == {"tick"}
    assert len(sse_server.requests) > 100
