"""``python -m sse_client URL``: print a stream's events. See ``--help``."""

from __future__ import annotations

from ._cli import main, run

__all__ = ["main", "run"]

if __name__ == "__main__":  # pragma: no cover -- runs in the subprocesses of tests/test_demo.py
    run(prog="python -m sse_client")
