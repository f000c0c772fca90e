"""The pytest plugin of sse-client: the ``sse_server`` fixture.

pytest loads this module (the ``pytest11`` entry point) in every run of every project
where sse-client is installed, whether or not a test uses the fixture. It lives outside
the ``sse_client`` package on purpose: importing anything inside the package runs
``sse_client/__init__.py``, which loads the clients and their HTTP stack (about a
tenth of a second). Here only pytest is imported; the server comes in when a test
first asks for the fixture.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from sse_client.testing import SSEServer

__all__ = ["sse_server"]


@pytest.fixture
def sse_server() -> Iterator[SSEServer]:
    """A started :class:`~sse_client.testing.SSEServer`, closed after the test.

    Yields:
        The server, with no routes yet; its ``url`` is ``http://127.0.0.1:<port>``.

    Example:
        >>> def test_resume(sse_server):  # doctest: +SKIP
        ...     sse_server.route("/s", Stream(event("a", id="1"), Drop()), Reply(204))
    """
    from sse_client.testing import SSEServer

    with SSEServer() as server:
        yield server
