"""``python -m sse_client --demo``: a token stream that drops once, resumes, and ends by itself."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from sse_client import _demo
from sse_client.__main__ import main
from sse_client.testing import Drop, Reply, Request, Stream, format_event

TOKENS = _demo.SENTENCE
LAST_ID = len(TOKENS) + 2  # message_start, one delta per token, message_stop


def check_stdout(stdout: str) -> None:
    """Every event once and in order: start, the sentence token by token, stop."""
    lines = stdout.splitlines()
    assert [line.partition(": ")[0] for line in lines] == [
        "message_start #1",
        *(f"content_block_delta #{n}" for n in range(2, LAST_ID)),
        f"message_stop #{LAST_ID}",
    ]
    payloads = [json.loads(line.partition(": ")[2]) for line in lines]
    assert [payload["type"] for payload in payloads] == [
        "message_start",
        *["content_block_delta"] * len(TOKENS),
        "message_stop",
    ]
    text = "".join(payload["delta"]["text"] for payload in payloads[1:-1])
    assert text == " ".join(TOKENS)
    assert text.startswith("Server-Sent Events stream text as it is made")


def check_stderr(stderr: str) -> None:
    """The lifecycle, told without -v: a drop mid-stream, a resume, a clean end."""
    lines = stderr.splitlines()
    assert len(lines) == 7
    assert lines[0].startswith("* demo server on http://127.0.0.1:")
    url = lines[1].removeprefix("* connected: HTTP/1.1 200 OK ")
    assert url.startswith("http://127.0.0.1:")
    assert url.endswith(_demo.PATH)
    # The first connection was cut after event 10, in the middle of event 11: an
    # incomplete chunked body, an error. It delivered events, so the server's retry: 200
    # is the wait, exactly.
    assert lines[2].startswith("* connection lost: RemoteProtocolError: ")
    cut = (LAST_ID - 1) // 2
    # spec: C-LASTID -- the resumed stream starts after the last event ID.
    assert lines[3] == f"* reconnecting in 0.20 s with Last-Event-ID '{cut}'"
    assert lines[4] == lines[1]
    # The second body ends cleanly: the stream is over, with no reconnection.
    ended = f"* the server ended the stream after id '{LAST_ID}' (--follow resumes)"
    assert lines[5:] == [ended, "* closed"]


def test_demo_in_process(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """main(["--demo"]) shows the whole lifecycle and returns 0 (token pauses shortened)."""
    monkeypatch.setattr(_demo, "TOKEN_PAUSE", 0.0)
    status = main(["--demo"])
    out, err = capsys.readouterr()
    assert status == 0
    check_stdout(out)
    check_stderr(err)


def test_demo_as_a_process_finishes_by_itself() -> None:
    """`python -m sse_client --demo` on its own: tokens, a drop, a resume, an end, status 0."""
    result = subprocess.run(
        [sys.executable, "-m", "sse_client", "--demo"],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    check_stdout(result.stdout)
    check_stderr(result.stderr)


def test_demo_cuts_its_first_connection_inside_an_event() -> None:
    """The first connection ends halfway through an event, which the client discards."""
    answer = _demo._respond(Request(method="GET", path=_demo.PATH, headers={}, body=b""))
    assert isinstance(answer, Stream)
    *_, last_bytes, drop = answer.steps
    assert isinstance(drop, Drop)
    assert isinstance(last_bytes, bytes)
    assert last_bytes.startswith(b"event: content_block")
    assert b"\n\n" not in last_bytes


def test_demo_answers_204_once_everything_was_delivered() -> None:
    """A reconnection after the last event gets a 204, and one before it the rest."""
    headers = {"last-event-id": str(LAST_ID)}
    done = _demo._respond(Request(method="GET", path=_demo.PATH, headers=headers, body=b""))
    assert done == Reply(204)
    headers = {"last-event-id": str(LAST_ID - 1)}
    rest = _demo._respond(Request(method="GET", path=_demo.PATH, headers=headers, body=b""))
    assert isinstance(rest, Stream)
    assert rest.steps[0] == format_event(None, retry=_demo.RETRY_MS)
    assert [step for step in rest.steps if isinstance(step, bytes)][1].startswith(
        b"event: message_stop\n"
    )
