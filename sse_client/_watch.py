"""A stream's idle timeout with no work per read.

aiohttp and httpcore keep a read timeout by arming a timer at every read, and on a
thousand busy streams the timers they cancel keep the garbage collector at work (a
quarter more CPU per event, full collections of 60-75 ms). A watchdog per stream instead
looks at the bytes read a few times per idle period. It counts quiet time only while the
source waits for the stream: the time its consumer spends between reads is no idle time
(and aiohttp, its buffer full, stops reading meanwhile). asyncio only: trio's deadlines
cost no timer per read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Final

__all__ = ["IDLE_LOOKS", "IdleWatchdog"]

#: How many times per idle period a stream's watchdog looks for new bytes: a stalled
#: stream is noticed between ``idle`` and a quarter more after its last byte.
IDLE_LOOKS: Final = 4


class IdleWatchdog:
    """The idle timeout of what a subclass reads: it says how many bytes it has read
    (``_bytes_read``), and what ends a stream found idle (``_expire``, given the
    message). ``release()`` stops watching; it is safe to call at any time."""

    __slots__ = ("_idle", "_quiet_since", "_seen", "_timer", "_waiting")

    def __init__(self) -> None:
        self._timer: asyncio.TimerHandle | None = None
        self._idle = 0.0  # seconds without a byte, while waiting, that make a stream idle
        self._waiting: Callable[[], bool] | None = None  # whether the source waits for bytes
        self._seen = 0  # the bytes read when the watchdog last looked
        self._quiet_since = 0.0  # when it last saw them grow, or the source not waiting

    def _watch(self, idle: float) -> None:
        loop = asyncio.get_running_loop()
        self._idle = idle
        self._seen, self._quiet_since = self._bytes_read(), loop.time()
        self._timer = loop.call_at(self._quiet_since + self._step(), self._look, loop)

    def count_idle_while(self, waiting: Callable[[], bool]) -> None:
        """Count idle time only while ``waiting()`` says the source waits for bytes."""
        self._waiting = waiting

    def release(self) -> None:
        """The read is over: stop watching."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _step(self) -> float:
        return max(self._idle / IDLE_LOOKS, 0.001)

    def _look(self, loop: asyncio.AbstractEventLoop) -> None:
        now, seen = loop.time(), self._bytes_read()
        if seen != self._seen or (self._waiting is not None and not self._waiting()):
            self._seen, self._quiet_since = seen, now
        elif now - self._quiet_since >= self._idle:
            self._timer = None
            self._expire(f"no byte for {self._idle:g} s: the stream is idle")
            return
        self._timer = loop.call_at(now + self._step(), self._look, loop)

    def _bytes_read(self) -> int:
        raise NotImplementedError

    def _expire(self, message: str) -> None:
        raise NotImplementedError
