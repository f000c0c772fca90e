"""End-to-end benchmark of the clients over loopback, on httpx2 and on httpx, against
httpx2's own ``EventSource``, httpx-sse, launchdarkly-eventsource, sseclient-py and raw
byte streaming.

Run: ``python -m bench.bench_clients [--quick] [--events N] [--connections N]``.

A server in a child process (so its work and memory are not ours) serves the same LLM
token stream to every contestant over HTTP/1.1 on 127.0.0.1. Measured in one run:

- events/s end to end for ``EventSource`` and ``AsyncEventSource`` on each stack,
  ``httpx2.EventSource`` (on httpx2), httpx-sse (on httpx; sync and async, driven as
  its README shows) and raw byte streaming on each stack (the I/O floor);
- the blocking peers on stacks of their own, each driven as its docs show:
  launchdarkly-eventsource's ``SSEClient`` (on urllib3, its default) and sseclient-py
  over a urllib3 and over a requests streaming response, beside urllib3's raw reads;
  ``EventSource`` also runs on a client made once for the run (making an httpx or
  httpx2 client costs more than urllib3's, which the peers make on every run);
- our client's time against (raw I/O time + our parse-only time on the same bytes);
- memory while consuming a long stream (tracemalloc peak, short vs 10x longer stream);
- resident memory per idle connection with many concurrent async streams, ours and
  httpx-sse's over the same kind of client;
- large events end to end (256 KiB each over 1 KiB ``data:`` lines), ours against
  httpx-sse and ``httpx2.EventSource`` on the same stacks.

Every contestant's event count is checked; one that miscounts (or fails) is reported in
its row instead of a rate. Figures are ratios from one run: the machine is shared and
noisy, so compare columns, not runs.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import multiprocessing
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import anyio
import httpx
import httpx2

from bench.bench_parser import big_body, by_round
from bench.bench_parser import llm_body as llm_stream
from sse_client import AsyncEventSource, EventSource, EventStreamParser

# -- The server (a child process) ------------------------------------------------------


def _serve(port_pipe: Any, body: bytes) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()
            return
        path = request.split(b" ", 2)[1]
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            b"Cache-Control: no-cache\r\nConnection: close\r\n\r\n"
        )
        try:
            if path == b"/idle":
                # One event, then silence until the client goes away.
                writer.write(b"data: hello\n\n")
                await writer.drain()
                await reader.read()
            else:
                view = memoryview(body)
                for start in range(0, len(body), 65536):
                    writer.write(view[start : start + 65536])
                    await writer.drain()
        except ConnectionError:
            pass
        writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=4096)
        port_pipe.send(server.sockets[0].getsockname()[1])
        async with server:
            await server.serve_forever()

    asyncio.run(main())


class Server:
    """A benchmark server in a child process: ``serve(port_pipe, *args)`` sends its port
    down the pipe, then serves until terminated (``_serve`` by default)."""

    def __init__(self, *args: Any, serve: Callable[..., None] = _serve) -> None:
        receiver, sender = multiprocessing.Pipe(duplex=False)
        self.process = multiprocessing.Process(target=serve, args=(sender, *args), daemon=True)
        self.process.start()
        if not receiver.poll(30):
            raise RuntimeError("the benchmark server did not start")
        self.url = f"http://127.0.0.1:{receiver.recv()}"

    def stop(self) -> None:
        self.process.terminate()
        self.process.join(5)


# -- Contestants ---------------------------------------------------------------------
# Each takes the URL and the module of its HTTP stack (httpx2 or httpx), so one run
# measures every client on every stack it supports, through a client of that stack. The
# peers on urllib3 or requests (their own stacks) take None.

#: The blocking peers that run on a stack of their own, beside httpx2's and httpx-sse's.
SYNC_PEERS = (
    "launchdarkly-eventsource (sync), urllib3",
    "sseclient-py, urllib3",
    "sseclient-py, requests",
)


def ours_sync(url: str, http: Any, **options: Any) -> int:
    with (
        http.Client(timeout=None, **options) as client,
        EventSource(url, client=client, reconnect=False) as source,
    ):
        return sum(1 for _ in source)


def ours_sync_own(url: str, _: Any) -> int:
    """``EventSource(url)`` as the README's first example makes it: its own client, and
    the default settings (an idle timeout of 300 s among them). The clients sources
    make share one SSL context, made by the warm-up run."""
    with EventSource(url, reconnect=False) as source:
        return sum(1 for _ in source)


def ours_sync_shared(url: str, client: Any) -> int:
    """``EventSource`` on a client made once for the whole run, as an application that
    keeps one client does: making an httpx or httpx2 client builds an SSL context even
    for http:// URLs (about 18 ms here), which the other rows pay on every run."""
    with EventSource(url, client=client, reconnect=False) as source:
        return sum(1 for _ in source)


