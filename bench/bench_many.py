"""Many concurrent streams in one process: CPU per event, delivery latency, memory and
connect time with hundreds to thousands of sources, against httpx-sse and
aiohttp-sse-client2.

Run: ``python -m bench.bench_many [--quick] [--scenario a|b|c|all] [--streams N]
[--rounds N]``.

A server in a child process keeps every stream open for the whole run and sends each
one an event at a fixed interval, stamped with its send time and the stream's count:
``data: {"t": 1733412345.123456, "n": 17}``. Scenarios:

- (a) 1,000 busy async streams (10 events/s each) on one shared client;
- (b) 10,000 idle async streams (one event per 10 s each) on one shared client;
- (c) 200 blocking ``EventSource`` streams, one thread each (10 events/s each).

Each contestant runs in a fresh interpreter, so memory figures do not mix. Figures are
from one run on a shared machine: compare rows of one run, not runs. ``--rounds N`` runs
every contestant N times, in rounds that each start one contestant further on, and
reports each figure's median, and our ratios to each peer as the median (and range) of
the ratios within each round.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import gc
import heapq
import json
import math
import os
import resource
import statistics
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bench.bench_clients import Server, in_child, rss_kib

# -- The server (a child process) ------------------------------------------------------

HEADERS = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
    b"Cache-Control: no-cache\r\nConnection: close\r\n\r\n"
)
MAX_SLEEP = 0.005  # seconds: the longest the server's clock waits, so new streams start on time
BACKLOG = 4096  # the kernel caps it at net.core.somaxconn


def event_bytes(n: int) -> bytes:
    """One event, stamped with the wall clock (both processes read the same one)."""
    return b'data: {"t": %.6f, "n": %d}\n\n' % (time.time(), n)


class _Stream(asyncio.Protocol):
    """One connection: read the request, answer with a close-delimited event stream,
    event 0 at once, then one every ``every`` seconds (``/events?every=0.1``)."""

    def __init__(self, schedule: list[tuple[float, int, _Stream]]) -> None:
        self.schedule = schedule
        self.transport: asyncio.Transport | None = None
        self.request = b""
        self.every = 0.0
        self.n = 0
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if self.every or self.transport is None:
            return  # the stream has started: nothing more is read
        self.request += data
        if b"\r\n\r\n" not in self.request:
            return
        target = self.request.split(b" ", 2)[1].decode()
        self.every = float(parse_qs(urlsplit(target).query).get("every", ["1"])[0])
        self.transport.write(HEADERS + event_bytes(0))
        self.n = 1
        heapq.heappush(self.schedule, (time.monotonic() + self.every, id(self), self))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True


async def _tick(schedule: list[tuple[float, int, _Stream]]) -> None:
    """Send every event that is due, in the order they are due; one clock for all
    streams, rather than a timer each."""
    while True:
        now = time.monotonic()
        while schedule and schedule[0][0] <= now:
            due, key, stream = heapq.heappop(schedule)
            if stream.closed or stream.transport is None or stream.transport.is_closing():
                continue
            stream.transport.write(event_bytes(stream.n))
            stream.n += 1
            heapq.heappush(schedule, (due + stream.every, key, stream))
        wait = schedule[0][0] - time.monotonic() if schedule else MAX_SLEEP
        await asyncio.sleep(min(max(wait, 0.0), MAX_SLEEP))


def serve_streams(port_pipe: Any, streams: int) -> None:
    """The server's process: every stream stays open until its client goes away."""
    raise_fd_limit(streams)

    async def main() -> None:
        schedule: list[tuple[float, int, _Stream]] = []
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: _Stream(schedule), "127.0.0.1", 0, backlog=BACKLOG
        )
        port_pipe.send(server.sockets[0].getsockname()[1])
        async with server:
            await _tick(schedule)

    asyncio.run(main())


# -- What each process measures ---------------------------------------------------------

FD_MARGIN = 256  # descriptors beyond one per stream: the interpreter, pipes, the listener


def raise_fd_limit(streams: int) -> int:
    """Raise this process's open-file limit, for ``streams`` sockets and a margin, as far
    as the hard limit allows; returns the limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = streams + FD_MARGIN
    if hard != resource.RLIM_INFINITY:
        wanted = min(wanted, hard)
    if wanted > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        soft = wanted
    return soft


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


class Run:
    """What all of one contestant's streams saw."""

    def __init__(self) -> None:
        self.tallies: list[Tally] = []
        self.latencies: list[float] = []  # seconds, while measuring
        self.measuring = False
        self.opened = 0
        self.last_open = 0.0  # perf_counter() at the last stream's first event
        self.disorder = 0  # events whose n was not the one after the last
        self.lock = threading.Lock()

    def tally(self) -> Tally:
        tally = Tally(self)
        self.tallies.append(tally)
        return tally

    def counts(self) -> tuple[int, int]:
        """Events received, and events numbered by the server up to the last received."""
        return sum(t.received for t in self.tallies), sum(t.next_n for t in self.tallies)


class Tally:
    """One stream's events: checks that ``n`` counts up by one, and times delivery."""

    __slots__ = ("next_n", "received", "run")

    def __init__(self, run: Run) -> None:
        self.run = run
        self.next_n = 0
        self.received = 0

    def event(self, data: str) -> None:
        now = time.time()
        message = json.loads(data)
        n = message["n"]
        run = self.run
        if n != self.next_n:
            run.disorder += 1
        if not self.received:
            with run.lock:
                run.opened += 1
                run.last_open = time.perf_counter()
        self.next_n = n + 1
        self.received += 1
        if run.measuring:
            run.latencies.append(now - message["t"])


