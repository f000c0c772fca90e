"""Scripted endpoints without sockets: handlers for ``MockTransport`` and respx.

The handler answers with the classes of the stack its request comes from, so it serves
``httpx2.MockTransport`` and ``httpx.MockTransport`` alike (respx mocks httpx only).
Rule: the standard library and the HTTP stacks only. anyio is imported when an async
body sleeps (the stacks depend on it), respx never: :func:`respx_route` only calls
methods of the router it is given.

The steps of a :class:`Stream` mean here what they mean on :class:`SSEServer`, as far
as a client can tell: a plain :class:`Drop` ends the body, ``Drop(reset=True)`` raises
``ReadError``, a :class:`Drop` in a chunked stream raises
``RemoteProtocolError`` (an incomplete chunked read). Without a socket, a
:class:`Stall` cannot last until a read timeout, so it raises ``ReadTimeout`` at
once, which is what a client with an idle timeout would see.
"""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

from .._http import stack_of
from ._script import Drop, Reply, Request, Responder, Script, Sleep, Stall, Step, Stream, Trickle

if TYPE_CHECKING:
    import respx

    from .._http import URL, Response

__all__ = ["MockSSE", "build_response", "respx_route"]


class MockSSE:
    """A request handler that answers from a script, like one route of :class:`SSEServer`.

    Call it with a request: pass it to ``httpx2.MockTransport`` or ``httpx.MockTransport``
    (for a blocking or an async client), or as a respx side effect. The first
    request gets the first response, and so on; after the last, the last one repeats.
    Every request is recorded, as the server records them.

    Args:
        *responses: Each a :class:`Stream`, a :class:`Reply`, or a function that takes
            the :class:`Request` and returns one (such as :func:`resumable_counter`).

    Raises:
        ValueError: No response was given.

    Example:
        >>> handler = MockSSE(Stream(event("hi", id="1")), Reply(204))
        >>> client = httpx2.Client(transport=httpx2.MockTransport(handler))
    """

    def __init__(self, *responses: Responder) -> None:
        self._script = Script(responses)
        self._requests: list[Request] = []
        self._changed = threading.Condition()

    @property
    def requests(self) -> tuple[Request, ...]:
        """The requests received so far, in order.

        A snapshot that cannot be changed (a tuple): :meth:`clear_requests` forgets them.

        Example:
            >>> handler = MockSSE(Reply(204))
            >>> assert handler.requests == ()
        """
        with self._changed:
            return tuple(self._requests)

    def clear_requests(self) -> None:
        """Forget the requests received so far, to check the next ones alone.

        Example:
            >>> MockSSE(Reply(204)).clear_requests()
        """
        with self._changed:
            self._requests.clear()

    def wait_for_requests(self, count: int, timeout: float = 5.0) -> tuple[Request, ...]:
        """Block until at least ``count`` requests have arrived; return all of them.

        For a client running in another thread.

        Args:
            count: How many requests to wait for, counting those already received.
            timeout: The most seconds to wait.

        Returns:
            The requests received so far (``count`` or more), as :attr:`requests`.

        Raises:
            TimeoutError: Fewer than ``count`` arrived within ``timeout`` seconds.

        Example:
            >>> handler = MockSSE(Reply(204))
            >>> handler.wait_for_requests(0)
            ()
        """
        with self._changed:
            if not self._changed.wait_for(lambda: len(self._requests) >= count, timeout):
                raise TimeoutError(
                    f"expected {count} requests within {timeout} s, got {len(self._requests)}"
                )
            return tuple(self._requests)

    def __call__(self, request: Any) -> Any:
        """Record ``request`` and answer it with the next response of the script.

        Args:
            request: The request the transport received (its body already read, as
                ``MockTransport`` and respx do), of httpx2 or httpx.

        Returns:
            The response, of the request's stack; a :class:`Stream` gives a streaming
            body that works with both a blocking and an async client.

        Example:
            >>> handler = MockSSE(Reply(204))
            >>> handler(httpx2.Request("GET", "http://test/s")).status_code
            204
        """
        recorded = Request(
            method=request.method,
            path=request.url.raw_path.decode("ascii"),
            headers={name.lower(): value for name, value in request.headers.items()},
            body=request.read(),
        )
        with self._changed:
            self._requests.append(recorded)
            self._changed.notify_all()
            answer = self._script.next(recorded)
        return build_response(answer, request=request)


