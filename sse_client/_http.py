"""The one module that knows the HTTP stacks: httpx2, the default, httpx and aiohttp.

httpx2 and httpx have the same API and design, in two modules whose classes do not mix:
an ``httpx2.Client`` refuses an ``httpx.URL``. So the rest of the package asks
:func:`stack_of` for the :class:`Stack` a user's client or response comes from, and
builds URLs, headers, timeouts and clients with that stack's classes. An
``aiohttp.ClientSession`` (async only) is seen through ``_aiohttp``, which gives it the
few httpx2 calls a source makes. httpx2 is always imported; httpx and aiohttp never
are: they are used only when the user's object comes from them, and then they are
imported already.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import ssl
import sys
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any, Final, TypeAlias

import httpx2

from ._watch import IdleWatchdog

if TYPE_CHECKING:
    import aiohttp
    import httpx

    from . import _aiohttp

    #: A blocking client of either stack.
    Client: TypeAlias = httpx2.Client | httpx.Client
    #: An async client of any stack.
    AsyncClient: TypeAlias = httpx2.AsyncClient | httpx.AsyncClient | aiohttp.ClientSession
    #: A response of either stack.
    Response: TypeAlias = httpx2.Response | httpx.Response
    #: A response of any async stack (aiohttp's, seen through ``_aiohttp.Response``).
    AsyncResponse: TypeAlias = httpx2.Response | httpx.Response | _aiohttp.Response
    #: A URL of either stack.
    URL: TypeAlias = httpx2.URL | httpx.URL

__all__ = ["HTTPX2", "Stack", "as_response", "own_stream", "shut_down", "stack_of"]


@dataclass(frozen=True, slots=True)
class Stack:
    """One HTTP stack: its module, and the failures after which a source reconnects.

    Attributes:
        module: ``httpx2``, ``httpx``, or ``_aiohttp`` for aiohttp; its classes build
            what the stack's client takes.
        retryable: The errors that reestablish a connection (spec: C-REESTABLISH): the
            network, timeouts (the idle timeout among them) and a broken HTTP exchange,
            such as an incomplete chunked body.
        errors: All the stack's own errors. Those not retryable (a bad URL, too many
            redirects), like a certificate that does not verify, no retry can mend.
        blocking: Whether the stack has blocking clients too (aiohttp has none).
        adapter: What gives the user's async client the httpx2 calls a source makes,
            for a stack that lacks them (aiohttp).
        wakes_reads: Whether every response can wake its own read from another task
            (aiohttp's ``interrupt``); on the others, see :meth:`waker`.
        malformed: Whether an error of the stack says that a response could not be
            read (a garbled status line, a header line too long), for a stack whose
            type for it is not among ``retryable`` (aiohttp): retryable too, as httpx2's
            ``RemoteProtocolError`` is.
    """

    module: Any
    retryable: tuple[type[Exception], ...]
    errors: tuple[type[Exception], ...]
    blocking: bool = True
    adapter: Callable[[Any], Any] | None = None
    wakes_reads: bool = False
    malformed: Callable[[BaseException], bool] | None = None

    def retries(self, error: BaseException) -> bool:
        """Whether a source reconnects after ``error`` (spec: C-REESTABLISH)."""
        return isinstance(error, self.retryable) or (
            self.malformed is not None and self.malformed(error)
        )

    def waker(
        self, response: Any, idle: float | None = None, waiting: Callable[[], bool] | None = None
    ) -> Any:
        """What can wake a read of ``response`` blocked in another task, so that the
        read needs no cancel scope: an object whose ``interrupt(error)`` does it, whose
        ``release()`` ends its work once the read is over, and whose ``timed_out`` says
        whether it ended a read for the idle timeout; or ``None`` when only a cancel
        scope can wake the read.

        aiohttp's response wakes its reader itself, and keeps the idle timeout with a
        watchdog of its own (counting only while the source is ``waiting``). An HTTP/1.1
        response of httpx2 or httpx has a connection of its own, whose socket, shut
        down, wakes the read; on asyncio the waker keeps the body's idle timeout too
        (``idle`` seconds without a byte while the source is ``waiting`` for one), in
        place of the timer httpcore arms at every read. Over HTTP/2 the connection
        carries the client's other streams, and a mock transport has no socket: ``None``.
        """
        if self.wakes_reads:
            if waiting is not None:
                response.count_idle_while(waiting)
            return response
        sock = _socket(own_stream(response))
        if sock is None:
            return None
        wake = _Shutdown(sock)
        if idle is not None and waiting is not None and _asyncio_loop() is not None:
            wake.watch(response, idle, waiting, self.module.ReadTimeout)
        return wake

    def new_client(self, *, blocking: bool, **options: Any) -> Any:
        """A client of this stack for a source that was given none.

        Its TLS context is shared with the other clients sources make for themselves:
        loading the system's certificates takes milliseconds per context (about a
        quarter of a short stream's time end to end), and a context serves any number
        of connections. A new one is made when ``SSL_CERT_FILE`` or ``SSL_CERT_DIR``
        changes, as a new client would read them.
        """
        key = (
            self.module.__name__,
            os.environ.get("SSL_CERT_FILE"),
            os.environ.get("SSL_CERT_DIR"),
        )
        context = _TLS_CONTEXTS.get(key)
        if context is None:
            context = _TLS_CONTEXTS[key] = self.module.create_ssl_context()
        client_class = self.module.Client if blocking else self.module.AsyncClient
        return client_class(verify=context, **options)

    def async_client(self, client: Any) -> Any:
        """The user's async client, as the async driver calls it."""
        return client if self.adapter is None else self.adapter(client)

    @classmethod
    def of_module(cls, module: ModuleType) -> Stack:
        """The stack of an imported ``httpx2`` or ``httpx`` module."""
        return cls(
            module,
            retryable=(
                module.NetworkError,
                module.TimeoutException,
                module.RemoteProtocolError,
                module.ProxyError,
            ),
            errors=(module.HTTPError, module.InvalidURL),
        )


#: The TLS contexts of the clients sources make, by stack and certificate settings.
_TLS_CONTEXTS: dict[tuple[str, str | None, str | None], ssl.SSLContext] = {}

#: The default stack: what a source uses when the user gives no client.
HTTPX2: Final = Stack.of_module(httpx2)
_STACKS: dict[str, Stack] = {"httpx2": HTTPX2}


def stack_of(obj: object) -> Stack:
    """The stack a client, request or response comes from; ``None`` gives the default.

    Subclasses count (the LLM SDKs wrap the client), so the class's ancestry decides.

    Raises:
        TypeError: ``obj`` comes from none of the stacks.

    Example:
        >>> stack_of(httpx2.Client()).module.__name__
        'httpx2'
    """
    if obj is None:
        return HTTPX2
    name = _stack_name(obj)
    if name is not None:
        stack = _STACKS.get(name)
        if stack is None:
            stack = _STACKS[name] = _load(name)
        return stack
    raise TypeError(
        "expected a client of httpx2 (or httpx, or an aiohttp.ClientSession), got "
        f"{type(obj).__module__}.{type(obj).__name__}"
    )


def _stack_name(obj: object) -> str | None:
    # The first stack in the class's ancestry: SDKs subclass the stacks' classes.
    for cls in type(obj).__mro__:
        name = cls.__module__.partition(".")[0]
        if name in ("httpx2", "httpx", "aiohttp"):
            return name
    return None


def _load(name: str) -> Stack:
    if name == "aiohttp":
        from . import _aiohttp

        return Stack(
            _aiohttp,
            _aiohttp.RETRYABLE,
            _aiohttp.ERRORS,
            blocking=False,
            adapter=_aiohttp.Session,
            wakes_reads=True,
            malformed=_aiohttp.malformed,
        )
    return Stack.of_module(sys.modules[name])


def own_stream(response: Any) -> Any:
    """The network stream under an httpx2 or httpx response when the connection is the
    response's own (HTTP/1.1): ``None`` over HTTP/2, whose connection carries the
    client's other streams, and with a transport that has none (a mock)."""
    if response.http_version == "HTTP/2":
        return None
    return response.extensions.get("network_stream")


def shut_down(stream: Any) -> None:
    """Shut down the socket under an httpcore network stream (if it has one): a read
    blocked on it in another thread or task returns at once, where closing the socket
    would not wake it. The connection is lost; nothing else on the client is."""
    sock = _socket(stream)
    if sock is not None:
        _shut(sock)


def _socket(stream: Any) -> Any:
    # The standard library's socket, asyncio's view of it, or trio's: all shut down.
    sock = None if stream is None else stream.get_extra_info("socket")
    return sock if callable(getattr(sock, "shutdown", None)) else None


def _shut(sock: Any) -> None:
    with contextlib.suppress(OSError):  # already closed: nothing to wake
        sock.shutdown(socket.SHUT_RDWR)


class _Shutdown(IdleWatchdog):
    """Wakes the read on a socket by shutting it down; the read then fails, or ends
    as a body delimited by the connection's close does, and the source, knowing it
    interrupted the read, takes it for the interruption it is.

    On asyncio it can keep the body's idle timeout too (see :meth:`watch`).
    """

    __slots__ = ("_error", "_response", "_socket", "timed_out")

    def __init__(self, sock: Any) -> None:
        super().__init__()
        self._socket = sock
        #: The error for the read this waker ended for the idle timeout, if it did.
        self.timed_out: Exception | None = None

    def interrupt(self, error: BaseException) -> None:
        _shut(self._socket)

    def watch(
        self,
        response: Any,
        idle: float,
        waiting: Callable[[], bool],
        error: Callable[[str], Exception],
    ) -> None:
        """Keep the idle timeout of ``response``'s body, in place of the timer httpcore
        arms at every read (see ``_watch``): shut the socket down once the source has
        waited ``idle`` seconds for a byte, and say so in ``timed_out``."""
        # httpcore reads the body's timeouts when its first read starts: from here on
        # the body's reads wait without a timer of their own.
        timeouts = response.request.extensions.get("timeout")
        if isinstance(timeouts, dict):
            timeouts["read"] = None
        self._response, self._error = response, error
        self.count_idle_while(waiting)
        self._watch(idle)

    def _bytes_read(self) -> int:
        return int(self._response.num_bytes_downloaded)

    def _expire(self, message: str) -> None:
        self.timed_out = self._error(message)
        _shut(self._socket)


def _asyncio_loop() -> asyncio.AbstractEventLoop | None:
    # The running asyncio loop; None under trio, whose deadlines cost no timer per read.
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def as_response(obj: object) -> Any:
    """An aiohttp ``ClientResponse`` seen through ``_aiohttp.Response``; anything else
    as it is."""
    if _stack_name(obj) == "aiohttp":
        from ._aiohttp import Response

        return Response(obj)  # type: ignore[arg-type]
    return obj
