"""The command line, called in-process against a loopback server, and as a process."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import trustme

from sse_client.__main__ import main, run
from sse_client.testing import Drop, Reply, SSEServer, Stall, Stream, event

from .servers import one_stream_server, raw_server

Capture = pytest.CaptureFixture[str]


def refused_url() -> str:
    """A loopback URL nothing listens on (the port of a server already closed)."""
    with SSEServer() as server:
        return server.url + "/s"


def python_m_sse_client(*argv: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Start ``python -m sse_client ARGV`` with its stdout and stderr piped."""
    return subprocess.Popen(
        [sys.executable, "-m", "sse_client", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )


def test_prints_one_readable_line_per_event(sse_server: SSEServer, capsys: Capture) -> None:
    """TYPE #ID: DATA, line breaks shown as \\n; a 204 ends the run with status 0."""
    sse_server.route(
        "/s",
        Stream(event("hello", event="greet", id="1"), event("two\nlines"), event("", id="")),
        Reply(204),
    )
    status = main([sse_server.url + "/s", "--reconnection-time", "0"])
    assert status == 0
    # The id is sticky (spec: D-ID) until an empty id: field resets it.
    assert capsys.readouterr() == (
        "greet #1: hello\nmessage #1: two\\nlines\nmessage: \n",
        "* the server ended the stream (--follow resumes)\n",
    )


def test_json_lines_are_exact(sse_server: SSEServer, capsys: Capture) -> None:
    """--json prints one JSON object per event with event, data, id and retry (the
    block's retry: field, which the readable form does not show)."""
    sse_server.route("/s", Stream(event("two\nlines", id="9"), event("\\n", event="x", retry=2500)))
    status = main([sse_server.url + "/s", "--json", "--no-reconnect"])
    assert status == 0
    assert [json.loads(line) for line in capsys.readouterr().out.splitlines()] == [
        {"event": "message", "data": "two\nlines", "id": "9", "retry": None},
        {"event": "x", "data": "\\n", "id": "9", "retry": 2500},
    ]


def test_until_ends_at_the_first_event_of_a_type(sse_server: SSEServer, capsys: Capture) -> None:
    """--until TYPE prints that event and exits 0, even with --follow: a stream that is
    done (an LLM's message_stop) is not reconnected, which would start it over."""
    sse_server.route(
        "/s",
        Stream(
            event("{}", event="message_start", id="1"),
            event("{}", event="content_block_delta", id="2"),
            event("{}", event="message_stop", id="3"),
            event("after", id="4"),
        ),
    )
    assert main([sse_server.url + "/s", "--until", "message_stop", "--follow"]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        "message_start #1: {}",
        "content_block_delta #2: {}",
        "message_stop #3: {}",
    ]
    assert err == ""
    assert len(sse_server.requests) == 1


def test_request_options_reach_the_server(sse_server: SSEServer) -> None:
    """-H (repeatable; UTF-8 values), -X, --json-body and --last-event-id shape the request."""
    sse_server.route("/s", Stream(event("ok")))
    status = main(
        [
            sse_server.url + "/s",
            "-H",
            "Authorization: Bearer t",
            "-H",
            "X-Two:  spaced ",
            "--header",
            "X-Name: Zoë",
            "-X",
            "put",
            "--json-body",
            '{"q": 1}',
            "--last-event-id",
            "41",
        ]
    )
    assert status == 0
    (request,) = sse_server.requests
    assert request.method == "PUT"
    assert request.headers["authorization"] == "Bearer t"
    assert request.headers["x-two"] == "spaced"
    assert request.headers["x-name"].encode("latin-1").decode("utf-8") == "Zoë"
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.body) == {"q": 1}
    assert request.last_event_id == "41"


def test_a_body_makes_a_post_that_is_not_resent(sse_server: SSEServer, capsys: Capture) -> None:
    """-d sends a POST; when its stream ends the run ends, since a POST is not resent."""
    sse_server.route("/s", Stream(event(None, retry=10), event("a", id="1")), Reply(204))
    status = main([sse_server.url + "/s", "-d", "raw body"])
    assert (status, capsys.readouterr().out) == (0, "message #1: a\n")
    assert [(r.method, r.body) for r in sse_server.requests] == [("POST", b"raw body")]


