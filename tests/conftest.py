"""Shared fixtures: every async test runs on asyncio and on trio."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
import trustme

from .drivers import Driver, OnStack, drive_async, drive_sync
from .servers import one_stream_server, server_context

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


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    """A certificate authority made for the tests; no system trusts it."""
    return trustme.CA()


@pytest.fixture
def tls_url(ca: trustme.CA, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The URL of a one-event stream over TLS, with a certificate for 127.0.0.1 from ``ca``."""
    for name in ("SSL_CERT_FILE", "SSL_CERT_DIR"):
        monkeypatch.delenv(name, raising=False)
    with one_stream_server(tls=server_context(ca)) as url:
        yield url


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> str:
    """The test CA's certificate as a PEM file."""
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)
