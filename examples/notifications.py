"""Follow a notification feed that survives dropped connections (Last-Event-ID).

Run: ``python examples/notifications.py [URL]``. Without a URL it starts a local feed.
"""

from __future__ import annotations

import sys

from sse_client import EventSource, Hooks


class Announce(Hooks):
    """Say when the feed reconnects, and from where it resumes."""

    def on_retry(self, source: EventSource, delay: float) -> None:
        print(f"(reconnecting in {delay:.1f} s; resuming after id {source.last_event_id})")


def main(url: str) -> None:
    """Print every notification once, resuming after drops, until the server sends 204."""
    with EventSource(url, hooks=Announce()) as source:
        for event in source:
            if event.event == "notification":
                print(f"#{event.id}: {event.json()['text']}")
    print("feed closed by the server")


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(sys.argv[1])
    else:
        from _servers import notification_feed

        with notification_feed() as server:
            main(server.url + "/notifications")
