"""Encoding events into the wire format, for servers and tests."""

from __future__ import annotations

__all__ = ["format_event"]


def format_event(
    data: str | None = None,
    *,
    event: str | None = None,
    id: str | None = None,
    retry: int | None = None,
    comment: str | None = None,
) -> bytes:
    """Encode one event block, ending in its blank line, as UTF-8 bytes.

    Every line of ``data`` (split at CRLF, LF or CR) becomes a ``data:`` line, so the
    parser gives the same ``data`` back, line endings normalised to LF. ``data=None``
    writes no ``data:`` line at all: the block then only sets fields or carries a
    comment (a keep-alive), and dispatches no event.

    Args:
        data: The event's data, or ``None`` for a block without data.
        event: The event type; ``None`` (or ``"message"``) leaves the field out.
        id: The event ID; ``""`` resets the stream's last event ID.
        retry: The reconnection time to announce, in milliseconds.
        comment: A comment, written first; each of its lines becomes a ``:`` line.

    Raises:
        ValueError: ``event`` or ``id`` contains a line break, ``id`` contains NUL,
            or ``retry`` is negative.

    Example:
        >>> format_event("hello\\nworld", event="greeting", id="1")
        b'event: greeting\\nid: 1\\ndata: hello\\ndata: world\\n\\n'
    """
    lines: list[str] = []
    if comment is not None:
        lines.extend(":" + line for line in _split_lines(comment))
    if event is not None and event != "message":
        _check_single_line("event", event)
        lines.append("event: " + event)
    if id is not None:
        _check_single_line("id", id)
        if "\0" in id:
            raise ValueError(f"an event id cannot contain NUL, got {id!r}")
        lines.append("id: " + id if id else "id")
    if retry is not None:
        if retry < 0:
            raise ValueError(f"retry must be a non-negative number of milliseconds, got {retry!r}")
        lines.append(f"retry: {int(retry)}")
    if data is not None:
        lines.extend("data: " + line if line else "data" for line in _split_lines(data))
    lines.append("\n")
    return "\n".join(lines).encode("utf-8")


def _split_lines(text: str) -> list[str]:
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _check_single_line(field: str, value: str) -> None:
    if "\n" in value or "\r" in value:
        raise ValueError(f"the {field} field cannot contain CR or LF, got {value!r}")
