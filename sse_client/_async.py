"""AsyncEventSource: the asyncio and trio driver. Its twin is ``_sync.py``; keep them alike.

The driver only does I/O: it sends the request :class:`SourceCore` builds, hands the
response to the core, feeds the body to the parser, and sleeps for the delay the core
gives. Every decision is the core's.
"""

from __future__ import annotations

import contextlib
import inspect
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Callable, Collection, Iterable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any

import anyio

from ._backoff import DEFAULT_MAX_RECONNECTION_TIME, StopStrategy, WaitStrategy
from ._core import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_IDLE_TIMEOUT,
    DEFAULT_RECONNECTION_TIME,
    HeaderSource,
    SourceCore,
    StreamEnded,
    Verdict,
    check_response,
    response_error,
)
from ._errors import BODY_PREVIEW_SIZE
from ._http import stack_of
from ._models import ReadyState, ServerSentEvent
from ._parser import DEFAULT_MAX_EVENT_SIZE, EventStreamParser

if TYPE_CHECKING:
    from ._http import URL, AsyncClient, Response

__all__ = ["AsyncEventSource", "aiter_events"]


class AsyncEventSource:
    """A Server-Sent Events stream that reconnects, on an ``httpx.AsyncClient`` (asyncio or trio).

    Iterate it for :class:`ServerSentEvent` values. It connects on first use, reconnects
    after a network error, an idle timeout or the end of the body (sending
    ``Last-Event-ID``), ends cleanly on HTTP 204, and raises :class:`ResponseError` for
    any other answer that is not an event stream.

    Args:
        url: The stream's URL.
        client: Your own ``httpx.AsyncClient`` (auth, proxies, transports, mocks). It is not
            closed by the source. Without one, the source makes and closes its own.
        method: The HTTP method. Only GET reconnects by default: resending a POST
            repeats its effect (an LLM generates again), so opt in with ``reconnect``.
        headers: Extra request headers, or a callable returning them, called before
            every attempt (for tokens that expire).
        params: Query parameters.
        content: A raw request body. Also ``data`` (a form) and ``json``.
        last_event_id: The last event ID to resume from; sent on the first request too.
        reconnect: Whether to reconnect after a lost stream. Default: only for GET.
        reconnection_time: Seconds to wait before reconnecting, until the server's
            ``retry:`` field says otherwise. Consecutive failures double it, with jitter.
        max_reconnection_time: The most seconds any wait may last (server values included).
        max_attempts: Give up after this many failed attempts in a row.
        max_elapsed: Give up after failing for this many seconds in a row.
        stop: A tenacity stop strategy, combined with the two limits above.
        wait: A tenacity wait strategy replacing the default exponential backoff.
        retry_statuses: Reconnect after these statuses instead of failing; ``True`` for
            429, 502, 503 and 504. ``Retry-After`` is honoured (up to the cap).
        max_event_size: The most characters one event or line may hold (``None``: no
            limit); crossing it raises :class:`EventTooLarge`.
        connect_timeout: Seconds allowed to connect and send the request.
        idle_timeout: Seconds without a byte after which the connection counts as dead
            and is reestablished (``None``: wait forever).
        on_open: Called with the response each time a stream opens.
        on_error: Called with each failure: a network error, a lost stream
            (:class:`StreamEnded`), a retryable status (:class:`ResponseError`).
        on_retry: Called with the seconds the source will wait before reconnecting.
        on_close: Called once when the source closes, for whatever reason.
        on_comment: Called with the text of every comment line (keep-alives).

    Example:
        >>> async with AsyncEventSource(url, method="POST", json=body, reconnect=False) as source:
        ...     async for event in source:  # doctest: +SKIP
        ...         print(event.event, event.data)
    """

    __slots__ = (
        "_busy",
        "_chunks",
        "_client",
        "_core",
        "_events",
        "_owns_client",
        "_scope",
    )

    def __init__(
        self,
        url: URL | str,
        *,
        client: AsyncClient | None = None,
        method: str = "GET",
        headers: HeaderSource = None,
        params: Any = None,
        content: Any = None,
        data: Any = None,
        json: Any = None,
        last_event_id: str = "",
        reconnect: bool | None = None,
        reconnection_time: float = DEFAULT_RECONNECTION_TIME,
        max_reconnection_time: float = DEFAULT_MAX_RECONNECTION_TIME,
        max_attempts: int | None = None,
        max_elapsed: float | None = None,
        stop: StopStrategy | None = None,
        wait: WaitStrategy | None = None,
        retry_statuses: bool | Collection[int] = False,
        max_event_size: int | None = DEFAULT_MAX_EVENT_SIZE,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        idle_timeout: float | None = DEFAULT_IDLE_TIMEOUT,
        on_open: Callable[[Any], object] | None = None,
        on_error: Callable[[Exception], object] | None = None,
        on_retry: Callable[[float], object] | None = None,
        on_close: Callable[[], object] | None = None,
        on_comment: Callable[[str], object] | None = None,
    ) -> None:
        stack = stack_of(client)
        self._core = SourceCore(
            url,
            stack=stack,
            method=method,
            headers=headers,
            params=params,
            content=content,
            data=data,
            json=json,
            last_event_id=last_event_id,
            reconnect=reconnect,
            reconnection_time=reconnection_time,
            max_reconnection_time=max_reconnection_time,
            max_attempts=max_attempts,
            max_elapsed=max_elapsed,
            stop=stop,
            wait=wait,
            retry_statuses=retry_statuses,
            max_event_size=max_event_size,
            connect_timeout=connect_timeout,
            idle_timeout=idle_timeout,
            on_open=on_open,
            on_error=on_error,
            on_retry=on_retry,
            on_close=on_close,
            on_comment=on_comment,
        )
        self._client = stack.module.AsyncClient() if client is None else client
        self._owns_client = client is None
        self._chunks: AsyncIterator[bytes] | None = None
        self._events: deque[ServerSentEvent | str] = deque()
        self._scope: anyio.CancelScope | None = None
        self._busy = False

    @property
    def ready_state(self) -> ReadyState:
        """CONNECTING, OPEN or CLOSED (spec: C-STATES)."""
        return self._core.ready_state

    @property
    def url(self) -> URL:
        """Where the next connection goes: after a redirect, the stream's final URL."""
        return self._core.url

    @property
    def last_event_id(self) -> str:
        """The stream's last event ID, sent as ``Last-Event-ID`` when reconnecting."""
        return self._core.last_event_id

    @property
    def reconnection_time(self) -> float:
        """Seconds to wait before reconnecting (the server's ``retry:`` once it sent one)."""
        return self._core.reconnection_time

    @property
    def response(self) -> Response | None:
        """The current (or last) response: its status and headers."""
        return self._core.response

    async def __aenter__(self) -> AsyncEventSource:
        if self._core.closed:
            raise RuntimeError("cannot reopen a closed AsyncEventSource; create a new one")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __aiter__(self) -> AsyncIterator[ServerSentEvent]:
        if self._core.closed:
            raise RuntimeError("cannot iterate a closed AsyncEventSource; create a new one")
        return self

    async def __anext__(self) -> ServerSentEvent:
        while True:
            events = self._events
            while events:  # the hot path: items already parsed from the last read
                item = events.popleft()
                if isinstance(item, ServerSentEvent):
                    return item
                self._core.comment(item)  # a comment line, in its place in the stream
            await self._fill()

    async def _fill(self) -> None:
        """Connect or read until items arrive; at the end of the stream, stop iterating."""
        if self._busy:
            raise RuntimeError("another task is already iterating this AsyncEventSource")
        self._busy = True
        try:
            while not self._events:
                if self._core.closed:
                    raise StopAsyncIteration
                if self._chunks is None:
                    await self._connect()
                else:
                    await self._read()
        except Exception:
            self._core.close()  # whatever ends iteration ends the source
            raise
        finally:
            self._busy = False
            if self._core.closed:
                with anyio.CancelScope(shield=True):
                    await self._release()

    def reconnect(self) -> None:
        """Drop the current connection and reconnect, as after a network error.

        Safe to call from another task. The source waits its reconnection time, then
        resumes from :attr:`last_event_id` (if it reconnects at all: see ``reconnect=``).
        """
        self._interrupt()

    async def aclose(self) -> None:
        """Close the stream and stop reconnecting (spec: C-CLOSE). Safe from any task.

        A wait before reconnecting ends at once; a read in another task is cancelled.
        """
        self._core.close()
        if self._busy:
            self._interrupt()
        else:
            with anyio.CancelScope(shield=True):
                await self._release()

    async def _connect(self) -> None:
        request = self._core.build_request(self._client)
        try:
            with self._interruptible():
                response = await self._client.send(request, stream=True, follow_redirects=True)
        except self._core.stack.retryable as exc:
            await self._sleep(self._core.on_failure(exc))
            return
        except _Interrupted:
            return
        verdict = self._core.on_response(response)
        if verdict is Verdict.OPEN:
            self._chunks = response.aiter_bytes()
            return
        preview = b"" if verdict is Verdict.END else await _read_preview(response)
        await response.aclose()
        if verdict is Verdict.RETRY:
            await self._sleep(self._core.on_failure(response_error(response, preview), response))
        elif verdict is Verdict.FAIL:
            self._core.close()
            raise response_error(response, preview)

    async def _read(self) -> None:
        assert self._chunks is not None
        assert self._core.parser is not None
        try:
            with self._interruptible():
                chunk = await self._chunks.__anext__()
        except StopAsyncIteration:
            await self._lose_stream(StreamEnded("the server ended the stream"))
        except self._core.stack.retryable as exc:
            await self._lose_stream(exc)
        except _Interrupted:
            await self._lose_stream(StreamEnded("the stream was restarted"))
        else:
            events = self._core.parser.feed(chunk)
            if events:
                self._core.on_events()
                self._events.extend(events)

    async def _lose_stream(self, error: Exception) -> None:
        await self._close_response()
        try:
            delay = self._core.on_failure(error)
        except StreamEnded:
            return  # no reconnection: the end of the body is the end of the stream
        await self._sleep(delay)

    async def _sleep(self, delay: float) -> None:
        if not self._core.closed:
            with contextlib.suppress(_Interrupted), self._interruptible():
                await anyio.sleep(delay)

    def _interrupt(self) -> None:
        # Cancel whatever the iterating task is waiting for: a connect, a read, a sleep.
        if self._scope is not None:
            self._scope.cancel()

    @contextlib.contextmanager
    def _interruptible(self) -> Iterator[None]:
        with anyio.CancelScope() as scope:
            self._scope = scope
            try:
                yield
            finally:
                self._scope = None
        if scope.cancelled_caught:
            raise _Interrupted

    async def _close_response(self) -> None:
        chunks, self._chunks = self._chunks, None
        if chunks is not None:
            await _close_iterator(chunks)
        if self._core.response is not None:
            await self._core.response.aclose()

    async def _release(self) -> None:
        self._events.clear()
        await self._close_response()
        if self._owns_client:
            await self._client.aclose()


