"""Shared fixtures: every async test runs on asyncio and on trio."""

from __future__ import annotations

import importlib
from types import ModuleType

import pytest

from .drivers import Driver, OnStack, drive_async, drive_sync

# Loaded here rather than through its entry point, so that coverage sees the plugin
# module imported (see addopts in pyproject.toml).
pytest_plugins = ["sse_client_pytest"]


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Run each ``@pytest.mark.anyio`` test once per backend."""
    backend: str = request.param
    return backend


@pytest.fixture(
    params=[
        *(
            pytest.param((driver, stack), id=f"{driver}-{stack}")
            for stack in ("httpx2", "httpx")
            for driver in ("sync", "asyncio", "trio")
        ),
        pytest.param(("asyncio", "aiohttp"), id="asyncio-aiohttp"),
    ]
)
def drive(request: pytest.FixtureRequest) -> Driver:
    """Consume a source through EventSource, or AsyncEventSource on asyncio or trio, on
    the default httpx2 stack or through a user's httpx client; and AsyncEventSource on
    asyncio through a user's aiohttp session."""
    driver, stack = request.param
    if driver == "sync":
        return OnStack(drive_sync, stack, is_async=False)
    return OnStack(drive_async(driver), stack, is_async=True)


@pytest.fixture(params=["httpx2", "httpx"])
def http(request: pytest.FixtureRequest) -> ModuleType:
    """The HTTP stack a test's own client comes from: httpx2 (the default) and httpx."""
    return importlib.import_module(request.param)
