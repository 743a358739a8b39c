"""Fit a row's value cells to the template's k columns.

A clean row has exactly k cells and maps one to one. Other rows have readings to choose from:
empty cells that may or may not be columns, an extra cell, a number split over two cells, or
digits run together in one cell. Every reading is generated; when they all give the same values
the row is read without doubt; when the table's own arithmetic (an identity such as
总计 = the sum of its parts) leaves exactly one of them, that one is taken; otherwise the
row's values are null and marked for review. Nothing here guesses silently.
"""

from __future__ import annotations

import itertools
import math
import re
from typing import Callable, NamedTuple, Sequence

from .cells import EMPTY, ILLEGIBLE, NUMBER, OCR, TEXT, Cell, Reading, read_cell

Identity = Callable[[Sequence[int | float | None]], bool | None]
MAX_CANDIDATES = 20000


class Slot(NamedTuple):
    """One column's value as read: the value (None for blank), its raw text and span.
    (A named tuple, not a dataclass: a report makes hundreds of them, and a tuple is built faster.)"""

    value: int | float | None
    raw: str
    start: int
    end: int
    review: bool = False
    reason: str = ""
    unit: str | None = None


class Fit(NamedTuple):
    slots: tuple[Slot | None, ...]  # None: no cell stood in that column
    rule: str
    review: bool = False
    reason: str = ""
    # The values of the other readings the cells allow, for the checks to weigh (at most MAX_OTHERS).
    others: tuple[tuple, ...] = ()


MAX_OTHERS = 8


def _others(fits, chosen) -> tuple[tuple, ...]:
    mine = _values(chosen) if chosen is not None else None
    out = []
    for f in fits:
        v = _values(f)
        if v != mine and v not in out:
            out.append(v)
    return tuple(out[:MAX_OTHERS])


def fit_row(cells: Sequence[Cell], k: int, identity: Identity | None = None, glued: bool = True) -> Fit:
    """`glued`: the row's numbers run straight on from its label (`规章000`), as crawler text does;
    when a space or a cell edge parts them, a run of digits is more likely one number whose blank
    neighbours were lost than several numbers run together, so cutting it is a guess (marked)."""
    readings = [read_cell(c.text) for c in cells]
    filled = [i for i, r in enumerate(readings) if r.kind != EMPTY]
    if len(filled) == k:
        return Fit(tuple(_slot(cells[i], readings[i]) for i in filled), "grid")
    if len(filled) < k:
        return _fit_short(cells, readings, filled, k, identity, glued)
    return _fit_long(cells, readings, filled, k, identity)


def unreadable(k: int, reason: str) -> Fit:
    return Fit((None,) * k, "unreadable", True, reason)


def _fit_short(cells, readings, filled, k, identity, glued: bool = True) -> Fit:
    if not cells:
        return Fit((None,) * k, "no-cells", True, "the row's label stands with no cells after it")
    if not filled:
        return Fit((None,) * k, "grid-blank")
    # The empty cells are columns: which k-wide window of the row holds the table's columns?
    first, last = filled[0], filled[-1]
    windows = {(s, s + k) for s in (0, len(cells) - k, first, last + 1 - k) if 0 <= s <= first and s + k > last and s + k <= len(cells)}
    fits = [tuple(_slot(cells[i], readings[i]) if readings[i].kind != EMPTY else None for i in range(a, b)) for a, b in sorted(windows)]
    if fits and len({_values(f) for f in fits}) == 1:
        if max(b for _, b in windows) < len(cells):  # cells left over on the right: one too many, or a number split in two?
            return Fit(fits[0], "grid-positional", True, f"{len(cells)} cells for {k} columns: the cells past the last column are empty, but why are they there?")
        return Fit(fits[0], "grid-positional")
    if fits:
        return _by_identity(fits, identity, "grid-positional", k, "empty cells leave the columns ambiguous")
    # Fewer cells than columns: digits run together in one cell may be several columns.
    if _split_count(cells, readings, filled, k) > MAX_CANDIDATES:
        return unreadable(k, "digits run together: too many ways to cut them")
    splits = list(_digit_splits(cells, readings, filled, k))
    if len(splits) == 1 and _forced(splits[0], cells, filled) and (identity is None or identity(_values(splits[0])) is not False):
        if len(filled) > 1 or not glued:  # cells kept apart: a blank cell left out reads as well as a run cut in two
            return Fit(splits[0], "digit-split", True, "a number cut into digits to fill the columns, or is a blank cell missing?")
        return Fit(splits[0], "digit-split")  # one digit a column: no other reading
    if splits:
        return _by_identity(splits, identity, "digit-split", k, "digits run together split more than one way")
    # A short row: its cells stand from the left, or (when it opens with empty cells) from the right.
    cols = range(min(len(cells), k))
    row = tuple(_slot(cells[i], readings[i]) if readings[i].kind != EMPTY else None for i in cols)
    left = row + (None,) * (k - len(row))
    right = (None,) * (k - len(row)) + row
    if identity is not None and left != right:
        good = [f for f in (left, right) if identity(_values(f)) is True]
        if len(good) == 1:
            return Fit(good[0], "short-row+arithmetic", others=_others((left, right), good[0]))
    side, fit = ("right", right) if readings[0].kind == EMPTY else ("left", left)
    return Fit(fit, f"short-row-{side}", True, f"{len(cols)} cells for {k} columns: placed from the {side}", _others((left, right), fit))


