"""What :class:`EventSource` and :class:`AsyncEventSource` share: their settings,
declared once, and the state a user reads. Each setting goes to the core
(:class:`SourceCore`), which decides; the two drivers add the I/O.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ._core import ResumeArg, SourceCore
from ._http import Stack, stack_of
from ._models import ReadyState
from ._parser import DEFAULT_MAX_EVENT_SIZE
from ._policy import HeadersArg, Hooks, PerAttempt, ReconnectPolicy, Timeouts

if TYPE_CHECKING:
    from ._http import URL

__all__ = ["BaseEventSource"]

_ClientT = TypeVar("_ClientT")
_ResponseT = TypeVar("_ResponseT")


class BaseEventSource(Generic[_ClientT, _ResponseT]):
    """What :class:`EventSource` and :class:`AsyncEventSource` share: their settings,
    and the state a user reads.

    Args:
        url: The stream's URL, or a function called before every attempt that returns
            it (on :class:`AsyncEventSource`, an async function too), for targets that
            move, such as a cursor in the query.
        client: Your own client, of httpx2 or httpx (auth, proxies, transports, mocks):
            ``Client`` for :class:`EventSource`, ``AsyncClient`` for its twin, which
            also takes an ``aiohttp.ClientSession`` (asyncio only). It is not closed by
            the source. Without one, the source makes and closes an httpx2 one (whose TLS
            context, which takes milliseconds to make, the sources' own clients share).
        method: The HTTP method. Only GET reconnects by default: resending a POST
            repeats its effect (an LLM generates again), so opt in with ``reconnect``.
        headers: Extra request headers, or a function called before every attempt that
            returns them (async too on :class:`AsyncEventSource`), for tokens that expire.
        params: Query parameters, or a function returning them before every attempt.
        content: A raw request body (bytes or str to be sent again on reconnection).
            Also ``data`` (a form) and ``json``.
        last_event_id: The last event ID to resume from; sent on the first request too.
        reconnect: A :class:`ReconnectPolicy`: when to reconnect, and how long to wait.
            ``True`` is the default policy, ``False`` never reconnects; ``None`` (the
            default) reconnects when reconnections are GETs (``method``, or ``resume``'s).
        resume: How every attempt after the first is made, when it differs from the
            first: a :class:`Resume`, or a function called with the source before each
            such attempt (async too on :class:`AsyncEventSource`) that returns one
            (``None``: as the first; :data:`STOP`: end the stream instead, as when there
            is no last event ID to resume from). A POST stream resumed by a GET, say.
        also_accept: Media types accepted besides ``text/event-stream`` (and added to
            ``Accept``): such a 200 response's whole body (at most ``max_event_size``)
            is one ``message`` event, and then the stream ends. MCP servers answer
            ``application/json`` or a stream.
        timeout: :class:`Timeouts` for connecting and for an idle stream.
        max_event_size: The most characters one event or line may hold (``None``: no
            limit); crossing it raises :class:`EventTooLarge`.
        hooks: A :class:`Hooks` object: told of every open, failure, wait, comment and
            close, and asked, failure by failure, whether to reconnect.

    Example:
        >>> source = EventSource(
        ...     "https://example.com/stream",
        ...     reconnect=ReconnectPolicy(after="errors", max_attempts=5),
        ...     timeout=Timeouts(idle=60),
        ... )
        >>> source.policy.max_attempts
        5
    """

    __slots__ = ("_client", "_core", "_owns_client")
    _client: Any  # the user's client, or the source's own, as the driver calls it

    def __init__(
        self,
        url: PerAttempt[URL | str],
        *,
        client: _ClientT | None = None,
        method: str = "GET",
        headers: PerAttempt[HeadersArg] = None,
        params: PerAttempt[Any] = None,
        content: Any = None,
        data: Any = None,
        json: Any = None,
        last_event_id: str = "",
        reconnect: ReconnectPolicy | bool | None = None,
        resume: ResumeArg = None,
        also_accept: Collection[str] = (),
        timeout: Timeouts = Timeouts(),  # noqa: B008 -- frozen, so one default is fine
        max_event_size: int | None = DEFAULT_MAX_EVENT_SIZE,
        hooks: Hooks | None = None,
    ) -> None:
        stack = stack_of(client)
        self._core = SourceCore(
            self,
            url,
            stack=stack,
            method=method,
            headers=headers,
            params=params,
            body={"content": content, "data": data, "json": json},
            last_event_id=last_event_id,
            reconnect=reconnect,
            resume=resume,
            also_accept=also_accept,
            timeout=timeout,
            max_event_size=max_event_size,
            hooks=hooks,
        )
        self._owns_client = client is None
        self._start(stack, client)

    def _start(self, stack: Stack, client: _ClientT | None) -> None:
        """Set up the driver: its client (the given one, or its own), its buffers."""
        raise NotImplementedError

    @property
    def ready_state(self) -> ReadyState:
        """CONNECTING, OPEN or CLOSED (spec: C-STATES)."""
        return self._core.ready_state

    @property
    def url(self) -> URL:
        """Where the next connection goes: after a redirect on the same origin, the
        stream's final URL (of the client's stack)."""
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
    def response(self) -> _ResponseT | None:
        """The current (or last) response: its status and headers."""
        response: _ResponseT | None = self._core.response
        return response

    @property
    def policy(self) -> ReconnectPolicy:
        """The reconnection policy in force."""
        return self._core.policy
