"""The command line: ``python -m sse_client URL`` (or ``sse-client URL``), and ``--demo``.

Standard library only (argparse). Events go to stdout, one per line, flushed at once so
that a pipe sees each as it comes; lifecycle lines (``-v``) and errors go to stderr.
Every argument is checked before anything connects, so a mistake in one is a usage
error (status 2), never a traceback.

What a server sends is shown as text, never obeyed: on a terminal, control characters
in events, comments and messages are printed as escapes (``\x1b``), so a hostile
stream cannot send the terminal escape sequences (retitle the window, rewrite the
screen, or worse). Output to a pipe or a file stays exact.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import json
import math
import os
import re
import ssl
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, TextIO

import httpx2

from . import STOP, EventSource, Failure, Hooks, ReconnectPolicy, Stop, StreamEnded, Timeouts
from ._backoff import certificate_error
from ._core import last_event_id_header
from ._errors import SSEError
from ._models import ServerSentEvent
from ._policy import DEFAULT_IDLE_TIMEOUT, DEFAULT_RECONNECTION_TIME

__all__ = ["build_parser", "escape_controls", "format_line", "main", "run"]

EXIT_OK: Final = 0
EXIT_FAILED: Final = 1
EXIT_USAGE: Final = 2  # argparse's own status for bad arguments
EXIT_INTERRUPTED: Final = 130  # 128 + SIGINT, as shells report Ctrl-C
#: Attempts in a row that may fail, with no connection ever opened, before the command
#: gives up (a wrong host or port, a server that is down): not without --follow.
FIRST_TRIES: Final = 3


# RFC 9110 token: what a header name or a method may be made of.
_TOKEN: Final = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")

_SHOWN_LINE_BREAK: Final = "\\n"  # a backslash and an n

# What a terminal may act on rather than show: the C0 controls (ESC starts its escape
# sequences), DEL, and the C1 controls (U+009B alone is a CSI on some terminals).
_CONTROLS: Final = re.compile("[\x00-\x1f\x7f-\x9f]")

PROG_MODULE: Final = "python -m sse_client"  # the name in --help when run with -m
PROG_SCRIPT: Final = "sse-client"  # the name in --help when run as the console script

_EPILOG: Final = """\
output format:
  One line per event: TYPE #ID: DATA (without #ID when the event has no id).
  Line breaks inside DATA are shown as \\n, so every event stays on one line.
  On a terminal, other control characters are shown as escapes (\\x1b), so a
  server cannot drive the terminal; to a pipe or a file, output is exact.
  --json prints {"event", "data", "id", "retry"} objects instead (exact, one
  per line; retry is null unless the block set it), and comments, with
  --comments, as {"comment": TEXT}. -v names the HTTP version on connect.

environment:
  HTTPS_PROXY, HTTP_PROXY, ALL_PROXY and NO_PROXY choose a proxy; SSL_CERT_FILE
  and SSL_CERT_DIR replace the system's CA certificates (--cacert overrides them).

reconnection:
  A GET reconnects after a network error, an idle timeout or a body cut short,
  sending Last-Event-ID; other methods only with --reconnect, since that
  resends the request. A body the server ends cleanly ends the stream, with a
  line on stderr, unless --follow, which reconnects then too, as a browser
  does. An HTTP 204 ends the stream. After a connection that delivered events
  the wait is the reconnection time exactly; failures in a row back off. Each
  reconnection is one line on stderr (-q: none). If the first connection fails
  3 times in a row, the command gives up, unless --follow.

exit status:
  0    a clean end: HTTP 204, a body the server ended cleanly (without
       --follow), the end of the stream without reconnection, --max-events,
       or --until
  1    the stream failed: an error status, the wrong Content-Type, a network
       error without reconnection, a certificate that does not verify, a first
       connection that failed 3 times, or reconnection given up (--max-attempts)
  2    bad arguments
  130  interrupted (Ctrl-C)

examples:
  python -m sse_client --demo
  python -m sse_client https://example.com/stream -v --max-events 10
  # An LLM's token stream: a POST with a JSON body, done at its last event
  python -m sse_client https://api.anthropic.com/v1/messages --until message_stop \\
      -H "x-api-key: $ANTHROPIC_API_KEY" -H 'anthropic-version: 2023-06-01' \\
      --json-body '{"model": "claude-sonnet-4-5", "max_tokens": 256, "stream": true,
                    "messages": [{"role": "user", "content": "Hi"}]}'
  # What an MCP server streams back to a POST, as JSON lines
  python -m sse_client http://127.0.0.1:8000/mcp --json \\
      -H 'Accept: application/json, text/event-stream' \\
      --json-body '{"jsonrpc": "2.0", "id": 1, "method": "initialize", "params":
                    {"protocolVersion": "2025-11-25", "capabilities": {},
                     "clientInfo": {"name": "cli", "version": "1"}}}'