def test_other_methods_do_not_reconnect_by_default(sse_server: SSEServer) -> None:
    """-X POST without a body still ends with its stream."""
    sse_server.route("/s", Stream(event("a", id="1")), Reply(204))
    assert main([sse_server.url + "/s", "-X", "POST"]) == 0
    assert [(r.method, r.body) for r in sse_server.requests] == [("POST", b"")]


def test_reconnect_resends_a_body_read_from_a_file(
    sse_server: SSEServer, tmp_path: Path, capsys: Capture
) -> None:
    """--reconnect opts a POST into reconnection; -d @FILE reads the body from a file."""
    body = tmp_path / "body.txt"
    body.write_bytes(b"from a file\n")
    sse_server.route("/s", Stream(event(None, retry=10), event("a", id="1")), Reply(204))
    status = main([sse_server.url + "/s", "-d", f"@{body}", "--reconnect", "--follow"])
    assert (status, capsys.readouterr().out) == (0, "message #1: a\n")
    assert [(r.body, r.last_event_id) for r in sse_server.requests] == [
        (b"from a file\n", None),
        (b"from a file\n", "1"),
    ]


def test_data_from_stdin(sse_server: SSEServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """-d @- reads the body from standard input."""
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b'{"from": "stdin"}')))
    sse_server.route("/s", Stream(event("a")))
    assert main([sse_server.url + "/s", "-d", "@-"]) == 0
    assert sse_server.requests[0].body == b'{"from": "stdin"}'


def test_max_events_stops_with_success(sse_server: SSEServer, capsys: Capture) -> None:
    """--max-events N ends the run after N events, status 0, and hangs up."""
    sse_server.route("/s", Stream(event("a"), event("b"), event("c"), Stall()))
    status = main([sse_server.url + "/s", "--max-events", "2"])
    assert (status, capsys.readouterr().out.splitlines()) == (0, ["message: a", "message: b"])
    sse_server.wait_until_idle(timeout=5.0)


def test_verbose_tells_the_lifecycle_and_comments_are_printed(
    sse_server: SSEServer, capsys: Capture
) -> None:
    """-v writes connects, losses, retries and the close to stderr; --comments prints comments."""
    sse_server.route(
        "/s", Stream(event(None, retry=10), b": ping\n", event("a", id="1")), Reply(204)
    )
    status = main([sse_server.url + "/s", "-v", "--comments", "--follow"])
    out, err = capsys.readouterr()
    assert status == 0
    assert out == ": ping\nmessage #1: a\n"
    lines = err.splitlines()
    assert lines[0] == f"* connected: HTTP/1.1 200 OK {sse_server.url}/s"
    assert lines[1] == "* the server ended the stream after id '1'"
    assert lines[2].startswith("* reconnecting in 0.01 s")
    assert lines[2].endswith(" with Last-Event-ID '1'")
    assert lines[3] == "* closed: the server answered 204, the stream is over"
    assert len(lines) == 4


def test_comments_are_json_lines_with_json(sse_server: SSEServer, capsys: Capture) -> None:
    """With --json, comments are JSON lines too."""
    sse_server.route("/s", Stream(b":ka\n\n"))
    assert main([sse_server.url + "/s", "--json", "--comments", "--no-reconnect"]) == 0
    assert json.loads(capsys.readouterr().out) == {"comment": "ka"}


def test_comments_are_not_printed_by_default(sse_server: SSEServer, capsys: Capture) -> None:
    """Without --comments, comment lines stay hidden."""
    sse_server.route("/s", Stream(b":ka\n\n", event("a")))
    assert main([sse_server.url + "/s", "--no-reconnect"]) == 0
    assert capsys.readouterr().out == "message: a\n"


def test_error_status_is_one_line_and_status_1(sse_server: SSEServer, capsys: Capture) -> None:
    """A refused stream prints one line with the status and a body preview, no traceback."""
    sse_server.route("/s", Reply(403, b"no token\nsee the docs"))
    status = main([sse_server.url + "/s", "-v"])
    out, err = capsys.readouterr()
    assert (status, out) == (1, "")
    message = "expected status 200, got 403 Forbidden; body: 'no token\\nsee the docs'"
    assert err.splitlines() == [f"* could not connect: {message}", "* closed", f"error: {message}"]


def test_wrong_content_type_is_status_1(sse_server: SSEServer, capsys: Capture) -> None:
    """A 200 that is not an event stream fails the run with the Content-Type it had."""
    sse_server.route("/s", Reply(200, b"<html>", headers={"Content-Type": "text/html"}))
    assert main([sse_server.url + "/s"]) == 1
    assert capsys.readouterr().err == (
        "error: expected Content-Type 'text/event-stream', got 'text/html'; body: '<html>'\n"
    )


