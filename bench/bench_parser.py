"""Parse throughput of sse_client's parser against the peers, on the same bytes, in one run.

Run: ``python -m bench.bench_parser [--quick] [--repeat N] [--markdown]``
(after ``python -m pip install -e '.[bench]'``).

Workloads:
- ``llm``: ~100k Anthropic-style ``content_block_delta`` events (``event:`` + ``data:``,
  every 10th with an ``id:``), in network-sized chunks (4-16 KiB, seeded);
- ``llm-crlf``: the same stream with CRLF line endings;
- ``llm-utf8``: the same stream with multi-byte text in every token (accented Latin,
  Japanese, an emoji), written as UTF-8 rather than JSON escapes;
- ``big``, ``big-64``, ``big-4k``: large events spread over many ``data:`` lines of 1 KiB
  (256 KiB events), 64 B (256 KiB events) and 4 KiB (1 MiB events, just inside the
  default ``max_event_size``);
- ``tiny-chunks``: the LLM stream delivered in 1-7 byte chunks (seeded);
- ``llm-per-event``: the LLM stream one event per read, as a server that flushes every
  event delivers it over a fast network;
- ``openai``: OpenAI chat-completion chunks (``data:`` only), ending with ``[DONE]``.

Contestants are driven the way their users drive them: sse_client's
``EventStreamParser(max_event_size=None)`` with one ``feed(chunk)`` call per read, as
our clients drive it, with no limit as the peers have none (the ``events()`` column
iterates ``parser.events(chunks)`` instead; the ``default limit`` column is ``feed()``
with the default 1 MiB bound), httpx-sse over an ``httpx.Response``
(``EventSource(response).iter_sse()``),
sseclient-py over a chunk iterator, the openai SDK's ``SSEDecoder.iter_bytes``,
launchdarkly-eventsource's ``SSEReader`` over a chunk iterator. The floor is the
cheapest pass over the same bytes: decode, split on blank lines, one small object per
event. Every contestant's event count is checked; one that miscounts is reported, not
timed. Last, the CPU time our parser takes for bodies that dispatch nothing (blank lines,
keep-alive comments, ``id:`` blocks), which a small gzip'd body can expand to.
"""

from __future__ import annotations

import argparse
import codecs
import gc
import json
import random
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from sse_client import DEFAULT_MAX_EVENT_SIZE, EventStreamParser


@dataclass
class Workload:
    name: str
    chunks: list[bytes]
    events: int


#: The token text of the ``llm-utf8`` workload: two, three and four bytes a character.
UTF8_WORD = "d\u00e9j\u00e0 \u30c8\u30fc\u30af\u30f3\U0001f600"


def llm_body(count: int, newline: bytes = b"\n", word: str = "tok") -> bytes:
    parts = []
    for i in range(count):
        payload = {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "text_delta", "text": f"{word}{i} "},
        }
        head = "event: content_block_delta\n" + (f"id: {i}\n" if i % 10 == 0 else "")
        parts.append(f"{head}data: {json.dumps(payload, ensure_ascii=False)}\n\n")
    return "".join(parts).encode().replace(b"\n", newline)


