"""The one module that knows the HTTP stacks: httpx2, the default, and httpx.

The two have the same API and design, in two modules whose classes do not mix: an
``httpx2.Client`` refuses an ``httpx.URL``. So the rest of the package asks
:func:`stack_of` for the :class:`Stack` a user's client or response comes from, and
builds URLs, headers, timeouts and clients with that stack's classes. httpx2 is always
imported; httpx never is: its classes are used only when the user's object comes from
it, and then it is imported already.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any, Final, TypeAlias

import httpx2

if TYPE_CHECKING:
    import httpx

    #: A blocking client of either stack.
    Client: TypeAlias = httpx2.Client | httpx.Client
    #: An async client of either stack.
    AsyncClient: TypeAlias = httpx2.AsyncClient | httpx.AsyncClient
    #: A response of either stack.
    Response: TypeAlias = httpx2.Response | httpx.Response
    #: A URL of either stack.
    URL: TypeAlias = httpx2.URL | httpx.URL

__all__ = ["HTTPX2", "Stack", "stack_of"]


@dataclass(frozen=True, slots=True)
class Stack:
    """One HTTP stack: its module, and the failures after which a source reconnects.

    Attributes:
        module: ``httpx2`` or ``httpx``; its classes build what the stack's client takes.
        retryable: The errors that reestablish a connection (spec: C-REESTABLISH): the
            network, timeouts (the idle timeout among them) and a broken HTTP exchange,
            such as an incomplete chunked body. Anything else (a bad URL, too many
            redirects) is raised.
    """

    module: Any
    retryable: tuple[type[Exception], ...]

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
        )


#: The default stack: what a source uses when the user gives no client.
HTTPX2: Final = Stack.of_module(httpx2)
_STACKS: dict[str, Stack] = {"httpx2": HTTPX2}


def stack_of(obj: object) -> Stack:
    """The stack a client, request or response comes from; ``None`` gives the default.

    Subclasses count (the LLM SDKs wrap the client), so the class's ancestry decides.

    Raises:
        TypeError: ``obj`` comes from neither stack.

    Example:
        >>> stack_of(httpx2.Client()).module.__name__
        'httpx2'
    """
    if obj is None:
        return HTTPX2
    for cls in type(obj).__mro__:
        name = cls.__module__.partition(".")[0]
        if name in ("httpx2", "httpx"):
            stack = _STACKS.get(name)
            if stack is None:
                stack = _STACKS[name] = Stack.of_module(sys.modules[name])
            return stack
    raise TypeError(
        f"expected a client of httpx2 (or httpx), got {type(obj).__module__}.{type(obj).__name__}"
    )
