"""The pytest plugin of sse_client: the ``sse_server`` fixture.

Loaded by every pytest run where sse-client is installed (the ``pytest11`` entry
point), so it stays cheap: the server module is imported only when a test asks for
the fixture.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from ._server import SSEServer


@pytest.fixture
def sse_server() -> Iterator[SSEServer]:
    """A started :class:`~sse_client.testing.SSEServer`, closed after the test.

    Yields:
        The server, with no routes yet; its ``url`` is ``http://127.0.0.1:<port>``.

    Example:
        >>> def test_resume(sse_server):  # doctest: +SKIP
        ...     sse_server.route("/s", Stream(event("a", id="1"), Drop()), Reply(204))
    """
    from ._server import SSEServer

    with SSEServer() as server:
        yield server
