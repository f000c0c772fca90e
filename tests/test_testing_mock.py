"""sse_client.testing without sockets: MockSSE, build_response and respx_route."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import httpx
import httpx2
import pytest
import respx
from respx.models import AllMockedAssertionError

from sse_client import (
    AsyncEventSource,
    EventSource,
    EventStreamParser,
    ReconnectPolicy,
    ServerSentEvent,
    aiter_events,
    iter_events,
)
from sse_client.testing import (
    Drop,
    MockSSE,
    Reply,
    Request,
    Sleep,
    Stall,
    Stream,
    Trickle,
    build_response,
    event,
    format_event,
    respx_route,
    resumable_counter,
)

URL = "https://sse.test/stream"


@dataclass
class Fetched:
    """What a client saw of one response: the response, its body chunks, the error."""

    response: httpx.Response
    chunks: list[bytes]
    error: httpx.TransportError | None

    @property
    def body(self) -> bytes:
        """The body bytes received before the end or the error."""
        return b"".join(self.chunks)


def fetch(
    client: httpx.Client,
    url: str = URL,
    method: str = "GET",
    *,
    headers: dict[str, str] | None = None,
    content: bytes | None = None,
) -> Fetched:
    """Stream one response, keeping the chunks that came before an error."""
    chunks: list[bytes] = []
    error: httpx.TransportError | None = None
    with client.stream(method, url, headers=headers, content=content) as response:
        try:
            chunks.extend(response.iter_raw())
        except httpx.TransportError as exc:
            error = exc
    return Fetched(response, chunks, error)


async def afetch(
    client: httpx.AsyncClient,
    url: str = URL,
    method: str = "GET",
    *,
    headers: dict[str, str] | None = None,
    content: bytes | None = None,
) -> Fetched:
    """The async twin of :func:`fetch`."""
    chunks: list[bytes] = []
    error: httpx.TransportError | None = None
    async with client.stream(method, url, headers=headers, content=content) as response:
        try:
            async for chunk in response.aiter_raw():
                chunks.append(chunk)  # noqa: PERF401 -- keep the chunks read before an error
        except httpx.TransportError as exc:
            error = exc
    return Fetched(response, chunks, error)


def mock_client(handler: MockSSE) -> httpx.Client:
    """An httpx.Client whose every request goes to ``handler``."""
    return httpx.Client(transport=httpx.MockTransport(handler))


def async_mock_client(handler: MockSSE) -> httpx.AsyncClient:
    """An httpx.AsyncClient whose every request goes to ``handler``."""
    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


# -- Steps: one table, checked on both clients ------------------------------------------

STEP_CASES = [
    pytest.param(
        Stream(event("a", id="1"), b"", b"data: raw\n\n"),
        [b"id: 1\ndata: a\n\n", b"data: raw\n\n"],
        None,
        id="bytes-one-chunk-per-step",
    ),
    pytest.param(
        Stream(Trickle(b"data: x\n\n")), [bytes([b]) for b in b"data: x\n\n"], None, id="trickle"
    ),
    pytest.param(
        Stream(event("a"), b"data: par", Drop(), b"never"),
        [b"data: a\n\n", b"data: par"],
        None,
        id="plain-drop-ends-the-body",
    ),
    pytest.param(
        Stream(event("a"), Drop(reset=True), b"never"),
        [b"data: a\n\n"],
        httpx.ReadError,
        id="reset-drop-read-error",
    ),
    pytest.param(
        Stream(event("a"), Drop(), b"never", chunked=True),
        [b"data: a\n\n"],
        httpx.RemoteProtocolError,
        id="chunked-drop-incomplete-chunked-read",
    ),
    pytest.param(
        Stream(event("a"), Stall(), b"never"),
        [b"data: a\n\n"],
        httpx.ReadTimeout,
        id="stall-read-timeout",
    ),
    pytest.param(Stream(), [], None, id="empty-stream"),
]


@pytest.mark.parametrize(("stream", "chunks", "error"), STEP_CASES)
def test_steps_on_a_sync_client(
    stream: Stream, chunks: list[bytes], error: type[httpx.TransportError] | None
) -> None:
    """httpx.Client reads each step as the table says, the error after the bytes."""
    with mock_client(MockSSE(stream)) as client:
        fetched = fetch(client)
    assert fetched.response.status_code == 200
    assert fetched.response.headers["content-type"] == "text/event-stream"
    assert fetched.chunks == chunks
    assert (None if fetched.error is None else type(fetched.error)) is error


@pytest.mark.anyio
@pytest.mark.parametrize(("stream", "chunks", "error"), STEP_CASES)
async def test_steps_on_an_async_client(
    stream: Stream, chunks: list[bytes], error: type[httpx.TransportError] | None
) -> None:
    """httpx.AsyncClient reads each step exactly as httpx.Client does."""
    async with async_mock_client(MockSSE(stream)) as client:
        fetched = await afetch(client)
    assert fetched.chunks == chunks
    assert (None if fetched.error is None else type(fetched.error)) is error


def test_chunked_drop_says_incomplete_chunked_read_as_httpx_does() -> None:
    """The mocked error reads like the one httpx raises over a socket."""
    with mock_client(MockSSE(Stream(Drop(), chunked=True))) as client:
        fetched = fetch(client)
    assert "incomplete chunked read" in str(fetched.error)


def test_sleep_delays_the_next_chunk() -> None:
    """A Sleep step pauses a sync body."""
    with mock_client(MockSSE(Stream(b"a", Sleep(0.02), b"b"))) as client:
        started = time.monotonic()
        fetched = fetch(client)
    assert time.monotonic() - started >= 0.02
    assert fetched.chunks == [b"a", b"b"]


@pytest.mark.anyio
async def test_sleep_delays_the_next_chunk_async() -> None:
    """A Sleep step pauses an async body, on asyncio and on trio."""
    async with async_mock_client(MockSSE(Stream(b"a", Sleep(0.02), b"b"))) as client:
        started = time.monotonic()
        fetched = await afetch(client)
    assert time.monotonic() - started >= 0.02
    assert fetched.chunks == [b"a", b"b"]


def test_stream_status_and_headers_are_kept() -> None:
    """A Stream's status, Content-Type and extra headers reach the response."""
    stream = Stream(b"x", status=503, content_type="text/plain", headers={"Retry-After": "2"})
    with mock_client(MockSSE(stream)) as client:
        fetched = fetch(client)
    assert fetched.response.status_code == 503
    assert fetched.response.headers["content-type"] == "text/plain"
    assert fetched.response.headers["retry-after"] == "2"
    assert fetched.response.headers["cache-control"] == "no-cache"