def ours_async(url: str, http: Any, **options: Any) -> int:
    async def run() -> int:
        count = 0
        async with (
            http.AsyncClient(timeout=None, **options) as client,
            AsyncEventSource(url, client=client, reconnect=False) as source,
        ):
            async for _ in source:
                count += 1
        return count

    return anyio.run(run)


def httpx_sse_sync(url: str, http: Any, **options: Any) -> int:
    from httpx_sse import connect_sse

    with http.Client(timeout=None, **options) as client, connect_sse(client, "GET", url) as source:
        return sum(1 for _ in source.iter_sse())


def httpx_sse_async(url: str, http: Any, **options: Any) -> int:
    from httpx_sse import aconnect_sse

    async def run() -> int:
        count = 0
        async with (
            http.AsyncClient(timeout=None, **options) as client,
            aconnect_sse(client, "GET", url) as source,
        ):
            async for _ in source.aiter_sse():
                count += 1
        return count

    return anyio.run(run)


def httpx2_sse_sync(url: str, http: Any) -> int:
    """httpx2's own SSE reading, ``httpx2.EventSource(response)``."""
    with http.Client(timeout=None) as client, client.stream("GET", url) as response:
        return sum(1 for _ in http.EventSource(response))


def httpx2_sse_async(url: str, http: Any, **options: Any) -> int:
    async def run() -> int:
        count = 0
        async with (
            http.AsyncClient(timeout=None, **options) as client,
            client.stream("GET", url) as response,
        ):
            async for _ in http.EventSource(response):
                count += 1
        return count

    return anyio.run(run)


def launchdarkly_sync(url: str, http: Any) -> int:
    """launchdarkly-eventsource's blocking ``SSEClient`` as its docs show: on urllib3 (its
    default, ``ConnectStrategy.http(url)``), iterating ``client.events``. Its error
    strategy is ``always_fail()`` (the default, made explicit): the end of the body ends
    the iteration at once, with no reconnection and no retry delay."""
    from ld_eventsource import SSEClient
    from ld_eventsource.config import ConnectStrategy, ErrorStrategy

    count = 0
    with SSEClient(
        connect=ConnectStrategy.http(url), error_strategy=ErrorStrategy.always_fail()
    ) as client:
        for _ in client.events:
            count += 1
    return count


def sseclient_requests(url: str, http: Any) -> int:
    """sseclient-py over ``requests.get(url, stream=True)``, as its README shows (the
    response iterates in requests' default 128-byte pieces)."""
    import requests
    import sseclient

    with requests.get(url, stream=True) as response:
        # iter(): what sseclient-py's loop does with the response anyway (its stub asks
        # for an iterator).
        return sum(1 for _ in sseclient.SSEClient(iter(response)).events())


def sseclient_urllib3(url: str, http: Any) -> int:
    """sseclient-py over a urllib3 response (``preload_content=False``), as its README
    shows (the response iterates line by line)."""
    import sseclient
    import urllib3

    pool = urllib3.PoolManager()
    response = pool.request("GET", url, preload_content=False)
    try:
        return sum(1 for _ in sseclient.SSEClient(response).events())
    finally:
        response.release_conn()
        pool.clear()


