"""A griffe extension for the API reference (mkdocs.yml): ganlab's docstrings are prose with
reStructuredText roles and unfenced doctests. Before mkdocstrings renders a docstring, its
doctest blocks (``>>>`` at the start of a line, with their ``...`` continuations and expected
output) become fenced ``pycon`` code, and Sphinx roles (``:func:`x```) become code spans, so
that Markdown neither mangles them nor reads ``[...]`` in an output as a link."""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:func|class|meth|mod|data|attr|obj|exc):`~?([^`]+)`")


def fence_doctests(text: str) -> str:
    """Wrap each unindented doctest block (from ``>>>`` to the next blank line) in a
    ``pycon`` code fence."""
    out: list[str] = []
    inside = False
    for line in text.splitlines():
        if not inside and line.startswith(">>>"):
            out.append("```pycon")
            inside = True
        elif inside and not line.strip():
            out.append("```")
            inside = False
        out.append(line)
    if inside:
        out.append("```")
    return "\n".join(out)


class DoctestFences(griffe.Extension):
    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            value = _ROLE.sub(r"`\1`", obj.docstring.value)
            obj.docstring.value = fence_doctests(value)