# -- Replies and scripts ----------------------------------------------------------------


def test_reply_is_a_whole_response() -> None:
    """A Reply gives its status, headers and body, with a Content-Length."""
    handler = MockSSE(Reply(500, b"boom", {"X-Why": "test"}), Reply(204))
    with mock_client(handler) as client:
        error = fetch(client)
        done = fetch(client)
    assert (error.response.status_code, error.body) == (500, b"boom")
    assert error.response.headers["x-why"] == "test"
    assert error.response.headers["content-length"] == "4"
    assert (done.response.status_code, done.body) == (204, b"")


def test_redirect_reply_is_followed_by_httpx() -> None:
    """Reply.redirect points httpx at the next response of the same handler."""
    handler = MockSSE(Reply.redirect("/moved"), Stream(event("here")))
    with mock_client(handler) as client:
        response = client.get(URL, follow_redirects=True)
    assert response.content == b"data: here\n\n"
    assert [r.path for r in handler.requests] == ["/stream", "/moved"]


def test_each_request_gets_the_next_response_and_the_last_repeats() -> None:
    """Request n gets response n; every request after the last gets the last."""
    handler = MockSSE(Stream(event("first")), Stream(event("second")), Reply(204))
    with mock_client(handler) as client:
        fetched = [fetch(client) for _ in range(4)]
    assert [f.body for f in fetched] == [b"data: first\n\n", b"data: second\n\n", b"", b""]
    assert [f.response.status_code for f in fetched] == [200, 200, 204, 204]


def test_a_repeated_stream_is_streamed_afresh_each_time() -> None:
    """The same Stream answering twice gives its whole body both times."""
    handler = MockSSE(Stream(event("a"), Drop(reset=True)))
    with mock_client(handler) as client:
        first, second = fetch(client), fetch(client)
    assert first.chunks == second.chunks == [b"data: a\n\n"]
    assert isinstance(second.error, httpx.ReadError)