def raw_urllib3(url: str, http: Any) -> int:
    """urllib3's I/O floor: the body in the 10,000-byte reads launchdarkly-eventsource
    asks for (returns bytes read)."""
    import urllib3

    pool = urllib3.PoolManager()
    response = pool.request("GET", url, preload_content=False)
    try:
        return sum(len(chunk) for chunk in response.stream(10_000))
    finally:
        response.release_conn()
        pool.clear()


def raw_sync(url: str, http: Any) -> int:
    """The I/O floor: read every byte, parse nothing (returns bytes read)."""
    with http.Client(timeout=None) as client, client.stream("GET", url) as response:
        return sum(len(chunk) for chunk in response.iter_bytes())


def raw_async(url: str, http: Any, **options: Any) -> int:
    async def run() -> int:
        total = 0
        async with (
            http.AsyncClient(timeout=None, **options) as client,
            client.stream("GET", url) as response,
        ):
            async for chunk in response.aiter_bytes():
                total += len(chunk)
        return total

    return anyio.run(run)


def in_rounds(
    contestants: dict[str, tuple[Callable[[], int], int]], repeat: int
) -> tuple[dict[str, list[float]], dict[str, str]]:
    """Each contestant's times, one per round, after a warm-up run; every round runs
    each contestant once. Also returns, by name, what went wrong with any contestant
    that miscounted (or failed): it is dropped from the rounds that follow.

    A slow spell of a shared machine then falls on all of them alike, and each round
    starts one contestant further on, so nobody always runs right after the same one.
    """
    failed: dict[str, str] = {}

    def run(name: str) -> float | None:
        func, expected = contestants[name]
        gc.collect()
        start = time.perf_counter()
        try:
            count = func()
        except Exception as exc:  # reported in its row instead of a rate
            failed[name] = f"failed: {type(exc).__name__}: {exc}"
            return None
        seconds = time.perf_counter() - start
        if count != expected:
            failed[name] = f"miscounted: {count} of {expected}"
            return None
        return seconds

    for name in contestants:  # a warm-up run each (imports, sockets)
        run(name)
    times: dict[str, list[float]] = {name: [] for name in contestants}
    order = list(contestants)
    for _ in range(repeat):
        for name in order:
            if name not in failed and (seconds := run(name)) is not None:
                times[name].append(seconds)
        order = order[1:] + order[:1]
    return times, failed


# -- Memory ----------------------------------------------------------------------------


def parse_peak(body: bytes) -> int:
    """Peak traced memory while parsing ``body`` in 64 KiB chunks and dropping the events."""
    tracemalloc.start()
    parser = EventStreamParser()
    for start in range(0, len(body), 65536):
        parser.feed(body[start : start + 65536])
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def idle_connections(url: str, count: int, contestant: str, stack: str) -> tuple[float, float]:
    """Memory per open, idle stream with ``count`` concurrent async streams.

    Returns (resident KiB, traced Python-heap KiB) per stream. The traced figure is
    exact (tracemalloc); resident memory also moves with the allocator's arenas.
    """

    http: Any = httpx2 if stack == "httpx2" else httpx

    async def run() -> tuple[float, float]:
        limits = http.Limits(max_connections=None, max_keepalive_connections=0)
        if contestant != "ours":
            import httpx_sse  # noqa: F401 -- imported before measuring, like ours
        async with http.AsyncClient(timeout=None, limits=limits) as client:
            gc.collect()
            tracemalloc.start()
            before = rss_kib()
            traced_before = tracemalloc.get_traced_memory()[0]
            opened = 0
            done = anyio.Event()
            all_open = anyio.Event()

            async def one() -> None:
                nonlocal opened
                if contestant == "ours":
                    async with AsyncEventSource(url + "/idle", client=client) as source:
                        async for _ in source:
                            break
                        opened += 1
                        if opened == count:
                            all_open.set()
                        await done.wait()
                else:
                    from httpx_sse import aconnect_sse

                    async with aconnect_sse(client, "GET", url + "/idle") as source:
                        async for _ in source.aiter_sse():
                            break
                        opened += 1
                        if opened == count:
                            all_open.set()
                        await done.wait()

            async with anyio.create_task_group() as group:
                for _ in range(count):
                    group.start_soon(one)
                with anyio.fail_after(120):
                    await all_open.wait()
                gc.collect()
                after = rss_kib()
                traced = tracemalloc.get_traced_memory()[0] - traced_before
                done.set()
            tracemalloc.stop()
            return (after - before) / count, traced / count / 1024

    return anyio.run(run)


