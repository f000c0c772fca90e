"""The command line: ``python -m sse_client URL`` (or ``sse-client URL``), and ``--demo``.

Standard library only (argparse). Events go to stdout, one per line, flushed at once
so pipes see them as they come; lifecycle lines (``-v``) and errors go to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any, TextIO

import httpx

from ._errors import SSEError
from ._models import ServerSentEvent
from ._sync import EventSource

__all__ = ["main"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def _parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="python -m sse_client",
        description="Print the events of a Server-Sent Events stream, one per line.",
        epilog=(
            "Lines read 'TYPE #ID: DATA' (line breaks in data shown as \\n); --json "
            "prints exact JSON lines. Exit status: 0 at a clean end (HTTP 204, end of "
            "stream without reconnection, --max-events reached), 1 when the stream "
            "failed, 2 on bad arguments, 130 on Ctrl-C."
        ),
    )
    parser.add_argument("url", nargs="?", help="the stream's URL")
    parser.add_argument(
        "--demo",
        action="store_true",
        help="start a built-in demo server on 127.0.0.1 and read its stream",
    )
    parser.add_argument(
        "-H",
        "--header",
        action="append",
        default=[],
        metavar="'NAME: VALUE'",
        help="add a request header (repeatable)",
    )
    parser.add_argument("-X", "--method", help="the HTTP method (default GET, or POST with a body)")
    body = parser.add_mutually_exclusive_group()
    body.add_argument("-d", "--data", help="a raw request body; @FILE reads it from a file")
    body.add_argument("--json-body", metavar="JSON", help="a JSON request body")
    parser.add_argument("--last-event-id", default="", metavar="ID", help="resume after this ID")
    again = parser.add_mutually_exclusive_group()
    again.add_argument(
        "--no-reconnect", action="store_true", help="stop when the stream ends or fails"
    )
    again.add_argument(
        "--reconnect",
        action="store_true",
        help="reconnect even for methods other than GET (resends the body)",
    )
    parser.add_argument("--max-events", type=int, metavar="N", help="stop after N events")
    parser.add_argument(
        "--idle-timeout",
        type=float,
        default=300.0,
        metavar="SECONDS",
        help="reconnect after this long without a byte (default 300)",
    )
    parser.add_argument("--comments", action="store_true", help="print comment lines too")
    parser.add_argument("--json", action="store_true", help="print JSON lines: event, data, id")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="print connects, errors and retries on stderr"
    )
    parser.add_argument("--version", action="version", version=f"sse-client {__version__}")
    return parser


def format_line(event: ServerSentEvent, as_json: bool) -> str:
    """One event as one line of output."""
    if as_json:
        return json.dumps({"event": event.event, "data": event.data, "id": event.id})
    label = event.event if not event.id else f"{event.event} #{event.id}"
    return f"{label}: {event.data.replace(chr(10), chr(92) + 'n')}"


class _Printer:
    """Writes events and lifecycle lines, flushing each one."""

    def __init__(self, out: TextIO, err: TextIO, *, as_json: bool, verbose: bool) -> None:
        self.out = out
        self.err = err
        self.as_json = as_json
        self.verbose = verbose
        self.source: EventSource | None = None

    def event(self, event: ServerSentEvent) -> None:
        self.out.write(format_line(event, self.as_json) + "\n")
        self.out.flush()

    def comment(self, text: str) -> None:
        line = json.dumps({"comment": text}) if self.as_json else f":{text}"
        self.out.write(line + "\n")
        self.out.flush()

    def note(self, text: str) -> None:
        if self.verbose:
            self.err.write(f"* {text}\n")
            self.err.flush()

    def hooks(self) -> dict[str, Any]:
        def on_open(response: httpx.Response) -> None:
            self.note(f"connected: {response.status_code} {response.reason_phrase} {response.url}")

        def on_error(error: Exception) -> None:
            self.note(f"connection lost: {_describe(error)}")

        def on_retry(delay: float) -> None:
            last_event_id = "" if self.source is None else self.source.last_event_id
            resume = f" with Last-Event-ID {last_event_id!r}" if last_event_id else ""
            self.note(f"reconnecting in {delay:.2f} s{resume}")

        def on_close() -> None:
            response = None if self.source is None else self.source.response
            if response is not None and response.status_code == 204:
                self.note("closed: the server answered 204, the stream is over")
            else:
                self.note("closed")

        return {
            "on_open": on_open,
            "on_error": on_error,
            "on_retry": on_retry,
            "on_close": on_close,
        }


def _describe(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    return text if isinstance(error, SSEError) else f"{type(error).__name__}: {text}"


def _headers(values: list[str]) -> list[tuple[str, str]]:
    headers = []
    for value in values:
        name, colon, content = value.partition(":")
        if not colon or not name.strip():
            raise ValueError(f"a header must look like 'Name: value', got {value!r}")
        headers.append((name.strip(), content.strip()))
    return headers


def _request_body(args: argparse.Namespace) -> dict[str, Any]:
    if args.json_body is not None:
        return {"json": json.loads(args.json_body)}
    if args.data is not None:
        if args.data.startswith("@"):
            with open(args.data[1:], "rb") as file:
                return {"content": file.read()}
        return {"content": args.data.encode()}
    return {}


def main(
    argv: Sequence[str] | None = None, *, stdout: TextIO | None = None, stderr: TextIO | None = None
) -> int:
    """Run the command line; return the exit status.

    Example:
        >>> main(["--demo"])  # doctest: +SKIP
        0
    """
    out = sys.stdout if stdout is None else stdout
    err = sys.stderr if stderr is None else stderr
    parser = _parser()
    args = parser.parse_args(argv)
    if args.demo == (args.url is not None):
        parser.error("give a URL, or --demo")
    if args.max_events is not None and args.max_events < 1:
        parser.error("--max-events must be at least 1")
    try:
        headers = _headers(args.header)
        body = _request_body(args)
    except (ValueError, OSError) as exc:
        parser.error(str(exc))
    printer = _Printer(out, err, as_json=args.json, verbose=args.verbose or args.demo)

    if args.demo:
        from ._demo import DemoServer

        with DemoServer() as demo:
            printer.note(f"demo server listening on {demo.url}")
            return _run(demo.url + "/v1/stream", args, headers, body, printer, reconnection=0.2)
    return _run(args.url, args, headers, body, printer, reconnection=None)


def _run(
    url: str,
    args: argparse.Namespace,
    headers: list[tuple[str, str]],
    body: dict[str, Any],
    printer: _Printer,
    *,
    reconnection: float | None,
) -> int:
    method = args.method or ("POST" if body else "GET")
    reconnect = False if args.no_reconnect else (True if args.reconnect else None)
    options: dict[str, Any] = {} if reconnection is None else {"reconnection_time": reconnection}
    count = 0
    try:
        with EventSource(
            url,
            method=method,
            headers=headers,
            last_event_id=args.last_event_id,
            reconnect=reconnect,
            idle_timeout=args.idle_timeout,
            on_comment=printer.comment if args.comments else None,
            **printer.hooks(),
            **body,
            **options,
        ) as source:
            printer.source = source
            for event in source:
                printer.event(event)
                count += 1
                if args.max_events is not None and count >= args.max_events:
                    break
    except (SSEError, httpx.HTTPError) as exc:
        printer.err.write(f"error: {_describe(exc)}\n")
        return EXIT_FAILED
    except KeyboardInterrupt:
        printer.err.write("interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`| head -1`): stop quietly, and keep Python from
        # complaining again when it flushes stdout at exit.
        _silence_stdout()
        return EXIT_OK
    return EXIT_OK


def _silence_stdout() -> None:
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # pragma: no cover -- stdout is not a real file
        pass
    finally:
        os.close(devnull)


def run() -> None:
    """The console script: ``sse-client URL``."""
    sys.exit(main())
