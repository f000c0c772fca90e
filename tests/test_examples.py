"""Every example runs, on its own local server, and prints what it promises."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run_example(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *argv],
        cwd=EXAMPLES,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_llm_stream() -> None:
    """POST with a JSON body, tokens until [DONE], an in-band error surfaced."""
    result = run_example("llm_stream.py")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Hello, world!\nthe server said: try again later\n"


def test_notifications() -> None:
    """Every notification once, resumed after a drop through Last-Event-ID."""
    result = run_example("notifications.py")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line for line in lines if line.startswith("#")] == [
        f"#{n}: notification {n}" for n in range(1, 6)
    ]
    assert "(connection lost; resuming after id 2 in 0.1 s)" in lines
    assert lines[-1] == "feed closed by the server"


def test_trio_usage() -> None:
    """AsyncEventSource on trio reads the whole feed and ends CLOSED."""
    result = run_example("trio_usage.py")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 6
    assert lines[-1] == "done on trio, ready state CLOSED"


def test_testing_example_runs_under_pytest_with_the_installed_plugin() -> None:
    """A user's tests get the sse_server fixture from the installed plugin."""
    result = run_example(
        "-m", "pytest", "testing_example.py", "-q", "-p", "no:cacheprovider", "-o", "addopts="
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


@pytest.mark.parametrize(
    ("name", "server", "path", "last_line"),
    [
        ("llm_stream.py", "openai_compatible", "", "the server said: try again later"),
        ("notifications.py", "notification_feed", "/notifications", "feed closed by the server"),
        (
            "trio_usage.py",
            "notification_feed",
            "/notifications",
            "done on trio, ready state CLOSED",
        ),
    ],
)
def test_examples_take_a_url(name: str, server: str, path: str, last_line: str) -> None:
    """Each example also runs against a URL given on its command line."""
    sys.path.insert(0, str(EXAMPLES))
    try:
        _servers = importlib.import_module("_servers")
    finally:
        sys.path.remove(str(EXAMPLES))
    with getattr(_servers, server)() as running:
        result = run_example(name, running.url + path)
        assert result.returncode == 0, result.stderr
        assert result.stdout.splitlines()[-1] == last_line
        assert running.requests
