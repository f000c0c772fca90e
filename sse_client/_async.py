"""AsyncEventSource: the asyncio and trio driver. Its twin is ``_sync.py``; keep them alike.

The driver only does I/O: it sends the request :class:`SourceCore` builds, hands the
response to the core, feeds the body to the core's ``feed``, and sleeps for the delay the core
gives. Every decision is the core's.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final

import anyio

from ._core import Verdict, check_response, response_error
from ._errors import BODY_PREVIEW_SIZE, ResponseError, StreamEnded
from ._http import as_response
from ._models import ServerSentEvent
from ._parser import DEFAULT_MAX_EVENT_SIZE, EventStreamParser
from ._source import BaseEventSource

if TYPE_CHECKING:
    from ._http import AsyncClient, AsyncResponse, Stack  # noqa: F401 -- in the base class

__all__ = ["AsyncEventSource", "aiter_events"]


class AsyncEventSource(BaseEventSource["AsyncClient", "AsyncResponse"]):
    """A Server-Sent Events stream that reconnects, on an async client (asyncio or trio;
    an aiohttp session on asyncio).

    Iterate it for :class:`ServerSentEvent` values. It connects on first use, reconnects
    after a network error, an idle timeout or the end of the body (sending
    ``Last-Event-ID``), as its :class:`ReconnectPolicy` says, ends cleanly on HTTP 204,
    and raises :class:`ResponseError` for any other answer that is not an event stream.
    The arguments are :class:`BaseEventSource`'s; ``url``, ``headers`` and ``params``
    may be async functions here.

    Example:
        >>> async with AsyncEventSource(url, method="POST", json=body) as source:
        ...     async for event in source:  # doctest: +SKIP
        ...         print(event.event, event.data)
    """

    __slots__ = ("_busy", "_chunks", "_cut", "_items", "_scope", "_wake")

    def _start(self, stack: Stack, client: AsyncClient | None) -> None:
        own = client is None
        self._client = stack.new_client(blocking=False) if own else stack.async_client(client)
        self._chunks: AsyncIterator[bytes] | None = None
        self._items: Iterator[ServerSentEvent | str] = iter(())  # parsed, not yet given
        self._scope: anyio.CancelScope | None = None
        self._wake: Any = None  # the response, when it can wake its own reads: see _read
        self._busy = False
        self._cut = False  # whether reconnect() dropped the stream

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
            for item in self._items:  # the hot path: items parsed from the last read
                if isinstance(item, ServerSentEvent):
                    return item
                try:
                    self._core.comment(item)  # a comment line, in its place in the stream
                except Exception:
                    await self.aclose()  # an error from a hook ends the source, as any does
                    raise
                if self._core.closed:  # closed by the hook: nothing more is dispatched
                    break
            await self._fill()

    async def _fill(self) -> None:
        """Connect or read until items arrive; at the end of the stream, stop iterating."""
        if self._busy:
            raise RuntimeError("another task is already iterating this AsyncEventSource")
        self._busy = True
        try:
            while True:
                if self._core.closed:
                    raise StopAsyncIteration
                if self._chunks is None:
                    await self._connect()
                elif await self._read():
                    return
        except Exception:
            self._core.close()  # whatever ends iteration ends the source
            raise
        finally:
            self._busy = False
            if self._core.closed:
                with anyio.CancelScope(shield=True):
                    await self._release()
                self._core.tell_closed()

    def reconnect(self) -> None:
        """Drop the current connection and reconnect, as after a network error.

        Safe to call from another task. The source waits its reconnection time, then
        resumes from :attr:`last_event_id` (if it reconnects at all: see ``reconnect=``).
        """
        self._cut = True  # also when called between reads, in the loop over the events
        self._interrupt()

    async def aclose(self) -> None:
        """Close the stream and stop reconnecting (spec: C-CLOSE). Safe from any task.

        A wait before reconnecting ends at once; a read in another task is cancelled
        (only this stream's: an HTTP/2 connection's other streams go on). ``on_close``
        runs here, once the connection is released or the reader cancelled; an error it
        raises is raised here.
        """
        self._core.close(caller=True)
        if self._busy:
            self._interrupt()
        else:
            with anyio.CancelScope(shield=True):
                await self._release()
        self._core.tell_closed(caller=True)

    async def _connect(self) -> None:
        self._cut = False
        stack = self._core.stack
        # A request of aiohttp's ends its own wait for the headers when interrupted, so
        # that a connect needs no cancel scope, unless building it calls the user.
        scoped = self._core.calls_back or not stack.wakes_reads
        try:
            with self._interruptible() if scoped else _UNSCOPED:
                request = await self._request()
                if self._core.closed:  # the resume function said STOP: send nothing
                    return
                self._wake = None if scoped else request
                try:
                    response = await self._client.send(request, stream=True, follow_redirects=True)
                finally:
                    self._wake = None
        except stack.errors as exc:
            if self._cut or self._core.closed:  # the request was interrupted
                return
            await self._sleep(self._core.on_failure(exc))
            return
        except _Interrupted:
            return
        verdict = self._core.on_response(response)
        if verdict is Verdict.OPEN:
            self._chunks = response.aiter_bytes()
            self._wake = self._core.stack.waker(response, self._core.timeout.read, self._waiting)
            return
        error = await _refuse(response, verdict)
        if error is not None:
            await self._sleep(self._core.on_failure(error, response))

    async def _request(self) -> Any:
        # The core describes the request, asking for each per-attempt setting in turn.
        flow = self._core.attempt(self._client)
        try:
            setting = next(flow)
            while True:
                setting = flow.send(await _resolve(setting))
        except StopIteration as built:
            return built.value

    async def _read(self) -> bool:
        assert self._chunks is not None
        try:
            if self._cut:
                raise _Interrupted
            if self._wake is not None:
                # The response or its socket can wake this read (Stack.waker), so it
                # needs no cancel scope, the largest cost per read on a busy process.
                chunk = await self._chunks.__anext__()
            else:
                with self._interruptible():
                    chunk = await self._chunks.__anext__()
        except StopAsyncIteration:
            error = self._woken()
            if error is not None:
                await self._lose_stream(error)
            elif not self._final():
                await self._lose_stream(StreamEnded())
            else:
                return True
        except self._core.stack.errors as exc:
            await self._lose_stream(self._woken() or exc)
        except _Interrupted:
            await self._lose_stream(_dropped())
        else:
            items = self._core.feed(chunk)
            if items:
                self._items = iter(items)
                if not self._core.progressed:
                    self._core.progress(items)
                return True
        return False

    def _woken(self) -> Exception | None:
        # What ended or broke a read, when it was not the server or the network: a
        # reconnect() or aclose(), or the idle watchdog (a socket shut down ends the
        # read as the network would). The connection is gone, so nothing is left to wake.
        wake, self._wake = self._wake, None
        if wake is not None:
            wake.release()
        if self._cut or self._core.closed:
            return _dropped()
        return None if wake is None else wake.timed_out

    def _waiting(self) -> bool:
        # Whether the source waits for the stream (the idle watchdog's question), not
        # for its consumer.
        return self._busy

    def _final(self) -> bool:
        # What the body's end completes (an answer of also_accept, whole), given once.
        items = self._core.final_items()
        if items:
            self._items = iter(items)
        return bool(items)

    async def _lose_stream(self, error: Exception) -> None:
        await self._close_response()
        await self._sleep(self._core.on_failure(error))

    async def _sleep(self, delay: float) -> None:
        if not self._core.closed:
            with contextlib.suppress(_Interrupted), self._interruptible():
                await anyio.sleep(delay)

    def _interrupt(self) -> None:
        # Cancel whatever the iterating task is waiting for: a connect, a read, a sleep.
        if self._scope is not None:
            self._scope.cancel()
        elif self._wake is not None:
            self._wake.interrupt(_Interrupted())

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
        wake, self._wake = self._wake, None
        if wake is not None:
            wake.release()
        chunks, self._chunks = self._chunks, None
        if chunks is not None:
            await _close_iterator(chunks)
        if self._core.response is not None:
            await self._core.response.aclose()

    async def _release(self) -> None:
        self._items = iter(())
        await self._close_response()
        if self._owns_client:
            await self._client.aclose()


async def _resolve(function: Callable[[], Any]) -> Any:
    # A per-attempt setting given as a function: called once per attempt, and awaited.
    result = function()
    if inspect.isawaitable(result):
        result = await result
    return result


async def aiter_events(
    source: object,
    *,
    max_event_size: int | None = DEFAULT_MAX_EVENT_SIZE,
    on_comment: Callable[[str], object] | None = None,
) -> AsyncIterator[ServerSentEvent]:
    """The events of a response you opened yourself, or of any bytes, with no reconnection.

    ``source`` is an httpx2, httpx or aiohttp response, an LLM SDK's async raw streaming
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
    source = as_response(source)
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
        if verdict is not Verdict.OPEN:
            error = await _refuse(source, verdict)
            if error is None:
                return _from_iterable(())  # a 204: no events
            raise error
    chunks = aiter_bytes()
    if not isinstance(chunks, AsyncIterator):
        _close_iterator_now(chunks)
        raise TypeError(f"{type(source).__name__} gives a blocking iterator: use iter_events()")
    return chunks


async def _from_iterable(chunks: Iterable[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


async def _refuse(response: Any, verdict: Verdict) -> ResponseError | None:
    # A response that did not open the stream: closed, after a preview of its body is
    # read for the error that says what the server sent; a 204 is a clean end (None).
    preview = b"" if verdict is Verdict.END else await _read_preview(response)
    await _close(response)
    return None if verdict is Verdict.END else response_error(response, preview)


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


def _dropped() -> StreamEnded:
    return StreamEnded("reconnect() dropped the stream", clean=False)


#: What a connect runs in when its request can be interrupted without a cancel scope.
_UNSCOPED: Final = contextlib.nullcontext()


class _Interrupted(Exception):
    """The awaited operation was cancelled by ``aclose()`` or ``reconnect()``."""
