"""The values sse_client hands to its users: one event, and a source's ready state.

This module imports nothing of ours.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from typing import Any

__all__ = ["ReadyState", "ServerSentEvent"]


class _EventFields:
    """The slots of :class:`ServerSentEvent`'s fields, in a base it shares with the
    parser's builder of events (see ``_parser._EventBuilder``)."""

    __slots__ = ("event", "data", "id", "retry")  # noqa: RUF023 -- the fields' order


# (From Python 3.11, slots=True leaves the base's slots to it: its own __slots__ is ().)
@dataclass(frozen=True, slots=True)
class ServerSentEvent(_EventFields):
    """One dispatched event of an event stream.

    Attributes:
        event: The event type: the last ``event:`` field of the block, or ``"message"``.
        data: The ``data:`` lines of the block joined by ``"\\n"``.
        id: The stream's last event ID when the event was dispatched. It persists across
            events: an event without an ``id:`` field carries the previous one.
        retry: The reconnection time in milliseconds if this block carried a valid
            ``retry:`` field, else ``None``.

    Example:
        >>> ServerSentEvent(data='{"n": 1}').json()
        {'n': 1}
    """

    event: str = "message"
    data: str = ""
    id: str = ""
    retry: int | None = None

    def json(self) -> Any:
        """Decode :attr:`data` as JSON.

        Raises:
            json.JSONDecodeError: The data is not JSON (for example an OpenAI-style
                ``[DONE]`` marker).
        """
        return json.loads(self.data)

    def __repr__(self) -> str:
        parts = [f"event={self.event!r}", f"data={self.data!r}"]
        if self.id:
            parts.append(f"id={self.id!r}")
        if self.retry is not None:
            parts.append(f"retry={self.retry!r}")
        return f"ServerSentEvent({', '.join(parts)})"


class ReadyState(enum.IntEnum):
    """The ready state of a source, with the standard's numbers.

    Example:
        >>> ReadyState.OPEN == 1
        True
    """

    #: Created, or waiting to reconnect after the stream was interrupted.
    CONNECTING = 0
    #: The response was accepted and events are being read.
    OPEN = 1
    #: Closed by the user, by the server (HTTP 204), or after a failure.
    CLOSED = 2
