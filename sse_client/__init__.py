"""sse_client: a spec-exact Server-Sent Events client.

Dependency rules inside the package:

1. ``_models`` and ``_errors`` import nothing of ours.
2. ``_parser`` imports only ``_models`` and ``_errors``, and never httpx, anyio or
   tenacity; it does no I/O.
"""

from __future__ import annotations

from ._errors import EventTooLarge, ReconnectError, ResponseError, SSEError
from ._models import ReadyState, ServerSentEvent
from ._parser import DEFAULT_MAX_EVENT_SIZE, EventStreamParser

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_MAX_EVENT_SIZE",
    "EventStreamParser",
    "EventTooLarge",
    "ReadyState",
    "ReconnectError",
    "ResponseError",
    "SSEError",
    "ServerSentEvent",
    "__version__",
]

# Show the public path in reprs and tracebacks (httpx does the same).
for _obj in (EventStreamParser, EventTooLarge, ReadyState, ReconnectError, ResponseError,
             SSEError, ServerSentEvent):
    _obj.__module__ = "sse_client"
del _obj
