"""Run LaunchDarkly's SSE contract harness against the service, in every client mode.

Run: ``python contract-tests/run_harness.py [HARNESS_DIR]`` from the project's root, with
the project installed (the aiohttp mode needs aiohttp). HARNESS_DIR holds the
``sse-contract-tests`` executable and its ``summarize.py`` (default:
``../shared/tools/contract`` beside the project). Each mode (``sync``, ``async``,
``aiohttp``) starts the service on a free port, runs the whole harness against it, and
counts the leaf tests; the run fails unless every mode passes every leaf test, with none
skipped. Exit status: 0 all passed, 1 a failure, 2 no harness found.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODES = ("sync", "async", "aiohttp")
ROOT = Path(__file__).resolve().parent.parent
DEFAULT_HARNESS_DIR = ROOT.parent / "shared" / "tools" / "contract"
HARNESS_TIMEOUT = 300  # seconds for one mode; a whole run takes about 20 s
_SUMMARY = re.compile(r"leaf_tests=(\d+) ran=(\d+) passed=(\d+) failed=(\d+).* skipped=(\d+)")


def free_port() -> int:
    """A TCP port nothing listens on now, on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_for(port: int, timeout: float = 20.0) -> None:
    """Wait until something listens on ``port``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"the service did not listen on port {port} within {timeout} s")


def run_mode(mode: str, harness_dir: Path, logs: Path) -> bool:
    """One mode: the service, the harness, the count. Whether every leaf test passed."""
    port, callback_port = free_port(), free_port()
    service_py = str(ROOT / "contract-tests" / "service.py")
    service = subprocess.Popen(
        [sys.executable, service_py, "--port", str(port), "--client", mode],
        stdout=subprocess.DEVNULL,
        stderr=(logs / f"service-{mode}.log").open("wb"),
    )
    try:
        wait_for(port)
        log = logs / f"harness-{mode}.log"
        with log.open("wb") as output:
            harness = str(harness_dir / "sse-contract-tests")
            subprocess.run(
                [harness, "-url", f"http://127.0.0.1:{port}", "-port", str(callback_port)],
                stdout=output,
                stderr=subprocess.STDOUT,
                timeout=HARNESS_TIMEOUT,
                check=False,
            )
        summary = subprocess.run(
            [sys.executable, str(harness_dir / "summarize.py"), str(log)],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    finally:
        service.terminate()
        service.wait(10)
    found = _SUMMARY.search(summary)
    passed = found is not None and (
        int(found[1]) == int(found[2]) == int(found[3]) > 0 and int(found[4]) == int(found[5]) == 0
    )
    print(f"{mode:8} {'ok' if passed else 'FAILED'}: {summary}")
    if not passed:
        print((logs / f"harness-{mode}.log").read_text(errors="replace")[-4000:])
    return passed


def main(argv: list[str]) -> int:
    harness_dir = Path(argv[0]) if argv else DEFAULT_HARNESS_DIR
    if not (harness_dir / "sse-contract-tests").is_file():
        print(f"no contract harness at {harness_dir}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as logs:
        results = [run_mode(mode, harness_dir, Path(logs)) for mode in MODES]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
