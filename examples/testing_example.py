"""How to test your own code with sse_client.testing: a pytest module of a user's project.

Run: ``python -m pytest examples/testing_example.py``. The ``sse_server`` fixture comes
from sse_client's pytest plugin, which pytest loads wherever the package is installed.
"""

from __future__ import annotations

import httpx2
import pytest

from sse_client import EventSource, ResponseError
from sse_client.testing import Drop, MockSSE, Reply, SSEServer, Stream, event


def latest_prices(url: str, client: httpx2.Client | None = None) -> dict[str, float]:
    """The code under test: collect price updates until the server ends the feed."""
    prices = {}
    with EventSource(url, client=client) as source:
        for update in source:
            symbol, price = update.data.split("=")
            prices[symbol] = float(price)
    return prices


def test_prices_survive_a_dropped_connection(sse_server: SSEServer) -> None:
    """Against a real socket: the feed drops, resumes from Last-Event-ID, then ends."""
    sse_server.route(
        "/prices",
        # retry: 10 -- the client waits 10 ms, not its default 3 s, before reconnecting.
        Stream(event(None, retry=10), event("ACME=1.5", id="1"), Drop()),
        Stream(event("ACME=1.75", id="2"), event("INIT=3", id="3")),
        Reply(204),
    )
    assert latest_prices(sse_server.url + "/prices") == {"ACME": 1.75, "INIT": 3.0}
    assert [r.last_event_id for r in sse_server.requests] == [None, "1", "3"]


def test_prices_with_a_mock_transport() -> None:
    """Without sockets: the same script through httpx2.MockTransport."""
    handler = MockSSE(Stream(event("ACME=2", id="1", retry=10)), Reply(204))
    with httpx2.Client(transport=httpx2.MockTransport(handler)) as client:
        assert latest_prices("http://prices.test/prices", client) == {"ACME": 2.0}


def test_prices_report_an_error_status(sse_server: SSEServer) -> None:
    """A server that answers 503 makes the code under test raise ResponseError."""
    sse_server.route("/prices", Reply(503, b"maintenance"))
    with pytest.raises(ResponseError) as info:
        latest_prices(sse_server.url + "/prices")
    assert info.value.status_code == 503
    assert info.value.body_preview == "maintenance"
