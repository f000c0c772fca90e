"""sse_client.testing.SSEServer over real sockets, driven by plain httpx clients."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import anyio
import httpx2
import pytest

from sse_client import (
    EventSource,
    EventStreamParser,
    EventTooLarge,
    ReconnectPolicy,
    ServerSentEvent,
)
from sse_client.testing import (
    Drop,
    Reply,
    Request,
    Sleep,
    SSEServer,
    Stall,
    Stream,
    Trickle,
    event,
    format_event,
    resumable_counter,
)

pytest_plugins = ["pytester"]

# "At once" on a busy machine: far below the stalls and sleeps it cuts short.
PROMPT = 5.0  # seconds


def loopback_client() -> httpx2.Client:
    """A client for plain HTTP on loopback: loading CA certificates would cost ~25 ms."""
    return httpx2.Client(timeout=5.0, verify=False)


def async_loopback_client() -> httpx2.AsyncClient:
    """The async twin of :func:`loopback_client`."""
    return httpx2.AsyncClient(timeout=5.0, verify=False)


@dataclass
class Fetched:
    """What a client saw of one response: the response, its body chunks, the error."""

    response: httpx2.Response
    chunks: list[bytes]
    error: httpx2.TransportError | None

    @property
    def body(self) -> bytes:
        """The body bytes received before the end or the error."""
        return b"".join(self.chunks)


def fetch(
    url: str,
    method: str = "GET",
    *,
    headers: dict[str, str] | None = None,
    content: bytes | Iterator[bytes] | None = None,
) -> Fetched:
    """Stream one response with httpx2.Client, keeping the bytes that came before an error."""
    chunks: list[bytes] = []
    error: httpx2.TransportError | None = None
    with (
        loopback_client() as client,
        client.stream(method, url, headers=headers, content=content) as response,
    ):
        try:
            chunks.extend(response.iter_raw())
        except httpx2.TransportError as exc:
            error = exc
    return Fetched(response, chunks, error)


async def afetch(url: str, *, headers: dict[str, str] | None = None) -> Fetched:
    """Stream one response with httpx2.AsyncClient (the twin of :func:`fetch`)."""
    chunks: list[bytes] = []
    error: httpx2.TransportError | None = None
    async with (
        async_loopback_client() as client,
        client.stream("GET", url, headers=headers) as response,
    ):
        try:
            async for chunk in response.aiter_raw():
                chunks.append(chunk)  # noqa: PERF401 -- keep the chunks read before an error
        except httpx2.TransportError as exc:
            error = exc
    return Fetched(response, chunks, error)


def raw_exchange(server: SSEServer, request: bytes) -> bytes:
    """Send raw request bytes and return every byte of the answer, up to the server's close."""
    url = httpx2.URL(server.url)
    assert url.port is not None
    received = b""
    with socket.create_connection((url.host, url.port), timeout=5.0) as sock:
        sock.sendall(request)
        while chunk := sock.recv(65536):  # ends when the server closes (Connection: close)
            received += chunk
    return received


def parse(body: bytes) -> list[ServerSentEvent]:
    """The events in a whole body."""
    return EventStreamParser().feed(body)


# -- Streams, step by step --------------------------------------------------------------


def test_stream_sends_its_steps_as_an_eof_delimited_event_stream(sse_server: SSEServer) -> None:
    """A Stream answers 200 text/event-stream, no length, Connection: close, bytes exact."""
    sse_server.route("/s", Stream(event("a", id="1"), b"data: raw\n\n", event("b", event="x")))
    fetched = fetch(sse_server.url + "/s")
    assert fetched.response.status_code == 200
    assert fetched.response.http_version == "HTTP/1.1"
    assert fetched.response.headers["content-type"] == "text/event-stream"
    assert fetched.response.headers["cache-control"] == "no-cache"
    assert fetched.response.headers["connection"] == "close"
    assert "content-length" not in fetched.response.headers
    assert "transfer-encoding" not in fetched.response.headers
    assert fetched.body == format_event("a", id="1") + b"data: raw\n\n" + format_event(
        "b", event="x"
    )
    assert fetched.error is None
    assert [(e.event, e.data, e.id) for e in parse(fetched.body)] == [
        ("message", "a", "1"),
        ("message", "raw", "1"),
        ("x", "b", "1"),
    ]


