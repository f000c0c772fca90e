"""Check, on the installed peers, the parsing behaviours the README's comparison claims.

Run: ``python -m bench.peer_behaviour`` (after ``python -m pip install -e '.[bench]'``).
Each check feeds the same bytes to every parser and prints yes/no per contestant.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from bench.bench_parser import PEERS, ours

Counter = Callable[[list[bytes]], int]

# (what is checked, the stream, how many events the standard dispatches)
CHECKS: list[tuple[str, bytes, int]] = [
    (
        "a stream starting with a BOM keeps its first event",
        b"\xef\xbb\xbfdata: a\n\ndata: b\n\n",
        2,
    ),
    ("blocks with only id: or retry: dispatch nothing", b"id: 1\n\nretry: 5\n\ndata: a\n\n", 1),
    ("an unterminated last event is discarded", b"data: a\n\ndata: b", 1),
    ("LF then CRLF ends an event (two events, not one)", b"data: a\n\r\ndata: b\n\n", 2),
    ("a CR alone ends a line", b"data: a\r\rdata: b\r\r", 2),
]


def main() -> int:
    contestants: dict[str, Counter] = {"sse_client": ours, **PEERS}
    names = list(contestants)
    print("| behaviour | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for label, stream, expected in CHECKS:
        cells = []
        for func in contestants.values():
            try:
                cells.append("yes" if func([stream]) == expected else "no")
            except ImportError:
                cells.append("not installed")
            except Exception as exc:  # a peer that crashes on the input fails the check
                cells.append(f"no ({type(exc).__name__})")
        print(f"| {label} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