@dataclass
class Figures:
    """One contestant's figures in one scenario (sent back from its child process)."""

    streams: int
    opened: int
    connect_seconds: float
    connect_cpu: float  # seconds
    rss_kib: float  # resident growth from before connecting to all connected
    cpu: float  # seconds over the window
    delivered: int
    expected: int
    disorder: int
    latencies: list[float]
    fds_before: int
    fds_after: int
    errors: list[str] = field(default_factory=list)
    fd_limit: int = 0
    collections: list[int] = field(default_factory=lambda: [0, 0, 0])  # per generation
    longest_collection: float = 0.0  # seconds

    @property
    def cpu_per_event(self) -> float:
        """Microseconds."""
        return self.cpu / self.delivered * 1e6 if self.delivered else float("nan")

    def percentile(self, q: int) -> float:
        """Milliseconds."""
        if len(self.latencies) < 2:
            return self.latencies[0] * 1e3 if self.latencies else float("nan")
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[q - 1] * 1e3


class Collections:
    """The garbage collector's runs while measuring: how many of each generation, and
    the longest (every thread waits for it)."""

    def __init__(self) -> None:
        self.counts = [0, 0, 0]
        self.longest = 0.0  # seconds
        self.started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self.started = time.perf_counter()
            return
        self.counts[info["generation"]] += 1
        self.longest = max(self.longest, time.perf_counter() - self.started)


class Phases:
    """The moments of a measured run, the same for threads and tasks."""

    def __init__(self, run: Run, streams: int) -> None:
        self.run = run
        self.streams = streams
        gc.collect()
        self.fds_before = open_fds()
        self.rss_before = rss_kib()
        self.cpu_start = time.process_time()
        self.start = time.perf_counter()
        self.connect_seconds = self.connect_cpu = self.rss = 0.0
        self.counts = (0, 0)
        self.cpu = 0.0
        self.collections = Collections()

    def all_open(self) -> bool:
        return self.run.opened >= self.streams

    def connected(self) -> None:
        self.connect_cpu = time.process_time() - self.cpu_start
        end = self.run.last_open if self.all_open() else time.perf_counter()
        self.connect_seconds = end - self.start
        self.rss = (rss_kib() - self.rss_before) / self.streams

    def window_start(self) -> None:
        self.counts = self.run.counts()
        self.run.measuring = True
        gc.callbacks.append(self.collections)
        self.cpu = time.process_time()

    def window_end(self) -> None:
        self.cpu = time.process_time() - self.cpu
        gc.callbacks.remove(self.collections)
        self.run.measuring = False
        received, numbered = self.run.counts()
        self.counts = (received - self.counts[0], numbered - self.counts[1])

    def figures(self, errors: list[str], fd_limit: int) -> Figures:
        gc.collect()
        return Figures(
            streams=self.streams,
            opened=self.run.opened,
            connect_seconds=self.connect_seconds,
            connect_cpu=self.connect_cpu,
            rss_kib=self.rss,
            cpu=self.cpu,
            delivered=self.counts[0],
            expected=self.counts[1],
            disorder=self.run.disorder,
            latencies=self.run.latencies,
            fds_before=self.fds_before,
            fds_after=open_fds(),
            errors=errors,
            fd_limit=fd_limit,
            collections=self.collections.counts,
            longest_collection=self.collections.longest,
        )


# -- Contestants ---------------------------------------------------------------------
# An async contestant is a shared client (an async context manager) and a coroutine that
# reads one stream with it, handing each event's data to a Tally until cancelled. A
# blocking one is a shared client and a function that reads one stream in its thread
# until told to stop (each stream has an event every 0.1 s, so it stops soon after).

# The peers' clients have no timeout at all. Ours would cut a request at 30 s by default,
# and with 10,000 streams opening on one httpx2 client, a run cut 678 of them: placing a
# request in httpcore's pool scans every connection in it, so the last requests waited
# that long to connect. This measures the time to connect them all instead.
CONNECT_TIMEOUT = 300.0  # seconds
WARM_UP_LIMIT = 10.0  # seconds for the warm-up stream's first event
# Without --idle, nobody's reads have a timeout. With it, every contestant's reads have
# that one: ours as Timeouts(idle=...), the peers' through their client or session.

AsyncConsume = Callable[[Any, str, Tally], Coroutine[Any, Any, None]]
SyncConsume = Callable[[Any, str, Tally, threading.Event], None]


def httpx_client(stack: str, blocking: bool = False, idle: float | None = None) -> Any:
    import httpx
    import httpx2

    http: Any = httpx2 if stack == "httpx2" else httpx
    limits = http.Limits(max_connections=None, max_keepalive_connections=0)
    timeout = None if idle is None else http.Timeout(None, read=idle)
    return (http.Client if blocking else http.AsyncClient)(timeout=timeout, limits=limits)


# openai's DefaultAioHttpClient hands max_connections to aiohttp as its cap on
# connections, and leaves it out when it is None, which gives aiohttp's default of 100:
# the 101st stream waits for a free connection until its connect timeout. So the cap is
# set, above any number of streams a run opens.
OPENAI_AIOHTTP_MAX_CONNECTIONS = 1_000_000


def openai_aiohttp_client(idle: float | None = None) -> Any:
    """openai's ``DefaultAioHttpClient``: an ``httpx2.AsyncClient`` on aiohttp's transport."""
    import httpx2
    import openai

    limits = httpx2.Limits(
        max_connections=OPENAI_AIOHTTP_MAX_CONNECTIONS, max_keepalive_connections=0
    )
    timeout = None if idle is None else httpx2.Timeout(None, read=idle)
    return openai.DefaultAioHttpClient(timeout=timeout, limits=limits)