def test_stream_status_content_type_and_headers_can_be_chosen(sse_server: SSEServer) -> None:
    """A Stream's status, Content-Type and extra headers go out as given."""
    sse_server.route(
        "/wrong", Stream(b"<html>", status=200, content_type="text/html", headers={"X-A": "1"})
    )
    sse_server.route("/none", Stream(b"data: a\n\n", status=503, content_type=None))
    wrong = fetch(sse_server.url + "/wrong")
    assert wrong.response.headers["content-type"] == "text/html"
    assert wrong.response.headers["x-a"] == "1"
    assert wrong.body == b"<html>"
    untyped = fetch(sse_server.url + "/none")
    assert untyped.response.status_code == 503
    assert "content-type" not in untyped.response.headers
    assert untyped.body == b"data: a\n\n"


def test_sleep_pauses_the_stream(sse_server: SSEServer) -> None:
    """A Sleep step holds the next bytes back for its duration."""
    sse_server.route("/s", Stream(b"data: a\n\n", Sleep(0.05), b"data: b\n\n"))
    started = time.monotonic()
    fetched = fetch(sse_server.url + "/s")
    assert time.monotonic() - started >= 0.05
    assert fetched.body == b"data: a\n\ndata: b\n\n"
    assert len(fetched.chunks) >= 2  # the pause split the body


def test_trickle_sends_one_byte_per_write(sse_server: SSEServer) -> None:
    """A Trickle arrives intact, spread over many reads."""
    body = format_event("slow \u20ac", id="7")
    sse_server.route("/s", Stream(Trickle(body)))
    started = time.monotonic()
    fetched = fetch(sse_server.url + "/s")
    assert time.monotonic() - started >= len(body) * 0.001  # a pause after every byte
    assert fetched.body == body
    assert len(fetched.chunks) > 1
    assert parse(fetched.body) == [ServerSentEvent(data="slow \u20ac", id="7")]


def test_plain_drop_ends_the_body_after_a_partial_write(sse_server: SSEServer) -> None:
    """A Drop in a plain body closes it: the client sees every byte, then a clean end."""
    sse_server.route("/s", Stream(event("a"), b"data: par", Drop(), event("never")))
    fetched = fetch(sse_server.url + "/s")
    assert fetched.error is None
    assert fetched.body == b"data: a\n\ndata: par"


def test_reset_drop_is_a_read_error_after_the_bytes_sent(sse_server: SSEServer) -> None:
    """Drop(reset=True) resets the socket: the bytes sent arrive, then httpx2.ReadError."""
    sse_server.route("/s", Stream(event("a", id="1"), b"data: par", Drop(reset=True)))
    for _ in range(5):  # the reset must never overtake the data
        fetched = fetch(sse_server.url + "/s")
        assert fetched.body == b"id: 1\ndata: a\n\ndata: par"
        assert isinstance(fetched.error, httpx2.ReadError)


def test_chunked_stream_frames_every_write_as_a_chunk(sse_server: SSEServer) -> None:
    """chunked=True sends each step as one chunk and ends with the last chunk."""
    sse_server.route("/s", Stream(b"data: a\n\n", b"", Trickle(b"ok"), chunked=True))
    wire = raw_exchange(sse_server, b"GET /s HTTP/1.1\r\nHost: x\r\n\r\n")
    head, _, body = wire.partition(b"\r\n\r\n")
    assert b"\r\nTransfer-Encoding: chunked" in head
    assert b"Content-Length" not in head
    assert body == b"9\r\ndata: a\n\n\r\n1\r\no\r\n1\r\nk\r\n0\r\n\r\n"
    fetched = fetch(sse_server.url + "/s")
    assert fetched.response.headers["transfer-encoding"] == "chunked"
    assert fetched.body == b"data: a\n\nok"
    assert fetched.error is None