def test_refused_connection_without_reconnection_is_status_1(capsys: Capture) -> None:
    """With --no-reconnect, a refused connection is a one-line failure naming the httpx error."""
    status = main([refused_url(), "--no-reconnect"])
    err = capsys.readouterr().err
    assert status == 1
    assert err.startswith("error: ConnectError: ")
    assert len(err.splitlines()) == 1


def test_giving_up_reconnecting_is_status_1(capsys: Capture) -> None:
    """--max-attempts N gives up after N failures in a row (ReconnectError), said in one line."""
    status = main([refused_url(), "--max-attempts", "2", "--reconnection-time", "0.01", "-v"])
    lines = capsys.readouterr().err.splitlines()
    assert status == 1
    assert lines[0].startswith("* could not connect: ConnectError: ")
    # A failure waits at least min_backoff (0.1 s), plus up to 25 % jitter.
    assert re.fullmatch(r"\* reconnecting in 0\.1[0-3] s", lines[1])
    assert lines[2].startswith("* could not connect: ConnectError: ")
    assert lines[3] == "* closed"
    assert lines[4].startswith("error: gave up reconnecting after 2 failed attempts: ConnectError")
    assert len(lines) == 5


def test_a_first_connection_that_keeps_failing_stops_after_3_tries(capsys: Capture) -> None:
    """A server that never answers: three attempts, then status 1 with the reason, even
    without --max-attempts (it retried for ever before); said without -v."""
    with raw_server(b"") as server:  # hangs up at once
        status = main([server.url, "--reconnection-time", "0.01"])
    lines = capsys.readouterr().err.splitlines()
    assert (status, len(server.accepted)) == (1, 3)
    # The hang-up reads as a reset or as a server that closed: either is a network error.
    assert all(line.startswith("* could not connect: ") for line in lines[:3])
    assert all("; reconnecting in 0." in line for line in lines[:2])
    assert lines[2].endswith("; giving up after 3 attempts (--follow keeps trying)")
    assert lines[3].startswith("error: ")
    assert len(lines) == 4


def test_follow_keeps_trying_a_first_connection(capsys: Capture) -> None:
    """--follow: the first connection is retried as long as the policy allows."""
    with raw_server(b"") as server:
        argv = [server.url, "--follow", "--reconnection-time", "0.01", "--max-attempts", "5"]
        status = main(argv)
    err = capsys.readouterr().err
    assert (status, len(server.accepted)) == (1, 5)
    assert err.splitlines()[-1].startswith("error: gave up reconnecting after 5 failed attempts")


def test_failures_after_a_stream_opened_are_not_first_connection_failures(
    sse_server: SSEServer, capsys: Capture
) -> None:
    """Once a stream opened, the three-tries rule is over: failures follow the policy."""
    sse_server.route(
        "/s",
        Stream(event(None, retry=10), event("a", id="1"), Drop(reset=True)),
        *[Reply(502)] * 4,
        Stream(event("b", id="2")),
    )
    status = main([sse_server.url + "/s", "-q", "--reconnection-time", "0.01"])
    out = capsys.readouterr().out
    assert status == 1  # a 502 is not retried without a retry policy: one failure ends it
    assert out == "message #1: a\n"
    assert len(sse_server.requests) == 2


def test_idle_timeout_ends_a_silent_connection(sse_server: SSEServer, capsys: Capture) -> None:
    """--idle-timeout ends a silent connection (then, without reconnection, the run)."""
    sse_server.route("/s", Stream(event("a"), Stall()))
    # Long enough for a busy machine to deliver the first event before it runs out.
    status = main([sse_server.url + "/s", "--idle-timeout", "0.5", "--no-reconnect"])
    out, err = capsys.readouterr()
    assert (status, out) == (1, "message: a\n")
    assert err.startswith("error: ReadTimeout")


def test_idle_timeout_zero_waits_forever(sse_server: SSEServer, capsys: Capture) -> None:
    """--idle-timeout 0 turns the idle timeout off rather than timing out at once."""
    sse_server.route("/s", Stream(event("a"), Drop()))
    assert main([sse_server.url + "/s", "--idle-timeout", "0", "--no-reconnect"]) == 0
    assert capsys.readouterr().out == "message: a\n"