@contextlib.asynccontextmanager
async def aiohttp_session(idle: float | None = None) -> AsyncIterator[Any]:
    import aiohttp

    connector = aiohttp.TCPConnector(limit=0)
    # Its default total timeout ends a request at 300 s.
    timeout = aiohttp.ClientTimeout(total=None, sock_read=idle)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        yield session


async def ours_async(client: Any, url: str, tally: Tally, idle: float | None = None) -> None:
    from sse_client import AsyncEventSource, Timeouts

    async with AsyncEventSource(
        url, client=client, reconnect=False, timeout=Timeouts(CONNECT_TIMEOUT, idle=idle)
    ) as source:
        async for event in source:
            tally.event(event.data)


async def httpx2_eventsource(client: Any, url: str, tally: Tally) -> None:
    """httpx2's own SSE reading, on a response opened on the shared client."""
    import httpx2

    async with client.stream("GET", url) as response:
        async for event in httpx2.EventSource(response):
            tally.event(event.data)


async def httpx_sse_async(client: Any, url: str, tally: Tally) -> None:
    from httpx_sse import aconnect_sse

    async with aconnect_sse(client, "GET", url) as source:
        async for event in source.aiter_sse():
            tally.event(event.data)


async def aiohttp_sse_client2(session: Any, url: str, tally: Tally) -> None:
    from aiohttp_sse_client2.client import EventSource  # type: ignore[import-untyped]

    # max_connect_retry=0: a failed connect raises instead of retrying. It reconnects
    # only when a stream ends, and the server ends none before the client closes it.
    async with EventSource(url, session=session, max_connect_retry=0) as source:
        async for event in source:
            tally.event(event.data)


def ours_sync(
    client: Any, url: str, tally: Tally, stop: threading.Event, idle: float | None = None
) -> None:
    from sse_client import EventSource, Timeouts

    timeout = Timeouts(CONNECT_TIMEOUT, idle=idle)
    with EventSource(url, client=client, reconnect=False, timeout=timeout) as source:
        for event in source:
            tally.event(event.data)
            if stop.is_set():
                break


def httpx_sse_sync(client: Any, url: str, tally: Tally, stop: threading.Event) -> None:
    from httpx_sse import connect_sse

    with connect_sse(client, "GET", url) as source:
        for event in source.iter_sse():
            tally.event(event.data)
            if stop.is_set():
                break


@dataclass(frozen=True)
class Contestant:
    name: str
    stack: str
    key: str  # how its child process finds it


ASYNC_CONTESTANTS = [
    Contestant("sse_client AsyncEventSource", "httpx2", "ours-httpx2"),
    Contestant("sse_client AsyncEventSource", "httpx", "ours-httpx"),
    Contestant("sse_client AsyncEventSource", "aiohttp", "ours-aiohttp"),
    # An httpx2 client whose transport is aiohttp: our httpx2 code path, aiohttp's I/O.
    Contestant("sse_client AsyncEventSource", "openai-aiohttp", "ours-openai-aiohttp"),
    Contestant("httpx2.EventSource", "httpx2", "httpx2-eventsource"),
    Contestant("httpx-sse aconnect_sse", "httpx", "httpx-sse"),
    Contestant("aiohttp-sse-client2 EventSource", "aiohttp", "aiohttp-sse-client2"),
]
SYNC_CONTESTANTS = [
    Contestant("sse_client EventSource", "httpx2", "ours-httpx2"),
    Contestant("sse_client EventSource", "httpx", "ours-httpx"),
    Contestant("httpx-sse connect_sse", "httpx", "httpx-sse"),
]


def async_contestant(key: str, idle: float | None = None) -> tuple[Callable[[], Any], AsyncConsume]:
    """The shared client's factory and the reader of one stream; reads time out after
    ``idle`` seconds without a byte (``None``: never)."""
    ours: AsyncConsume = functools.partial(ours_async, idle=idle)
    if key == "aiohttp-sse-client2":
        return functools.partial(aiohttp_session, idle), aiohttp_sse_client2
    if key == "ours-aiohttp":
        return functools.partial(aiohttp_session, idle), ours
    if key == "ours-openai-aiohttp":
        return functools.partial(openai_aiohttp_client, idle), ours
    if key == "httpx2-eventsource":
        return functools.partial(httpx_client, "httpx2", idle=idle), httpx2_eventsource
    stack = "httpx" if key in ("ours-httpx", "httpx-sse") else "httpx2"
    consume = ours if key.startswith("ours") else httpx_sse_async
    return functools.partial(httpx_client, stack, idle=idle), consume


def sync_contestant(key: str, idle: float | None = None) -> tuple[Callable[[], Any], SyncConsume]:
    stack = "httpx2" if key == "ours-httpx2" else "httpx"
    consume = functools.partial(ours_sync, idle=idle) if key.startswith("ours") else httpx_sse_sync
    return functools.partial(httpx_client, stack, blocking=True, idle=idle), consume


def _failure(result: BaseException) -> str:
    return f"{type(result).__name__}: {result}"


