"""Helpers for testing code that consumes Server-Sent Events.

Public and stable: build event streams with :func:`format_event`.
"""

from __future__ import annotations

from ._format import format_event

__all__ = ["format_event"]