def big_body(count: int, size: int = 256 * 1024, line: int = 1024) -> bytes:
    row = b"data: " + b"x" * (line - 7) + b"\n"
    event = row * (size // line) + b"\n"
    return event * count


def openai_body(count: int) -> bytes:
    parts = []
    for i in range(count):
        chunk = {
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": {"content": f"tok{i} "}, "finish_reason": None}],
        }
        parts.append(f"data: {json.dumps(chunk)}\n\n")
    parts.append("data: [DONE]\n\n")
    return "".join(parts).encode()


def split(body: bytes, low: int, high: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    chunks = []
    index = 0
    while index < len(body):
        size = rng.randint(low, high)
        chunks.append(body[index : index + size])
        index += size
    return chunks


def per_event(body: bytes) -> list[bytes]:
    """``body`` cut after each blank line: one event per read."""
    return [block + b"\n\n" for block in body.split(b"\n\n")[:-1]]


def workloads(quick: bool) -> list[Workload]:
    llm = 5_000 if quick else 100_000
    big = 4 if quick else 64
    big_64 = big_body(big, line=64)
    big_4k = big_body(big // 4 or 1, size=1 << 20, line=4096)
    return [
        Workload("llm", split(llm_body(llm), 4096, 16384, 1), llm),
        Workload("llm-crlf", split(llm_body(llm, b"\r\n"), 4096, 16384, 2), llm),
        Workload("llm-utf8", split(llm_body(llm, word=UTF8_WORD), 4096, 16384, 7), llm),
        Workload("big", split(big_body(big), 4096, 16384, 3), big),
        Workload("big-64", split(big_64, 4096, 16384, 8), big),
        Workload("big-4k", split(big_4k, 4096, 16384, 9), big // 4 or 1),
        Workload("tiny-chunks", split(llm_body(llm // 10), 1, 7, 4), llm // 10),
        Workload("llm-per-event", per_event(llm_body(llm // 2)), llm // 2),
        Workload("openai", split(openai_body(llm), 4096, 16384, 5), llm + 1),
    ]


# -- Contestants: each takes the chunks and returns the number of events it saw. ------


def ours(chunks: list[bytes], max_event_size: int | None = None) -> int:
    """Our parser driven one read at a time (``feed()``), as the clients drive it."""
    parser = EventStreamParser(max_event_size=max_event_size)
    count = 0
    for chunk in chunks:
        for _ in parser.feed(chunk):
            count += 1
    return count


def ours_events(chunks: list[bytes]) -> int:
    """The same parser over a chunk iterator (``events()``), counted as ``ours()`` counts."""
    count = 0
    for _ in EventStreamParser(max_event_size=None).events(iter(chunks)):
        count += 1
    return count


def ours_default(chunks: list[bytes]) -> int:
    """``feed()`` with the default ``max_event_size`` (the peers have no such bound)."""
    return ours(chunks, DEFAULT_MAX_EVENT_SIZE)


def floor(chunks: list[bytes]) -> int:
    separator = "\r\n\r\n" if b"\r\n" in chunks[0] else "\n\n"
    decode = codecs.getincrementaldecoder("utf-8")().decode  # (reads cut characters)

    class Event:
        __slots__ = ("block",)

        def __init__(self, block: str) -> None:
            self.block = block

    pending = ""
    count = 0
    for chunk in chunks:
        pending += decode(chunk)
        *blocks, pending = pending.split(separator)
        count += len([Event(block) for block in blocks])
    return count


def httpx_sse(chunks: list[bytes]) -> int:
    import httpx
    from httpx_sse import EventSource

    response = httpx.Response(
        200, headers={"Content-Type": "text/event-stream"}, content=iter(chunks)
    )
    return sum(1 for _ in EventSource(response).iter_sse())


def httpx2_sse(chunks: list[bytes]) -> int:
    """httpx2's own SSE reading, on a response whose body is the reads."""
    import httpx2

    response = httpx2.Response(
        200,
        headers={"Content-Type": "text/event-stream"},
        content=iter(chunks),
        request=httpx2.Request("GET", "http://bench/"),  # it names the request in errors
    )
    return sum(1 for _ in httpx2.EventSource(response))


def sseclient_py(chunks: list[bytes]) -> int:
    import sseclient

    return sum(1 for _ in sseclient.SSEClient(iter(chunks)).events())


def openai_sdk(chunks: list[bytes]) -> int:
    from openai._streaming import SSEDecoder

    return sum(1 for _ in SSEDecoder().iter_bytes(iter(chunks)))


def launchdarkly(chunks: list[bytes]) -> int:
    from ld_eventsource.actions import Event  # type: ignore[import-untyped]
    from ld_eventsource.reader import (  # type: ignore[import-untyped]
        _BufferedLineReader,
        _SSEReader,
    )

    lines = _BufferedLineReader.lines_from(iter(chunks))
    return sum(1 for item in _SSEReader(lines).events_and_comments() if isinstance(item, Event))


PEERS: dict[str, Callable[[list[bytes]], int]] = {
    "httpx2": httpx2_sse,
    "httpx-sse": httpx_sse,
    "sseclient-py": sseclient_py,
    "openai": openai_sdk,
    "launchdarkly": launchdarkly,
}


@dataclass
class Row:
    workload: Workload
    rates: dict[str, float | None]  # events/s; None: miscounted or failed
    notes: dict[str, str]
    # Per contestant, our speed (feed()'s) over theirs in each round: their time / ours.
    rounds: dict[str, list[float]]

    @property
    def fastest_peer(self) -> tuple[str, float]:
        rates = [(name, rate) for name, rate in self.rates.items() if name in PEERS and rate]
        return max(rates, key=lambda item: item[1]) if rates else ("-", 0.0)

    def ratio(self, name: str) -> str:
        """Our speed over ``name``'s: the median of the rounds, and their range."""
        ratios = self.rounds.get(name)
        return by_round(ratios, "x") if ratios else "-"


def by_round(values: list[float], unit: str = "") -> str:
    """The median of a ratio's rounds, and their range."""
    if len(values) == 1:
        return f"{values[0]:.2f}{unit}"
    return f"{statistics.median(values):.2f}{unit} ({min(values):.2f}-{max(values):.2f})"


def measure(workload: Workload, repeat: int) -> Row:
    """Each contestant's best time of ``repeat`` runs, taken in rounds, and the ratios.

    Every round runs every contestant once, in turn, so a slow spell of a shared
    machine lands on all of them alike instead of on whoever ran during it. Each round
    starts one contestant further on: who runs just before matters (a run right after
    the floor's measured up to a quarter slower), so nobody always follows the same one.
    The ratios pair the runs of one round: the machine's speed drifts over seconds,
    so the best times of two contestants may come from different spells of it, while
    two runs a round apart share one.
    """
    rates: dict[str, float | None] = {}
    notes: dict[str, str] = {}
    contestants: dict[str, Callable[[list[bytes]], int]] = {
        "feed()": ours,
        "events()": ours_events,
        "default limit": ours_default,
        **PEERS,
    }
    if workload.name in {"llm", "llm-crlf", "llm-utf8", "openai"}:
        contestants["floor"] = floor
    order: list[str] = []
    for name, func in contestants.items():  # a warm-up run, not timed, and the count
        try:
            count = func(workload.chunks)
        except ImportError:
            rates[name], notes[name] = None, "not installed"
            continue
        if count != workload.events:
            rates[name], notes[name] = None, f"miscounted: {count} of {workload.events}"
            continue
        order.append(name)
    times: dict[str, list[float]] = {name: [] for name in order}
    for _ in range(repeat):
        for name in order:
            gc.collect()
            start = time.perf_counter()
            contestants[name](workload.chunks)
            times[name].append(time.perf_counter() - start)
        order = order[1:] + order[:1]  # the next round starts one further on
    for name, seconds in times.items():
        rates[name] = workload.events / min(seconds)
    mine = times.get("feed()", [])
    rounds = {
        name: [their / our for their, our in zip(seconds, mine, strict=True)]
        for name, seconds in times.items()
        if mine
    }
    return Row(workload, rates, notes, rounds)


def check_ours(workload: Workload) -> None:
    """Our parser's events are right, not only counted."""
    parser = EventStreamParser(max_event_size=None)
    events = [event for chunk in workload.chunks for event in parser.feed(chunk)]
    if workload.name.startswith("llm") or workload.name == "tiny-chunks":
        first, last = events[0], events[-1]
        assert first.event == "content_block_delta"
        word = UTF8_WORD if workload.name == "llm-utf8" else "tok"
        assert first.json()["delta"]["text"] == f"{word}0 "
        assert first.id == "0"
        assert last.id == str((len(events) - 1) // 10 * 10)
    elif workload.name.startswith("big"):
        # big_body(): per event, lines of "data: " and line - 7 x's, for events of size bytes.
        size, line = {"big": (256 << 10, 1024), "big-64": (256 << 10, 64)}.get(
            workload.name, (1 << 20, 4096)
        )
        lines = size // line
        assert all(event.data == "\n".join(["x" * (line - 7)] * lines) for event in events)
    else:
        assert events[-1].data == "[DONE]"


def peak_memory(chunks: Iterable[bytes]) -> int:
    tracemalloc.start()
    parser = EventStreamParser(max_event_size=None)
    for chunk in chunks:
        parser.feed(chunk)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


#: Bodies that dispatch nothing, for the flood timing: what 1 MiB of gzip can expand to.
FLOODS: dict[str, bytes] = {
    "blank lines": b"\n",
    "CRLF blank lines": b"\r\n",
    "keep-alive comments": b": ping\n",
    "id: blocks": b"id: 1\n\n",
}


def flood_seconds(unit: bytes, size: int) -> float:
    """CPU seconds our parser takes for ``size`` bytes of ``unit`` in 64 KiB reads."""
    read = (unit * (65536 // len(unit) + 1))[:65536]
    parser = EventStreamParser()
    start = time.process_time()
    for _ in range(size // len(read)):
        parser.feed(read)
    return time.process_time() - start


def long_stream(events: int) -> Iterator[bytes]:
    """An LLM stream of any length, generated chunk by chunk (never held whole)."""
    block = llm_body(1000)
    for _ in range(events // 1000):
        yield from split(block, 4096, 16384, 6)


def _rate(rate: float) -> str:
    """Events/s in thousands, with a decimal where the figure is small."""
    return f"{rate / 1000:,.0f}k" if rate >= 10_000 else f"{rate / 1000:.1f}k"


def table(rows: list[Row], markdown: bool) -> str:
    names = ["feed()", "events()", "default limit", *PEERS, "floor"]
    header = [
        "workload",
        *names,
        "feed() / fastest peer, by round",
        "feed() / floor, by round",
        "events() / feed(), by round",
    ]
    lines = []
    for row in rows:
        cells = [row.workload.name]
        for name in names:
            rate = row.rates.get(name)
            note = row.notes.get(name)
            cells.append(_rate(rate) if rate else (note or "-"))
        peer, peer_rate = row.fastest_peer
        cells.append(f"{row.ratio(peer)} {peer}" if peer_rate else "-")
        cells.append(row.ratio("floor") if row.rates.get("floor") else "-")
        cells.append(by_round([1 / r for r in row.rounds["events()"]], "x"))
        lines.append(cells)
    if markdown:
        out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        out += ["| " + " | ".join(cells) + " |" for cells in lines]
        return "\n".join(out)
    widths = [max(len(str(cells[i])) for cells in [header, *lines]) for i in range(len(header))]
    return "\n".join(
        "  ".join(str(cell).rjust(width) for cell, width in zip(cells, widths, strict=True))
        for cells in [header, *lines]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small streams, one repeat")
    parser.add_argument("--repeat", type=int, default=5, help="best of N runs (default 5)")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args = parser.parse_args(argv)
    repeat = 1 if args.quick else args.repeat

    rows = []
    for workload in workloads(args.quick):
        check_ours(workload)
        rows.append(measure(workload, repeat))
    print(
        f"events/s (k = thousands), best of {repeat} runs, same bytes for every contestant;\n"
        "ratios: the median of the rounds' (their time / ours), and their range\n"
    )
    print(table(rows, args.markdown))
    short, long = (1_000, 10_000) if args.quick else (10_000, 1_000_000)
    print(
        f"\nparser peak memory: {peak_memory(long_stream(short)) / 1024:.0f} KiB for {short:,} "
        f"events, {peak_memory(long_stream(long)) / 1024:.0f} KiB for {long:,} "
        "(flat: bounded by a chunk and an event, not by the stream)"
    )
    flood = 4 << 20 if args.quick else 64 << 20
    print(
        f"\nfloods that dispatch nothing, {flood >> 20} MiB in 64 KiB reads, CPU seconds: "
        + ", ".join(f"{name} {flood_seconds(unit, flood):.2f}" for name, unit in FLOODS.items())
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