def run_async(
    key: str, url: str, streams: int, warmup: float, window: float, idle: float | None = None
) -> dict[str, Any]:
    """One async contestant's run, in its own process: connect all, warm up, measure."""
    fd_limit = raise_fd_limit(streams)
    open_client, consume = async_contestant(key, idle)

    async def main() -> Figures:
        async with open_client() as client:
            await warm_up(client, url, consume)
            run = Run()
            phases = Phases(run, streams)
            tasks = [asyncio.create_task(consume(client, url, run.tally())) for _ in range(streams)]
            deadline = time.perf_counter() + connect_limit(streams)
            while not phases.all_open() and time.perf_counter() < deadline:
                if all(task.done() for task in tasks):
                    break
                await asyncio.sleep(0.005)
            phases.connected()
            await asyncio.sleep(warmup)
            phases.window_start()
            await asyncio.sleep(window)
            phases.window_end()
            for task in tasks:
                task.cancel()
            results = await asyncio.gather(*tasks, return_exceptions=True)
            errors = [
                _failure(result)
                for result in results
                if isinstance(result, BaseException)
                and not isinstance(result, asyncio.CancelledError)
            ]
            ended = sum(1 for result in results if result is None)
            if ended:
                errors.append(f"{ended} streams ended early")
            del tasks, results
            await asyncio.sleep(0.1)  # transports close on the loop's next turns
            return phases.figures(errors, fd_limit)

    return asdict(asyncio.run(main()))


async def warm_up(client: Any, url: str, consume: AsyncConsume) -> None:
    """Open one stream and close it before the baseline, so that what a contestant does
    once per process (an import at first use, a cache) is not counted per connection."""
    run = Run()
    task = asyncio.create_task(consume(client, url, run.tally()))
    deadline = time.perf_counter() + WARM_UP_LIMIT
    while time.perf_counter() < deadline:
        if run.opened or task.done():
            break
        await asyncio.sleep(0.005)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await asyncio.sleep(0.05)  # transports close on the loop's next turns


def warm_up_sync(client: Any, url: str, consume: SyncConsume) -> None:
    """The blocking twin of :func:`warm_up`."""
    run, stop = Run(), threading.Event()
    thread = threading.Thread(target=consume, args=(client, url, run.tally(), stop), daemon=True)
    thread.start()
    deadline = time.perf_counter() + WARM_UP_LIMIT
    while not run.opened and thread.is_alive() and time.perf_counter() < deadline:
        time.sleep(0.005)
    stop.set()
    thread.join(timeout=5)


def run_sync(
    key: str, url: str, streams: int, warmup: float, window: float, idle: float | None = None
) -> dict[str, Any]:
    """One blocking contestant's run, a thread per stream, in its own process."""
    fd_limit = raise_fd_limit(streams)
    open_client, consume = sync_contestant(key, idle)
    errors: list[str] = []

    def reader(client: Any, tally: Tally, stop: threading.Event) -> None:
        try:
            consume(client, url, tally, stop)
        except Exception as exc:
            errors.append(_failure(exc))
        else:
            if not stop.is_set():
                errors.append("a stream ended early")

    with open_client() as client:
        warm_up_sync(client, url, consume)
        run = Run()
        stop = threading.Event()
        phases = Phases(run, streams)
        threads = [
            threading.Thread(target=reader, args=(client, run.tally(), stop), daemon=True)
            for _ in range(streams)
        ]
        for thread in threads:
            thread.start()
        deadline = time.perf_counter() + connect_limit(streams)
        while not phases.all_open() and time.perf_counter() < deadline:
            time.sleep(0.005)
        phases.connected()
        time.sleep(warmup)
        phases.window_start()
        time.sleep(window)
        phases.window_end()
        stop.set()
        for thread in threads:
            thread.join(timeout=5)
        stuck = sum(thread.is_alive() for thread in threads)
        if stuck:
            errors.append(f"{stuck} threads still reading 5 s after stop")
        del threads
        return asdict(phases.figures(errors, fd_limit))


def connect_limit(streams: int) -> float:
    """Seconds to wait for every stream's first event before measuring anyway."""
    return 10 + streams / 200


# -- Scenarios and the report ------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    streams: int
    every: float  # seconds between a stream's events
    warmup: float  # seconds
    window: float  # seconds
    blocking: bool = False
    idle: float | None = None  # seconds without a byte before a read times out

    @property
    def contestants(self) -> list[Contestant]:
        return SYNC_CONTESTANTS if self.blocking else ASYNC_CONTESTANTS


SCENARIOS = {
    "a": Scenario("a", "busy async streams on one shared client", 1000, 0.1, 3.0, 10.0),
    # (b)'s window is one whole period, so every stream sends one event in it whenever it
    # connected: a shorter one would catch only the streams whose phase falls inside it.
    "b": Scenario("b", "idle async streams on one shared client", 10_000, 10.0, 0.0, 10.0),
    "c": Scenario("c", "blocking EventSource streams, a thread each", 200, 0.1, 2.0, 10.0, True),
}
QUICK = {
    "a": (30, 0.05, 0.3),
    "b": (50, 0.0, 0.1),
    "c": (20, 0.05, 0.3),
}  # streams, warm-up, window

OURS = "sse_client"
STACKS = ("httpx2", "httpx", "aiohttp", "openai-aiohttp")  # ours runs on each
PEERS = ("aiohttp-sse-client2", "httpx-sse", "httpx2.EventSource")
FD_SLACK = 3  # descriptors a run may leave open without counting as a leak


Results = dict[Contestant, Figures | str]  # one round: each contestant's figures or failure


def measure(
    scenario: Scenario, side_by_side: bool = False, stacks: frozenset[str] | None = None
) -> Results:
    """Each contestant's figures, each from its own process, one after another (or all
    at once, ``side_by_side``, for a smoke run whose figures need not be comparable);
    only those on ``stacks``, if given."""
    return measure_rounds(scenario, 1, side_by_side, stacks)[0]


