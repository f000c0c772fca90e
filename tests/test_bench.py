"""The benchmark scripts run and every contestant counts right (a smoke run, not a timing)."""

from __future__ import annotations

import re

import pytest

#: What a skip says: the peers come with the bench extra, which the README's command omits.
NEEDS_BENCH = "the benchmark peers come with the bench extra: pip install -e '.[bench]'"
for _peer in ("httpx_sse", "sseclient", "openai", "ld_eventsource"):
    pytest.importorskip(_peer, reason=NEEDS_BENCH)

from bench import bench_clients, bench_many, bench_parser, peer_behaviour  # noqa: E402


def test_parser_benchmark_counts_every_event(capsys: pytest.CaptureFixture[str]) -> None:
    """Every workload is measured for us and for every peer; nobody miscounts."""
    assert bench_parser.main(["--quick"]) == 0
    out = capsys.readouterr().out
    names = [workload.name for workload in bench_parser.workloads(quick=True)]
    rows = [line.split()[0] for line in out.splitlines() if line.split()]
    assert [row for row in rows if row in names] == names
    assert "miscounted" not in out
    assert "not installed" not in out


def test_peer_behaviour_table(capsys: pytest.CaptureFixture[str]) -> None:
    """sse_client passes every check it claims in the README's comparison."""
    assert peer_behaviour.main() == 0
    rows = [line.split(" | ") for line in capsys.readouterr().out.splitlines()[2:]]
    assert rows
    assert all(row[1] == "yes" for row in rows)


def test_client_benchmark_runs(capsys: pytest.CaptureFixture[str]) -> None:
    """The end-to-end benchmark completes and checks every contestant's count."""
    assert bench_clients.main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert "sse_client AsyncEventSource, httpx2" in out
    assert "httpx2.EventSource (async)" in out
    for peer in bench_clients.SYNC_PEERS:
        assert f"| {peer} " in out
    assert "miscounted" not in out
    assert "failed:" not in out
    assert "memory per idle async stream" in out
    big = out.partition("big payloads over loopback")[2]
    assert "- httpx-sse (async), httpx: " in big
    assert "async vs httpx-sse " in big


def test_many_streams_benchmark_delivers_every_event(capsys: pytest.CaptureFixture[str]) -> None:
    """Every contestant opens every stream, gets every event in order, and gives back its
    file descriptors on closing."""
    pytest.importorskip("aiohttp_sse_client2", reason=NEEDS_BENCH)
    assert bench_many.main(["--quick"]) == 0
    out = capsys.readouterr().out
    rows = [
        line.strip("| ").split(" | ")
        for line in out.splitlines()
        if line.startswith("| ") and not line.startswith("| contestant")
    ]
    expected = 2 * len(bench_many.ASYNC_CONTESTANTS) + len(bench_many.SYNC_CONTESTANTS)
    assert len(rows) == expected, out
    for row in rows:
        assert len(row) == 10, row  # a failed contestant prints fewer cells
        connect_all, delivered, fds = row[6], row[8], row[9]
        assert not connect_all.startswith(">"), row  # every stream got its first event
        got, numbered = delivered.replace(",", "").split("/")
        assert got == numbered, row
        after, before = map(int, fds.split("/"))
        assert after <= before + bench_many.FD_SLACK, row
    assert out.count("garbage collections in the window") == expected
    assert "problems, first" not in out


def test_many_streams_benchmark_runs_the_stacks_asked_for(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``--stacks aiohttp`` runs only the aiohttp contestants: ours and the peer."""
    pytest.importorskip("aiohttp_sse_client2", reason=NEEDS_BENCH)
    assert bench_many.main(["--quick", "--scenario", "a", "--stacks", "aiohttp"]) == 0
    out = capsys.readouterr().out
    rows = [
        line.strip("| ").split(" | ")[:2]
        for line in out.splitlines()
        if line.startswith("| ") and not line.startswith("| contestant")
    ]
    assert rows == [
        ["sse_client AsyncEventSource", "aiohttp"],
        ["aiohttp-sse-client2 EventSource", "aiohttp"],
    ], out


def test_many_streams_benchmark_in_rounds(capsys: pytest.CaptureFixture[str]) -> None:
    """``--rounds 2`` reports each figure's median, our ratios to the peer as the median
    of the two rounds' with their range, and every event delivered in both rounds."""
    pytest.importorskip("aiohttp_sse_client2", reason=NEEDS_BENCH)
    args = ["--quick", "--rounds", "2", "--scenario", "a", "--stacks", "aiohttp"]
    assert bench_many.main(args) == 0
    out = capsys.readouterr().out
    rows = [
        line.strip("| ").split(" | ")
        for line in out.splitlines()
        if line.startswith("| ") and not line.startswith("| contestant")
    ]
    assert [row[:2] for row in rows] == [
        ["sse_client AsyncEventSource", "aiohttp"],
        ["aiohttp-sse-client2 EventSource", "aiohttp"],
    ], out
    for row in rows:
        assert len(row) == 10, row  # a contestant failed in every round prints fewer cells
        assert not row[6].startswith(">"), row  # every stream opened in every round
        got, numbered = row[8].replace(",", "").split("/")  # nothing flagged after the count
        assert got == numbered, row
    # A round's failure, error, miscount or leak is a note that names the round.
    assert ", round 1:" not in out, out
    assert ", round 2:" not in out, out
    assert out.count("garbage collections in the windows, summed over the 2 rounds") == 2
    (line,) = [line for line in out.splitlines() if line.startswith("- sse_client on aiohttp")]
    for label, _ in bench_many.RATIOS:
        assert re.search(rf"{label} \d+\.\d\dx \(\d+\.\d\d-\d+\.\d\d\)", line), line
    assert "target: CPU per event at or below aiohttp-sse-client2's, on aiohttp: " in out
