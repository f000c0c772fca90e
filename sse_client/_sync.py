"""EventSource: the blocking driver. Its twin is ``_async.py``; keep them line for line alike.

The driver only does I/O: it sends the request :class:`SourceCore` builds, hands the
response to the core, feeds the body to the core's ``feed``, and sleeps for the delay the core
gives. Every decision is the core's.
"""

from __future__ import annotations

import inspect
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, cast

from ._core import Verdict, check_response, response_error
from ._errors import BODY_PREVIEW_SIZE, ResponseError, StreamEnded
from ._http import own_stream, shut_down
from ._models import ServerSentEvent
from ._parser import DEFAULT_MAX_EVENT_SIZE, EventStreamParser
from ._source import BaseEventSource

if TYPE_CHECKING:
    from ._http import Client, Response, Stack  # noqa: F401 -- Response: in the base class

__all__ = ["EventSource", "iter_events"]

_LONGEST_WAIT = 3600.0  # seconds one Event.wait() may take; a longer wait takes several


class EventSource(BaseEventSource["Client", "Response"]):
    """A Server-Sent Events stream that reconnects, on a blocking client (httpx2 or httpx).

    Iterate it for :class:`ServerSentEvent` values. It connects on first use, reconnects
    after a network error, an idle timeout or the end of the body (sending
    ``Last-Event-ID``), as its :class:`ReconnectPolicy` says, ends cleanly on HTTP 204,
    and raises :class:`ResponseError` for any other answer that is not an event stream.
    The arguments are :class:`BaseEventSource`'s.

    Example:
        >>> with EventSource("http://127.0.0.1:8000/stream") as source:  # doctest: +SKIP
        ...     for event in source:
        ...         print(event.event, event.data)
    """

    __slots__ = ("_busy", "_chunks", "_cut", "_items", "_lock", "_stream", "_wakeup")

    def _start(self, stack: Stack, client: Client | None) -> None:
        if not stack.blocking:
            raise TypeError(f"{type(client).__name__} is async only: use AsyncEventSource")
        # Its own client keeps no idle connection: each attempt opens a socket that
        # close() can reach (see _trace).
        no_keepalive = stack.module.Limits(max_keepalive_connections=0)
        own = client is None
        self._client = stack.new_client(blocking=True, limits=no_keepalive) if own else client
        self._chunks: Iterator[bytes] | None = None
        self._items: Iterator[ServerSentEvent | str] = iter(())  # parsed, not yet given
        self._wakeup = threading.Event()
        self._lock = threading.Lock()  # held while releasing
        self._busy = threading.Lock()  # held while connecting or reading
        self._stream: Any = None  # the network stream of the attempt under way
        self._cut = False  # whether reconnect() dropped the stream

    def __enter__(self) -> EventSource:
        if self._core.closed:
            raise RuntimeError("cannot reopen a closed EventSource; create a new one")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __iter__(self) -> Iterator[ServerSentEvent]:
        if self._core.closed:
            raise RuntimeError("cannot iterate a closed EventSource; create a new one")
        return self._events()

    def __next__(self) -> ServerSentEvent:
        for event in self._events():
            return event
        raise StopIteration

    def _events(self) -> Iterator[ServerSentEvent]:
        # The hot path, a generator: resuming one costs a fraction of a call to
        # __next__, the difference per event that made the blocking source slower than
        # its twin (the async twin keeps __anext__: an async generator left unfinished
        # by a loop's break is one that trio warns of).
        core = self._core
        comments = core.comments  # whether comment lines come among the events
        while True:
            if comments:
                for item in self._items:  # events, and comment lines in their place
                    if core.closed:  # closed meanwhile: nothing more is dispatched
                        return
                    if isinstance(item, ServerSentEvent):
                        yield item
                        continue
                    try:
                        core.comment(item)
                    except Exception:
                        self.close()  # an error from a hook ends the source, as any does
                        raise
            else:
                for event in cast("Iterator[ServerSentEvent]", self._items):  # the last read's
                    if core.closed:
                        return
                    yield event
            if not self._fill():
                return

    def _fill(self) -> bool:
        """Connect or read until items arrive: False at the end of the stream."""
        if not self._busy.acquire(blocking=False):
            raise RuntimeError("another thread is already iterating this EventSource")
        try:
            while True:
                if self._core.closed:
                    return False
                if self._chunks is None:
                    self._connect()
                elif self._read():
                    return True
        except Exception:
            self._core.close()  # whatever ends iteration ends the source
            raise
        finally:
            self._busy.release()
            if self._core.closed:
                self._release()
                self._core.tell_closed()

    def reconnect(self) -> None:
        """Drop the current connection and reconnect, as after a network error.

        Safe to call from another thread. The source waits its reconnection time, then
        resumes from :attr:`last_event_id` (if it reconnects at all: see ``reconnect=``).
        A read blocked in another thread is woken only on a connection of its own
        (HTTP/1.1); on others (HTTP/2, whose connection carries other streams too; a mock
        transport) the stream is dropped when its next bytes arrive.
        """
        self._cut = True  # the body may look ended cleanly: it was not the server's end
        self._interrupt()

    def close(self) -> None:
        """Close the stream and stop reconnecting (spec: C-CLOSE). Safe from any thread.

        A wait before reconnecting ends at once; a read in another thread, or a wait for
        the response's headers on a new connection, is interrupted. Two exceptions: on
        HTTP/2 the connection carries the client's other streams too, so a read blocked
        in another thread ends when its stream's next bytes arrive (or at the idle
        timeout), and only this stream ends; and on your own client, an attempt that
        reuses one of its idle pooled connections cannot be woken before the response's
        headers arrive (the HTTP layer does not tell which socket it took; the source's
        own client keeps no idle connections). ``on_close`` runs here, once the
        connection is released or the reader woken; an error it raises is raised here.
        """
        self._core.close(caller=True)
        self._wakeup.set()
        if self._busy.locked():
            self._interrupt()
        else:
            self._release()
        self._core.tell_closed(caller=True)

    def _connect(self) -> None:
        self._stream = None
        self._cut = False
        try:
            request = self._request()
            if self._core.closed:  # closed while a setting's function ran, or STOP: send nothing
                return
            request.extensions["trace"] = self._trace
            response = self._client.send(request, stream=True, follow_redirects=True)
        except self._core.stack.errors as exc:
            self._sleep(self._core.on_failure(exc))
            return
        self._stream = own_stream(response)  # None over HTTP/2: never shut that down
        verdict = self._core.on_response(response)
        if verdict is Verdict.OPEN:
            self._chunks = response.iter_bytes()
            return
        error = _refuse(response, verdict)
        if error is not None:
            self._sleep(self._core.on_failure(error, response))

    def _request(self) -> Any:
        # The core describes the request, asking for each per-attempt setting in turn.
        flow = self._core.attempt(self._client)
        try:
            setting = next(flow)
            while True:
                setting = flow.send(_resolve(setting))
        except StopIteration as built:
            return built.value

    def _read(self) -> bool:
        assert self._chunks is not None
        try:
            if self._cut:  # reconnect() between reads, or with no socket to shut down
                raise StopIteration
            chunk = next(self._chunks)
        except StopIteration:
            if not self._cut and self._final():
                return True
            self._lose_stream(
                StreamEnded("reconnect() dropped the stream", clean=False)
                if self._cut
                else StreamEnded()
            )
        except self._core.stack.errors as exc:
            self._lose_stream(exc)
        else:
            items = self._core.feed(chunk)
            if items:
                self._items = iter(items)
                if not self._core.progressed:
                    self._core.progress(items)
                return True
        return False

    def _final(self) -> bool:
        # What the body's end completes (an answer of also_accept, whole), given once.
        items = self._core.final_items()
        if items:
            self._items = iter(items)
        return bool(items)

    def _lose_stream(self, error: Exception) -> None:
        self._close_response()
        self._sleep(self._core.on_failure(error))

    def _sleep(self, delay: float) -> None:
        # In slices: Event.wait() cannot wait past the platform's time_t (about 9.2e9 s),
        # and a server's retry:, Retry-After or a hook may ask for longer, or for ever.
        deadline = time.monotonic() + delay
        while not self._core.closed:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self._wakeup.wait(min(left, _LONGEST_WAIT))

    def _trace(self, name: str, info: Mapping[str, Any]) -> None:
        # The HTTP layer reports each step of an exchange. Keep the socket of a new
        # connection, so that close() can wake a wait for the response's headers too.
        if name.endswith((".connect_tcp.complete", ".start_tls.complete")):
            self._stream = info.get("return_value")
            if self._core.closed:  # closed while connecting: nothing to wait for
                self._interrupt()

    def _interrupt(self) -> None:
        # A read blocked in another thread does not notice a closed socket; a shut down
        # one wakes it at once.
        shut_down(self._stream)

    def _close_response(self) -> None:
        chunks, self._chunks = self._chunks, None
        if chunks is not None:
            _close_iterator(chunks)
        if self._core.response is not None:
            self._core.response.close()

    def _release(self) -> None:
        with self._lock:
            self._items = iter(())
            self._close_response()
            if self._owns_client:
                self._client.close()