def measure_rounds(
    scenario: Scenario,
    rounds: int,
    side_by_side: bool = False,
    stacks: frozenset[str] | None = None,
) -> list[Results]:
    """:func:`measure`, ``rounds`` times on one server: every round runs every contestant
    once, each in a fresh process, and starts one contestant further on than the round
    before, so that who runs first (and who follows whom) rotates. Each round's figures
    are in the contestants' own order, whatever order they ran in."""
    contestants = [c for c in scenario.contestants if stacks is None or c.stack in stacks]
    at_once = len(contestants) if side_by_side else 1
    server = Server(scenario.streams * at_once, serve=serve_streams)
    url = f"{server.url}/events?every={scenario.every}"
    run = run_sync if scenario.blocking else run_async
    timeout = 120 + connect_limit(scenario.streams) + scenario.window

    def one(contestant: Contestant) -> Figures | str:
        try:
            # A plain dict crosses back: under ``python -m`` the child's classes belong
            # to a module the parent does not have.
            figures = in_child(
                run,
                contestant.key,
                url,
                scenario.streams,
                scenario.warmup,
                scenario.window,
                scenario.idle,
                timeout=timeout,
            )
        except RuntimeError as exc:
            return str(exc)
        return Figures(**figures)

    results: list[Results] = []
    try:
        with ThreadPoolExecutor(at_once) as pool:
            for index in range(rounds):
                first = index % max(len(contestants), 1)
                order = contestants[first:] + contestants[:first]
                ran = dict(zip(order, pool.map(one, order), strict=True))
                results.append({contestant: ran[contestant] for contestant in contestants})
    finally:
        server.stop()
    return results


def heading(scenario: Scenario) -> None:
    """The scenario's title and what it measures."""
    nominal = scenario.streams * scenario.window / scenario.every
    print(
        f"\n### ({scenario.key}) {scenario.streams:,} {scenario.title}, "
        f"one event per {scenario.every:g} s each\n"
    )
    print(
        f"{scenario.warmup:g} s warm-up, then a {scenario.window:g} s window "
        f"(about {nominal:,.0f} events at the nominal rate). connect-all: from the first "
        "request to every stream's first event."
    )
    if scenario.idle is not None:
        print(
            f"Every contestant's reads time out after {scenario.idle:g} s without a byte "
            "(ours: Timeouts(idle=...); the peers: their client's read timeout)."
        )


def table_header() -> None:
    columns = [
        "contestant",
        "stack",
        "CPU us/event",
        "p50 ms",
        "p99 ms",
        "KiB RSS/conn",
        "connect-all s",
        "CPU us/connect",
        "delivered/expected",
        "fds after close/baseline",
    ]
    print("| " + " | ".join(columns) + " |")
    print("|" + "|".join(["---"] * 2 + ["---:"] * (len(columns) - 2)) + "|")


def problems(contestant: Contestant, figures: Figures, round_number: int = 0) -> list[str]:
    """What went wrong in one run: errors, descriptors left open, too low a limit
    (``round_number``, from 1, says which round when there are several)."""
    who = f"{contestant.name} ({contestant.stack})"
    if round_number:
        who += f", round {round_number}"
    notes = []
    if figures.errors:
        notes.append(f"{who}: {len(figures.errors)} problems, first: {figures.errors[0]}")
    if figures.fds_after > figures.fds_before + FD_SLACK:
        notes.append(
            f"{who}: {figures.fds_after - figures.fds_before} "
            "file descriptors still open after every source was closed"
        )
    if figures.fd_limit < figures.streams + FD_MARGIN:
        notes.append(
            f"{contestant.name}: the open-file limit ({figures.fd_limit}) is too low "
            f"for {figures.streams:,} streams; raise the hard limit (ulimit -Hn)"
        )
    return notes


def report(scenario: Scenario, results: Results) -> None:
    heading(scenario)
    print()
    table_header()
    notes: list[str] = []
    for contestant, figures in results.items():
        if isinstance(figures, str):
            print(f"| {contestant.name} | {contestant.stack} | failed: {figures} |")
            continue
        opened = (
            f"{figures.connect_seconds:.2f}"
            if figures.opened == figures.streams
            else f"> {figures.connect_seconds:.1f} ({figures.opened:,} open)"
        )
        delivered = f"{figures.delivered:,}/{figures.expected:,}"
        if figures.disorder:
            delivered += f" ({figures.disorder} out of order)"
        cells = [
            contestant.name,
            contestant.stack,
            number(figures.cpu_per_event, 1),
            number(figures.percentile(50), 2),
            number(figures.percentile(99), 2),
            f"{figures.rss_kib:.1f}",
            opened,
            f"{figures.connect_cpu / max(figures.opened, 1) * 1e6:.0f}",
            delivered,
            f"{figures.fds_after}/{figures.fds_before}",
        ]
        print("| " + " | ".join(cells) + " |")
        notes += problems(contestant, figures)
    print()
    for note in notes:
        print(f"- {note}")
    for contestant, figures in results.items():
        if isinstance(figures, Figures):
            print(
                f"- garbage collections in the window, {contestant.name} ({contestant.stack}): "
                + "/".join(map(str, figures.collections))
                + f" of generations 0/1/2, the longest {figures.longest_collection * 1e3:.1f} ms"
            )
    compare(scenario, results)


def number(value: float, digits: int) -> str:
    """A figure, or a dash where nothing was measured (no event in the window)."""
    return "-" if math.isnan(value) else f"{value:.{digits}f}"