def build_response(answer: Stream | Reply, *, request: Any = None) -> Response:
    """A response for one scripted answer, its body streamed step by step.

    The body is a byte stream for both sync and async iteration, made afresh each time
    it is iterated, and left unread as if it came off the network (a :class:`Reply`'s
    too). Useful on its own to test code that takes a response, such as
    :func:`sse_client.iter_events`.

    Args:
        answer: A :class:`Stream` (a streamed body, steps as described in this module)
            or a :class:`Reply` (a whole body).
        request: The request the response answers, if any (``MockTransport`` sets it).
            The response is of its stack, httpx2 or httpx; without one, of httpx2.

    Returns:
        The response, not yet read.

    Example:
        >>> response = build_response(Stream(event("a", id="1"), event("b", id="2")))
        >>> [e.data for e in sse_client.iter_events(response)]
        ['a', 'b']
    """
    http = stack_of(request).module
    if isinstance(answer, Reply):
        headers = dict(answer.headers)
        if answer.status >= 200 and answer.status not in (204, 304):  # statuses without a body
            headers.setdefault("Content-Length", str(len(answer.body)))
        stream = _stream_class(http)((answer.body,), chunked=False, http=http)
    else:
        headers = dict(answer.headers)
        stream = _stream_class(http)(answer.steps, chunked=answer.chunked, http=http)
    # Given as a stream, even a whole body stays unread, as it would come off the network:
    # ``iter_raw()`` works on it, and respx does not read it in advance.
    response: Response = http.Response(
        answer.status, headers=headers, stream=stream, request=request
    )
    return response


def respx_route(
    url: str | URL,
    *responses: Responder,
    method: str = "GET",
    router: respx.Router | None = None,
) -> MockSSE:
    """Add a respx route for ``method url`` that answers from a script.

    Args:
        url: The URL to mock (a respx ``url`` pattern: the query must match too, if given).
        *responses: The script, as for :class:`MockSSE`.
        method: The HTTP method to match.
        router: The respx router to add the route to: the ``respx_mock`` fixture, or the
            router of a ``respx.mock(...)`` block. Default: the global ``respx.mock``.

    Returns:
        The :class:`MockSSE` handler, whose ``requests`` record what the route received.

    Raises:
        ValueError: No response was given.

    Example:
        >>> with respx.mock:  # doctest: +SKIP
        ...     endpoint = respx_route("https://test/s", Stream(event("hi")), Reply(204))
    """
    handler = MockSSE(*responses)
    if router is None:
        import respx  # a test extra: imported only when used

        router = respx.mock
    router.route(method=method, url=url).mock(side_effect=handler)
    return handler


_STREAM_CLASSES: dict[str, type[_StepStream]] = {}


def _stream_class(http: Any) -> type[_StepStream]:
    # A stack's Response takes only its own byte stream classes as a streamed body.
    cls = _STREAM_CLASSES.get(http.__name__)
    if cls is None:
        bases = (_StepStream, http.SyncByteStream, http.AsyncByteStream)
        cls = _STREAM_CLASSES[http.__name__] = type("_StepStream", bases, {})
    return cls


class _AsyncSteps:
    """The async body, read step by step. A plain iterator rather than an async
    generator: a body left half-read (a source that reconnects, a loop that breaks) needs
    no finalizing, where trio warns about an async generator collected unfinished."""

    def __init__(self, stream: _StepStream) -> None:
        self._stream = stream
        self._steps = iter(stream._steps)
        self._chunks: Iterator[bytes] = iter(())

    def __aiter__(self) -> _AsyncSteps:
        return self

    async def __anext__(self) -> bytes:
        while True:
            for chunk in self._chunks:
                return chunk
            step = next(self._steps, None)
            if step is None or self._stream._ends(step):
                self._steps = iter(())
                raise StopAsyncIteration
            if isinstance(step, Sleep):
                import anyio  # only async bodies that sleep need it

                await anyio.sleep(step.seconds)
            else:
                self._chunks = self._stream._emit(step)


class _StepStream:
    def __init__(self, steps: tuple[Step, ...], *, chunked: bool, http: Any) -> None:
        self._steps = steps
        self._chunked = chunked
        self._http = http

    def __iter__(self) -> Iterator[bytes]:
        for step in self._steps:
            if self._ends(step):
                return
            if isinstance(step, Sleep):
                time.sleep(step.seconds)
            else:
                yield from self._emit(step)

    def __aiter__(self) -> AsyncIterator[bytes]:
        return _AsyncSteps(self)

    def _ends(self, step: Step) -> bool:
        # A plain body closed early is just the end of the body.
        return isinstance(step, Drop) and not step.reset and not self._chunked

    def _emit(self, step: Step) -> Iterator[bytes]:
        if isinstance(step, bytes):
            if step:
                yield step
        elif isinstance(step, Trickle):
            yield from (step.data[index : index + 1] for index in range(len(step.data)))
        elif isinstance(step, Stall):
            raise self._http.ReadTimeout("the scripted stream stalled")
        elif isinstance(step, Drop) and step.reset:
            raise self._http.ReadError("the scripted stream was reset")
        else:  # a Drop in a chunked body (in a plain one, _ends() ended the body)
            raise self._http.RemoteProtocolError(
                "peer closed connection without sending complete message body "
                "(incomplete chunked read)"
            )
