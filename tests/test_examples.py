"""Every example runs, alone (on its own local server) and against a URL, and prints what it says.

The examples run as processes, all started at once by a module fixture so that their
start-up times overlap; each test then waits for the run it checks.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

from sse_client.testing import SSEServer

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
TIMEOUT = 30.0  # seconds a run may take before the test fails


def load_servers() -> ModuleType:
    """examples/_servers.py, imported under a name of its own."""
    spec = importlib.util.spec_from_file_location("examples_servers", EXAMPLES / "_servers.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def start_python(*argv: str, cwd: Path) -> subprocess.Popen[str]:
    """Start ``python ARGV`` in ``cwd``, its output piped as text."""
    return subprocess.Popen(
        [sys.executable, *argv],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@dataclass
class Runs:
    """The example runs under way, and the servers the URL runs talk to."""

    processes: dict[str, subprocess.Popen[str]]
    servers: dict[str, SSEServer]

    def output(self, name: str) -> str:
        """Wait for a run and return its stdout; fail unless it exited with 0, stderr empty."""
        process = self.processes[name]
        out, err = process.communicate(timeout=TIMEOUT)
        assert (process.returncode, err) == (0, ""), out + err
        return out


@pytest.fixture(scope="module")
def runs() -> Iterator[Runs]:
    """Start every example run at once: each alone, each against a URL, and the pytest one."""
    servers_module = load_servers()
    with ExitStack() as stack:
        servers = {
            "llm": stack.enter_context(servers_module.openai_compatible()),
            "notifications": stack.enter_context(servers_module.notification_feed()),
            "trio": stack.enter_context(servers_module.notification_feed()),
            "many": stack.enter_context(servers_module.notification_feed()),
            "mcp": stack.enter_context(servers_module.mcp_server()),
        }
        commands = {
            "llm alone": ["llm_stream.py"],
            "llm url": ["llm_stream.py", servers["llm"].url],
            "notifications alone": ["notifications.py"],
            "notifications url": [
                "notifications.py",
                servers["notifications"].url + "/notifications",
            ],
            "trio alone": ["trio_usage.py"],
            "trio url": ["trio_usage.py", servers["trio"].url + "/notifications"],
            "many alone": ["many_streams.py"],
            "many url": ["many_streams.py", servers["many"].url + "/notifications"],
            "mcp alone": ["mcp_client.py"],
            "mcp url": ["mcp_client.py", servers["mcp"].url + "/mcp"],
        }
        processes = {name: start_python(*argv, cwd=EXAMPLES) for name, argv in commands.items()}
        # As a user would run their tests: from the project's root, with pytest.
        processes["pytest"] = start_python(
            "-m", "pytest", "examples/testing_example.py", "-p", "no:cacheprovider", cwd=ROOT
        )
        for process in processes.values():
            stack.callback(finish, process)
        yield Runs(processes, servers)


def finish(process: subprocess.Popen[str]) -> None:
    """Kill a run no test waited for, and reap it (closing its pipes)."""
    if process.returncode is None:
        process.kill()
        process.communicate()


def test_every_example_is_checked_here() -> None:
    """No example escapes this module: each file under examples/ is named in a test below."""
    checked = {
        "llm_stream.py",
        "notifications.py",
        "trio_usage.py",
        "testing_example.py",
        "many_streams.py",
        "mcp_client.py",
    }
    examples = {path.name for path in EXAMPLES.glob("*.py") if not path.name.startswith("_")}
    assert examples == checked


LLM_OUTPUT = "Hello, world!\nthe server said: try again later\n"


def test_llm_stream_alone(runs: Runs) -> None:
    """Tokens print as they come until [DONE]; an in-band error event becomes an exception."""
    assert runs.output("llm alone") == LLM_OUTPUT


def test_llm_stream_posts_json_to_a_url(runs: Runs) -> None:
    """Against a URL: two POSTs with JSON bodies, neither resent when its stream ends."""
    assert runs.output("llm url") == LLM_OUTPUT
    requests = runs.servers["llm"].requests
    assert [(r.method, r.path) for r in requests] == [("POST", "/v1/chat/completions")] * 2
    assert all(r.headers["content-type"] == "application/json" for r in requests)
    bodies = [json.loads(r.body) for r in requests]
    assert [body["messages"][-1]["content"] for body in bodies] == ["Say hello", "please fail"]
    assert all(body["stream"] is True for body in bodies)


NOTIFICATIONS = [f"#{n}: notification {n}" for n in range(1, 6)]


def test_notifications_alone(runs: Runs) -> None:
    """Every notification once, a drop after the second, a resume, then the server's 204."""
    assert runs.output("notifications alone").splitlines() == [
        *NOTIFICATIONS[:2],
        "(reconnecting in 0.1 s; resuming after id 2)",
        *NOTIFICATIONS[2:],
        # Both connections delivered events: each end waits the server's retry: exactly.
        "(reconnecting in 0.1 s; resuming after id 5)",
        "feed closed by the server",
    ]


