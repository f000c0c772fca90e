"""A griffe extension for the API reference: ``Example:`` sections are doctest examples.

The docstrings follow the Google style with a singular ``Example:`` heading, which
griffe reads as a plain admonition: its ``>>>`` output lines (``['a', 'b']``) would then
be rendered as Markdown, as if they were links. Renaming the heading before the
docstring is parsed makes griffe render the section as code.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_HEADING = re.compile(r"^(\s*)Example:\s*$", re.MULTILINE)


class ExampleSections(griffe.Extension):
    """Reads every ``Example:`` heading as ``Examples:``."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = _HEADING.sub(r"\1Examples:", obj.docstring.value)
