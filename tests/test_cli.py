"""The command line, called in-process against a loopback server, and as a process."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from sse_client.__main__ import main
from sse_client.testing import Reply, SSEServer, Stall, Stream, event


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(list(argv), stdout=out, stderr=err)
    return status, out.getvalue(), err.getvalue()


def test_prints_one_readable_line_per_event(sse_server: SSEServer) -> None:
    """TYPE #ID: DATA, line breaks shown as \\n; a 204 ends with status 0."""
    sse_server.route(
        "/s", Stream(event("hello", event="greet", id="1"), event("two\nlines")), Reply(204)
    )
    status, out, err = run(sse_server.url + "/s", "--no-reconnect")
    assert status == 0
    assert out == "greet #1: hello\nmessage #1: two\\nlines\n"
    assert err == ""


def test_json_lines(sse_server: SSEServer) -> None:
    """--json prints exact JSON lines with event, data and id."""
    sse_server.route("/s", Stream(event("two\nlines", id="9")))
    status, out, _ = run(sse_server.url + "/s", "--json", "--no-reconnect")
    assert status == 0
    assert [json.loads(line) for line in out.splitlines()] == [
        {"event": "message", "data": "two\nlines", "id": "9"}
    ]


def test_request_options_reach_the_server(sse_server: SSEServer) -> None:
    """-H, -X, --json-body and --last-event-id shape the request."""
    sse_server.route("/s", Stream(event("ok")))
    status, _, _ = run(
        sse_server.url + "/s",
        "-H",
        "Authorization: Bearer t",
        "-H",
        "X-Two:  spaced ",
        "-X",
        "PUT",
        "--json-body",
        '{"q": 1}',
        "--last-event-id",
        "41",
    )
    assert status == 0
    (request,) = sse_server.requests
    assert request.method == "PUT"
    assert request.headers["authorization"] == "Bearer t"
    assert request.headers["x-two"] == "spaced"
    assert json.loads(request.body) == {"q": 1}
    assert request.last_event_id == "41"


def test_data_posts_and_does_not_reconnect_unless_asked(
    sse_server: SSEServer, tmp_path: Path
) -> None:
    """-d makes a POST, which is not replayed; --reconnect replays it; @FILE reads a file."""
    sse_server.route("/s", Stream(event("a", id="1")), Stream(event("b", id="2")), Reply(204))
    status, out, _ = run(sse_server.url + "/s", "-d", "raw body")
    assert (status, out) == (0, "message #1: a\n")
    assert sse_server.requests[0].method == "POST"
    assert sse_server.requests[0].body == b"raw body"
    body = tmp_path / "body.txt"
    body.write_bytes(b"from a file")
    sse_server.route("/t", Stream(event("a", id="1")), Reply(204))
    status, out, _ = run(sse_server.url + "/t", "-d", f"@{body}", "--reconnect")
    assert (status, out) == (0, "message #1: a\n")
    assert [r.body for r in sse_server.requests[1:]] == [b"from a file", b"from a file"]


def test_max_events_stops_with_success(sse_server: SSEServer) -> None:
    """--max-events N ends the run after N events, status 0."""
    sse_server.route("/s", Stream(event("a"), event("b"), event("c"), Stall()))
    status, out, _ = run(sse_server.url + "/s", "--max-events", "2")
    assert (status, out.splitlines()) == (0, ["message: a", "message: b"])


def test_verbose_tells_the_lifecycle_and_comments_are_printed(sse_server: SSEServer) -> None:
    """-v writes connects, losses and retries to stderr; --comments prints comment lines."""
    sse_server.route(
        "/s", Stream(event(None, retry=1), b": ping\n", event("a", id="1")), Reply(204)
    )
    status, out, err = run(sse_server.url + "/s", "-v", "--comments")
    assert status == 0
    assert out == ": ping\nmessage #1: a\n"
    lines = err.splitlines()
    assert lines[0].startswith("* connected: 200 OK ")
    assert lines[1] == "* connection lost: the server ended the stream"
    assert lines[2].startswith("* reconnecting in ")
    assert lines[2].endswith("with Last-Event-ID '1'")
    assert lines[3] == "* closed: the server answered 204, the stream is over"