def test_notifications_resume_with_last_event_id(runs: Runs) -> None:
    """Against a URL: each reconnection sends the last ID it saw."""
    assert runs.output("notifications url").splitlines()[-1] == "feed closed by the server"
    requests = runs.servers["notifications"].requests
    # spec: C-LASTID
    assert [r.last_event_id for r in requests] == [None, "2", "5"]


def trio_lines() -> list[str]:
    notes = [json.dumps({"n": n, "text": f"notification {n}"}) for n in range(1, 6)]
    return [f"notification {n}: {note}" for n, note in enumerate(notes, 1)]


def test_trio_usage_alone(runs: Runs) -> None:
    """AsyncEventSource on trio reads the whole feed, across the drop, and ends CLOSED."""
    assert runs.output("trio alone").splitlines() == [
        *trio_lines(),
        "done on trio, ready state CLOSED",
    ]


def test_trio_usage_against_a_url(runs: Runs) -> None:
    """Against a URL, on trio, the feed resumes from Last-Event-ID as well."""
    assert runs.output("trio url").splitlines() == [
        *trio_lines(),
        "done on trio, ready state CLOSED",
    ]
    assert [r.last_event_id for r in runs.servers["trio"].requests] == [None, "2", "5"]


def test_testing_example_passes_under_pytest(runs: Runs) -> None:
    """A user's tests get the sse_server fixture from the installed plugin, and pass."""
    assert "3 passed" in runs.output("pytest")


MANY_OUTPUT = "50 streams, 250 events: 50 got every event once, in order\n"


def test_many_streams_alone(runs: Runs) -> None:
    """Fifty streams on one aiohttp session: each resumes after its drop, none loses an event."""
    assert runs.output("many alone") == MANY_OUTPUT


def test_many_streams_against_a_url(runs: Runs) -> None:
    """Against a URL: every stream connects, drops, resumes from its last id, and ends."""
    assert runs.output("many url") == MANY_OUTPUT
    resumed = [r.last_event_id for r in runs.servers["many"].requests]
    assert resumed.count(None) == resumed.count("2") == resumed.count("5") == 50


def mcp_line(tool: str) -> str:
    result = {"content": [{"type": "text", "text": f"{tool}: done"}], "isError": False}
    return json.dumps({"tool": tool, "result": result})


MCP_OUTPUT = [mcp_line("hello"), mcp_line("report")]


def test_mcp_client_alone(runs: Runs) -> None:
    """One JSON line per tool without arguments: "greet" needs one and is left alone;
    "report", whose stream ends after its priming event, is printed once."""
    assert runs.output("mcp alone").splitlines() == MCP_OUTPUT


def test_mcp_client_keeps_its_session_and_resumes_with_a_get(runs: Runs) -> None:
    """Against a URL: initialize (answered as JSON) gives the session ID that every later
    request carries; the call whose stream ended after its priming event is resumed by a
    GET with no body, Last-Event-ID and the session's headers; DELETE ends the session."""
    assert runs.output("mcp url").splitlines() == MCP_OUTPUT
    requests = runs.servers["mcp"].requests
    sent = [json.loads(r.body).get("method") if r.body else None for r in requests]
    assert list(zip([r.method for r in requests], sent, strict=True)) == [
        ("POST", "initialize"),
        ("POST", "notifications/initialized"),
        ("POST", "tools/list"),
        ("POST", "tools/call"),
        ("POST", "tools/call"),
        ("GET", None),
        ("DELETE", None),
    ]
    assert "mcp-session-id" not in requests[0].headers
    for request in requests[1:]:
        assert request.headers["mcp-session-id"] == "stand-in-1"
        assert request.headers["mcp-protocol-version"] == "2025-11-25"
    assert requests[2].headers["accept"] == "text/event-stream, application/json"
    assert json.loads(requests[4].body)["params"] == {"name": "report", "arguments": {}}
    assert requests[5].last_event_id == "4/0"  # the priming event of JSON-RPC request 4