def test_mock_needs_a_response() -> None:
    """A handler without any response is refused at once."""
    with pytest.raises(ValueError, match="at least one response"):
        MockSSE()


def test_responder_function_answers_from_the_request() -> None:
    """A function gets each Request and answers with what it returns."""

    def echo(request: Request) -> Stream:
        return Stream(event(f"{request.method} {request.path} {request.last_event_id}"))

    with mock_client(MockSSE(echo)) as client:
        fetched = fetch(client, URL + "?q=1", "POST", headers={"Last-Event-ID": "5"})
    assert fetched.body == b"data: POST /stream?q=1 5\n\n"


def test_resumable_counter_resumes_after_the_last_event_id() -> None:
    """The counter endpoint works through MockSSE just as on the server."""
    handler = MockSSE(resumable_counter(5, per_connection=2, retry=0))
    events: list[ServerSentEvent] = []
    last_event_id = ""
    with mock_client(handler) as client:
        for _ in range(10):
            fetched = fetch(
                client, headers={"Last-Event-ID": last_event_id} if last_event_id else {}
            )
            if fetched.response.status_code == 204:
                break
            parser = EventStreamParser(last_event_id=last_event_id)
            events += parser.feed(fetched.body)
            last_event_id = parser.last_event_id
    assert [e.id for e in events] == ["1", "2", "3", "4", "5"]
    assert [r.last_event_id for r in handler.requests] == [None, "2", "4", "5"]


# -- Recorded requests ------------------------------------------------------------------


def test_requests_record_method_path_headers_and_body() -> None:
    """Every request is recorded: method, path with query, lower-case headers, body."""
    handler = MockSSE(Reply(204))
    with mock_client(handler) as client:
        fetch(client, URL + "?a=1", "REPORT", headers={"X-Token": "t"}, content=b"<q/>")
        fetch(client, headers={"Last-Event-ID": "7"})
    report, get = handler.requests
    assert (report.method, report.path, report.body) == ("REPORT", "/stream?a=1", b"<q/>")
    assert report.headers["x-token"] == "t"
    assert report.headers["host"] == "sse.test"
    assert report.last_event_id is None
    assert (get.method, get.body, get.last_event_id) == ("GET", b"", "7")


@pytest.mark.anyio
async def test_async_requests_are_recorded_with_their_body() -> None:
    """An async client's request bodies are recorded too."""
    handler = MockSSE(Reply(204))
    async with async_mock_client(handler) as client:
        await afetch(client, method="POST", content=b'{"q": 1}')
    assert handler.requests[0].body == b'{"q": 1}'


def test_wait_for_requests_returns_once_enough_have_arrived() -> None:
    """wait_for_requests blocks until a client in another thread has made its requests."""
    handler = MockSSE(Reply(204))

    def make_requests() -> None:
        with mock_client(handler) as client:
            for _ in range(2):
                fetch(client)

    thread = threading.Thread(target=make_requests)
    thread.start()
    try:
        requests = handler.wait_for_requests(2, timeout=5.0)
    finally:
        thread.join(5.0)
    assert len(requests) == 2


def test_wait_for_requests_times_out() -> None:
    """wait_for_requests raises TimeoutError when too few requests arrive."""
    with pytest.raises(TimeoutError, match="expected 1 requests"):
        MockSSE(Reply(204)).wait_for_requests(1, timeout=0.01)


# -- build_response ---------------------------------------------------------------------


def test_build_response_feeds_iter_events_without_a_client() -> None:
    """A scripted response can be handed straight to iter_events."""
    response = build_response(Stream(event("a", id="1"), Trickle(format_event("b"))))
    assert [(e.data, e.id) for e in iter_events(response)] == [("a", "1"), ("b", "1")]


@pytest.mark.anyio
async def test_build_response_feeds_aiter_events() -> None:
    """A scripted response works with aiter_events on asyncio and trio."""
    response = build_response(Stream(event("a"), Sleep(0.001), event("b")))
    assert [e.data async for e in aiter_events(response)] == ["a", "b"]


def test_build_response_of_a_reply_is_already_whole() -> None:
    """A Reply becomes a response whose body can be read at once."""
    request = httpx.Request("GET", URL)
    response = build_response(Reply(500, b"boom"), request=request)
    assert response.request is request
    assert (response.status_code, response.read()) == (500, b"boom")


# -- With the clients of sse_client ------------------------------------------------------


