"""Where a table's value columns stand when its text keeps the cells of a grid (HTML, Word, PDF
geometry, tab or pipe text that keeps its empty cells): a row's cells placed by the grid's columns,
where a count of cells alone could place them more than one way.

    grid_columns(rows, k, identity) -> {None | length: (start, width)}   # table 3
    value_columns(row_text, rows, grids, k) -> cells in the k columns | None
    header_starts / header_columns / words_in_value_columns              # table 2, by its header
"""

from __future__ import annotations

from .cells import EMPTY, TEXT, Cell, normalise, read_cell
from .locate import RowText


def grid_columns(rows: list[list[Cell]], k: int, identity=None,
                 first_header: str = "自然人") -> dict:
    """Where a table's k value columns start when the table is a grid whose cells keep their places
    (HTML, Word, PDF geometry, tab or pipe text that keeps its empty cells):
    `{None: (start, width)}` for the whole table, or, when its rows disagree (a table continued on
    another page with a column fewer), `{length: (start, length)}` for the rows of each length that
    agree among themselves. Empty when there is no grid to lean on.

    The start is read from the header (the column of 自然人) and from rows whose k values are all
    printed, or whose first and last are and whose values satisfy the row's identity (blanks
    counted as 0 for this test only); every reading must agree, and every row with numbers must
    hold them in those k columns and nowhere else. For the whole table, trailing empty cells may
    be missing (text often drops them): positions count from the left.
    """
    read = [[read_cell(c.text) for c in row] for row in rows]
    numeric = [r for r in read if any(x.is_number for x in r)]
    if len(numeric) < 3 or not any(_inner_blank(r) for r in numeric):
        return {}  # no sign that blank cells are kept as cells: positions mean nothing
    headers = [(i, len(row)) for row in rows for i, c in enumerate(row)
               if first_header[0] in c.text and normalise(c.text) == first_header]
    start = _grid_start(numeric, {i for i, _ in headers}, k, identity)
    if start is not None:
        lengths = [len(r) for r in numeric]
        return {None: (start, max(set(lengths), key=lengths.count))}
    grids = {}
    for length in sorted({len(r) for r in numeric}):
        group = [r for r in numeric if len(r) == length]
        start = _grid_start(group, {i for i, n in headers if n == length}, k, identity)
        if start is not None:
            grids[length] = (start, length)
    return grids


def _grid_start(numeric: list[list], starts: set[int], k: int, identity) -> int | None:
    starts = set(starts)
    for r in numeric:
        numbers = [i for i, x in enumerate(r) if x.is_number]
        if numbers[-1] - numbers[0] != k - 1:
            continue
        values = [x.value for x in r[numbers[0] : numbers[0] + k]]
        if len(numbers) == k or (identity is not None
                                 and identity([v or 0 for v in values]) is True):
            # all k printed, or the first and last printed and the row adds up
            starts.add(numbers[0])
    if len(starts) != 1:
        return None
    start = starts.pop()
    for r in numeric:
        if any(x.kind != EMPTY for x in r[start + k :]):
            return None
        if any(x.kind not in (EMPTY, TEXT) for x in r[:start]):
            return None  # a number among the labels
        if any(x.kind == TEXT for x in r[start : start + k]):
            return None  # words among the values
    return start


def _inner_blank(readings: list) -> bool:
    filled = [i for i, x in enumerate(readings) if x.kind != EMPTY]
    return len(filled) >= 2 and filled[-1] - filled[0] + 1 > len(filled)


def value_columns(entry: RowText, rows: list[list[Cell]], grids: dict, k: int) -> list[Cell] | None:
    """A row's cells in the table's k value columns, by their places in the grid, where a count of
    cells alone could not place them (a blank total, an empty cell under a merged label). A column
    past the row's last cell is blank. None when the row has more cells than the grid's rows (a
    number split over two cells?) or cells that are not all from its own line."""
    row = rows[entry.label.row] if entry.label.row < len(rows) else []
    grid = grids.get(None) or grids.get(len(row))
    if grid is None:
        return None
    start, width = grid
    column = {c.start: i for i, c in enumerate(row)}
    if (
        not row
        or len(row) > max(width, start + k)
        or any(c.start not in column for c in entry.cells)
    ):
        return None  # cells from other lines, or cut out of a cell: not places in the grid
    if any(read_cell(c.text).kind != EMPTY for c in entry.cells if column[c.start] < start):
        return None
    end = row[-1].end
    return [row[i] if i < len(row) else Cell("", end, end) for i in range(start, start + k)]


def header_starts(entry: RowText, rows: list[list[Cell]], k: int) -> list[int] | None:
    """Where the k columns of the header just above a table 2 row start, when header and row are
    rows of one grid (HTML, Word); None when there is no such header."""
    r = entry.label.row
    if not 0 <= r < len(rows):
        return None
    row = rows[r]
    for h in range(r - 1, max(-1, r - 4), -1):
        head = rows[h]
        words = [i for i, c in enumerate(head) if read_cell(c.text).kind != EMPTY]
        if any("二十条" in head[i].text.replace(" ", "") for i in words):
            return None  # the block's title: no header between it and the row
        if (
            len(head) == len(row)
            and len(words) == k + 1
            and all(read_cell(head[i].text).kind == TEXT for i in words)
        ):
            return words[1:]
    return None


def header_columns(entry: RowText, rows: list[list[Cell]], k: int,
                   starts: list[int] | None) -> list[Cell] | None:
    """A table 2 row's cells by the columns of the header just above it, when both are rows of one
    grid (HTML, Word): `规章 | | 0 | | 5` under `信息内容 | 本年制发件数 | 本年废止件数 (two columns
    wide) | 现行有效件数` is blank, 0, 5, where a count of cells could place it two ways. None when
    there is no such header (`starts`, from _header_starts), or a column holds two values, or words
    stand among the values."""
    if starts is None:
        return None
    row = rows[entry.label.row]
    column = {c.start: i for i, c in enumerate(row)}
    if any(c.start not in column for c in entry.cells):
        return None
    own = {c.start for c in entry.cells}
    if any(read_cell(c.text).kind != EMPTY and c.start not in own for c in row[starts[0]:]):
        # a cell of the row that went elsewhere (a word among the numbers): not a plain grid row
        return None
    slots: list[Cell | None] = [None] * k
    for c in entry.cells:
        if read_cell(c.text).kind == EMPTY:
            continue
        p = column[c.start]
        if p < starts[0]:
            return None
        j = max(n for n, s in enumerate(starts) if s <= p)
        if slots[j] is not None:
            return None
        slots[j] = c
    end = row[-1].end
    return [c if c is not None else Cell("", end, end) for c in slots]


def words_in_value_columns(entry: RowText, rows: list[list[Cell]],
                           starts: list[int] | None) -> str | None:
    """Words standing in the value columns of the header above (`不适用`, `1.25万` taken for label
    text): the row cannot be read as blank without a person's look."""
    if starts is None:
        return None
    words = [c.text.strip() for c in rows[entry.label.row][starts[0]:]
             if read_cell(c.text).kind == TEXT]
    return f"words where a value should stand: {words[0][:20]!r}" if words else None