# A shell starts a background job (`pytest &` in a script) with SIGINT ignored, and
# Python then leaves it ignored, in itself and in its children.
SIGINT_IGNORED = signal.getsignal(signal.SIGINT) is signal.SIG_IGN


@pytest.fixture
def ctrl_c_raises() -> Iterator[None]:
    """SIGINT raises KeyboardInterrupt during the test, as in a terminal, however pytest ran."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@pytest.mark.skipif(not hasattr(signal, "pthread_kill"), reason="needs POSIX signals")
@pytest.mark.usefixtures("ctrl_c_raises")
def test_ctrl_c_during_a_blocked_read_is_status_130(sse_server: SSEServer, capsys: Capture) -> None:
    """SIGINT while the stream waits for bytes: status 130, a short note, no traceback."""
    sse_server.route("/s", Stream(event("a"), Stall()))
    main_thread = threading.main_thread().ident
    assert main_thread is not None

    returned = threading.Event()

    def press_ctrl_c() -> None:
        # Bounded, but with room for a busy machine: should the request come late, or a
        # press be lost (a KeyboardInterrupt raised inside a finaliser is ignored), the
        # read stalls forever and only a later press ends it. Presses are seconds apart,
        # so that a second one never lands while main() handles the first.
        with contextlib.suppress(TimeoutError):  # pressing is still the way out
            sse_server.wait_for_requests(1, timeout=60.0)
        time.sleep(0.05)  # let the client block in its read
        for _ in range(6):
            signal.pthread_kill(main_thread, signal.SIGINT)
            if returned.wait(10.0):
                return

    presser = threading.Thread(target=press_ctrl_c)
    presser.start()
    try:
        status = main([sse_server.url + "/s"])
    finally:
        returned.set()
        presser.join()
    assert status == 130
    assert capsys.readouterr().err == "interrupted\n"


@pytest.mark.skipif(sys.platform == "win32", reason="sends SIGINT")
@pytest.mark.skipif(SIGINT_IGNORED, reason="SIGINT is ignored here, so the child ignores it too")
def test_ctrl_c_ends_the_process_with_130(sse_server: SSEServer) -> None:
    """The real thing: SIGINT to `python -m sse_client URL` exits 130 with no traceback."""
    sse_server.route("/s", Stream(event("a"), Stall()))
    process = python_m_sse_client(sse_server.url + "/s")
    assert process.stdout is not None
    try:
        assert process.stdout.readline() == b"message: a\n"
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=20)
    finally:
        process.kill()
    assert (process.returncode, err) == (130, b"interrupted\n")


def test_closed_stdout_pipe_ends_quietly(
    sse_server: SSEServer, monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    """A reader that went away (EPIPE) ends the run with status 0 and no message."""
    sse_server.route("/s", Stream(event("a"), Stall()))
    read_end, write_end = os.pipe()
    os.close(read_end)
    with open(write_end, "w") as broken:
        monkeypatch.setattr(sys, "stdout", broken)
        status = main([sse_server.url + "/s"])
        # stdout now leads to the null device: the flush at exit cannot fail again.
        print("lost", file=broken, flush=True)
    assert status == 0
    assert capsys.readouterr().err == ""


def test_closed_pipe_on_a_stream_without_a_descriptor_ends_quietly(
    sse_server: SSEServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stdout that is no file (an embedding program's) and breaks also ends with 0."""

    class Broken(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError

    sse_server.route("/s", Stream(event("a"), Stall()))
    monkeypatch.setattr(sys, "stdout", Broken())
    assert main([sse_server.url + "/s"]) == 0


@pytest.mark.skipif(shutil.which("head") is None, reason="needs head")
def test_piped_into_head_exits_without_a_traceback() -> None:
    """`python -m sse_client --demo | head -1`: one line through, then a quiet status 0."""
    producer = python_m_sse_client("--demo")
    assert producer.stdout is not None
    try:
        head = subprocess.run(
            ["head", "-1"], stdin=producer.stdout, capture_output=True, timeout=20, check=True
        )
        producer.stdout.close()
        _, err = producer.communicate(timeout=20)
    finally:
        producer.kill()
    assert head.stdout.startswith(b"message_start #1: {")
    assert head.stdout.count(b"\n") == 1
    assert producer.returncode == 0
    assert b"Traceback" not in err
    assert b"BrokenPipeError" not in err


def test_characters_the_terminal_cannot_show_are_escaped(sse_server: SSEServer) -> None:
    """On an ASCII-only stdout, non-ASCII data is printed as escapes, not a crash."""
    sse_server.route("/s", Stream(event("5 €", id="é")))
    process = python_m_sse_client(
        sse_server.url + "/s", "--no-reconnect", env={**os.environ, "PYTHONIOENCODING": "ascii"}
    )
    out, err = process.communicate(timeout=20)
    assert (process.returncode, out, err) == (0, b"message #\\xe9: 5 \\u20ac\n", b"")


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param([], id="no-url"),
        pytest.param(["http://x", "--demo"], id="url-and-demo"),
        pytest.param(["example.com/stream"], id="no-scheme"),
        pytest.param(["ftp://example.com/"], id="not-http"),
        pytest.param(["http:///path"], id="no-host"),
        pytest.param(["http://[::1/"], id="invalid-url"),
        pytest.param(["http://x", "-H", "no colon"], id="header-without-colon"),
        pytest.param(["http://x", "-H", "Bad Name: v"], id="header-name-not-a-token"),
        pytest.param(["http://x", "-H", "X: a\rb"], id="header-value-with-cr"),
        pytest.param(["http://x", "-H", "Last-Event-ID: 3"], id="last-event-id-as-header"),
        pytest.param(["http://x", "-X", "GE T"], id="method-not-a-token"),
        pytest.param(["http://x", "--last-event-id", "a\nb"], id="last-event-id-with-lf"),
        pytest.param(["http://x", "--max-events", "0"], id="max-events-zero"),
        pytest.param(["http://x", "--max-events", "two"], id="max-events-not-a-number"),
        pytest.param(["http://x", "--max-attempts", "-1"], id="max-attempts-negative"),
        pytest.param(["http://x", "--idle-timeout", "-1"], id="idle-timeout-negative"),
        pytest.param(["http://x", "--idle-timeout", "soon"], id="idle-timeout-not-a-number"),
        pytest.param(["http://x", "--reconnection-time", "nan"], id="reconnection-time-nan"),
        pytest.param(["http://x", "--no-reconnect", "--reconnect"], id="reconnect-both-ways"),
        pytest.param(["http://x", "-d", "a", "--json-body", "{}"], id="two-bodies"),
        pytest.param(["http://x", "--json-body", "{not json"], id="json-body-not-json"),
        pytest.param(["http://x", "-d", "@/no/such/file"], id="body-file-missing"),
    ],
)
def test_bad_arguments_exit_2_before_connecting(argv: list[str], capsys: Capture) -> None:
    """Bad arguments are a usage error: status 2, a usage line and the reason, no traceback."""
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: python -m sse_client")
    assert err.splitlines()[-1].startswith("python -m sse_client: error: ")