"""


def _count(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected 1 or more, got {text!r}")
    return value


def _seconds(text: str) -> float:
    """An argparse type: a finite number of seconds, 0 or more."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"expected 0 seconds or more, got {text!r}")
    return value


def build_parser(prog: str = PROG_MODULE) -> argparse.ArgumentParser:
    """The argument parser of the command line (its ``--help`` is the reference).

    Args:
        prog: The program's name in usage and error lines: how it was started.

    Returns:
        A parser whose namespace :func:`main` reads.

    Example:
        >>> build_parser().parse_args(["http://127.0.0.1:8000/s", "--json"]).json
        True
    """
    from . import __version__

    parser = argparse.ArgumentParser(
        prog=prog,
        description="Print the events of a Server-Sent Events stream, one per line.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("url", nargs="?", help="the stream's URL (http:// or https://)")
    parser.add_argument(
        "--demo",
        action="store_true",
        help="start a built-in demo server on 127.0.0.1 and read its stream (implies -v)",
    )
    parser.add_argument("--version", action="version", version=f"sse-client {__version__}")
    request = parser.add_argument_group("request")
    request.add_argument(
        "-H",
        "--header",
        action="append",
        default=[],
        metavar="'NAME: VALUE'",
        help="add a request header (repeatable)",
    )
    request.add_argument(
        "-X", "--method", help="the HTTP method (default: GET, or POST when a body is given)"
    )
    body = request.add_mutually_exclusive_group()
    body.add_argument(
        "-d", "--data", help="a raw request body; @FILE reads it from a file, @- from stdin"
    )
    body.add_argument("--json-body", metavar="JSON", help="a JSON request body")
    request.add_argument(
        "--last-event-id", default="", metavar="ID", help="resume after this event ID"
    )
    tls = parser.add_argument_group("TLS and HTTP")
    trust = tls.add_mutually_exclusive_group()
    trust.add_argument(
        "--cacert",
        metavar="FILE",
        help="trust the CA certificates in this PEM file instead of the system's"
        " (default: the system's, or SSL_CERT_FILE / SSL_CERT_DIR when set)",
    )
    trust.add_argument(
        "-k",
        "--insecure",
        action="store_true",
        help="do not verify the server's certificate (the connection is still encrypted)",
    )
    tls.add_argument(
        "--http2",
        action="store_true",
        help="offer HTTP/2 over TLS (needs h2: pip install 'sse-client[http2]')",
    )
    stream = parser.add_argument_group("connection")
    again = stream.add_mutually_exclusive_group()
    again.add_argument(
        "--no-reconnect", action="store_true", help="stop when the stream ends or fails"
    )
    stream.add_argument(
        "-f",
        "--follow",
        action="store_true",
        help="reconnect when the server ends the stream cleanly too, as a browser does"
        " (default: only after errors)",
    )
    again.add_argument(
        "--reconnect",
        action="store_true",
        help="reconnect for methods other than GET too (resends the body)",
    )
    stream.add_argument(
        "--reconnection-time",
        type=_seconds,
        default=DEFAULT_RECONNECTION_TIME,
        metavar="SECONDS",
        help="seconds to wait before reconnecting, until the server's retry: field says otherwise"
        " (default: %(default)g; doubled after each failure in a row)",
    )
    stream.add_argument(
        "--max-attempts",
        type=_count,
        metavar="N",
        help="give up after N failed attempts in a row (default: never)",
    )
    stream.add_argument(
        "--idle-timeout",
        type=_seconds,
        default=DEFAULT_IDLE_TIMEOUT,
        metavar="SECONDS",
        help="a connection silent this long is dead, and is reestablished"
        " (default: %(default)g; 0: wait forever)",
    )
    stream.add_argument("--max-events", type=_count, metavar="N", help="stop after N events")
    stream.add_argument(
        "--until",
        metavar="TYPE",
        help="stop (status 0) after the first event of this type, such as an LLM stream's"
        " message_stop: a GET that ends and is reconnected would restart the server's work",
    )
    output = parser.add_argument_group("output")
    output.add_argument("--json", action="store_true", help="print JSON lines: event, data, id")
    output.add_argument("--comments", action="store_true", help="print comment lines too")
    chatter = output.add_mutually_exclusive_group()
    chatter.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="tell connections, failures, retries and the close on stderr",
    )
    chatter.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="do not tell reconnections on stderr (errors still are)",
    )
    return parser


