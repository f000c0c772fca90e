"""Shared fixtures: every async test runs on asyncio and on trio."""

from __future__ import annotations

import pytest

from .drivers import Driver, drive_async, drive_sync

# Loaded here rather than through its entry point, so that coverage sees the plugin
# module imported (see addopts in pyproject.toml).
pytest_plugins = ["sse_client_pytest"]


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Run each ``@pytest.mark.anyio`` test once per backend."""
    backend: str = request.param
    return backend


@pytest.fixture(params=["sync", "asyncio", "trio"])
def drive(request: pytest.FixtureRequest) -> Driver:
    """Consume a source through EventSource, or AsyncEventSource on asyncio or trio."""
    return drive_sync if request.param == "sync" else drive_async(request.param)