def ratio(ours: float, theirs: float) -> str:
    value = ours / theirs if theirs > 0 else math.nan
    return "-" if math.isnan(value) else f"{value:.2f}x"


def _row(results: dict[Contestant, Figures | str], name: str, stack: str = "") -> Figures | None:
    for contestant, figures in results.items():
        if contestant.name.startswith(name) and stack in ("", contestant.stack):
            return figures if isinstance(figures, Figures) else None
    return None


def compare(scenario: Scenario, results: dict[Contestant, Figures | str]) -> None:
    """Our rows as ratios of each peer's (below 1: ours is lower), then the targets."""
    for stack in STACKS:
        ours = _row(results, OURS, stack)
        if ours is None:
            continue
        ratios = []
        for peer_name in PEERS:
            peer = _row(results, peer_name)
            if peer is None:
                continue
            pairs = [
                ("CPU/event", ours.cpu_per_event, peer.cpu_per_event),
                ("p50", ours.percentile(50), peer.percentile(50)),
                ("p99", ours.percentile(99), peer.percentile(99)),
                ("RSS/conn", ours.rss_kib, peer.rss_kib),
                ("connect-all", ours.connect_seconds, peer.connect_seconds),
            ]
            ratios.append(
                f"vs {peer_name}: " + ", ".join(f"{label} {ratio(a, b)}" for label, a, b in pairs)
            )
        if ratios:
            print(f"- sse_client on {stack}, as a ratio of the peer's figure: " + "; ".join(ratios))
    for line in targets(scenario, results):
        print(f"- target: {line}")


def targets(scenario: Scenario, results: dict[Contestant, Figures | str]) -> Iterator[str]:
    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"

    peer = _row(results, "aiohttp-sse-client2")
    for stack in STACKS:
        ours = _row(results, OURS, stack)
        if ours is None:
            continue
        if scenario.key == "a":
            if peer is not None:
                yield (
                    f"CPU per event at or below aiohttp-sse-client2's, on {stack}: "
                    f"{verdict(ours.cpu_per_event <= peer.cpu_per_event)} "
                    f"({ours.cpu_per_event:.1f} vs {peer.cpu_per_event:.1f} us)"
                )
            p99 = ours.percentile(99)
            yield f"p99 latency under 20 ms, on {stack}: {verdict(p99 < 20)} ({p99:.2f} ms)"
        elif scenario.key == "b":
            scale = "" if scenario.streams == 10_000 else " (set for 10,000 streams)"
            all_open = ours.opened == ours.streams
            yield (
                f"all {scenario.streams:,} connected within 3 s{scale}, on {stack}: "
                f"{verdict(all_open and ours.connect_seconds <= 3)} "
                f"({ours.connect_seconds:.2f} s, {ours.opened:,} open)"
            )
            yield (
                f"at most 20 KiB resident per connection, on {stack}: "
                f"{verdict(ours.rss_kib <= 20)} ({ours.rss_kib:.1f} KiB)"
            )


# -- Rounds: the same scenario measured several times, contestants taking turns -----------


@dataclass(frozen=True)
class Row:
    """The figures of one table row: one run's, or the medians of several runs'."""

    cpu_per_event: float  # microseconds
    p50: float  # milliseconds
    p99: float  # milliseconds
    rss_kib: float
    connect_seconds: float
    cpu_per_connect: float  # microseconds
    opened: float
    streams: float
    delivered: float
    expected: float
    fds_after: float
    fds_before: float

    @classmethod
    def of(cls, figures: Figures) -> Row:
        return cls(
            cpu_per_event=figures.cpu_per_event,
            p50=figures.percentile(50),
            p99=figures.percentile(99),
            rss_kib=figures.rss_kib,
            connect_seconds=figures.connect_seconds,
            cpu_per_connect=figures.connect_cpu / max(figures.opened, 1) * 1e6,
            opened=figures.opened,
            streams=figures.streams,
            delivered=figures.delivered,
            expected=figures.expected,
            fds_after=figures.fds_after,
            fds_before=figures.fds_before,
        )

    @classmethod
    def median(cls, rows: list[Row]) -> Row:
        """Each figure's median over ``rows`` (a figure missing from a run is left out)."""
        return cls(**{name: median([getattr(row, name) for row in rows]) for name in ROW_FIELDS})


ROW_FIELDS = [f.name for f in fields(Row)]

# What the ratio lines compare, with the rounds: a label and the figure it divides.
RATIOS: list[tuple[str, Callable[[Row], float]]] = [
    ("CPU/event", lambda row: row.cpu_per_event),
    ("p50", lambda row: row.p50),
    ("p99", lambda row: row.p99),
    ("RSS/conn", lambda row: row.rss_kib),
    ("connect-all", lambda row: row.connect_seconds),
    ("CPU/connect", lambda row: row.cpu_per_connect),
]


def median(values: list[float]) -> float:
    """The median of the figures that were measured; NaN if none was."""
    measured = [value for value in values if not math.isnan(value)]
    return statistics.median(measured) if measured else math.nan


def quotient(ours: float, theirs: float) -> float:
    return ours / theirs if theirs > 0 and not math.isnan(ours) else math.nan


def spread(values: list[float]) -> str:
    """Ratios as their median and, in brackets, their range: ``0.95x (0.93-0.96)``."""
    measured = [value for value in values if not math.isnan(value)]
    if not measured:
        return "-"
    return f"{statistics.median(measured):.2f}x ({min(measured):.2f}-{max(measured):.2f})"


