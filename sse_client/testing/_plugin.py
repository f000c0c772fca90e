"""The pytest plugin of sse_client: the ``sse_server`` fixture.

Loaded by pytest through the ``pytest11`` entry point; it imports nothing until a
test asks for the fixture.
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

    Example::

        def test_resume(sse_server):
            sse_server.route("/s", Stream(event("a", id="1")), Reply(204))
    """
    from ._server import SSEServer

    with SSEServer() as server:
        yield server