def _resolve(function: Callable[[], Any]) -> Any:
    # A per-attempt setting given as a function: called once per attempt.
    result = function()
    if inspect.isawaitable(result):
        if inspect.iscoroutine(result):
            result.close()  # never awaited: say so here, not in a warning at exit
        raise TypeError("EventSource cannot await a setting's function: use AsyncEventSource")
    return result


def iter_events(
    source: object,
    *,
    max_event_size: int | None = DEFAULT_MAX_EVENT_SIZE,
    on_comment: Callable[[str], object] | None = None,
) -> Iterator[ServerSentEvent]:
    """The events of a response you opened yourself, or of any bytes, with no reconnection.

    ``source`` is an httpx2 or httpx response, an LLM SDK's raw streaming response
    (anything with ``iter_bytes()``), or any iterable of bytes. A response (anything
    with ``status_code`` and ``headers`` too) is checked first: a 204 yields nothing;
    anything but a 200 ``text/event-stream`` raises :class:`ResponseError` (with a
    preview of the body). An iterable of bytes is parsed as it is.

    Raises:
        ResponseError: The response is not an event stream.
        EventTooLarge: An event or line exceeded ``max_event_size``.
        TypeError: ``source`` is none of the above.

    Example:
        >>> with httpx2.stream("POST", url, json=payload) as response:  # doctest: +SKIP
        ...     for event in iter_events(response):
        ...         print(event.data)
    """
    chunks = _open(source)
    parser = EventStreamParser(max_event_size=max_event_size, on_comment=on_comment)
    for chunk in chunks:
        yield from parser.feed(chunk)
    parser.close()


