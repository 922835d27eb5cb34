"""A griffe extension for the API reference: doctest examples render as code.

chainrule's docstrings are prose with ``>>>`` examples in place, not in an "Examples:" section,
so Markdown would read an output line such as ``[[0, 1], [2, 3]]`` as a link. This wraps each run
of ``>>>`` lines (and the output lines under them, up to a blank line) in a ``pycon`` fence.
"""

from __future__ import annotations

from typing import Any

import griffe


def fence_doctests(text: str) -> str:
    """Return ``text`` with each doctest run fenced as a ``pycon`` code block."""
    out: list[str] = []
    in_fence = in_doctest = False
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("```"):
            in_fence = not in_fence
        elif not in_fence and not in_doctest and stripped.startswith(">>>"):
            out.append("```pycon")
            in_doctest = True
        elif in_doctest and not stripped:
            out.append("```")
            in_doctest = False
        out.append(line)
    if in_doctest:
        out.append("```")
    return "\n".join(out)


class DoctestBlocks(griffe.Extension):
    """Fence the doctest examples of every documented object."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None and ">>>" in obj.docstring.value:
            obj.docstring.value = fence_doctests(obj.docstring.value)