def format_line(event: ServerSentEvent, *, as_json: bool = False) -> str:
    """One event as one line of output, without the line break.

    Args:
        event: The event to show.
        as_json: Print an exact JSON object rather than the readable form.

    Returns:
        ``TYPE #ID: DATA`` (``TYPE: DATA`` without an id), line breaks in the data
        written as ``\\n``; or ``{"event": ..., "data": ..., "id": ..., "retry": ...}``.

    Example:
        >>> format_line(ServerSentEvent(event="delta", data="a\\nb", id="7"))
        'delta #7: a\\\\nb'
    """
    if as_json:
        fields = {"event": event.event, "data": event.data, "id": event.id, "retry": event.retry}
        return json.dumps(fields)
    label = f"{event.event} #{event.id}" if event.id else event.event
    # Data never holds a CR (the parser splits lines at it), so LF is the only break.
    return f"{label}: " + event.data.replace("\n", _SHOWN_LINE_BREAK)


def escape_controls(text: str) -> str:
    r"""``text`` with each control character (C0, DEL, C1) written as a ``\xNN`` escape.

    Example:
        >>> escape_controls("\x1b]0;owned\x07")
        '\\x1b]0;owned\\x07'
    """
    return _CONTROLS.sub(lambda match: f"\\x{ord(match[0]):02x}", text)


@dataclass(frozen=True)
class _Options:
    """Everything the arguments ask for, checked: all that the run reads."""

    url: str | None  # None with --demo, whose server says where to go
    method: str
    headers: httpx2.Headers
    body: dict[str, Any]
    last_event_id: str
    policy: ReconnectPolicy
    timeout: Timeouts
    verify: ssl.SSLContext | bool
    http2: bool
    max_events: int | None
    until: str | None
    show: _Show


@dataclass(frozen=True)
class _Show:
    """How the run tells what happens (see :class:`_Output`)."""

    as_json: bool = False
    verbose: bool = False
    quiet: bool = False
    comments: bool = False
    first_tries: int | None = None  # see FIRST_TRIES
    tell_ends: bool = False  # a clean end ends the command: say so


def _one_line(text: str) -> str:
    return " ".join(text.splitlines())