def rounds_named(numbers: list[int]) -> str:
    return ("round " if len(numbers) == 1 else "rounds ") + ", ".join(map(str, numbers))


def ran(measured: int, rounds: int) -> str:
    """How many rounds a figure is from: ``the 3 rounds``, ``the 2 of 3 rounds it ran``."""
    return (
        f"the {rounds} rounds"
        if measured == rounds
        else f"the {measured} of {rounds} rounds it ran"
    )


def _find(contestants: list[Contestant], name: str, stack: str = "") -> Contestant | None:
    for contestant in contestants:
        if contestant.name.startswith(name) and stack in ("", contestant.stack):
            return contestant
    return None


def report_rounds(scenario: Scenario, rounds: list[Results]) -> None:
    """The table of each contestant's median figures over the rounds, what went wrong in
    any round, then our ratios to each peer round by round, and the targets."""
    count = len(rounds)
    heading(scenario)
    print(
        f"{count} rounds: every contestant runs once a round, each in a fresh process, "
        "and each round starts one contestant further on. Every figure in the table is "
        "the median over the rounds."
    )
    print()
    table_header()
    contestants = list(rounds[0])
    rows = [
        {c: Row.of(figures) for c, figures in results.items() if isinstance(figures, Figures)}
        for results in rounds
    ]
    notes: list[str] = []
    for contestant in contestants:
        who = f"{contestant.name} ({contestant.stack})"
        failures = [
            (round_number, figures)
            for round_number, results in enumerate(rounds, 1)
            if isinstance(figures := results[contestant], str)
        ]
        for round_number, failure in failures:
            notes.append(f"{who}, round {round_number}: failed: {failure}")
        runs = [
            (round_number, row[contestant])
            for round_number, row in enumerate(rows, 1)
            if contestant in row
        ]
        if not runs:
            print(
                f"| {contestant.name} | {contestant.stack} | failed in all {count} rounds: "
                f"{failures[0][1]} |"
            )
            continue
        middle = Row.median([row for _, row in runs])
        short = [n for n, row in runs if row.opened < row.streams]
        opened = (
            f"{middle.connect_seconds:.2f}"
            if not short
            else f"> {middle.connect_seconds:.1f} (not all open in {rounds_named(short)})"
        )
        delivered = f"{middle.delivered:,.0f}/{middle.expected:,.0f}"
        miscounted = [n for n, row in runs if row.delivered != row.expected]
        if miscounted:
            delivered += f" (miscounted in {rounds_named(miscounted)})"
        disorder = 0
        for round_number, results in enumerate(rounds, 1):
            figures = results[contestant]
            if not isinstance(figures, Figures):
                continue
            disorder += figures.disorder
            notes += problems(contestant, figures, round_number)
            if figures.opened < figures.streams or figures.delivered != figures.expected:
                notes.append(
                    f"{who}, round {round_number}: {figures.opened:,} of {figures.streams:,} "
                    f"streams open, {figures.delivered:,}/{figures.expected:,} "
                    "delivered/expected"
                )
            if figures.disorder:
                notes.append(f"{who}, round {round_number}: {figures.disorder} out of order")
        if disorder:
            delivered += f" ({disorder} out of order over the rounds)"
        cells = [
            contestant.name,
            contestant.stack,
            number(middle.cpu_per_event, 1),
            number(middle.p50, 2),
            number(middle.p99, 2),
            f"{middle.rss_kib:.1f}",
            opened,
            f"{middle.cpu_per_connect:.0f}",
            delivered,
            f"{middle.fds_after:.0f}/{middle.fds_before:.0f}",
        ]
        print("| " + " | ".join(cells) + " |")
    print()
    for note in dict.fromkeys(notes):  # the open-file limit is the same in every round
        print(f"- {note}")
    for contestant in contestants:
        measured = [figures for r in rounds if isinstance(figures := r[contestant], Figures)]
        if not measured:
            continue
        collections = [
            sum(counts) for counts in zip(*(f.collections for f in measured), strict=True)
        ]
        longest = max(f.longest_collection for f in measured)
        print(
            f"- garbage collections in the windows, summed over {ran(len(measured), count)}, "
            f"{contestant.name} ({contestant.stack}): "
            + "/".join(map(str, collections))
            + f" of generations 0/1/2, the longest in any round {longest * 1e3:.1f} ms"
        )
    compare_rounds(scenario, contestants, rows)


def compare_rounds(
    scenario: Scenario, contestants: list[Contestant], rows: list[dict[Contestant, Row]]
) -> None:
    """Our figures as ratios of each peer's, ours and the peer's of the same round paired:
    the median of the rounds' ratios and their range. Then the targets."""
    for stack in STACKS:
        ours = _find(contestants, OURS, stack)
        if ours is None:
            continue
        lines = []
        for peer_name in PEERS:
            peer = _find(contestants, peer_name)
            if peer is None:
                continue
            pairs = [(row[ours], row[peer]) for row in rows if ours in row and peer in row]
            if not pairs:
                continue
            text = f"vs {peer_name}: " + ", ".join(
                f"{label} {spread([quotient(figure(a), figure(b)) for a, b in pairs])}"
                for label, figure in RATIOS
            )
            if len(pairs) < len(rows):
                text += f" (from the {len(pairs)} of {len(rows)} rounds both ran)"
            lines.append(text)
        if lines:
            print(
                f"- sse_client on {stack}, as a ratio of the peer's figure (median of the "
                "rounds' ratios, range in brackets): " + "; ".join(lines)
            )
    for line in targets_rounds(scenario, contestants, rows):
        print(f"- target: {line}")


