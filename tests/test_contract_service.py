"""The contract-test service, driven as the conformance harness drives it.

The service runs in-process on an ephemeral port; a local SSE server plays the
harness's stream, and a local receiver collects the numbered callbacks. Every test
runs with the service driving EventSource and AsyncEventSource.
"""

from __future__ import annotations

import importlib.util
import json
import string
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx2
import pytest

from sse_client.testing import Drop, Reply, Sleep, SSEServer, Stall, Stream, event, format_event


def load_service() -> ModuleType:
    path = Path(__file__).resolve().parent.parent / "contract-tests" / "service.py"
    spec = importlib.util.spec_from_file_location("contract_service", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


service_module = load_service()

# How often serve_forever() looks for shutdown(): its default, half a second, would be
# paid by every test twice (the service and the receiver).
POLL = 0.01  # seconds


class Receiver:
    """The harness's callback endpoint: collects POST /<n> bodies, by n."""

    def __init__(self) -> None:
        self.messages: dict[int, dict[str, Any]] = {}
        self.changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length))
                with receiver.changed:
                    receiver.messages[int(self.path.rsplit("/", 1)[1])] = body
                    receiver.changed.notify_all()
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(POLL,), daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/cb"

    def wait(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        """The first ``count`` messages in callback order."""
        with self.changed:
            done = self.changed.wait_for(lambda: len(self.messages) >= count, timeout)
            assert done, f"expected {count} callbacks, got {self.messages}"
            return [self.messages[n] for n in sorted(self.messages)][:count]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(params=["sync", "async", "aiohttp"])
def service(request: pytest.FixtureRequest) -> Iterator[str]:
    """The service's base URL, driving the client the parameter names."""
    server = service_module.ServiceServer(("127.0.0.1", 0), request.param)
    thread = threading.Thread(target=server.serve_forever, args=(POLL,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    yield running
    running.close()


def create(service: str, **params: Any) -> str:
    response = httpx2.post(service + "/", json=params)
    assert response.status_code == 201, response.text
    return service + response.headers["location"]


def delete(instance: str) -> None:
    assert httpx2.delete(instance).status_code == 204


def test_status_lists_the_capabilities(service: str) -> None:
    """GET / answers with every capability the clients really have."""
    body = httpx2.get(service + "/").json()
    declared = "bom comments headers last-event-id post read-timeout report restart"
    assert sorted(body["capabilities"]) == declared.split()


def test_events_and_comments_in_order(
    service: str, receiver: Receiver, sse_server: SSEServer
) -> None:
    """Events (type, data, id) and comments reach the harness numbered in order."""
    sse_server.route(
        "/s", Stream(event("a", id="1"), b":hello\n", event("b\nc", event="add"), Stall())
    )
    instance = create(service, streamUrl=sse_server.url + "/s", callbackUrl=receiver.url)
    assert receiver.wait(3) == [
        {"kind": "event", "event": {"type": "message", "data": "a", "id": "1"}},
        {"kind": "comment", "comment": "hello"},
        {"kind": "event", "event": {"type": "add", "data": "b\nc", "id": "1"}},
    ]
    delete(instance)


def test_request_options(service: str, receiver: Receiver, sse_server: SSEServer) -> None:
    """Method, body, custom headers and the initial Last-Event-ID reach the stream."""
    sse_server.route("/s", Stream(event("ok"), Stall()))
    instance = create(
        service,
        streamUrl=sse_server.url + "/s",
        callbackUrl=receiver.url,
        method="REPORT",
        body='{"hello": "world"}',
        headers={"content-type": "application/json; charset=utf-8", "header-name-1": "value-1"},
        lastEventId="abc",
    )
    receiver.wait(1)
    (request,) = sse_server.requests
    assert request.method == "REPORT"
    assert request.body == b'{"hello": "world"}'
    assert request.headers["content-type"] == "application/json; charset=utf-8"
    assert request.headers["header-name-1"] == "value-1"
    assert request.last_event_id == "abc"
    assert request.headers["accept"] == "text/event-stream"
    delete(instance)


def test_drop_is_an_error_then_the_stream_resumes(
    service: str, receiver: Receiver, sse_server: SSEServer
) -> None:
    """A dropped POST stream is reported, then reconnected with its body and Last-Event-ID."""
    sse_server.route(
        "/s", Stream(event("one", id="1"), Drop()), Stream(event("two", id="2"), Stall())
    )
    instance = create(
        service,
        streamUrl=sse_server.url + "/s",
        callbackUrl=receiver.url,
        method="POST",
        body="payload",
        initialDelayMs=0,
    )
    first, error, second = receiver.wait(3)
    assert first["event"]["data"] == "one"
    assert error["kind"] == "error"
    assert error["error"]
    assert second["event"] == {"type": "message", "data": "two", "id": "2"}
    assert [(r.body, r.last_event_id) for r in sse_server.requests] == [
        (b"payload", None),
        (b"payload", "1"),
    ]
    delete(instance)


def test_restart_reconnects_without_an_error(
    service: str, receiver: Receiver, sse_server: SSEServer
) -> None:
    """The restart command drops the connection and reconnects; it is not reported."""
    sse_server.route(
        "/s", Stream(event("Hello", id="1"), Stall()), Stream(event("Thanks"), Stall())
    )
    instance = create(
        service, streamUrl=sse_server.url + "/s", callbackUrl=receiver.url, initialDelayMs=0
    )
    receiver.wait(1)
    assert httpx2.post(instance, json={"command": "restart"}).status_code == 202
    messages = receiver.wait(2)
    assert messages[1]["event"]["data"] == "Thanks"
    assert sse_server.requests[1].last_event_id == "1"
    delete(instance)


def test_read_timeout(service: str, receiver: Receiver, sse_server: SSEServer) -> None:
    """readTimeoutMs: a silent stream is reported as an error and reconnected."""
    sse_server.route("/s", Stream(event("Hello"), Stall()), Stream(Stall()))
    instance = create(
        service,
        streamUrl=sse_server.url + "/s",
        callbackUrl=receiver.url,
        initialDelayMs=0,
        readTimeoutMs=1000,  # long enough for a busy machine to deliver "Hello" first
    )
    hello, error = receiver.wait(2)
    assert hello["event"]["data"] == "Hello"
    assert error["kind"] == "error"
    sse_server.wait_for_requests(2)
    delete(instance)


def test_bad_status_is_reported(service: str, receiver: Receiver, sse_server: SSEServer) -> None:
    """A status that fails the connection is reported as an error."""
    sse_server.route("/s", Reply(500, b"broken"))
    instance = create(service, streamUrl=sse_server.url + "/s", callbackUrl=receiver.url)
    (error,) = receiver.wait(1)
    assert error["kind"] == "error"
    assert "500" in error["error"]
    delete(instance)


def test_delete_stops_the_stream(service: str, receiver: Receiver, sse_server: SSEServer) -> None:
    """After DELETE the source is closed: no reconnection, the instance is gone."""
    sse_server.route("/s", Stream(event("a"), Stall()))
    instance = create(
        service, streamUrl=sse_server.url + "/s", callbackUrl=receiver.url, initialDelayMs=0
    )
    receiver.wait(1)
    delete(instance)
    time.sleep(0.1)
    assert len(sse_server.requests) == 1
    assert httpx2.delete(instance).status_code == 404
    assert httpx2.post(instance, json={"command": "restart"}).status_code == 404


def test_bad_requests(service: str) -> None:
    """Bad JSON, missing URLs and unknown commands are 400."""
    assert httpx2.post(service + "/", content=b"{nope").status_code == 400
    assert httpx2.post(service + "/", json={"streamUrl": "http://x"}).status_code == 400
    instance = create(service, streamUrl="http://127.0.0.1:9/", callbackUrl="http://127.0.0.1:9/")
    assert httpx2.post(instance, json={"command": "dance"}).status_code == 400
    assert httpx2.get(service + "/nothing").status_code == 404
    delete(instance)


def test_delete_root_stops_the_service() -> None:
    """DELETE / ends serve_forever."""
    server = service_module.ServiceServer(("127.0.0.1", 0), "sync")
    thread = threading.Thread(target=server.serve_forever, args=(POLL,), daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    assert httpx2.delete(url).status_code == 204
    thread.join(5)
    assert not thread.is_alive()
    server.server_close()


# The harness's payload tests: one event of 5 MiB (and one of 10 MiB), sent in one write
# or split in two, must arrive whole, well past the default max_event_size of 1 MiB.
LARGE = (string.ascii_lowercase * (5 * 2**20 // 26 + 1))[: 5 * 2**20]


@pytest.mark.parametrize("writes", [1, 2], ids=["one-chunk", "two-chunks"])
def test_large_message(
    service: str, receiver: Receiver, sse_server: SSEServer, writes: int
) -> None:
    """A 5 MiB event, in one write or two, reaches the harness whole."""
    body = format_event(LARGE, event="big", id="1")
    cut = len(body) // 2
    chunks = [body] if writes == 1 else [body[:cut], Sleep(0.01), body[cut:]]
    sse_server.route("/s", Stream(*chunks, Stall()))
    instance = create(service, streamUrl=sse_server.url + "/s", callbackUrl=receiver.url)
    (message,) = receiver.wait(1, timeout=30.0)
    assert message["kind"] == "event"
    assert message["event"] == {"type": "big", "data": LARGE, "id": "1"}
    delete(instance)


def test_bom_at_the_start_is_dropped_and_later_ones_kept(
    service: str, receiver: Receiver, sse_server: SSEServer
) -> None:
    """spec: P-BOM -- the first event of a stream that starts with a BOM is delivered."""
    sse_server.route(
        "/s",
        Stream(b"\xef\xbb\xbf" + event("first"), event("\ufeffsecond"), b"\xef\xbb\xbf", Stall()),
    )
    instance = create(service, streamUrl=sse_server.url + "/s", callbackUrl=receiver.url)
    first, second = receiver.wait(2)
    assert first["event"]["data"] == "first"
    assert second["event"]["data"] == "\ufeffsecond"
    delete(instance)
