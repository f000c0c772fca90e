"""The built-in demo server: an LLM-style token stream that drops once and resumes.

``python -m sse_client --demo`` starts it on 127.0.0.1 and reads it with the real
EventSource, so a newcomer sees the whole library at work with nothing else running:
named events with ids, the server's ``retry:``, a connection cut in the middle of an
event (a chunked body that breaks off: an error), the resume through ``Last-Event-ID``,
and a body that ends cleanly, which ends the command. A client that reconnects after
clean ends too (``--follow``) gets a 204.
"""

from __future__ import annotations

import json
from types import TracebackType

from .testing import Drop, Reply, Request, Sleep, SSEServer, Step, Stream, format_event

__all__ = ["DemoServer"]

SENTENCE = (  # noqa: SIM905 -- a sentence reads better than a list of words
    "Server-Sent Events stream text as it is made, and sse_client resumes "
    "where it left off when the connection drops."
).split(" ")

#: Where the stream is served.
PATH = "/v1/stream"
#: Milliseconds the demo asks the client to wait before reconnecting.
RETRY_MS = 200
#: Seconds between two tokens.
TOKEN_PAUSE = 0.05


def _events() -> list[bytes]:
    """Every event of the demo, ids 1..n, in the wire format."""
    events = [
        format_event(
            json.dumps({"type": "message_start", "model": "demo"}), event="message_start", id="1"
        )
    ]
    for index, token in enumerate(SENTENCE):
        text = token if index == 0 else " " + token
        payload = {"type": "content_block_delta", "delta": {"type": "text_delta", "text": text}}
        events.append(
            format_event(json.dumps(payload), event="content_block_delta", id=str(index + 2))
        )
    stop = json.dumps({"type": "message_stop"})
    events.append(format_event(stop, event="message_stop", id=str(len(SENTENCE) + 2)))
    return events


def _respond(request: Request) -> Stream | Reply:
    events = _events()
    last = request.last_event_id
    start = int(last) if last and last.isascii() and last.isdigit() else 0
    if start >= len(events):
        return Reply(204)  # everything was delivered: tell the client to stop
    steps: list[Step] = [format_event(None, retry=RETRY_MS)]
    for event in events[start:]:
        steps += [event, Sleep(TOKEN_PAUSE)]
    if start == 0:
        # The first connection breaks halfway, in the middle of an event.
        cut = len(events) // 2
        steps = [*steps[: 1 + 2 * cut], events[cut][:20], Drop()]
    # Chunked, so that the cut is an error (an incomplete body) and the end is clean.
    return Stream(*steps, chunked=True)


class DemoServer:
    """The demo's server, on 127.0.0.1 (an ephemeral port, a daemon thread).

    Attributes:
        url: The stream's URL.

    Example:
        >>> with DemoServer() as demo:  # doctest: +SKIP
        ...     print(demo.url)
    """

    def __init__(self) -> None:
        self._server = SSEServer()
        self._server.route(PATH, _respond)
        self.url = self._server.url + PATH

    def __enter__(self) -> DemoServer:
        self._server.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.close()
