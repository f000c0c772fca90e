"""sse_client: a spec-exact Server-Sent Events client.

Dependency rules inside the package:

1. ``_models``, ``_errors`` and ``_policy`` (the settings) import nothing of ours
   (``_policy`` names ``_http``'s URL type for the type checker alone). No import,
   not even one for the type checker, closes a circle (``tests/test_public_api.py``).
2. ``_parser`` imports only ``_models`` and ``_errors``, and never an HTTP stack, anyio
   or tenacity; it does no I/O. ``_core`` and ``_backoff`` (the reconnection decision)
   decide without I/O too. ``_http`` is the only module that chooses among the HTTP
   stacks (httpx2, and httpx or aiohttp when the user's object comes from them).
3. ``_backoff`` is the only importer of tenacity; ``_sync`` and ``_async`` are the
   only client modules that send, read or sleep (``testing`` and ``_demo`` hold
   servers).
4. Nothing imports ``_sync`` or ``_async`` but this module; the rest of the package
   (the command line) takes the public names from here.
"""

from __future__ import annotations

from ._async import AsyncEventSource, aiter_events
from ._backoff import wait_reconnection_time
from ._errors import (
    EventTooLarge,
    HTTPResponse,
    ReconnectError,
    ResponseError,
    SSEError,
    StreamEnded,
    UnrecoverableError,
)
from ._models import ReadyState, ServerSentEvent
from ._parser import DEFAULT_MAX_EVENT_SIZE, EventStreamParser
from ._policy import (
    DEFAULT_RETRY_STATUSES,
    STOP,
    Failure,
    Hooks,
    ReconnectPolicy,
    Resume,
    Stop,
    Timeouts,
)
from ._source import BaseEventSource
from ._sync import EventSource, iter_events

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_MAX_EVENT_SIZE",
    "DEFAULT_RETRY_STATUSES",
    "STOP",
    "AsyncEventSource",
    "BaseEventSource",
    "EventSource",
    "EventStreamParser",
    "EventTooLarge",
    "Failure",
    "HTTPResponse",
    "Hooks",
    "ReadyState",
    "ReconnectError",
    "ReconnectPolicy",
    "ResponseError",
    "Resume",
    "SSEError",
    "ServerSentEvent",
    "Stop",
    "StreamEnded",
    "Timeouts",
    "UnrecoverableError",
    "__version__",
    "aiter_events",
    "iter_events",
    "wait_reconnection_time",
]

# Show the public path in reprs and tracebacks (httpx does the same).
for _obj in (
    AsyncEventSource,
    BaseEventSource,
    EventSource,
    EventStreamParser,
    EventTooLarge,
    Failure,
    HTTPResponse,
    Hooks,
    ReadyState,
    ReconnectError,
    ReconnectPolicy,
    ResponseError,
    Resume,
    SSEError,
    ServerSentEvent,
    Stop,
    StreamEnded,
    Timeouts,
    UnrecoverableError,
    aiter_events,
    iter_events,
    wait_reconnection_time,
):
    _obj.__module__ = "sse_client"
del _obj
