"""What a source sends: the request and its headers, per-attempt headers, URL and params,
a client's auth, Last-Event-ID on the wire, credentials kept from a redirect's other
origin, bodies, a resume made with another request, and nothing after a close.

The request a source builds is read off httpx2's MockTransport; the rest runs against a
real server on 127.0.0.1, mostly through the ``drive`` fixture (see drivers.py): every
driver (EventSource, AsyncEventSource on asyncio and trio) and stack (httpx2, httpx, and
an aiohttp session on asyncio). Tags (``spec: X``) refer to the project's restatement of
the WHATWG rules.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from types import ModuleType
from typing import Any

import anyio
import anyio.lowlevel
import httpx2
import pytest

from sse_client import (
    STOP,
    AsyncEventSource,
    EventSource,
    ReadyState,
    ReconnectPolicy,
    Resume,
    StreamEnded,
    Timeouts,
    UnrecoverableError,
    _http,
)
from sse_client._core import last_event_id_header
from sse_client.testing import Reply, Request, SSEServer, Stream, event, resumable_counter

from .drivers import FAST, Driver, Recorder
from .scripts import CALL

# -- The request and its headers (spec: C-REQ) ---------------------------------------------


def requests_of(**options: Any) -> list[httpx2.Request]:
    """The requests a source sends to a transport that answers 204."""
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(204)

    with httpx2.Client(transport=httpx2.MockTransport(handler)) as client:
        assert list(EventSource("http://test/stream", client=client, **options)) == []
    return seen


def test_default_request() -> None:
    """spec: C-REQ -- GET, Accept: text/event-stream, no caching, no Last-Event-ID."""
    (request,) = requests_of()
    assert request.method == "GET"
    assert request.headers["accept"] == "text/event-stream"
    assert request.headers["cache-control"] == "no-cache"
    assert "last-event-id" not in request.headers


def test_user_headers_may_override_accept_but_not_last_event_id() -> None:
    """User headers are kept; a user Last-Event-ID is replaced by the stream's own."""
    (request,) = requests_of(
        headers=[("Accept", "text/event-stream, */*"), ("Last-Event-ID", "bogus")],
        last_event_id="7",
    )
    assert request.headers["accept"] == "text/event-stream, */*"
    assert request.headers.get_list("last-event-id") == ["7"]


def test_timeouts_are_the_sources_own() -> None:
    """The idle timeout is the read timeout of every request, never httpx's 5 s default."""
    (request,) = requests_of(timeout=Timeouts(idle=123.0, connect=4.0))
    timeout = request.extensions["timeout"]
    assert timeout["read"] == 123.0
    assert timeout["connect"] == 4.0
    (request,) = requests_of()
    assert request.extensions["timeout"]["read"] == 300.0


def test_request_headers(sse_server: SSEServer, drive: Driver) -> None:
    """spec: C-REQ, C-LASTID -- Accept, no-cache, the seeded Last-Event-ID, user headers."""
    sse_server.route("/s", Stream(event("a", id="\u00e9")), Reply(204))
    drive(
        sse_server.url + "/s",
        last_event_id="41",
        headers={"Authorization": "Bearer t", "X-Trace": "1"},
        params={"room": "7"},
        reconnect=FAST,
    )
    first, second = sse_server.requests
    assert first.headers["accept"] == "text/event-stream"
    assert first.headers["cache-control"] == "no-cache"
    assert first.headers["authorization"] == "Bearer t"
    assert first.last_event_id == "41"
    assert first.path == "/s?room=7"
    assert second.path == "/s?room=7"
    # Non-ASCII ids travel as UTF-8 (the server reads headers as Latin-1).
    assert second.headers["last-event-id"].encode("latin-1").decode() == "\u00e9"


# -- The client a source makes for itself ---------------------------------------------------