def judged(by_median: bool, by_round: list[bool | None]) -> str:
    """A target's verdict on the medians, and where the rounds disagree with it; a round
    with nothing measured is ``None``."""
    met = [n for n, ok in enumerate(by_round, 1) if ok]
    missed = [n for n, ok in enumerate(by_round, 1) if ok is False]
    if by_median and not missed:
        verdict = "met in every round"
    elif not by_median and not met:
        verdict = "NOT met in any round"
    elif by_median:
        verdict = f"met by the median, not in {rounds_named(missed)}"
    else:
        verdict = f"NOT met by the median, though met in {rounds_named(met)}"
    if len(met) + len(missed) < len(by_round):
        verdict += f" ({len(met) + len(missed)} of {len(by_round)} rounds measured)"
    return verdict


def targets_rounds(
    scenario: Scenario, contestants: list[Contestant], rows: list[dict[Contestant, Row]]
) -> Iterator[str]:
    """:func:`targets`, judged on the medians over the rounds."""
    peer = _find(contestants, "aiohttp-sse-client2")
    for stack in STACKS:
        ours = _find(contestants, OURS, stack)
        if ours is None:
            continue
        mine = [row.get(ours) for row in rows]
        measured = [row for row in mine if row is not None]
        if not measured:
            continue
        middle = Row.median(measured)
        if scenario.key == "a":
            if peer is not None and any(ours in row and peer in row for row in rows):
                ratios = [
                    quotient(row[ours].cpu_per_event, row[peer].cpu_per_event)
                    if ours in row and peer in row
                    else math.nan
                    for row in rows
                ]
                by_round = [None if math.isnan(r) else r <= 1 for r in ratios]
                theirs = Row.median([row[peer] for row in rows if peer in row])
                yield (
                    f"CPU per event at or below aiohttp-sse-client2's, on {stack}: "
                    f"{judged(median(ratios) <= 1, by_round)} (ratio {spread(ratios)}; "
                    f"medians {middle.cpu_per_event:.1f} vs {theirs.cpu_per_event:.1f} us)"
                )
            yield (
                f"p99 latency under 20 ms, on {stack}: "
                f"{judged(middle.p99 < 20, [None if r is None else r.p99 < 20 for r in mine])} "
                f"(median {middle.p99:.2f} ms)"
            )
        elif scenario.key == "b":
            scale = "" if scenario.streams == 10_000 else " (set for 10,000 streams)"

            def connected(row: Row) -> bool:
                return row.opened == row.streams and row.connect_seconds <= 3

            by_round = [None if r is None else connected(r) for r in mine]
            yield (
                f"all {scenario.streams:,} connected within 3 s{scale}, on {stack}: "
                f"{judged(connected(middle), by_round)} "
                f"(medians {middle.connect_seconds:.2f} s, {middle.opened:,.0f} open)"
            )
            by_round = [None if r is None else r.rss_kib <= 20 for r in mine]
            yield (
                f"at most 20 KiB resident per connection, on {stack}: "
                f"{judged(middle.rss_kib <= 20, by_round)} (median {middle.rss_kib:.1f} KiB)"
            )


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="tiny sizes, contestants side by side: a smoke run, not a measurement",
    )
    parser.add_argument("--scenario", choices=["a", "b", "c", "all"], default="all")
    parser.add_argument("--streams", type=int, help="streams per scenario (default: its own)")
    parser.add_argument("--window", type=float, help="seconds measured (default: 10)")
    parser.add_argument("--warmup", type=float, help="seconds before measuring")
    parser.add_argument(
        "--idle",
        type=float,
        help="give every contestant's reads this timeout, in seconds (default: none)",
    )
    parser.add_argument(
        "--stacks",
        help="only the contestants on these stacks, comma-separated "
        "(httpx2,httpx,aiohttp,openai-aiohttp)",
    )
    parser.add_argument(
        "--rounds",
        type=positive,
        default=1,
        help="measure every contestant this many times, in rounds that rotate who runs "
        "first; report medians, and our ratios to each peer round by round (default: 1)",
    )
    args = parser.parse_args(argv)
    stacks = None if args.stacks is None else frozenset(args.stacks.split(","))

    keys = "abc" if args.scenario == "all" else args.scenario
    started = time.perf_counter()
    limit = resource.getrlimit(resource.RLIMIT_NOFILE)[1]  # what each process can raise to
    print(f"open-file hard limit: {limit:,}")
    if args.quick:
        print("--quick: tiny sizes, all contestants at once; the figures only show it works")
    if args.rounds > 1:
        print(f"--rounds {args.rounds}: each figure is the median over {args.rounds} rounds")
    for key in keys:
        scenario = SCENARIOS[key]
        if args.quick:
            streams, warmup, window = QUICK[key]
            scenario = replace(scenario, streams=streams, warmup=warmup, window=window)
        overrides = {
            "streams": args.streams,
            "warmup": args.warmup,
            "window": args.window,
            "idle": args.idle,
        }
        scenario = replace(scenario, **{k: v for k, v in overrides.items() if v is not None})
        if limit != resource.RLIM_INFINITY and scenario.streams + FD_MARGIN > limit:
            print(
                f"({key}): the open-file limit {limit:,} is too low for {scenario.streams:,} "
                "streams; expect failed connections"
            )
        if args.rounds == 1:
            report(scenario, measure(scenario, side_by_side=args.quick, stacks=stacks))
        else:
            rounds = measure_rounds(scenario, args.rounds, side_by_side=args.quick, stacks=stacks)
            report_rounds(scenario, rounds)
    print(f"\ntotal {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
