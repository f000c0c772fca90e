"""The scripted endpoints of the loopback server, for ``httpx.MockTransport`` and respx."""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Iterator

import httpx

from ._script import Drop, Reply, Request, Responder, Script, Sleep, Stall, Step, Stream, Trickle

__all__ = ["MockSSE"]


class MockSSE:
    """A request handler that answers from a script, like one route of :class:`SSEServer`.

    Pass it to ``httpx.MockTransport`` (sync or async client), or as a respx side
    effect. Each request gets the next response; the last one repeats. Steps behave as
    on the server, without sockets: a :class:`Drop` raises ``httpx.ReadError`` (with
    ``reset=True``) or ``httpx.RemoteProtocolError`` (in a chunked stream) or ends the
    body; a :class:`Stall` raises ``httpx.ReadTimeout`` at once, as an idle timeout
    would.

    Example:
        >>> from sse_client.testing import MockSSE, Reply, Stream, event
        >>> handler = MockSSE(Stream(event("hi", id="1")), Reply(204))
        >>> client = httpx.Client(transport=httpx.MockTransport(handler))
    """

    def __init__(self, *responses: Responder) -> None:
        self._script = Script(responses)
        self._requests: list[Request] = []
        self._lock = threading.Lock()

    @property
    def requests(self) -> list[Request]:
        """A copy of the requests received so far, in order."""
        with self._lock:
            return list(self._requests)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        recorded = Request(
            method=request.method,
            path=request.url.raw_path.decode("ascii"),
            headers={name.lower(): value for name, value in request.headers.items()},
            body=request.read(),
        )
        with self._lock:
            self._requests.append(recorded)
            answer = self._script.next(recorded)
        if isinstance(answer, Reply):
            return httpx.Response(answer.status, headers=dict(answer.headers), content=answer.body)
        return httpx.Response(
            answer.status, headers=dict(answer.headers), stream=_StepStream(answer)
        )


class _StepStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    def __init__(self, stream: Stream) -> None:
        self._stream = stream

    def __iter__(self) -> Iterator[bytes]:
        for step in self._stream.steps:
            if self._ends(step):
                return
            if isinstance(step, Sleep):
                time.sleep(step.seconds)
            else:
                yield from self._emit(step)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        import anyio  # httpx depends on it; only async users pay for the import

        for step in self._stream.steps:
            if self._ends(step):
                return
            if isinstance(step, Sleep):
                await anyio.sleep(step.seconds)
            else:
                for chunk in self._emit(step):
                    yield chunk

    def _ends(self, step: Step) -> bool:
        # A plain body closed early is just the end of the stream.
        return isinstance(step, Drop) and not step.reset and not self._stream.chunked

    def _emit(self, step: Step) -> Iterator[bytes]:
        if isinstance(step, bytes):
            yield step
        elif isinstance(step, Trickle):
            yield from (step.data[index : index + 1] for index in range(len(step.data)))
        elif isinstance(step, Stall):
            raise httpx.ReadTimeout("the scripted stream stalled")
        elif isinstance(step, Drop) and step.reset:
            raise httpx.ReadError("the scripted stream was reset")
        elif isinstance(step, Drop):
            raise httpx.RemoteProtocolError("the scripted chunked stream was cut short")