def test_event_source_reconnects_through_a_mock() -> None:
    """EventSource resumes from Last-Event-ID across mocked drops and stops at 204."""
    handler = MockSSE(
        Stream(event("a", id="1"), Drop(reset=True)),
        Stream(event("b", id="2")),
        Reply(204),
    )
    with (
        mock_client(handler) as client,
        EventSource(URL, client=client, reconnect=ReconnectPolicy(reconnection_time=0)) as source,
    ):
        assert [e.data for e in source] == ["a", "b"]
    assert [r.last_event_id for r in handler.requests] == [None, "1", "2"]


@pytest.mark.anyio
async def test_async_event_source_reconnects_through_a_mock() -> None:
    """AsyncEventSource does the same on asyncio and trio."""
    handler = MockSSE(
        Stream(event("a", id="1"), Drop(), chunked=True),
        Stream(event("b", id="2")),
        Reply(204),
    )
    async with (
        async_mock_client(handler) as client,
        AsyncEventSource(
            URL, client=client, reconnect=ReconnectPolicy(reconnection_time=0)
        ) as source,
    ):
        assert [e.data async for e in source] == ["a", "b"]
    assert [r.last_event_id for r in handler.requests] == [None, "1", "2"]


# -- respx ------------------------------------------------------------------------------


def test_respx_route_mocks_a_url_on_the_given_router() -> None:
    """respx_route adds a scripted route to a respx router and returns its handler."""
    with respx.mock(assert_all_called=True) as router:
        endpoint = respx_route(URL, Stream(event("a", id="1"), Drop()), Reply(204), router=router)
        with httpx.Client() as client:
            first, second = fetch(client), fetch(client, headers={"Last-Event-ID": "1"})
    assert first.chunks == [b"id: 1\ndata: a\n\n"]
    assert second.response.status_code == 204
    assert [r.last_event_id for r in endpoint.requests] == [None, "1"]


def test_respx_route_matches_the_method() -> None:
    """method= routes another method; the others are not matched."""
    with respx.mock(assert_all_called=False) as router:
        endpoint = respx_route(URL, Reply(204), method="POST", router=router)
        with httpx.Client() as client:
            assert client.post(URL, content=b"body").status_code == 204
            with pytest.raises(AllMockedAssertionError):
                client.get(URL)
    assert [(r.method, r.body) for r in endpoint.requests] == [("POST", b"body")]


def test_respx_route_defaults_to_the_global_router() -> None:
    """Without router=, the route goes on respx's global router."""
    with respx.mock:
        endpoint = respx_route(URL, Stream(event("global")))
        with httpx.Client() as client:
            assert fetch(client).body == b"data: global\n\n"
    assert len(endpoint.requests) == 1


@pytest.mark.anyio
async def test_respx_route_streams_and_fails_on_an_async_client() -> None:
    """Through respx an async client gets the bytes, then the scripted error."""
    with respx.mock(assert_all_called=True) as router:
        respx_route(URL, Stream(event("a"), Sleep(0.001), Drop(reset=True)), router=router)
        async with httpx.AsyncClient() as client:
            fetched = await afetch(client)
    assert fetched.chunks == [b"data: a\n\n"]
    assert isinstance(fetched.error, httpx.ReadError)


def test_mock_sse_is_a_respx_side_effect() -> None:
    """A MockSSE can be given to route.mock(side_effect=...) directly."""
    handler = MockSSE(Stream(Trickle(b"data: x\n\n")))
    with respx.mock(assert_all_called=True) as router:
        router.get(URL).mock(side_effect=handler)
        with httpx.Client() as client:
            fetched = fetch(client)
    assert fetched.body == b"data: x\n\n"
    assert len(fetched.chunks) == len(b"data: x\n\n")


def test_the_mock_request_log_cannot_be_changed_by_accident_and_clears_on_purpose() -> None:
    """MockSSE.requests is a snapshot that cannot be changed; clear_requests() forgets."""
    handler = MockSSE(Reply(204))
    with httpx2.Client(transport=httpx2.MockTransport(handler)) as client:
        client.get(URL)
    assert isinstance(handler.requests, tuple)
    with pytest.raises(AttributeError):
        handler.requests.clear()  # type: ignore[attr-defined]
    assert len(handler.requests) == 1
    handler.clear_requests()
    assert not handler.requests