async def aiter_events(
    source: object,
    *,
    max_event_size: int | None = DEFAULT_MAX_EVENT_SIZE,
    on_comment: Callable[[str], object] | None = None,
) -> AsyncIterator[ServerSentEvent]:
    """The events of a response you opened yourself, or of any bytes, with no reconnection.

    ``source`` is an httpx2 or httpx response, an LLM SDK's async raw streaming
    response (anything whose ``aiter_bytes()`` or ``iter_bytes()`` gives an async
    iterator), or any async iterable (or iterable) of bytes. A response (anything with
    ``status_code`` and ``headers`` too) is checked first: a 204 yields nothing;
    anything but a 200 ``text/event-stream`` raises :class:`ResponseError` (with a
    preview of the body). An iterable of bytes is parsed as it is.

    Raises:
        ResponseError: The response is not an event stream.
        EventTooLarge: An event or line exceeded ``max_event_size``.
        TypeError: ``source`` is none of the above.

    Example:
        >>> async with client.stream("POST", url, json=payload) as response:  # doctest: +SKIP
        ...     async for event in aiter_events(response):
        ...         print(event.data)
    """
    chunks = await _open(source)
    parser = EventStreamParser(max_event_size=max_event_size, on_comment=on_comment)
    async for chunk in chunks:
        for event in parser.feed(chunk):
            yield event
    parser.close()


