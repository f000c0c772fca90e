"""Follow many feeds at once on one aiohttp session, the lightest stack per stream.

Run: ``python examples/many_streams.py [URL]``. Without a URL it starts a local feed.
Needs aiohttp: ``python -m pip install 'sse-client[aiohttp]'``.
"""

from __future__ import annotations

import asyncio
import sys

import aiohttp

from sse_client import AsyncEventSource

STREAMS = 50


async def follow(session: aiohttp.ClientSession, url: str) -> list[str]:
    """The ids of one stream's events, across its drops, until the server sends 204."""
    async with AsyncEventSource(url, client=session) as source:
        return [event.id async for event in source]


async def main(url: str, streams: int) -> None:
    """Follow ``streams`` copies of the feed at once; say how many got every event once."""
    # limit=0: aiohttp's pool holds 100 connections by default, and each stream keeps one.
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        results = await asyncio.gather(*(follow(session, url) for _ in range(streams)))
    events = sum(len(ids) for ids in results)
    whole = sum(ids == [str(n) for n in range(1, len(ids) + 1)] and bool(ids) for ids in results)
    print(f"{streams} streams, {events} events: {whole} got every event once, in order")


if __name__ == "__main__":
    if len(sys.argv) > 1:
        asyncio.run(main(sys.argv[1], STREAMS))
    else:
        from _servers import notification_feed

        with notification_feed() as server:
            asyncio.run(main(server.url + "/notifications", STREAMS))
