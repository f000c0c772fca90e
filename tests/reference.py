"""A slow, literal transcription of the standard's parsing algorithm, for differential tests.

It walks the decoded stream one character at a time, exactly as the WHATWG text reads,
with no attempt at speed. The real parser must agree with it on every input and chunking.
"""

from __future__ import annotations

from sse_client import ServerSentEvent


def reference_parse(
    stream: bytes, last_event_id: str = ""
) -> tuple[list[ServerSentEvent], str, int | None]:
    """Parse a whole stream; return the events, the final last event ID and the last retry (ms)."""
    text = stream.decode("utf-8", errors="replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    lines: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\r":
            lines.append("".join(current))
            current = []
            if i + 1 < len(text) and text[i + 1] == "\n":
                i += 1
        elif char == "\n":
            lines.append("".join(current))
            current = []
        else:
            current.append(char)
        i += 1
    # Whatever is left in `current` is an unfinished line: discarded at end of stream.

    events: list[ServerSentEvent] = []
    data = ""
    event_type = ""
    id_buffer = last_event_id
    stream_last_id = last_event_id
    retry: int | None = None
    reconnection: int | None = None
    for line in lines:
        if line == "":
            stream_last_id = id_buffer
            if data == "":
                event_type = ""
                retry = None
                continue
            if data.endswith("\n"):
                data = data[:-1]
            events.append(ServerSentEvent(event_type or "message", data, stream_last_id, retry))
            data = ""
            event_type = ""
            retry = None
            continue
        if line.startswith(":"):
            continue
        if ":" in line:
            name, value = line.split(":", 1)
            if value.startswith(" "):
                value = value[1:]
        else:
            name, value = line, ""
        if name == "event":
            event_type = value
        elif name == "data":
            data += value + "\n"
        elif name == "id":
            if "\0" not in value:
                id_buffer = value
        elif name == "retry" and value and all(c in "0123456789" for c in value):
            retry = int(value) if len(value) <= 18 else 10**18 - 1
            reconnection = retry
    return events, stream_last_id, reconnection