def _fit_long(cells, readings, filled, k, identity) -> Fit:
    extra = len(filled) - k
    if extra > 3:
        return unreadable(k, f"{len(filled)} cells for {k} columns")
    fits = []
    items = [(cells[i], readings[i]) for i in filled]
    for ops in _reductions(len(items), extra):
        fit = _apply(items, ops)
        if fit is not None:
            fits.append(fit)
    distinct = {_values(f) for f in fits}
    if len(distinct) == 1:
        return Fit(fits[0], "extra-cell")
    return _by_identity(fits, identity, "extra-cell", k, f"{len(filled)} cells for {k} columns")


def _by_identity(fits, identity, rule, k, reason) -> Fit:
    if identity is not None:
        good = [f for f in fits if identity(_values(f)) is True]
        if len({_values(f) for f in good}) == 1:
            return Fit(good[0], rule + "+arithmetic", others=_others(fits, good[0]))
    return Fit((None,) * k, "unreadable", True, reason, _others(fits, None))


def _reductions(n: int, extra: int):
    """Ways to remove `extra` cells from n: each step drops one cell or joins two neighbours."""
    ops = [("drop", i) for i in range(n)] + [("join", i) for i in range(n - 1)]
    seen = set()
    for combo in itertools.combinations(ops, extra):
        positions = [p for _, p in combo]
        if len(set(positions)) == len(positions) and combo not in seen:
            seen.add(combo)
            yield combo


def _apply(items, ops):
    drops = {p for op, p in ops if op == "drop"}
    joins = {p for op, p in ops if op == "join"}
    out, i = [], 0
    while i < len(items):
        if i in drops:
            i += 1
            continue
        cell, reading = items[i]
        if i in joins:
            if i + 1 >= len(items) or i + 1 in drops or i + 1 in joins:
                return None
            nxt, nreading = items[i + 1]
            if reading.kind != NUMBER or nreading.kind != NUMBER or "." in cell.text:
                return None
            joined = read_cell(cell.text.strip() + nxt.text.strip())
            if joined.kind != NUMBER:
                return None
            out.append(Slot(joined.value, cell.text + nxt.text, cell.start, nxt.end, reason="number split over two cells"))
            i += 2
            continue
        out.append(_slot(cell, reading))
        i += 1
    return tuple(out)


def _digit_splits(cells, readings, filled, k):
    """Every way to cut the digit runs among the cells into exactly k numbers."""
    pieces = []  # per filled cell: list of alternative tuples of Slots
    need = k - len(filled)
    for i in filled:
        cell, r = cells[i], readings[i]
        digits = re.sub(r"\s", "", cell.text)
        if r.kind == NUMBER and digits.isdigit() and len(digits) > 1:
            pieces.append(list(_cuts(cell, min(len(digits), need + 1))))
        else:
            pieces.append([(_slot(cell, r),)])
    count = 0
    for combo in itertools.product(*pieces):
        slots = tuple(s for part in combo for s in part)
        if len(slots) == k:
            yield slots
            count += 1
            if count >= MAX_CANDIDATES:
                return


def _forced(slots, cells, filled) -> bool:
    """Every digit of every run is a column of its own: the only way the row can be read."""
    if any(re.fullmatch(r"\s*[+-]\d{2,}\s*", cells[i].text) for i in filled):
        return False  # a signed run (`-30`) could be cut too (`-3` `0`): not the only reading
    if any(read_cell(cells[i].text).kind != NUMBER for i in filled):
        return False  # a placeholder or a guessed digit stands apart: the row keeps its cells apart, a cell may be missing
    runs = [cells[i] for i in filled if re.fullmatch(r"\s*\d{2,}\s*", cells[i].text)]
    digits = sum(len(c.text.strip()) for c in runs)
    from_runs = [s for s in slots if s is not None and any(c.start <= s.start < c.end for c in runs)]
    return bool(runs) and len(from_runs) == digits


def _split_count(cells, readings, filled, k) -> int:
    """How many readings _digit_splits would try (to refuse before trying millions)."""
    need = k - len(filled)
    total = 1
    for i in filled:
        digits = re.sub(r"\s", "", cells[i].text)
        if readings[i].kind == NUMBER and digits.isdigit() and len(digits) > 1:
            n, parts = len(digits), min(len(digits), need + 1)
            total *= sum(math.comb(n - 1, p - 1) for p in range(1, parts + 1))
    return total


def _cuts(cell: Cell, max_parts: int):
    """Cut a cell's digit run into 1..max_parts numbers, no number with a leading zero."""
    offsets = [m.start() for m in re.finditer(r"\d", cell.text)]
    digits = "".join(cell.text[o] for o in offsets)
    n = len(digits)
    for parts in range(1, max_parts + 1):
        for bounds in itertools.combinations(range(1, n), parts - 1):
            edges = (0,) + bounds + (n,)
            chunks = [digits[a:b] for a, b in zip(edges, edges[1:])]
            if any(len(c) > 1 and c[0] == "0" for c in chunks):
                continue
            yield tuple(
                Slot(int(c), c, cell.start + offsets[a], cell.start + offsets[b - 1] + 1, reason="digits run together, cut by arithmetic" if parts > 1 else "")
                for c, a, b in zip(chunks, edges, edges[1:])
            )


def _slot(cell: Cell, reading: Reading, review: bool = False, reason: str = "") -> Slot:
    if reading.kind == OCR:
        review, reason = True, "a character OCR confuses with a digit"
    elif reading.kind == ILLEGIBLE:
        review, reason = True, "illegible in the source"
    elif reading.kind == TEXT:
        review, reason = True, "text where a number should stand"
    elif reading.unit == "万":
        review, reason = True, "a number written with 万: read as printed (万元 in a money column)"
    value = reading.value if reading.kind in (NUMBER, OCR) else None
    return Slot(value, cell.text, cell.start, cell.end, review, reason, reading.unit)


def _values(fit) -> tuple:
    return tuple(None if s is None else s.value for s in fit)