def test_chunked_drop_is_an_incomplete_chunked_read(sse_server: SSEServer) -> None:
    """A Drop in a chunked body announces a chunk and hangs up: RemoteProtocolError."""
    sse_server.route("/s", Stream(event("a", id="1"), b"data: par", Drop(), chunked=True))
    wire = raw_exchange(sse_server, b"GET /s HTTP/1.1\r\nHost: x\r\n\r\n")
    assert wire.endswith(b"\r\n\r\nf\r\nid: 1\ndata: a\n\n\r\n9\r\ndata: par\r\n10\r\n")
    fetched = fetch(sse_server.url + "/s")
    assert fetched.body == b"id: 1\ndata: a\n\ndata: par"
    assert isinstance(fetched.error, httpx2.RemoteProtocolError)
    assert "incomplete chunked read" in str(fetched.error)


def test_chunked_reset_drop_is_a_read_error(sse_server: SSEServer) -> None:
    """Drop(reset=True) in a chunked body is a ReadError too."""
    sse_server.route("/s", Stream(event("a"), Drop(reset=True), chunked=True))
    fetched = fetch(sse_server.url + "/s")
    assert fetched.body == b"data: a\n\n"
    assert isinstance(fetched.error, httpx2.ReadError)


def test_stall_holds_the_stream_open_and_close_ends_it_at_once() -> None:
    """Closing the server with a stalled stream open ends it at once."""
    server = SSEServer().start()
    server.route("/s", Stream(event("a"), Stall(), event("never")))
    with loopback_client() as client, client.stream("GET", server.url + "/s") as response:
        chunks = response.iter_raw()
        assert next(chunks) == b"data: a\n\n"
        assert server.open_connections == 1
        started = time.monotonic()
        server.close()
        assert time.monotonic() - started < PROMPT
        assert list(chunks) == []  # the plain body just ended
    assert server.open_connections == 0
    assert not [t for t in threading.enumerate() if t.name.startswith("SSEServer")]


def test_stall_ends_when_the_client_hangs_up(sse_server: SSEServer) -> None:
    """A stalled stream frees its connection as soon as the client closes its socket."""
    sse_server.route("/s", Stream(event("a"), Stall()))
    with loopback_client() as client:
        with client.stream("GET", sse_server.url + "/s") as response:
            chunks = response.iter_raw()
            assert next(chunks) == b"data: a\n\n"
            assert sse_server.open_connections == 1
            with pytest.raises(TimeoutError, match="1 connections still open"):
                sse_server.wait_until_idle(timeout=0.02)
        client.close()  # the pool lets go of the socket
        sse_server.wait_until_idle(timeout=PROMPT)
    assert sse_server.open_connections == 0


def test_steps_after_close_are_not_sent() -> None:
    """A stream sleeping when the server closes sends nothing more."""
    server = SSEServer().start()
    server.route("/s", Stream(event("a"), Sleep(30.0), event("never")))
    with loopback_client() as client, client.stream("GET", server.url + "/s") as response:
        chunks = response.iter_raw()
        assert next(chunks) == b"data: a\n\n"
        started = time.monotonic()
        server.close()
        assert list(chunks) == []
    assert time.monotonic() - started < PROMPT