def _describe(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    if not isinstance(error, SSEError):
        text = f"{type(error).__name__}: {text}"
    if certificate_error(error) is not None:
        text += " (trust its CA with --cacert FILE, or skip the check with --insecure)"
    return _one_line(text)


def _check_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> _Options:
    """Check what argparse cannot, and gather all the run reads into one value; a problem
    ends the run with status 2 and a usage line."""
    if args.demo == (args.url is not None):
        parser.error("give a URL, or --demo")
    if args.url is not None:
        try:
            url = httpx2.URL(args.url)
        except httpx2.InvalidURL as exc:
            parser.error(f"invalid URL {args.url!r}: {exc}")
        if url.scheme not in ("http", "https") or not url.host:
            parser.error(f"expected an http:// or https:// URL, got {args.url!r}")
    if last_event_id_header(args.last_event_id) is None:  # the sources' own rule
        parser.error(f"--last-event-id cannot hold control characters, got {args.last_event_id!r}")
    headers: list[tuple[bytes, bytes]] = []
    for header in args.header:
        name, colon, value = header.partition(":")
        name, value = name.strip(), value.strip()
        if not colon or not _TOKEN.fullmatch(name):
            parser.error(f"a header must look like 'Name: value', got {header!r}")
        if _has_control_characters(value):
            parser.error(f"a header value cannot hold control characters, got {header!r}")
        if name.lower() == "last-event-id":
            parser.error("send Last-Event-ID with --last-event-id")
        # UTF-8 on the wire: httpx would refuse anything beyond ASCII in a str value.
        headers.append((name.encode("ascii"), value.encode("utf-8")))
    if args.method is not None and not _TOKEN.fullmatch(args.method):
        parser.error(f"invalid method {args.method!r}")
    try:
        body = _request_body(args)
    except (ValueError, OSError) as exc:
        parser.error(str(exc))
    method = args.method.upper() if args.method else ("POST" if body else "GET")
    if args.http2 and importlib.util.find_spec("h2") is None:
        parser.error("--http2 needs the h2 package: pip install 'sse-client[http2]'")
    verify: ssl.SSLContext | bool = not args.insecure
    if args.cacert is not None:
        try:
            verify = ssl.create_default_context(cafile=args.cacert)
        except (OSError, ssl.SSLError) as exc:
            parser.error(f"--cacert {args.cacert!r}: {exc}")
    # After errors only, unless --follow: a stream that the server ends cleanly (as
    # most frameworks end a finite stream) is over, and the command exits 0.
    reconnects = not args.no_reconnect and (args.reconnect or method == "GET")
    policy = ReconnectPolicy(
        after=("always" if args.follow else "errors") if reconnects else "never",
        reconnection_time=args.reconnection_time,
        max_attempts=args.max_attempts,
    )
    return _Options(
        url=args.url,
        method=method,
        headers=httpx2.Headers(headers),
        body=body,
        last_event_id=args.last_event_id,
        policy=policy,
        timeout=Timeouts(idle=args.idle_timeout or None),
        verify=verify,
        http2=args.http2,
        max_events=args.max_events,
        until=args.until,
        show=_Show(
            as_json=args.json,
            verbose=args.verbose or args.demo,
            quiet=args.quiet,
            comments=args.comments,
            first_tries=None if args.follow else FIRST_TRIES,
            tell_ends=policy.after == "errors",
        ),
    )


def _has_control_characters(text: str) -> bool:
    # What a header value may not hold (RFC 9110 field-value): controls but the tab.
    return any((ord(c) < 0x20 and c != "\t") or c == "\x7f" for c in text)


def _request_body(args: argparse.Namespace) -> dict[str, Any]:
    if args.json_body is not None:
        try:
            return {"json": json.loads(args.json_body)}
        except ValueError as exc:
            raise ValueError(f"--json-body is not JSON: {exc}") from None
    if args.data is None:
        return {}
    if args.data == "@-":
        return {"content": sys.stdin.buffer.read()}
    if args.data.startswith("@"):
        with open(args.data[1:], "rb") as file:
            return {"content": file.read()}
    return {"content": args.data.encode()}


class _Output(Hooks):
    """Writes events to stdout and lifecycle lines to stderr, flushing each line.

    Without ``-v``, stderr gets one line per reconnection and, with ``tell_ends``, one
    when the server ends the stream and the command with it (``-q`` silences both); a
    first connection that fails ``first_tries`` times in a row, without ever opening,
    stops the command.
    """

    def __init__(self, show: _Show) -> None:
        self.as_json = show.as_json
        self.verbose = show.verbose
        self.quiet = show.quiet
        self.comments = show.comments
        self.first_tries = show.first_tries
        self.tell_ends = show.tell_ends
        self._failure = ""  # what the last failure was, for the reconnection line
        self._connected = False  # whether the failure to come ends an open stream
        self._opened = False  # whether any connection ever opened
        # Asked once: isatty() is a system call, and events come by the thousand.
        self._terminals = {id(stream) for stream in (sys.stdout, sys.stderr) if stream.isatty()}

    def event(self, event: ServerSentEvent) -> None:
        self._write(sys.stdout, format_line(event, as_json=self.as_json))

    def on_comment(self, source: EventSource, text: str) -> None:
        if self.comments:
            self._write(sys.stdout, json.dumps({"comment": text}) if self.as_json else f":{text}")

    def note(self, text: str) -> None:
        if self.verbose:
            self._write(sys.stderr, f"* {text}")

    def tell(self, text: str) -> None:
        """A lifecycle line shown without -v too (unless -q)."""
        if self.verbose or not self.quiet:
            self._write(sys.stderr, f"* {text}")

    def error(self, text: str) -> None:
        self._write(sys.stderr, f"error: {text}")

    def _write(self, stream: TextIO, line: str) -> None:
        if id(stream) in self._terminals:
            line = escape_controls(line)
        stream.write(line + "\n")
        stream.flush()

    # -- The source's hooks ---------------------------------------------------------------

    def on_open(self, source: EventSource, response: httpx2.Response) -> None:
        self._connected = self._opened = True
        # An HTTP/1.1 server may send an empty reason phrase.
        status = " ".join(filter(None, (str(response.status_code), response.reason_phrase)))
        self.note(f"connected: {response.http_version} {status} {response.url}")

    def on_error(self, source: EventSource, failure: Failure) -> Stop | None:
        error = failure.error
        if isinstance(error, StreamEnded) and error.clean:
            last_event_id = source.last_event_id
            self._failure = "the server ended the stream"
            if last_event_id:
                self._failure += f" after id {last_event_id!r}"
        else:
            what = "connection lost" if self._connected else "could not connect"
            self._failure = f"{what}: {_describe(error)}"
        self._connected = False
        if self.tell_ends and failure.delay is None and isinstance(error, StreamEnded):
            # The command ends here, exit status 0: say so, and how to go on.
            self.tell(f"{self._failure} (--follow resumes)")
            return None
        self.note(self._failure)
        if (
            not self._opened
            and self.first_tries is not None
            and failure.delay is not None
            and failure.attempt >= self.first_tries
        ):
            tries = failure.attempt
            self.tell(f"{self._failure}; giving up after {tries} attempts (--follow keeps trying)")
            return STOP
        return None

    def on_retry(self, source: EventSource, delay: float) -> None:
        # One line for each reconnection, -v or not (-q silences it): a stream that
        # keeps failing should not look like a stream that is quiet.
        last_event_id = source.last_event_id
        resume = f" with Last-Event-ID {last_event_id!r}" if last_event_id else ""
        line = f"reconnecting in {delay:.2f} s{resume}"
        if self.verbose:
            self.note(line)
        elif not self.quiet:
            self._write(sys.stderr, f"* {self._failure}; {line}")

    def on_close(self, source: EventSource) -> None:
        response = source.response
        if response is not None and response.status_code == 204:
            self.note("closed: the server answered 204, the stream is over")
        else:
            self.note("closed")


def main(argv: Sequence[str] | None = None, *, prog: str = PROG_MODULE) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit status.

    Bad arguments exit through argparse (``SystemExit`` with status 2), before any
    connection is made. See ``python -m sse_client --help``.

    Args:
        argv: The arguments, without the program name.
        prog: The program's name in usage and error lines.

    Returns:
        0 at a clean end, 1 when the stream failed, 130 when interrupted.

    Example:
        >>> main(["--demo"])  # doctest: +SKIP
        0
    """
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    options = _check_arguments(parser, args)
    _replace_unencodable(sys.stdout)
    output = _Output(options.show)
    try:
        if options.url is None:
            from ._demo import DemoServer

            with DemoServer() as demo:
                output.note(
                    f"demo server on {demo.url}: a token stream that drops once,"
                    " resumes from its last event ID, and ends"
                )
                return _consume(demo.url, options, output)
        return _consume(options.url, options, output)
    except (SSEError, httpx2.HTTPError) as exc:
        output.error(_describe(exc))
        return EXIT_FAILED
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`| head -1`): stop quietly, and keep Python from
        # failing again when it flushes stdout at exit.
        _silence_stdout()
        return EXIT_OK


def _consume(url: str, options: _Options, output: _Output) -> int:
    # Our own client, for the TLS and HTTP/2 options; trust_env (the default, said here
    # because --help promises it) honours the proxy and SSL_CERT_* variables.
    client = httpx2.Client(verify=options.verify, http2=options.http2, trust_env=True)
    with (
        client,
        EventSource(
            url,
            client=client,
            method=options.method,
            headers=options.headers,
            last_event_id=options.last_event_id,
            reconnect=options.policy,
            timeout=options.timeout,
            hooks=output,
            **options.body,
        ) as source,
    ):
        for count, event in enumerate(source, 1):
            output.event(event)
            if count == options.max_events or event.event == options.until:
                break
    return EXIT_OK


def _replace_unencodable(stream: TextIO) -> None:
    # A terminal or pipe whose encoding cannot show some character of the data gets an
    # escape (\u20ac) rather than a UnicodeEncodeError halfway through the stream.
    if isinstance(stream, io.TextIOWrapper):
        stream.reconfigure(errors="backslashreplace")


def _silence_stdout() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass  # stdout is not a file descriptor (a test's capture): nothing to flush
    finally:
        os.close(devnull)


def run(prog: str = PROG_SCRIPT) -> None:
    """The console script: ``sse-client URL`` exits with :func:`main`'s status.

    Args:
        prog: The program's name in usage and error lines (``python -m sse_client``
            passes its own).
    """
    sys.exit(main(prog=prog))
