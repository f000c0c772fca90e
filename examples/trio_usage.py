"""AsyncEventSource on trio: read a stream with a deadline, cancellation included.

Run: ``python examples/trio_usage.py [URL]``. Without a URL it starts a local feed.
"""

from __future__ import annotations

import sys

import trio

from sse_client import AsyncEventSource, ReconnectPolicy


async def main(url: str) -> None:
    """Print events for at most ten seconds; the source is released either way."""
    with trio.move_on_after(10):
        async with AsyncEventSource(
            url, reconnect=ReconnectPolicy(reconnection_time=0.1)
        ) as source:
            async for event in source:
                print(f"{event.event} {event.id}: {event.data}")
    print(f"done on trio, ready state {source.ready_state.name}")


if __name__ == "__main__":
    if len(sys.argv) > 1:
        trio.run(main, sys.argv[1])
    else:
        from _servers import notification_feed

        with notification_feed() as server:
            trio.run(main, server.url + "/notifications")