# -- Replies ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "status", "content_type", "body"),
    [
        pytest.param(Reply(204), 204, None, b"", id="204-no-content"),
        pytest.param(Reply(500, b"boom"), 500, None, b"boom", id="500-with-body"),
        pytest.param(
            Reply(200, b"<p>hi</p>", {"Content-Type": "text/html"}),
            200,
            "text/html",
            b"<p>hi</p>",
            id="200-wrong-content-type",
        ),
        pytest.param(
            Reply(429, b"", {"Retry-After": "3"}), 429, None, b"", id="429-with-retry-after"
        ),
    ],
)
def test_reply_sends_status_headers_and_a_whole_body(
    sse_server: SSEServer, reply: Reply, status: int, content_type: str | None, body: bytes
) -> None:
    """A Reply is one status, its headers and a body with a Content-Length."""
    sse_server.route("/r", reply)
    fetched = fetch(sse_server.url + "/r")
    assert fetched.response.status_code == status
    assert fetched.response.headers.get("content-type") == content_type
    assert fetched.body == body
    for name, value in reply.headers.items():
        assert fetched.response.headers[name] == value
    if status == 204:
        assert "content-length" not in fetched.response.headers
    else:
        assert fetched.response.headers["content-length"] == str(len(body))


def test_redirect_is_followed_to_another_route(sse_server: SSEServer) -> None:
    """Reply.redirect sends a 307 with Location; httpx follows it and both are recorded."""
    sse_server.route("/old", Reply.redirect("/new"))
    sse_server.route("/new", Stream(event("moved")))
    not_followed = fetch(sse_server.url + "/old")
    assert not_followed.response.status_code == 307
    assert not_followed.response.headers["location"] == "/new"
    with loopback_client() as client:
        response = client.get(sse_server.url + "/old", follow_redirects=True)
    assert response.status_code == 200
    assert response.content == b"data: moved\n\n"
    assert [r.path for r in sse_server.requests] == ["/old", "/old", "/new"]


def test_redirect_status_can_be_chosen(sse_server: SSEServer) -> None:
    """Reply.redirect takes any redirect status, such as 301."""
    sse_server.route("/old", Reply.redirect("/new", status=301))
    assert fetch(sse_server.url + "/old").response.status_code == 301


def test_redirect_loop_exhausts_the_clients_redirects(sse_server: SSEServer) -> None:
    """A route redirecting to itself is a redirect loop."""
    sse_server.route("/loop", Reply.redirect("/loop"))
    with loopback_client() as client, pytest.raises(httpx2.TooManyRedirects):
        client.get(sse_server.url + "/loop", follow_redirects=True)
    assert len(sse_server.requests) == 21  # the first request and httpx's 20 redirects


def test_unrouted_path_answers_404(sse_server: SSEServer) -> None:
    """A path without a route gets 404, and the request is still recorded."""
    fetched = fetch(sse_server.url + "/nowhere")
    assert fetched.response.status_code == 404
    assert fetched.body == b"no route for /nowhere"
    assert [r.path for r in sse_server.requests] == ["/nowhere"]


# -- Scripts ----------------------------------------------------------------------------


def test_each_request_gets_the_next_response_and_the_last_repeats(sse_server: SSEServer) -> None:
    """Request n gets response n; every request after the last gets the last."""
    sse_server.route("/s", Stream(event("first")), Reply(500, b"second"), Reply(204))
    bodies = [fetch(sse_server.url + "/s") for _ in range(4)]
    assert [f.response.status_code for f in bodies] == [200, 500, 204, 204]
    assert bodies[0].body == b"data: first\n\n"
    assert bodies[1].body == b"second"


def test_routing_a_path_again_starts_a_new_script(sse_server: SSEServer) -> None:
    """route() replaces a path's script, from its first response."""
    sse_server.route("/s", Reply(500), Reply(503))
    assert fetch(sse_server.url + "/s").response.status_code == 500
    sse_server.route("/s", Reply(204), Reply(503))
    assert fetch(sse_server.url + "/s").response.status_code == 204


def test_route_needs_a_response(sse_server: SSEServer) -> None:
    """A route without any response is refused at once."""
    with pytest.raises(ValueError, match="at least one response"):
        sse_server.route("/s")


