"""A table drawn on a page the way a Word template prints it, for the stress corpus's `pdftotext`
renderings: cells with row and column spans, text wrapped inside its column, each cell aligned
top, center or bottom within the height of its rows. `lay_out` returns the text lines as
`pdftotext -layout` prints them: every piece of text at its height, pieces at the same height on
one line at their x position (a piece half a line lower is a line of its own, which is how a
top-aligned 总计 ends up on a wrapped label's first line and the six applicant values on the next:
../shared/cases/rendered/t3_total_top_aligned_row_rotated.txt).

    cells = [Cell(0, 0, "（二）部分公开（区分处理的，只计这一情形，不计其他情形）", colspan=3), …]
    lines = lay_out(cells, widths=[4, 8, 20, 5, 5, 5, 5, 5, 5, 5], gap=2)  # [(y, row, text), …]

Widths are display columns: a CJK character takes two, an ASCII one.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass


def dwidth(text: str) -> int:
    """Display width: 2 for a wide (CJK, fullwidth) character, 1 for any other."""
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)


def wrap(text: str, width: int) -> list[str]:
    """`text` cut into lines of at most `width` display columns (at least one character each);
    [] for an empty text."""
    lines, line, w = [], "", 0
    for c in text:
        cw = dwidth(c)
        if line and w + cw > width:
            lines.append(line)
            line, w = "", 0
        line, w = line + c, w + cw
    return lines + ([line] if line else [])


@dataclass
class Cell:
    row: int
    col: int
    text: str
    rowspan: int = 1
    colspan: int = 1
    valign: str = "center"  # top, center, bottom
    halign: str = "center"  # left, center


def _x_positions(widths: list[int], gap: int, indent: int) -> list[int]:
    xs = [indent]
    for w in widths[:-1]:
        xs.append(xs[-1] + w + gap)
    return xs


def _heights(cells: list[tuple[Cell, list[str]]], nrows: int, min_heights: list[int]) -> list[int]:
    heights = [max(1, m) for m in min_heights] + [1] * (nrows - len(min_heights))
    for cell, lines in cells:
        if cell.rowspan == 1:
            heights[cell.row] = max(heights[cell.row], len(lines))
    for cell, lines in cells:  # a spanning cell taller than its rows stretches the last of them
        rows = range(cell.row, cell.row + cell.rowspan)
        short = len(lines) - sum(heights[r] for r in rows)
        if cell.rowspan > 1 and short > 0:
            heights[rows[-1]] += short
    return heights


def _offset(valign: str, room: float, n: int) -> float:
    return {"top": 0.0, "bottom": float(room - n)}.get(valign, (room - n) / 2)


def lay_out(
    cells: list[Cell],
    widths: list[int],
    gap: int = 2,
    indent: int = 0,
    min_heights: list[int] | None = None,
) -> list[tuple[float, int, str]]:
    """The table's text lines, top to bottom: (y in lines from the table's top, index of the row
    the line stands in, the line as `pdftotext -layout` prints it)."""
    xs = _x_positions(widths, gap, indent)
    nrows = max(c.row + c.rowspan for c in cells) if cells else 0
    placed = []
    for c in cells:
        last = c.col + c.colspan - 1
        placed.append((c, wrap(c.text, xs[last] + widths[last] - xs[c.col])))
    heights = _heights(placed, nrows, min_heights or [])
    tops = [0]
    for h in heights:
        tops.append(tops[-1] + h)
    items: dict[float, list[tuple[int, str]]] = {}
    for c, lines in placed:
        room = tops[c.row + c.rowspan] - tops[c.row]
        y0 = tops[c.row] + _offset(c.valign, room, len(lines))
        last = c.col + c.colspan - 1
        span = xs[last] + widths[last] - xs[c.col]
        for k, line in enumerate(lines):
            pad = 0 if c.halign == "left" else (span - dwidth(line)) // 2
            items.setdefault(y0 + k, []).append((xs[c.col] + pad, line))
    out = []
    for y in sorted(items):
        row = max(r for r in range(nrows) if tops[r] <= y)
        out.append((y, row, _join(sorted(items[y]))))
    return out


def _join(pieces: list[tuple[int, str]]) -> str:
    """Pieces at one height, by x: spaces up to each x (at least one between two pieces)."""
    line, w = "", 0
    for x, text in pieces:
        x = max(x, w + 1) if line else x
        line += " " * (x - w) + text
        w = x + dwidth(text)
    return line