def test_comments_in_json(sse_server: SSEServer) -> None:
    """With --json, comments are JSON lines too."""
    sse_server.route("/s", Stream(b":ka\n\n"))
    _, out, _ = run(sse_server.url + "/s", "--json", "--comments", "--no-reconnect")
    assert json.loads(out) == {"comment": "ka"}


def test_failed_connection_is_one_line_and_status_1(sse_server: SSEServer) -> None:
    """A refused stream prints one line with the status and the body, no traceback."""
    sse_server.route("/s", Reply(403, b"no token"))
    status, out, err = run(sse_server.url + "/s")
    assert status == 1
    assert out == ""
    assert err == "error: expected status 200, got 403 Forbidden; body: 'no token'\n"


def test_network_failure_is_status_1() -> None:
    """A refused connection without reconnection is a one-line failure."""
    with SSEServer() as server:
        url = server.url
    status, _, err = run(url + "/s", "--no-reconnect")
    assert status == 1
    assert err.startswith("error: ConnectError: ")
    assert len(err.splitlines()) == 1


def test_idle_timeout_option(sse_server: SSEServer) -> None:
    """--idle-timeout ends a silent connection (then, without reconnection, the run)."""
    sse_server.route("/s", Stream(event("a"), Stall()))
    status, out, err = run(sse_server.url + "/s", "--idle-timeout", "0.2", "--no-reconnect")
    assert (status, out) == (1, "message: a\n")
    assert err.startswith("error: ReadTimeout")


def test_ctrl_c_is_status_130(sse_server: SSEServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C during the stream exits 130 with a short note."""
    sse_server.route("/s", Stream(event("a"), Stall()))

    def interrupt(self: object, event: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("sse_client._cli._Printer.event", interrupt)
    status, _, err = run(sse_server.url + "/s")
    assert (status, err) == (130, "interrupted\n")


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["http://x", "--demo"],
        ["http://x", "-H", "no colon"],
        ["http://x", "--max-events", "0"],
        ["http://x", "-d", "a", "--json-body", "{}"],
        ["http://x", "--json-body", "{not json"],
        ["http://x", "-d", "@/no/such/file"],
    ],
)
def test_bad_arguments_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """Bad arguments are argparse's business: status 2 and a usage line."""
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert "usage:" in capsys.readouterr().err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    """--version prints the package version."""
    import sse_client

    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.strip() == f"sse-client {sse_client.__version__}"


def test_demo_runs_by_itself() -> None:
    """python -m sse_client --demo: tokens, a drop, a resume, a 204, status 0."""
    result = subprocess.run(
        [sys.executable, "-m", "sse_client", "--demo"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("message_start #1: ")
    assert lines[-1].startswith("message_stop #21: ")
    tokens = [json.loads(line.partition(": ")[2])["delta"]["text"] for line in lines[1:-1]]
    assert "".join(tokens).startswith("Server-Sent Events stream text")
    assert [line.split(" ", 1)[0] for line in lines[1:-1]] == ["content_block_delta"] * 19
    assert "reconnecting in" in result.stderr
    assert "Last-Event-ID '10'" in result.stderr
    assert "the server answered 204" in result.stderr


def test_closed_pipe_exits_quietly() -> None:
    """`... | head -1`: the reader goes away; no traceback, status 0."""
    process = subprocess.Popen(
        [sys.executable, "-m", "sse_client", "--demo"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None
    assert process.stdout.readline().startswith(b"message_start")
    process.stdout.close()
    _, err = process.communicate(timeout=60)
    assert process.returncode == 0
    assert b"Traceback" not in err