def test_query_string_is_ignored_when_matching_but_recorded(sse_server: SSEServer) -> None:
    """/s?x=1 is answered by the route for /s; the recorded path keeps the query."""
    sse_server.route("/s", Reply(204))
    assert fetch(sse_server.url + "/s?x=1&y=%20").response.status_code == 204
    assert sse_server.requests[0].path == "/s?x=1&y=%20"


def test_responder_function_answers_from_the_request(sse_server: SSEServer) -> None:
    """A function route gets each Request and answers with what it returns."""

    def echo(request: Request) -> Stream:
        return Stream(event(f"{request.method} {request.last_event_id}"))

    sse_server.route("/echo", echo)
    fetched = fetch(sse_server.url + "/echo", "POST", headers={"Last-Event-ID": "42"})
    assert fetched.body == b"data: POST 42\n\n"


def test_responder_function_may_read_the_recorded_requests(sse_server: SSEServer) -> None:
    """A responder can look at the server's requests without deadlocking it."""
    sse_server.route("/n", lambda request: Stream(event(str(len(sse_server.requests)))))
    assert fetch(sse_server.url + "/n").body == b"data: 1\n\n"
    assert fetch(sse_server.url + "/n").body == b"data: 2\n\n"


def test_responder_that_raises_answers_500_naming_the_error(sse_server: SSEServer) -> None:
    """A bug in a responder shows up in the response, not as a hung or silent server."""

    def broken(request: Request) -> Stream:
        raise KeyError("missing")

    sse_server.route("/s", broken)
    fetched = fetch(sse_server.url + "/s")
    assert fetched.response.status_code == 500
    assert fetched.body == b"the responder raised KeyError('missing')"


# -- Recorded requests ------------------------------------------------------------------


def test_requests_record_method_path_headers_and_body(sse_server: SSEServer) -> None:
    """Every request is recorded: method, path, lower-case headers, body, Last-Event-ID."""
    sse_server.route("/s", Reply(204))
    fetch(sse_server.url + "/s")
    fetch(sse_server.url + "/s", "POST", content=b'{"q": 1}', headers={"X-Token": "t"})
    fetch(sse_server.url + "/s", "REPORT", content=b"<r/>", headers={"Last-Event-ID": "9"})
    first, post, report = sse_server.requests
    assert (first.method, first.path, first.body, first.last_event_id) == ("GET", "/s", b"", None)
    assert first.headers["host"] == sse_server.url.removeprefix("http://")
    assert (post.method, post.body) == ("POST", b'{"q": 1}')
    assert post.headers["x-token"] == "t"
    assert post.headers["content-length"] == "8"
    assert (report.method, report.body, report.last_event_id) == ("REPORT", b"<r/>", "9")


def test_chunked_request_body_is_recorded_whole(sse_server: SSEServer) -> None:
    """A request body sent with chunked encoding is decoded before it is recorded."""
    sse_server.route("/s", Reply(204))
    fetch(sse_server.url + "/s", "POST", content=iter([b"ab", b"", b"cd"]))
    (request,) = sse_server.requests
    assert request.headers["transfer-encoding"] == "chunked"
    assert request.body == b"abcd"


def test_chunked_request_body_with_extensions_and_trailers_is_decoded(
    sse_server: SSEServer,
) -> None:
    """Chunk extensions and trailer fields are skipped."""
    sse_server.route("/s", Reply(204))
    wire = raw_exchange(
        sse_server,
        b"POST /s HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"3;name=v\r\nabc\r\n0\r\nX-Trailer: 1\r\n\r\n",
    )
    assert wire.startswith(b"HTTP/1.1 204 ")
    assert sse_server.requests[0].body == b"abc"