async def _open(source: Any) -> AsyncIterator[bytes]:
    aiter_bytes = getattr(source, "aiter_bytes", None) or getattr(source, "iter_bytes", None)
    if aiter_bytes is None:
        if isinstance(source, AsyncIterable):
            return aiter(source)
        if isinstance(source, Iterable) and not isinstance(source, str | bytes):
            return _from_iterable(source)
        raise TypeError(
            "expected a response (httpx2, httpx or an SDK's raw response) or an async "
            f"iterable of bytes, got {type(source).__name__}"
        )
    if hasattr(source, "status_code") and hasattr(source, "headers"):
        verdict = check_response(source)
        if verdict is Verdict.END:
            return _from_iterable(())
        if verdict is not Verdict.OPEN:
            preview = await _read_preview(source)
            await _close(source)
            raise response_error(source, preview)
    chunks = aiter_bytes()
    if not isinstance(chunks, AsyncIterator):
        _close_iterator_now(chunks)
        raise TypeError(f"{type(source).__name__} gives a blocking iterator: use iter_events()")
    return chunks


async def _from_iterable(chunks: Iterable[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


async def _close(response: Any) -> None:
    # httpx's responses close with aclose(); the SDKs' async ones with an async close().
    close = getattr(response, "aclose", None) or response.close
    result = close()
    if inspect.isawaitable(result):
        await result


def _close_iterator_now(chunks: object) -> None:
    close = getattr(chunks, "close", None)
    if close is not None:
        close()


async def _read_preview(response: Any) -> bytes:
    preview = b""
    chunks = (getattr(response, "aiter_bytes", None) or response.iter_bytes)()
    try:
        async for chunk in chunks:
            preview += chunk
            if len(preview) >= BODY_PREVIEW_SIZE:
                break
    except Exception:
        pass  # the preview is a courtesy; the status already says what went wrong
    finally:
        await _close_iterator(chunks)
    return preview[:BODY_PREVIEW_SIZE]


async def _close_iterator(chunks: AsyncIterator[bytes]) -> None:
    # An async generator left unfinished is finalised at garbage collection, when its
    # event loop may be gone (trio warns about it): close it now.
    aclose = getattr(chunks, "aclose", None)
    if aclose is not None:
        await aclose()


class _Interrupted(Exception):
    """The awaited operation was cancelled by ``aclose()`` or ``reconnect()``."""