def _open(source: Any) -> Iterable[bytes]:
    iter_bytes = getattr(source, "iter_bytes", None)
    if iter_bytes is None:
        if isinstance(source, Iterable) and not isinstance(source, str | bytes):
            return source
        raise TypeError(
            "expected a response (httpx2, httpx or an SDK's raw response) or an iterable "
            f"of bytes, got {type(source).__name__}"
        )
    if hasattr(source, "status_code") and hasattr(source, "headers"):
        verdict = check_response(source)
        if verdict is not Verdict.OPEN:
            error = _refuse(source, verdict)
            if error is None:
                return ()  # a 204: no events
            raise error
    chunks: Iterable[bytes] = iter_bytes()
    return chunks


def _refuse(response: Any, verdict: Verdict) -> ResponseError | None:
    # A response that did not open the stream: closed, after a preview of its body is
    # read for the error that says what the server sent; a 204 is a clean end (None).
    preview = b"" if verdict is Verdict.END else _read_preview(response)
    response.close()
    return None if verdict is Verdict.END else response_error(response, preview)


def _read_preview(response: Any) -> bytes:
    preview = b""
    chunks = response.iter_bytes()
    try:
        for chunk in chunks:
            preview += chunk
            if len(preview) >= BODY_PREVIEW_SIZE:
                break
    except Exception:
        pass  # the preview is a courtesy; the status already says what went wrong
    finally:
        _close_iterator(chunks)
    return preview[:BODY_PREVIEW_SIZE]


def _close_iterator(chunks: Iterator[bytes]) -> None:
    # A generator left unfinished is finalised at garbage collection, when its
    # event loop may be gone (trio warns about it): close it now.
    close = getattr(chunks, "close", None)
    if close is not None:
        close()