@pytest.mark.parametrize(
    "head_and_body",
    [
        pytest.param(b"Content-Length: ten\r\n\r\n", id="bad-content-length"),
        pytest.param(b"Transfer-Encoding: chunked\r\n\r\nzz\r\n", id="bad-chunk-size"),
        pytest.param(b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n", id="missing-last-chunk"),
    ],
)
def test_unreadable_request_body_answers_400(sse_server: SSEServer, head_and_body: bytes) -> None:
    """A request body the server cannot frame gets 400 and is not recorded."""
    sse_server.route("/s", Reply(204))
    request = b"POST /s HTTP/1.1\r\nHost: x\r\n" + head_and_body
    url = httpx2.URL(sse_server.url)
    assert url.port is not None
    with socket.create_connection((url.host, url.port), timeout=5.0) as sock:
        sock.sendall(request)
        sock.shutdown(socket.SHUT_WR)  # the body ends here
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    assert received.startswith(b"HTTP/1.1 400 ")
    assert sse_server.requests == ()


def test_wait_for_requests_returns_once_enough_have_arrived(sse_server: SSEServer) -> None:
    """wait_for_requests blocks until a client in another thread has made its requests."""
    sse_server.route("/s", Reply(204))
    thread = threading.Thread(target=lambda: [fetch(sse_server.url + "/s") for _ in range(3)])
    thread.start()
    try:
        requests = sse_server.wait_for_requests(3, timeout=5.0)
    finally:
        thread.join(5.0)
    assert len(requests) == 3


def test_wait_for_requests_times_out(sse_server: SSEServer) -> None:
    """wait_for_requests raises TimeoutError, saying how many came, when too few arrive."""
    sse_server.route("/s", Reply(204))
    fetch(sse_server.url + "/s")
    with pytest.raises(TimeoutError, match=r"expected 2 requests within 0\.02 s, got 1"):
        sse_server.wait_for_requests(2, timeout=0.02)


# -- The resumable counter --------------------------------------------------------------


def read_counter(url: str) -> tuple[list[ServerSentEvent], int]:
    """Reconnect by hand until a 204, resuming from the last event ID, like a client."""
    events: list[ServerSentEvent] = []
    last_event_id = ""
    for attempt in range(1, 20):
        headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
        fetched = fetch(url, headers=headers)
        if fetched.response.status_code == 204:
            return events, attempt
        parser = EventStreamParser(last_event_id=last_event_id)
        events += parser.feed(fetched.body)
        last_event_id = parser.last_event_id
    raise AssertionError("the counter never answered 204")


def test_resumable_counter_resumes_after_the_last_event_id(sse_server: SSEServer) -> None:
    """The counter sends ids 1..N, per_connection at a time, then answers 204."""
    sse_server.route("/count", resumable_counter(10, per_connection=3))
    events, attempts = read_counter(sse_server.url + "/count")
    assert [(e.id, e.data) for e in events] == [(str(n), f"event {n}") for n in range(1, 11)]
    assert attempts == 5
    assert [r.last_event_id for r in sse_server.requests] == [None, "3", "6", "9", "10"]


def test_resumable_counter_announces_its_retry(sse_server: SSEServer) -> None:
    """With retry=, every connection starts with a retry field."""
    sse_server.route("/count", resumable_counter(2, per_connection=5, retry=10))
    fetched = fetch(sse_server.url + "/count")
    assert fetched.body == b"retry: 10\n\n" + format_event("event 1", id="1") + format_event(
        "event 2", id="2"
    )


def test_resumable_counter_restarts_on_an_unknown_last_event_id(sse_server: SSEServer) -> None:
    """A Last-Event-ID that is not a number starts the count over."""
    sse_server.route("/count", resumable_counter(2, per_connection=5))
    fetched = fetch(sse_server.url + "/count", headers={"Last-Event-ID": "abc"})
    assert [e.id for e in parse(fetched.body)] == ["1", "2"]


# -- Hostile servers (the recipes in the package docstring) -----------------------------


def test_endless_line_recipe_trips_the_event_size_limit(sse_server: SSEServer) -> None:
    """A 2 MiB line without an end is more than the parser's default limit allows."""
    sse_server.route("/endless", Stream(b"data: " + b"x" * 2**21, Stall()))
    parser = EventStreamParser()

    def read_all() -> None:
        with (
            loopback_client() as client,
            client.stream("GET", sse_server.url + "/endless") as response,
        ):
            for chunk in response.iter_raw():
                parser.feed(chunk)

    with pytest.raises(EventTooLarge):
        read_all()


def test_huge_retry_recipe_announces_decades(sse_server: SSEServer) -> None:
    """retry=10**12 milliseconds reaches the parser as 10**9 seconds."""
    sse_server.route("/retry", Stream(event("a", retry=10**12), Drop()))
    parser = EventStreamParser()
    parser.feed(fetch(sse_server.url + "/retry").body)
    assert parser.reconnection_time == 10**9


# -- Lifecycle --------------------------------------------------------------------------


def test_start_twice_is_refused_and_close_twice_is_harmless() -> None:
    """A server starts once; closing it again does nothing."""
    server = SSEServer()
    assert repr(server) == f"<SSEServer {server.url}>"
    with server, pytest.raises(RuntimeError, match="started once"):
        server.start()
    server.close()
    with pytest.raises(RuntimeError, match="started once"):
        server.start()


def test_closed_server_refuses_connections() -> None:
    """After close the port no longer accepts connections."""
    with SSEServer() as server:
        server.route("/s", Reply(204))
        assert fetch(server.url + "/s").response.status_code == 204
    with pytest.raises(httpx2.ConnectError):
        fetch(server.url + "/s")


def test_server_that_never_started_closes_cleanly() -> None:
    """close() without start() releases the listening socket (no ResourceWarning)."""
    server = SSEServer()
    server.close()
    with pytest.raises(httpx2.ConnectError):
        fetch(server.url + "/s")


def test_entering_a_started_server_does_not_start_it_again() -> None:
    """``with SSEServer().start() as server`` works."""
    with SSEServer().start() as server:
        server.route("/s", Reply(204))
        assert fetch(server.url + "/s").response.status_code == 204


def test_client_that_connects_and_says_nothing_does_not_hold_close_up() -> None:
    """A connection still waiting for its request line is cut by close()."""
    server = SSEServer().start()
    url = httpx2.URL(server.url)
    assert url.port is not None
    with socket.create_connection((url.host, url.port), timeout=5.0) as sock:
        deadline = time.monotonic() + 5.0
        while server.open_connections == 0 and time.monotonic() < deadline:
            time.sleep(0.001)
        assert server.open_connections == 1
        started = time.monotonic()
        server.close()
        assert time.monotonic() - started < PROMPT
        assert sock.recv(10) == b""
    assert server.open_connections == 0


def test_package_example_runs_against_the_server() -> None:
    """The example in the sse_client.testing docstring works as written."""
    with SSEServer() as server:
        server.route(
            "/feed",
            Stream(event("one", id="1"), Drop()),
            Reply(204),
        )
        with EventSource(
            server.url + "/feed", reconnect=ReconnectPolicy(reconnection_time=0.01)
        ) as source:
            assert [e.data for e in source] == ["one"]
        assert server.requests[1].last_event_id == "1"


# -- Async clients ----------------------------------------------------------------------


@pytest.mark.anyio
async def test_async_client_reads_steps_exactly(sse_server: SSEServer) -> None:
    """httpx2.AsyncClient gets the bytes of every step, then the reset as a ReadError."""
    sse_server.route(
        "/s", Stream(event("a", id="1"), Sleep(0.01), Trickle(b"data: b\n\n"), Drop(reset=True))
    )
    fetched = await afetch(sse_server.url + "/s")
    assert fetched.body == b"id: 1\ndata: a\n\ndata: b\n\n"
    assert isinstance(fetched.error, httpx2.ReadError)
    assert [e.data for e in parse(fetched.body)] == ["a", "b"]


@pytest.mark.anyio
async def test_async_client_sees_an_incomplete_chunked_read(sse_server: SSEServer) -> None:
    """A chunked Drop is a RemoteProtocolError on the async client too."""
    sse_server.route("/s", Stream(event("a"), Drop(), chunked=True))
    fetched = await afetch(sse_server.url + "/s")
    assert fetched.body == b"data: a\n\n"
    assert isinstance(fetched.error, httpx2.RemoteProtocolError)


@pytest.mark.anyio
async def test_async_client_resumes_the_counter(sse_server: SSEServer) -> None:
    """An async reconnect loop reads the counter to its end with Last-Event-ID."""
    sse_server.route("/count", resumable_counter(4, per_connection=2))
    ids: list[str] = []
    last_event_id = ""
    for _ in range(10):
        headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
        fetched = await afetch(sse_server.url + "/count", headers=headers)
        if fetched.response.status_code == 204:
            break
        parser = EventStreamParser(last_event_id=last_event_id)
        ids += [e.id for e in parser.feed(fetched.body)]
        last_event_id = parser.last_event_id
    assert ids == ["1", "2", "3", "4"]
    assert [r.last_event_id for r in sse_server.requests] == [None, "2", "4"]


@pytest.mark.anyio
async def test_async_read_of_a_stall_ends_when_the_server_closes() -> None:
    """An async client blocked on a stalled stream is released by close()."""
    server = SSEServer().start()
    server.route("/s", Stream(event("a"), Stall()))
    async with (
        async_loopback_client() as client,
        client.stream("GET", server.url + "/s") as response,
    ):
        chunks = response.aiter_raw()
        assert await chunks.__anext__() == b"data: a\n\n"
        with anyio.fail_after(PROMPT):
            await anyio.to_thread.run_sync(server.close)
            with pytest.raises(StopAsyncIteration):
                await chunks.__anext__()
        await chunks.aclose()


# -- The pytest plugin ------------------------------------------------------------------


def test_sse_server_fixture_is_a_started_server(sse_server: SSEServer) -> None:
    """The fixture gives a running server with no routes."""
    assert isinstance(sse_server, SSEServer)
    assert fetch(sse_server.url + "/").response.status_code == 404


def test_entry_point_provides_the_fixture_and_closes_the_server(
    pytester: pytest.Pytester,
) -> None:
    """Installed, the plugin gives any project the sse_server fixture, closed after use."""
    pytester.makepyfile(
        """
        import httpx2
        import pytest
        from sse_client.testing import Reply

        servers = []

        def test_uses_the_fixture(sse_server):
            servers.append(sse_server)
            sse_server.route("/s", Reply(204))
            assert httpx2.get(sse_server.url + "/s").status_code == 204

        def test_the_server_was_closed():
            with pytest.raises(httpx2.ConnectError):
                httpx2.get(servers[0].url + "/s")
        """
    )
    # Only this plugin matters here; the others would just slow the inner run down.
    result = pytester.runpytest_inprocess(
        "-W", "error", "-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-p", "no:cov"
    )
    result.assert_outcomes(passed=2)


def test_the_request_log_cannot_be_changed_by_accident_and_clears_on_purpose(
    sse_server: SSEServer,
) -> None:
    """``requests`` is a snapshot that cannot be changed (``.clear()`` on it did nothing
    before, in silence); ``clear_requests()`` forgets the log."""
    sse_server.route("/s", Reply(204))
    with EventSource(sse_server.url + "/s") as source:
        list(source)
    requests = sse_server.requests
    assert isinstance(requests, tuple)
    with pytest.raises(AttributeError):
        requests.clear()  # type: ignore[attr-defined]
    assert len(sse_server.requests) == 1
    sse_server.clear_requests()
    assert not sse_server.requests
    assert sse_server.wait_for_requests(0) == ()