def test_version(capsys: Capture) -> None:
    """--version prints the package version."""
    import sse_client

    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out == f"sse-client {sse_client.__version__}\n"


def test_help_documents_the_output_and_the_exit_statuses(capsys: Capture) -> None:
    """--help explains the line format and every exit status."""
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    assert "TYPE #ID: DATA" in text
    for status in ("0 ", "1 ", "2 ", "130 "):
        assert f"\n  {status}" in text


def test_console_script_exits_with_the_status(
    sse_server: SSEServer, monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    """run(), the `sse-client` script, reads sys.argv and exits with main()'s status."""
    sse_server.route("/s", Reply(500))
    monkeypatch.setattr(sys, "argv", ["sse-client", sse_server.url + "/s"])
    with pytest.raises(SystemExit) as info:
        run()
    assert info.value.code == 1
    assert capsys.readouterr().err == "error: expected status 200, got 500 Internal Server Error\n"


# -- How it was started ------------------------------------------------------------------


def test_help_names_python_m_sse_client_when_run_with_m() -> None:
    """`python -m sse_client --help` calls itself that."""
    process = python_m_sse_client("--help")
    out, _ = process.communicate(timeout=20)
    assert out.startswith(b"usage: python -m sse_client ")


def test_help_names_sse_client_when_run_as_the_console_script(
    monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    """The console script calls itself `sse-client`, in help and in errors."""
    monkeypatch.setattr(sys, "argv", ["/venv/bin/sse-client", "--help"])
    with pytest.raises(SystemExit):
        run()
    assert capsys.readouterr().out.startswith("usage: sse-client ")
    monkeypatch.setattr(sys, "argv", ["/venv/bin/sse-client", "ftp://x"])
    with pytest.raises(SystemExit):
        run()
    assert capsys.readouterr().err.splitlines()[-1].startswith("sse-client: error: ")


@pytest.mark.skipif(
    not (Path(sys.executable).parent / "sse-client").exists(), reason="no sse-client script here"
)
def test_installed_console_script_names_itself() -> None:
    """The installed `sse-client` script, run for real, says `usage: sse-client`."""
    script = Path(sys.executable).parent / "sse-client"
    result = subprocess.run([script, "--help"], capture_output=True, timeout=20, check=True)
    assert result.stdout.startswith(b"usage: sse-client ")


# -- TLS, HTTP and the status line -------------------------------------------------------


def test_a_certificate_failure_is_not_retried(tls_url: str, capsys: Capture) -> None:
    """Even with reconnection on, a certificate that does not verify ends the run at once."""
    status = main([tls_url, "--follow", "-v"])
    lines = capsys.readouterr().err.splitlines()
    assert status == 1
    assert lines[0].startswith("* could not connect: ConnectError: ")
    assert lines[1] == "* closed"
    assert lines[2].startswith("error: SSLCertVerificationError: ")
    assert len(lines) == 3


def test_an_unknown_certificate_fails_with_a_hint(tls_url: str, capsys: Capture) -> None:
    """Without --cacert or --insecure, a certificate from an unknown CA is refused: status 1."""
    status = main([tls_url, "--no-reconnect"])
    out, err = capsys.readouterr()
    assert (status, out) == (1, "")
    assert err.startswith("error: SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] ")
    assert err.endswith("(trust its CA with --cacert FILE, or skip the check with --insecure)\n")
    assert len(err.splitlines()) == 1


def test_insecure_accepts_any_certificate(tls_url: str, capsys: Capture) -> None:
    """--insecure (-k) reads a stream whose certificate nothing vouches for."""
    assert main([tls_url, "--insecure", "--no-reconnect"]) == 0
    assert capsys.readouterr().out == "message: hello\n"
    assert main([tls_url, "-k", "--no-reconnect"]) == 0


def test_cacert_trusts_the_given_ca(tls_url: str, ca_file: str, capsys: Capture) -> None:
    """--cacert FILE verifies the server against the CA in FILE."""
    assert main([tls_url, "--cacert", ca_file, "--no-reconnect"]) == 0
    assert capsys.readouterr().out == "message: hello\n"


def test_ssl_cert_file_is_honoured(
    tls_url: str, ca_file: str, monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    """SSL_CERT_FILE replaces the system's CA certificates, as the help says."""
    monkeypatch.setenv("SSL_CERT_FILE", ca_file)
    assert main([tls_url, "--no-reconnect"]) == 0
    assert capsys.readouterr().out == "message: hello\n"


def test_proxy_variables_are_honoured(
    sse_server: SSEServer, monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    """HTTP_PROXY sends the request through the proxy, in absolute form."""
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", sse_server.url)
    sse_server.route("http://stream.example/s", Stream(event("via the proxy")))
    assert main(["http://stream.example/s", "--no-reconnect"]) == 0
    assert capsys.readouterr().out == "message: via the proxy\n"
    assert sse_server.requests[0].path == "http://stream.example/s"


@contextmanager
def http2_server(tls: ssl.SSLContext) -> Iterator[str]:
    """A TLS server on 127.0.0.1 that speaks only HTTP/2: each stream gets one event; its URL."""
    import h2.config
    import h2.connection
    import h2.events

    tls.set_alpn_protocols(["h2"])
    listener = socket.create_server(("127.0.0.1", 0))

    def serve(raw: socket.socket) -> None:
        with tls.wrap_socket(raw, server_side=True) as sock:
            connection = h2.connection.H2Connection(
                h2.config.H2Configuration(client_side=False, header_encoding="utf-8")
            )
            connection.initiate_connection()
            sock.sendall(connection.data_to_send())
            while data := sock.recv(65536):
                for item in connection.receive_data(data):
                    if isinstance(item, h2.events.RequestReceived):
                        headers = [(":status", "200"), ("content-type", "text/event-stream")]
                        connection.send_headers(item.stream_id, headers)
                        connection.send_data(item.stream_id, b"data: hello\n\n", end_stream=True)
                sock.sendall(connection.data_to_send())

    def accept() -> None:
        with contextlib.suppress(OSError):  # the listener was closed: the test is over
            while True:
                raw, _ = listener.accept()
                threading.Thread(target=serve, args=(raw,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{listener.getsockname()[1]}/s"
    finally:
        listener.close()


@pytest.mark.skipif(importlib.util.find_spec("h2") is None, reason="needs h2")
def test_http2_reads_a_stream_over_http2(ca: trustme.CA, ca_file: str, capsys: Capture) -> None:
    """--http2 speaks HTTP/2 to a server that speaks nothing else."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    with http2_server(context) as url:
        status = main([url, "--http2", "--cacert", ca_file, "--no-reconnect", "-v"])
    out, err = capsys.readouterr()
    assert (status, out) == (0, "message: hello\n")
    assert err.splitlines()[0] == f"* connected: HTTP/2 200 OK {url}"  # --http2 confirmed


@pytest.mark.skipif(importlib.util.find_spec("h2") is None, reason="needs h2")
def test_http2_is_offered_and_http1_still_works(tls_url: str, capsys: Capture) -> None:
    """--http2 offers HTTP/2; a server that does not take it (HTTP/1.0 here) is read as
    before, and -v says which version it spoke."""
    assert main([tls_url, "--http2", "--insecure", "--no-reconnect", "-v"]) == 0
    out, err = capsys.readouterr()
    assert out == "message: hello\n"
    assert err.startswith(f"* connected: HTTP/1.0 200 OK {tls_url}\n")


def test_http2_without_h2_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    """--http2 where h2 is not installed says what to install: status 2."""
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "h2" else find_spec(name, *a)
    )
    with pytest.raises(SystemExit) as info:
        main(["https://example.com/s", "--http2"])
    assert info.value.code == 2
    assert "pip install 'sse-client[http2]'" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["--cacert", "/no/such/ca.pem"], id="cacert-missing"),
        pytest.param(["--cacert", __file__], id="cacert-not-pem"),
        pytest.param(["--cacert", __file__, "--insecure"], id="cacert-and-insecure"),
    ],
)
def test_bad_tls_arguments_exit_2(argv: list[str], capsys: Capture) -> None:
    """A CA file that cannot be read, or with --insecure, is a usage error."""
    with pytest.raises(SystemExit) as info:
        main(["https://example.com/s", *argv])
    assert info.value.code == 2
    assert "error: " in capsys.readouterr().err


def test_status_line_without_a_reason_phrase_has_single_spaces(capsys: Capture) -> None:
    """A server that sends no reason phrase gets `200 URL`, not `200  URL`."""
    with one_stream_server(reason="") as url:
        assert main([url, "--no-reconnect", "-v"]) == 0
    assert capsys.readouterr().err.splitlines()[0] == f"* connected: HTTP/1.0 200 {url}"


# -- What a hostile server can print --------------------------------------------------------


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


HOSTILE: dict[str, str | None] = {
    "data": "\x1b]0;owned\x07red\x1b[31m\ttab\nnext\x7f",
    "event": "\x1b[2J",
    "id": "\x9b6n",
    "retry": None,
}


@pytest.fixture
def hostile_url(sse_server: SSEServer) -> str:
    """A stream whose event, comment and id carry terminal escape sequences."""
    sse_server.route(
        "/s",
        Stream(
            b":\x1b[2Jcomment\n",
            event(HOSTILE["data"], event=HOSTILE["event"], id=HOSTILE["id"]),
        ),
    )
    return sse_server.url + "/s"


def test_control_characters_are_escaped_on_a_terminal(
    hostile_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a terminal, ESC, BEL, tab, DEL and C1 controls print as \\xNN; lines still end."""
    terminal = Terminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    assert main([hostile_url, "--no-reconnect", "--comments"]) == 0
    assert terminal.getvalue() == (
        ":\\x1b[2Jcomment\n\\x1b[2J #\\x9b6n: \\x1b]0;owned\\x07red\\x1b[31m\\x09tab\\nnext\\x7f\n"
    )


def test_messages_on_a_terminal_are_escaped_too(
    sse_server: SSEServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lifecycle lines on a terminal stderr are escaped like events."""
    sse_server.route("/s", Stream(event("a", id="\x1b[1m")), Reply(204))
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main([sse_server.url + "/s", "--reconnection-time", "0.01", "-v", "--follow"]) == 0
    assert "\x1b" not in terminal.getvalue()
    assert "with Last-Event-ID '\\x1b[1m'" in terminal.getvalue()


def test_output_to_a_pipe_is_exact(hostile_url: str, capsys: Capture) -> None:
    """To a pipe, the readable form keeps every character but the line break as sent."""
    assert main([hostile_url, "--no-reconnect", "--comments"]) == 0
    data = str(HOSTILE["data"]).replace("\n", "\\n")
    assert capsys.readouterr().out == (
        f":\x1b[2Jcomment\n{HOSTILE['event']} #{HOSTILE['id']}: {data}\n"
    )


@pytest.mark.parametrize(
    "stdout", [pytest.param(None, id="pipe"), pytest.param(Terminal, id="tty")]
)
def test_json_output_is_exact_everywhere(
    hostile_url: str,
    stdout: type[Terminal] | None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: Capture,
) -> None:
    """--json is exact on a terminal and to a pipe (JSON escapes control characters itself)."""
    terminal = None if stdout is None else stdout()
    if terminal is not None:
        monkeypatch.setattr(sys, "stdout", terminal)
    assert main([hostile_url, "--no-reconnect", "--json"]) == 0
    text = capsys.readouterr().out if terminal is None else terminal.getvalue()
    assert json.loads(text) == HOSTILE


# -- Clean ends, errors and --follow ---------------------------------------------------


def test_a_clean_end_ends_the_command_with_status_0(sse_server: SSEServer, capsys: Capture) -> None:
    """A body the server ends cleanly (as most frameworks end a stream) is the end: no retry."""
    sse_server.route("/s", Stream(event("a", id="1"), event("b", id="2"), chunked=True))
    assert main([sse_server.url + "/s"]) == 0
    out, err = capsys.readouterr()
    assert out == "message #1: a\nmessage #2: b\n"
    # Said even without -v: a server that restarts gracefully ends its streams so.
    assert err == "* the server ended the stream after id '2' (--follow resumes)\n"
    assert len(sse_server.requests) == 1
    assert main([sse_server.url + "/s", "-q"]) == 0
    assert capsys.readouterr() == ("message #1: a\nmessage #2: b\n", "")


def test_an_error_reconnects_with_one_line_then_a_clean_end_stops(
    sse_server: SSEServer, capsys: Capture
) -> None:
    """A broken body reconnects, resuming, and says so in one line; a clean end then stops."""
    sse_server.route(
        "/s",
        Stream(event(None, retry=10), event("a", id="1"), Drop(), chunked=True),
        Stream(event("b", id="2")),
    )
    assert main([sse_server.url + "/s"]) == 0
    out, err = capsys.readouterr()
    assert out == "message #1: a\nmessage #2: b\n"
    line, end = err.splitlines()
    assert line.startswith("* connection lost: RemoteProtocolError: ")
    assert line.endswith("; reconnecting in 0.01 s with Last-Event-ID '1'")
    assert end == "* the server ended the stream after id '2' (--follow resumes)"
    assert [r.last_event_id for r in sse_server.requests] == [None, "1"]


def test_quiet_silences_the_reconnection_line(sse_server: SSEServer, capsys: Capture) -> None:
    """-q: nothing on stderr for a reconnection."""
    sse_server.route(
        "/s", Stream(event(None, retry=10), event("a", id="1"), Drop(reset=True)), Reply(204)
    )
    assert main([sse_server.url + "/s", "-q"]) == 0
    assert capsys.readouterr() == ("message #1: a\n", "")
    assert len(sse_server.requests) == 2


def test_follow_reconnects_after_clean_ends_until_204(
    sse_server: SSEServer, capsys: Capture
) -> None:
    """--follow: a clean end reconnects too, with Last-Event-ID, as a browser does."""
    sse_server.route(
        "/s",
        Stream(event(None, retry=10), event("a", id="1")),
        Stream(event("b", id="2")),
        Reply(204),
    )
    assert main([sse_server.url + "/s", "--follow"]) == 0
    out, err = capsys.readouterr()
    assert out == "message #1: a\nmessage #2: b\n"
    assert [line.partition(";")[0] for line in err.splitlines()] == [
        "* the server ended the stream after id '1'",
        "* the server ended the stream after id '2'",
    ]
    assert [r.last_event_id for r in sse_server.requests] == [None, "1", "2"]