def test_the_sources_own_clients_share_one_tls_context(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any, ca_file: str
) -> None:
    """Loading the system's certificates took about 18 ms per source made without a
    client, a quarter of a short stream's time end to end: the sources' own clients
    share one context, made anew when the environment's certificate settings change."""
    monkeypatch.setattr(_http, "_TLS_CONTEXTS", {})
    made = []
    create = httpx2.create_ssl_context

    def counting_create(*args: Any, **kwargs: Any) -> Any:
        made.append(create(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(httpx2, "create_ssl_context", counting_create)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    sources: list[EventSource | AsyncEventSource] = [
        EventSource("http://127.0.0.1:1/s") for _ in range(3)
    ]
    sources += [AsyncEventSource("http://127.0.0.1:1/s") for _ in range(2)]
    assert len(made) == 1
    monkeypatch.setenv("SSL_CERT_FILE", ca_file)
    sources.append(EventSource("http://127.0.0.1:1/s"))
    assert len(made) == 2
    for source in sources:
        if isinstance(source, EventSource):
            source.close()


def test_a_sources_own_client_trusts_what_the_environment_says(
    tls_url: str, ca_file: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SSL_CERT_FILE, read when the source is made, as a client made then would: the
    shared context does not outlive the setting it was made under."""
    with pytest.raises(UnrecoverableError):
        list(EventSource(tls_url))
    monkeypatch.setenv("SSL_CERT_FILE", ca_file)
    assert [e.data for e in EventSource(tls_url, reconnect=False)] == ["hello"]
    monkeypatch.delenv("SSL_CERT_FILE")
    with pytest.raises(UnrecoverableError):
        list(EventSource(tls_url))


# -- Credentials and targets, per attempt --------------------------------------------------


def test_headers_callable_is_called_for_every_attempt(sse_server: SSEServer, drive: Driver) -> None:
    """A headers function gives fresh values (say, a refreshed token) to each attempt."""
    tokens = iter(["one", "two", "three"])
    sse_server.route("/s", Stream(event("a", id="1")), Reply(204))
    drive(sse_server.url + "/s", headers=lambda: {"Authorization": next(tokens)}, reconnect=FAST)
    assert [r.headers["authorization"] for r in sse_server.requests] == ["one", "two"]


@pytest.mark.anyio
async def test_async_header_and_url_functions_are_awaited_per_attempt(
    sse_server: SSEServer,
) -> None:
    """On AsyncEventSource, headers, url and params may be async functions."""
    sse_server.route("/s", resumable_counter(3, per_connection=1))
    tokens = iter(["t1", "t2", "t3", "t4"])

    async def headers() -> dict[str, str]:
        await anyio.lowlevel.checkpoint()
        return {"Authorization": f"Bearer {next(tokens)}"}

    async def url() -> str:
        return sse_server.url + "/s"

    async def params() -> dict[str, str]:
        return {"cursor": source.last_event_id or "start"}

    async with AsyncEventSource(url, headers=headers, params=params, reconnect=FAST) as source:
        assert [e.data async for e in source] == ["event 1", "event 2", "event 3"]
    requests = sse_server.requests
    assert [r.headers["authorization"] for r in requests] == [f"Bearer t{n}" for n in range(1, 5)]
    assert [r.path for r in requests] == [
        "/s?cursor=start",
        "/s?cursor=1",
        "/s?cursor=2",
        "/s?cursor=3",
    ]


def test_a_url_function_names_each_attempt(sse_server: SSEServer, drive: Driver) -> None:
    """A cursor-style resume: the URL is built anew before every attempt."""
    sse_server.route("/s", resumable_counter(3, per_connection=2))
    seen: list[str] = []

    def url() -> str:
        seen.append("called")
        return f"{sse_server.url}/s?attempt={len(seen)}"

    outcome = drive(url, reconnect=FAST)  # type: ignore[arg-type]
    assert [e.data for e in outcome.events] == ["event 1", "event 2", "event 3"]
    assert [r.path for r in sse_server.requests] == ["/s?attempt=1", "/s?attempt=2", "/s?attempt=3"]


def test_a_blocking_source_refuses_an_async_function() -> None:
    """EventSource cannot await: an async headers function is a clear TypeError."""

    async def headers() -> dict[str, str]:
        return {}

    with pytest.raises(TypeError, match="AsyncEventSource"):
        next(iter(EventSource("http://127.0.0.1:9/", headers=headers)))


def test_the_clients_auth_flow_applies_to_every_attempt(
    sse_server: SSEServer, http: ModuleType
) -> None:
    """A client's own auth (httpx2 or httpx) signs every reconnection too."""
    sse_server.route("/s", Stream(event("a", id="1")), Reply(204))
    with (
        http.Client(auth=http.BasicAuth("user", "pass")) as client,
        EventSource(sse_server.url + "/s", client=client, reconnect=FAST) as source,
    ):
        assert [e.data for e in source] == ["a"]
    assert [r.headers["authorization"] for r in sse_server.requests] == ["Basic dXNlcjpwYXNz"] * 2


# -- Credentials stay on the origin the user named (spec: C-REDIRECT) ----------------------

SECRETS = {"Authorization": "Bearer secret", "Cookie": "session=secret"}


def _fixed_headers() -> Any:
    return SECRETS


def _header_function() -> Any:
    return lambda: SECRETS


@pytest.mark.parametrize("headers", [_fixed_headers, _header_function], ids=["fixed", "callable"])
def test_reconnection_never_sends_credentials_to_a_redirects_other_origin(
    sse_server: SSEServer, drive: Driver, headers: Callable[[], Any]
) -> None:
    """After a redirect to another origin, reconnections start again from the user's URL.

    127.0.0.1 and localhost are two origins. The client's redirect policy strips the
    user's Authorization and Cookie on the way to the other one; a reconnection sent
    straight there would carry them.
    """
    other_origin = sse_server.url.replace("127.0.0.1", "localhost")
    sse_server.route("/old", Reply.redirect(other_origin + "/new"))
    sse_server.route("/new", Stream(event("a", id="1")), Stream(event("b", id="2")), Reply(204))
    outcome = drive(sse_server.url + "/old", headers=headers(), reconnect=FAST)
    assert [e.data for e in outcome.events] == ["a", "b"]
    requests = sse_server.requests
    assert [(r.headers["host"].split(":")[0], r.path) for r in requests] == [
        ("127.0.0.1", "/old"),
        ("localhost", "/new"),
        ("127.0.0.1", "/old"),
        ("localhost", "/new"),
        ("127.0.0.1", "/old"),
        ("localhost", "/new"),
    ]
    for request in requests:
        named = request.headers["host"].startswith("127.0.0.1")
        assert ("authorization" in request.headers) is named
        assert ("cookie" in request.headers) is named
    # The resumption still works: each reconnection carries the last event ID.
    assert [r.last_event_id for r in requests[2::2]] == ["1", "2"]
    assert str(outcome.url) == sse_server.url + "/old"


# -- Last-Event-ID: verbatim in the API, a valid header on the wire (spec: C-LASTID) -------


@pytest.mark.parametrize("value", ["a\nb", "a\rb", "a\x00b"])
def test_last_event_id_with_line_breaks_or_nul_is_refused(value: str) -> None:
    """spec: C-LASTID -- a value with CR, LF or NUL can never be sent."""
    with pytest.raises(ValueError, match="last_event_id"):
        EventSource("http://test/", last_event_id=value)


@pytest.mark.parametrize(
    ("last_event_id", "header"),
    [
        ("5", b"5"),
        ("5 ", b"5"),
        ("\t5", b"5"),
        ("\x0b5\x0c", b"5"),
        ("a b\tc", b"a b\tc"),
        ("\u20ac", "\u20ac".encode()),
        (" \t", b""),
        ("a\x0bb", None),
        ("a\x7fb", None),
        ("a\x00b", None),
    ],
)
def test_last_event_id_header_is_trimmed_or_withheld(
    last_event_id: str, header: bytes | None
) -> None:
    """Edges lose tab, space, VT and FF; inner controls withhold the header. Our choice,
    from RFC 9110's field values (Chromium trims only tab and space, and sends the rest)."""
    assert last_event_id_header(last_event_id) == header


@pytest.mark.parametrize(
    ("field", "verbatim", "sent"),
    [
        (b"id: 5 ", "5 ", "5"),
        (b"id:\t5", "\t5", "5"),
        (b"id: \x0c5\x0b", "\x0c5\x0b", "5"),
        (b"id: a\x0bb", "a\x0bb", None),
    ],
    ids=["trailing-space", "leading-tab", "ff-vt-edges", "inner-vt"],
)
def test_a_server_id_with_odd_whitespace_never_kills_the_stream(
    sse_server: SSEServer,
    drive: Driver,
    field: bytes,
    verbatim: str,
    sent: str | None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The ID is kept verbatim; the reconnection sends a valid header, or none, and goes on."""
    sse_server.route("/s", Stream(field + b"\ndata: a\n\n"), Stream(event("b")), Reply(204))
    with caplog.at_level(logging.WARNING, logger="sse_client"):
        outcome = drive(sse_server.url + "/s", reconnect=FAST)
    assert [(e.data, e.id) for e in outcome.events] == [("a", verbatim), ("b", verbatim)]
    assert outcome.last_event_id == verbatim
    assert [r.last_event_id for r in sse_server.requests] == [None, sent, sent]
    assert ("Last-Event-ID not sent" in caplog.text) is (sent is None)


def test_a_user_last_event_id_is_trimmed_on_the_wire(sse_server: SSEServer, drive: Driver) -> None:
    """The user's own ID follows the same rule as the server's."""
    sse_server.route("/s", Reply(204))
    outcome = drive(sse_server.url + "/s", last_event_id=" 41\t")
    assert outcome.last_event_id == " 41\t"
    assert sse_server.requests[0].last_event_id == "41"


@pytest.mark.parametrize("value", ["a\x0bb", "a\x01", "\x7f"])
def test_a_user_last_event_id_with_control_characters_is_refused(value: str) -> None:
    """A value no header can carry is a clear ValueError at construction."""
    with pytest.raises(ValueError, match="last_event_id"):
        EventSource("http://test/", last_event_id=value)
    with pytest.raises(ValueError, match="last_event_id"):
        AsyncEventSource("http://test/", last_event_id=value)


# -- A body is sent again only when asked --------------------------------------------------


def test_post_with_a_body_does_not_reconnect_by_default(
    sse_server: SSEServer, drive: Driver
) -> None:
    """spec: C-REQ (beyond) -- a POST is not replayed unless the user opts in."""
    sse_server.route("/llm", Stream(event("tok", id="1")), Stream(event("again", id="2")))
    outcome = drive(sse_server.url + "/llm", method="POST", json={"prompt": "hi"})
    assert [e.data for e in outcome.events] == ["tok"]
    assert len(sse_server.requests) == 1
    request = sse_server.requests[0]
    assert request.method == "POST"
    assert json.loads(request.body) == {"prompt": "hi"}
    assert request.headers["content-type"] == "application/json"
    assert isinstance(outcome.errors[0], StreamEnded)


def test_post_reconnects_when_asked(sse_server: SSEServer, drive: Driver) -> None:
    """With reconnect=True a POST is resent, with its body and Last-Event-ID."""
    sse_server.route("/llm", Stream(event("one", id="1")), Stream(event("two", id="2")), Reply(204))
    outcome = drive(sse_server.url + "/llm", method="REPORT", content=b"query", reconnect=FAST)
    assert [e.data for e in outcome.events] == ["one", "two"]
    assert [(r.method, r.body, r.last_event_id) for r in sse_server.requests] == [
        ("REPORT", b"query", None),
        ("REPORT", b"query", "1"),
        ("REPORT", b"query", "2"),
    ]


# -- A body that cannot be sent twice ------------------------------------------------------


def _chunks() -> Iterator[bytes]:
    yield b'{"prompt": '
    yield b'"hi"}'


async def _achunks() -> AsyncIterator[bytes]:
    for chunk in _chunks():
        yield chunk


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_an_iterator_body_with_reconnection_is_refused_at_once(method: str) -> None:
    """A generator is empty the second time: reconnecting would resend an empty body."""
    reconnect = True if method == "POST" else None  # GET reconnects by default
    with pytest.raises(ValueError, match="iterator"):
        EventSource("http://test/", method=method, content=_chunks(), reconnect=reconnect)
    with pytest.raises(ValueError, match="iterator"):
        AsyncEventSource("http://test/", method=method, content=_achunks(), reconnect=reconnect)


def test_an_iterator_body_is_sent_whole_without_reconnection(
    sse_server: SSEServer, drive: Driver
) -> None:
    """With reconnect=False (a POST's default), a streamed body is fine: it is sent once."""
    sse_server.route("/llm", Stream(event("tok", id="1")))
    content: Any = _chunks() if drive.__name__ == "drive_sync" else _achunks()
    outcome = drive(sse_server.url + "/llm", method="POST", content=content)
    assert [e.data for e in outcome.events] == ["tok"]
    assert [r.body for r in sse_server.requests] == [b'{"prompt": "hi"}']


# -- A resume may be another request -------------------------------------------------------


def mcp_like_server(sse_server: SSEServer) -> None:
    """A POST's stream: a priming event (id, retry:, empty data), then the server closes.
    The resume (a GET with Last-Event-ID and the session header) gets the result; the
    next GET, 204."""

    def respond(request: Request) -> Stream | Reply:
        if request.method == "POST":
            return Stream(b"id: p1\nretry: 10\ndata: \n\n")
        if request.headers.get("mcp-session-id") != "s1":
            return Reply(400, b"no session")
        if request.last_event_id == "p1":
            return Stream(event(json.dumps({"result": 42}), id="r1"))
        return Reply(204)

    sse_server.route("/mcp", respond)


@pytest.mark.parametrize(
    "resume",
    [
        pytest.param(Resume(), id="value-keeps-the-headers"),
        pytest.param(Resume(headers={"mcp-session-id": "s1"}), id="value-with-headers"),
        pytest.param(lambda source: Resume(headers={"mcp-session-id": "s1"}), id="function"),
    ],
)
def test_a_post_stream_is_resumed_with_a_get(
    sse_server: SSEServer, drive: Driver, resume: Any
) -> None:
    """Every attempt after the first is the Resume: a GET without a body, with
    Last-Event-ID, on the same URL; a source with a resume reconnects by default."""
    mcp_like_server(sse_server)
    outcome = drive(
        sse_server.url + "/mcp",
        method="POST",
        json=CALL,
        headers={"mcp-session-id": "s1"},
        resume=resume,
    )
    assert [e.data for e in outcome.events] == ["", '{"result": 42}']
    requests = sse_server.requests
    assert [(r.method, r.last_event_id) for r in requests] == [
        ("POST", None),
        ("GET", "p1"),
        ("GET", "r1"),
    ]
    assert json.loads(requests[0].body) == CALL
    assert [r.body for r in requests[1:]] == [b"", b""]
    assert all(r.headers["mcp-session-id"] == "s1" for r in requests)
    assert all("content-type" not in r.headers for r in requests[1:])
    assert outcome.delays == [0.01, 0.01]  # the priming event's retry:, exactly


def test_a_resume_function_sees_the_source_and_may_repeat_the_first_request(
    sse_server: SSEServer, drive: Driver
) -> None:
    """The function gets the source (its last event ID, its response); None means the
    first request again."""
    seen: list[str] = []

    def resume(source: Any) -> Resume | None:
        seen.append(source.last_event_id)
        return None if not source.last_event_id else Resume(url=sse_server.url + "/mcp")

    sse_server.route("/first", Reply(503), Stream(b"id: p1\nretry: 10\ndata: \n\n"))
    mcp_like_server(sse_server)
    outcome = drive(
        sse_server.url + "/first",
        method="POST",
        json=CALL,
        headers={"mcp-session-id": "s1"},
        resume=resume,
        reconnect=ReconnectPolicy(reconnection_time=0.001, retry_statuses=True),
    )
    assert [e.data for e in outcome.events] == ["", '{"result": 42}']
    assert [(r.method, r.path) for r in sse_server.requests] == [
        ("POST", "/first"),
        ("POST", "/first"),
        ("GET", "/mcp"),
        ("GET", "/mcp"),
    ]
    assert seen == ["", "p1", "r1"]


def test_a_resume_function_may_stop_when_there_is_nothing_to_resume(
    sse_server: SSEServer, drive: Driver
) -> None:
    """STOP from the function ends the stream, closed and released, nothing sent: a POST
    whose stream ended before any id has nothing a GET could resume (on an MCP server such
    a GET would open the session's other stream and wait there)."""
    sse_server.route("/mcp", Stream(b"retry: 10\n\n"))
    hooks = Recorder()
    outcome = drive(
        sse_server.url + "/mcp",
        method="POST",
        json=CALL,
        resume=lambda source: Resume() if source.last_event_id else STOP,
        hooks=hooks,
    )
    assert outcome.events == []
    assert [r.method for r in sse_server.requests] == ["POST"]
    assert (outcome.ready_state, hooks.closed) == (ReadyState.CLOSED, 1)
    sse_server.wait_until_idle(timeout=5)


@pytest.mark.anyio
async def test_an_async_resume_function_is_awaited(sse_server: SSEServer) -> None:
    """On AsyncEventSource, the resume function may be async."""
    mcp_like_server(sse_server)

    async def resume(source: AsyncEventSource) -> Resume:
        await anyio.lowlevel.checkpoint()
        return Resume(headers={"mcp-session-id": "s1"})

    with anyio.fail_after(10):
        async with AsyncEventSource(
            sse_server.url + "/mcp", method="POST", json=CALL, resume=resume
        ) as source:
            assert [e.data async for e in source] == ["", '{"result": 42}']
    assert [r.method for r in sse_server.requests] == ["POST", "GET", "GET"]


def test_a_resume_that_makes_no_sense_is_refused() -> None:
    """A resume must be a Resume or a function; its body must be bytes or str."""
    with pytest.raises(TypeError, match="resume"):
        EventSource("http://test/", resume="GET")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="bytes or str"):
        Resume(content=iter([b"x"]))  # type: ignore[arg-type]
    source = EventSource("http://test/", method="POST", resume=Resume())
    assert source.policy.after == "always"  # a resume is how one says reconnecting is safe
    source.close()
    source = EventSource("http://test/", method="POST", resume=Resume(method="POST"))
    assert source.policy.after == "never"
    source.close()


# -- Nothing is sent after a close, even from a setting's function -------------------------


@pytest.mark.parametrize(
    ("backend", "stack"),
    [
        *((backend, stack) for stack in ("httpx2", "httpx") for backend in ("asyncio", "trio")),
        ("asyncio", "aiohttp"),
    ],
)
def test_aclose_while_a_header_function_awaits_ends_at_once_and_sends_nothing(
    sse_server: SSEServer, backend: str, stack: str
) -> None:
    """aclose() cancels an async headers function at once, and no request goes out (it
    went on for 4.7 s, then sent the request anyway)."""
    sse_server.route("/s", Stream(event("a", id="1")))

    async def main() -> tuple[list[str], float, AsyncEventSource]:
        awaiting = anyio.Event()

        async def headers() -> dict[str, str]:
            awaiting.set()
            await anyio.sleep(30)
            return {}

        async with contextlib.AsyncExitStack() as exits:
            client: Any = None
            if stack != "httpx2":
                module = importlib.import_module(stack)
                make = module.ClientSession if stack == "aiohttp" else module.AsyncClient
                client = await exits.enter_async_context(make())
            source = AsyncEventSource(sse_server.url + "/s", headers=headers, client=client)

            async def close_soon() -> None:
                await awaiting.wait()
                await source.aclose()

            with anyio.fail_after(5):
                async with anyio.create_task_group() as group:
                    group.start_soon(close_soon)
                    started = anyio.current_time()
                    got = [e.data async for e in source]
        return got, anyio.current_time() - started, source

    got, elapsed, source = anyio.run(main, backend=backend)
    assert got == []
    assert elapsed < 2.0
    assert source.ready_state is ReadyState.CLOSED
    assert sse_server.requests == ()


def test_close_while_a_sync_header_function_runs_sends_nothing(sse_server: SSEServer) -> None:
    """A blocking headers function cannot be interrupted, but once it returns into a
    closed source, nothing is sent."""
    sse_server.route("/s", Stream(event("a", id="1")))
    running = threading.Event()

    def headers() -> dict[str, str]:
        running.set()
        time.sleep(0.3)
        return {}

    source = EventSource(sse_server.url + "/s", headers=headers)

    def close_while_it_runs() -> None:
        running.wait(5)
        source.close()

    closer = threading.Thread(target=close_while_it_runs)
    closer.start()
    assert list(source) == []
    closer.join(5)
    assert source.ready_state is ReadyState.CLOSED
    assert sse_server.requests == ()
