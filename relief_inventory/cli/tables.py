"""Plain-text tables that line up in a terminal even with Chinese text.

A CJK character takes two terminal columns, so ``str.ljust`` misaligns mixed text; widths
here follow ``unicodedata.east_asian_width`` (wide and full-width characters count two).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

WIDE = ("W", "F")


def display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in WIDE else 1 for ch in text)


def pad(text: str, width: int, align: str = "<") -> str:
    """Pad to ``width`` terminal columns; ``align`` is ``<`` (left) or ``>`` (right)."""
    fill = " " * max(0, width - display_width(text))
    return text + fill if align == "<" else fill + text


def render_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    align: Sequence[str] | None = None,
    *,
    footer: Sequence[Sequence[str]] = (),
) -> str:
    """Columns separated by two spaces, a rule under the headers and above the footer."""
    align = list(align or ["<"] * len(headers))
    every = [list(headers), *map(list, rows), *map(list, footer)]
    widths = [max(display_width(row[i]) for row in every) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(pad(cell, widths[i], align[i]) for i, cell in enumerate(cells)).rstrip()

    rule = "  ".join("-" * w for w in widths)
    out = [line(headers), rule, *(line(row) for row in rows)]
    if footer:
        out += [rule, *(line(row) for row in footer)]
    return "\n".join(out)