def _child(pipe: Any, func: Callable[..., Any], args: tuple[Any, ...]) -> None:
    pipe.send(func(*args))


def in_child(func: Callable[..., Any], *args: Any, timeout: float = 300) -> Any:
    """Run ``func`` in a fresh interpreter, so no memory freed by another run is reused."""
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(sender, func, args))
    process.start()
    sender.close()  # the child holds the only writer: if it dies, poll() sees the end
    try:
        if not receiver.poll(timeout):
            process.terminate()
            raise RuntimeError(f"{func.__name__} did not finish in {timeout:.0f} s")
        try:
            result = receiver.recv()
        except EOFError:
            raise RuntimeError(f"{func.__name__} failed in its child process") from None
    finally:
        process.join(30)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--big", type=int, default=256, help="events of 256 KiB (default 256)")
    args = parser.parse_args(argv)
    if args.quick:
        args.events, args.connections, args.repeat, args.big = 2000, 20, 1, 4

    body = llm_stream(args.events)
    server = Server(body)
    shared = (httpx2.Client(timeout=None), httpx.Client(timeout=None))
    try:
        url = server.url + "/stream"
        chunks = [body[i : i + 65536] for i in range(0, len(body), 65536)]

        def parse_only() -> int:
            stream = EventStreamParser()
            return sum(len(stream.feed(chunk)) for chunk in chunks)

        entries = [
            ("raw httpx2 (sync, I/O floor)", raw_sync, httpx2, len(body)),
            ("raw httpx2 (async, I/O floor)", raw_async, httpx2, len(body)),
            ("raw httpx (sync, I/O floor)", raw_sync, httpx, len(body)),
            ("raw httpx (async, I/O floor)", raw_async, httpx, len(body)),
            ("sse_client EventSource, httpx2", ours_sync, httpx2, args.events),
            ("sse_client AsyncEventSource, httpx2", ours_async, httpx2, args.events),
            ("sse_client EventSource, httpx", ours_sync, httpx, args.events),
            ("sse_client EventSource, its own client", ours_sync_own, None, args.events),
            (
                "sse_client EventSource, httpx2, shared client",
                ours_sync_shared,
                shared[0],
                args.events,
            ),
            (
                "sse_client EventSource, httpx, shared client",
                ours_sync_shared,
                shared[1],
                args.events,
            ),
            ("sse_client AsyncEventSource, httpx", ours_async, httpx, args.events),
            ("httpx2.EventSource (sync)", httpx2_sse_sync, httpx2, args.events),
            ("httpx2.EventSource (async)", httpx2_sse_async, httpx2, args.events),
            ("httpx-sse (sync), httpx", httpx_sse_sync, httpx, args.events),
            ("httpx-sse (async), httpx", httpx_sse_async, httpx, args.events),
            ("raw urllib3 (sync, I/O floor)", raw_urllib3, None, len(body)),
            (SYNC_PEERS[0], launchdarkly_sync, None, args.events),
            (SYNC_PEERS[1], sseclient_urllib3, None, args.events),
            (SYNC_PEERS[2], sseclient_requests, None, args.events),
        ]
        contestants: dict[str, tuple[Callable[[], int], int]] = {
            name: (lambda f=func, h=http: f(url, h), expected)  # type: ignore[misc]
            for name, func, http, expected in entries
        }
        contestants["parse only (EventStreamParser)"] = (parse_only, args.events)
        times, failed = in_rounds(contestants, args.repeat)

        print(f"LLM token stream over loopback: {args.events} events, {len(body)} bytes")
        print(f"best of {args.repeat} rounds; ratios: the median of the rounds, and their range\n")
        width = max(map(len, times))
        print(f"| {'contestant':{width}} | {'events/s':>12} | {'seconds':>8} |")
        print(f"| {'-' * width} | {'-' * 12}:| {'-' * 8}:|")
        for name, seconds in times.items():
            if name in failed:
                print(f"| {name:{width}} | {failed[name]} | |")
                continue
            best = min(seconds)
            print(f"| {name:{width}} | {args.events / best:12,.0f} | {best:8.3f} |")
        print()

        def per_round(numerator: str, *denominator: str) -> list[float]:
            return [
                top / sum(times[name][i] for name in denominator)
                for i, top in enumerate(times[numerator])
            ]

        def rounds(numerator: str, *denominator: str, unit: str = "") -> str:
            if bad := [name for name in (numerator, *denominator) if name in failed]:
                return f"n/a ({', '.join(bad)}: {'; '.join(failed[name] for name in bad)})"
            return by_round(per_round(numerator, *denominator), unit)

        parse = "parse only (EventStreamParser)"
        for stack, peer in (("httpx2", "httpx2.EventSource"), ("httpx", "httpx-sse")):
            sync_, async_ = (
                f"sse_client EventSource, {stack}",
                f"sse_client AsyncEventSource, {stack}",
            )
            peer_sync, peer_async = f"{peer} (sync)", f"{peer} (async)"
            if stack == "httpx":
                peer_sync, peer_async = f"{peer_sync}, httpx", f"{peer_async}, httpx"
            print(
                f"on {stack}: ours vs {peer}, events/s: sync {rounds(peer_sync, sync_, unit='x')}, "
                f"async {rounds(peer_async, async_, unit='x')}; "
                "ours / (raw I/O + parse only): "
                f"sync {rounds(sync_, f'raw {stack} (sync, I/O floor)', parse)}, "
                f"async {rounds(async_, f'raw {stack} (async, I/O floor)', parse)} "
                "(target <= 1.25)"
            )
        print()

        # Our blocking source against every sync peer, whatever its stack: its events/s
        # over the peer's, and over the fastest peer of each round (the target's figure).
        peers = ["httpx2.EventSource (sync)", "httpx-sse (sync), httpx", *SYNC_PEERS]
        timed = [peer for peer in peers if peer not in failed]
        fastest = min(timed, key=lambda peer: statistics.median(times[peer]), default=None)
        print(
            "sync: ours, events/s over each sync peer's (median of the rounds, and their "
            f"range); target: >= 2x the fastest sync peer's ({fastest}, by median time) "
            "in every round\n"
        )
        print("| ours | " + " | ".join(peers) + " | fastest peer of each round | target |")
        print("| --- |" + " ---: |" * (len(peers) + 1) + " --- |")
        ours_rows = [
            "sse_client EventSource, its own client",
            *(
                f"sse_client EventSource, {stack}{shared_client}"
                for stack in ("httpx2", "httpx")
                for shared_client in ("", ", shared client")
            ),
        ]
        for ours in ours_rows:
            cells = [rounds(peer, ours, unit="x") for peer in peers]
            if ours in failed or not timed:
                cells += ["n/a", "n/a"]
            else:
                ratios = [
                    min(times[peer][i] for peer in timed) / mine
                    for i, mine in enumerate(times[ours])
                ]
                verdict = "met" if min(ratios) >= 2 else "not met"
                if min(ratios) < 2 <= statistics.median(ratios):
                    verdict = "met by the median, not in every round"
                cells += [by_round(ratios, "x"), verdict]
            print(f"| {ours.removeprefix('sse_client ')} | " + " | ".join(cells) + " |")
        print()

        short = parse_peak(llm_stream(args.events // 10))
        long = parse_peak(body)
        print(
            f"parser peak memory: {short / 1024:.0f} KiB for {args.events // 10} events, "
            f"{long / 1024:.0f} KiB for {args.events} (flat: bounded by a chunk, not the stream)"
        )

        rows = [
            ("sse_client, httpx2", "ours", "httpx2"),
            ("sse_client, httpx", "ours", "httpx"),
            ("httpx-sse, httpx", "httpx-sse", "httpx"),
        ]
        memory = [
            f"{label} {heap:.1f} KiB heap, {rss:.1f} KiB resident"
            for label, contestant, stack in rows
            for rss, heap in [
                in_child(idle_connections, server.url, args.connections, contestant, stack)
            ]
        ]
        print(
            f"memory per idle async stream ({args.connections} concurrent, one client): "
            + "; ".join(memory)
        )
        print()
        big_payloads(args.big, args.repeat)
    finally:
        for client in shared:
            client.close()
        server.stop()
    return 0


def big_payloads(count: int, repeat: int) -> None:
    """Large events end to end: ``count`` events of 256 KiB, each over 1 KiB ``data:``
    lines (bench_parser's ``big``), to our sources and the peers on the same stacks,
    timed in rounds as above. The I/O is the same for everyone, so the ratio end to end
    stays under the parsers' own."""
    body = big_body(count)
    server = Server(body)
    # Every client here shares one TLS context per stack, made once: making a client
    # otherwise loads the system's certificates (about 18 ms), as long as parsing a
    # few of these events, and the same for everyone.
    tls = {http: http.create_ssl_context() for http in (httpx, httpx2)}
    try:
        url = server.url + "/stream"
        entries = [
            ("raw httpx (async, I/O floor)", raw_async, httpx, len(body)),
            ("sse_client AsyncEventSource, httpx", ours_async, httpx, count),
            ("httpx-sse (async), httpx", httpx_sse_async, httpx, count),
            ("sse_client AsyncEventSource, httpx2", ours_async, httpx2, count),
            ("httpx2.EventSource (async)", httpx2_sse_async, httpx2, count),
            ("sse_client EventSource, httpx", ours_sync, httpx, count),
            ("httpx-sse (sync), httpx", httpx_sse_sync, httpx, count),
        ]
        contestants: dict[str, tuple[Callable[[], int], int]] = {
            name: (lambda f=func, h=http: f(url, h, verify=tls[h]), expected)  # type: ignore[misc]
            for name, func, http, expected in entries
        }
        times, failed = in_rounds(contestants, repeat)
    finally:
        server.stop()
    print(
        f"big payloads over loopback: {count} events of 256 KiB over 1 KiB data lines "
        f"({len(body) / 2**20:.0f} MiB); best of {repeat} rounds\n"
    )
    for name, seconds in times.items():
        if name in failed:
            print(f"- {name}: {failed[name]}")
        else:
            best = min(seconds)
            print(f"- {name}: {count / best:,.0f} events/s ({best * 1000:.0f} ms)")

    def ratio(peer: str, ours: str) -> str:
        if bad := [name for name in (peer, ours) if name in failed]:
            return f"n/a ({', '.join(bad)} failed)"
        pairs = zip(times[peer], times[ours], strict=True)
        return by_round([theirs / mine for theirs, mine in pairs], "x")

    print(
        "ours, events/s over the peer's (median of the rounds, and their range): "
        f"async vs httpx-sse {ratio('httpx-sse (async), httpx', 'sse_client AsyncEventSource, httpx')}"
        " (target >= 1.5x), async vs httpx2.EventSource "
        f"{ratio('httpx2.EventSource (async)', 'sse_client AsyncEventSource, httpx2')}, "
        f"sync vs httpx-sse {ratio('httpx-sse (sync), httpx', 'sse_client EventSource, httpx')}"
    )


if __name__ == "__main__":
    sys.exit(main())
