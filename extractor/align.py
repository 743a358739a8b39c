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
CUT_OR_BLANK = "a number cut into digits to fill the columns, or is a blank cell missing?"
NONE_ADDS_UP = "no cut of the digits adds up: a blank cell lost, or the report's own error"
SHORT = "short-row"  # fewer cells than columns and nothing to cut: placed from a side
FORCED = "digit-split-forced"  # the family of a run cut one digit a column: its only reading


class Slot(NamedTuple):
    """One column's value as read: the value (None for blank), its raw text and span.
    (A named tuple, not a dataclass: a report makes hundreds of them, and a tuple is built
    faster.)"""

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
    # The values of the other readings the cells allow, for the checks to weigh (at most
    # MAX_OTHERS).
    others: tuple[tuple, ...] = ()


MAX_OTHERS = 8


def _others(fits, chosen) -> tuple[tuple, ...]:
    mine = (
        _values(chosen.slots if isinstance(chosen, Fit) else chosen) if chosen is not None else None
    )
    out = []
    for f in fits:
        v = _values(f.slots if isinstance(f, Fit) else f)
        if v != mine and v not in out:
            out.append(v)
    return tuple(out[:MAX_OTHERS])


class Options(NamedTuple):
    """Every reading a row's cells allow, most likely first, for the row's or the table's
    arithmetic to choose from. One distinct reading: nothing to choose."""

    fits: tuple[Fit, ...]
    rule: str = ""  # the family of readings: "grid-positional", "digit-split", "extra-cell", …
    reason: str = ""  # why there is a choice to make
    # Every way the cells can be read is among `fits` (no blank cell can have vanished, no signed
    # run left uncut): the readings may be weighed cell by cell, and by the table's arithmetic.
    complete: bool = True
    # Not complete only because a blank cell may have vanished where a run is cut (CUT_OR_BLANK):
    # the table's arithmetic may still choose among the cuts, and vouch for the one it leaves.
    cut_or_blank: bool = False

    @property
    def distinct(self) -> int:
        return len({_values(f.slots) for f in self.fits})


def fit_row(cells: Sequence[Cell], k: int, identity: Identity | None = None,
            glued: bool = True) -> Fit:
    """A row's cells → its k columns: the one reading, or the one the row's arithmetic leaves.

    `glued`: the row's numbers run straight on from its label (`规章000`), as crawler text does;
    when a space or a cell edge parts them, a run of digits is more likely one number whose blank
    neighbours were lost than several numbers run together, so cutting it is a guess (marked)."""
    return choose(options(cells, k, glued, identity), identity, k)


def options(cells: Sequence[Cell], k: int, glued: bool = True,
            identity: Identity | None = None) -> Options:
    """Every reading of a row's cells as its k columns (see fit_row). With the row's `identity`,
    a run of digits that can be cut too many ways to list is cut only the ways that keep it."""
    readings = [read_cell(c.text) for c in cells]
    filled = [i for i, r in enumerate(readings) if r.kind != EMPTY]
    if len(filled) == k:
        return Options((Fit(tuple(_slot(cells[i], readings[i]) for i in filled), "grid"),))
    if len(filled) < k:
        return _short(cells, readings, filled, k, glued, identity)
    return _long(cells, readings, filled, k)


def choose(opts: Options, identity: Identity | None, k: int) -> Fit:
    """The reading to take: the only one; else the one the row's arithmetic leaves (unmarked, its
    rule says so); else the first, its cells that the readings disagree on marked (see
    ambiguous)."""
    if opts.distinct == 1:
        return _the_only(opts, identity, k)
    good = [f for f in opts.fits if identity is not None and identity(_values(f.slots)) is True]
    if len({_values(f.slots) for f in good}) == 1:
        fit = good[0]._replace(rule=opts.rule + "+arithmetic", review=False, reason="",
                               others=_others(opts.fits, good[0]))
        # a blank cell lost would read otherwise: the table's arithmetic is to vouch for the cut
        return fit._replace(review=True, reason=CUT_OR_BLANK) if opts.cut_or_blank else fit
    if identity is not None and _none_adds_up(opts, identity):
        return ambiguous(opts.fits, NONE_ADDS_UP)._replace(review=True, reason=NONE_ADDS_UP)
    if opts.rule == SHORT:  # not every placement is among the readings: the likeliest, marked
        return opts.fits[0]._replace(others=_others(opts.fits, opts.fits[0]))
    if not opts.complete:  # the truth may be none of them: no cell is read
        return Fit((None,) * k, "unreadable", True, opts.reason, _others(opts.fits, None))
    return ambiguous(opts.fits, opts.reason)


def _the_only(opts: Options, identity: Identity | None, k: int) -> Fit:
    """One distinct reading: taken, unless it is a guess nothing vouches for (null, marked, the
    guess beside it), or the one cut of a run breaks its row (a blank was lost?)."""
    only = opts.fits[0]
    holds = identity(_values(only.slots)) if identity is not None else None
    if opts.rule == FORCED and holds is False:
        return unreadable(k, opts.reason)
    if holds is True and opts.cut_or_blank and not only.review:
        return only._replace(review=True, reason=CUT_OR_BLANK)  # a blank lost? the table vouches
    if opts.rule in ("", FORCED) or only.review or holds is True:
        return only
    return Fit((None,) * k, "unreadable", True, opts.reason, _others(opts.fits, None))


def _none_adds_up(opts: Options, identity: Identity) -> bool:
    """Do the cuts of a run all break the row's arithmetic? Then even the cells they agree on
    are in doubt: a blank cell was lost, or the report errs."""
    return opts.rule == "digit-split" and all(identity(_values(f.slots)) is False
                                              for f in opts.fits)


def ambiguous(fits: Sequence[Fit], reason: str) -> Fit:
    """Several readings and nothing to choose between them: the cells all readings agree on are
    read plainly; every other cell is null and marked, each reading's values beside it (`others`,
    which become the fields' alternatives)."""
    first = fits[0]
    slots = []
    for j, slot in enumerate(first.slots):
        column = [f.slots[j] for f in fits]
        if len({None if s is None else s.value for s in column}) == 1:
            slots.append(slot)
        else:
            slots.append(Slot(None, "", -1, -1, True, reason))
    return Fit(tuple(slots), first.rule + "+ambiguous", first.review,
               first.reason if first.review else "", _others(fits, None))


def unreadable(k: int, reason: str) -> Fit:
    return Fit((None,) * k, "unreadable", True, reason)


def _short(cells, readings, filled, k, glued: bool = True,
           identity: Identity | None = None) -> Options:
    if not cells:
        reason = "the row's label stands with no cells after it"
        return Options((Fit((None,) * k, "no-cells", True, reason),))
    if not filled:
        return Options((Fit((None,) * k, "grid-blank"),))
    windows = _windows(cells, filled, k)
    if windows:
        return _by_windows(cells, readings, windows, k)
    # Fewer cells than columns: digits run together in one cell may be several columns. A blank
    # cell left out reads as well as a run cut in two: where the cells are kept apart (a space
    # after the label, or several cells), and wherever the row has arithmetic to weigh the cuts
    # by (a crawler's glued run loses its blanks too). Only table 2, without arithmetic, takes a
    # glued run's cuts as all its readings.
    cut_or_blank = ((len(filled) > 1 or not glued or identity is not None)
                    and not _signed_run(cells, filled))
    if _split_count(cells, readings, filled, k) > MAX_CANDIDATES:
        return _cuts_that_add_up(cells[filled[0]], k, identity, len(filled))
    splits = list(_digit_splits(cells, readings, filled, k))
    if len(splits) == 1 and _forced(splits[0], cells, filled):
        if len(filled) > 1 or not glued:
            return Options((Fit(splits[0], "digit-split", True, CUT_OR_BLANK),), FORCED)
        # one digit a column: no other reading
        return Options((Fit(splits[0], "digit-split"),), FORCED, "digits run together")
    if splits:
        signed = _signed_run(cells, filled)
        complete = len(filled) == 1 and glued and identity is None and not signed
        return Options(tuple(Fit(s, "digit-split") for s in splits), "digit-split",
                       "digits run together split more than one way", complete, cut_or_blank)
    return _short_row(cells, readings, k)


TOO_MANY_CUTS = "digits run together: too many ways to cut them"
MAX_CUTS_TRIED = 300_000  # ways to cut one run tried against its row's arithmetic (about 1 s)


def _cuts_that_add_up(cell: Cell, k: int, identity: Identity | None, runs: int) -> Options:
    """One run of digits too long to list every cut of (24 digits cut 100,947 ways into seven
    columns): the cuts into k numbers that keep the row's arithmetic, when the row has one run
    and an identity, and the cuts to try are not past MAX_CUTS_TRIED. Unreadable otherwise, or
    when no cut adds up (a report's own error, or a blank cell lost). The cuts are never all the
    readings: a blank cell may have vanished instead (cut_or_blank)."""
    digits = re.sub(r"\s", "", cell.text)
    if (identity is None or runs != 1 or not digits.isdigit()
            or math.comb(len(digits) - 1, k - 1) > MAX_CUTS_TRIED):
        return Options((unreadable(k, TOO_MANY_CUTS),))
    kept = [values for values in _int_cuts(digits, k) if identity(values) is True]
    if not kept:
        return Options((unreadable(k, TOO_MANY_CUTS + ", and none adds up"),))
    rule = "digit-split+arithmetic" if len(kept) == 1 else "digit-split"
    fits = tuple(Fit(_cut_slots(cell, values), rule) for values in kept)
    return Options(fits, "digit-split", "digits run together split more than one way",
                   complete=False, cut_or_blank=True)


def blank_as_zero(values: Sequence) -> tuple:
    """A reading's values with its blank cells (None) as 0: how a blank weighs in a sum when the
    question is which reading keeps it, not what the cell holds (it stays null)."""
    return tuple(0 if v is None else v for v in values)


def lost_blank_readings(cells: Sequence[Cell], k: int, identity: Identity) -> list[tuple] | None:
    """The readings of a row's cells as k columns one of which was a blank cell that vanished
    (a crawler's text keeps nothing of it): the cells cut into k - 1 numbers, a blank (None) put
    in each place in turn, kept when the row adds up with the blank as 0. None when they are too
    many to list (MAX_CUTS_TRIED). The other side of CUT_OR_BLANK: a cut is sure only when none
    of these keeps the table's arithmetic."""
    readings = [read_cell(c.text) for c in cells]
    filled = [i for i, r in enumerate(readings) if r.kind != EMPTY]
    if not filled or len(filled) > k - 1:
        return []
    if _split_count(cells, readings, filled, k - 1) * k > MAX_CUTS_TRIED:
        return None
    out = []
    for slots in _digit_splits(cells, readings, filled, k - 1):
        values = _values(slots)
        for at in range(k):
            with_blank = values[:at] + (None,) + values[at:]
            if identity(blank_as_zero(with_blank)) is True and with_blank not in out:
                out.append(with_blank)
    return out


def _int_cuts(digits: str, k: int):
    """Every cut of a run of digits into k numbers, none with a leading zero: tuples of ints."""
    n = len(digits)
    for bounds in itertools.combinations(range(1, n), k - 1):
        edges = (0, *bounds, n)
        if any(digits[a] == "0" and b - a > 1 for a, b in zip(edges, edges[1:])):
            continue
        yield tuple(int(digits[a:b]) for a, b in zip(edges, edges[1:]))


def _cut_slots(cell: Cell, values: tuple[int, ...]) -> tuple[Slot, ...]:
    """The slots of a run of digits cut into `values`, each with its span in the text."""
    offsets = [m.start() for m in re.finditer(r"\d", cell.text)]
    slots, at = [], 0
    for v in values:
        width = len(str(v))
        start, end = cell.start + offsets[at], cell.start + offsets[at + width - 1] + 1
        slots.append(Slot(v, str(v), start, end, reason="digits run together, cut by arithmetic"))
        at += width
    return tuple(slots)


def _windows(cells, filled, k) -> list[tuple[int, int]]:
    """The k-wide windows of the row that hold all its filled cells (its empty cells are
    columns)."""
    first, last = filled[0], filled[-1]
    starts = (0, len(cells) - k, first, last + 1 - k)
    return sorted(
        {(s, s + k) for s in starts if 0 <= s <= first and s + k > last and s + k <= len(cells)}
    )


def _by_windows(cells, readings, windows, k) -> Options:
    fits = [tuple(_slot(cells[i], readings[i]) if readings[i].kind != EMPTY else None
                  for i in range(a, b)) for a, b in windows]
    if len({_values(f) for f in fits}) == 1:
        # cells left over on the right: one too many, or a number split in two?
        if max(b for _, b in windows) < len(cells):
            reason = (f"{len(cells)} cells for {k} columns: the cells past the last column are "
                      "empty, but why are they there?")
            return Options((Fit(fits[0], "grid-positional", True, reason),))
        return Options((Fit(fits[0], "grid-positional"),))
    return Options(tuple(Fit(f, "grid-positional") for f in fits), "grid-positional",
                   "empty cells leave the columns ambiguous")


def _short_row(cells, readings, k) -> Options:
    """Fewer cells than columns and nothing to cut: they stand from the left, or (when the row
    opens with empty cells) from the right."""
    cols = range(min(len(cells), k))
    row = tuple(_slot(cells[i], readings[i]) if readings[i].kind != EMPTY else None for i in cols)
    left = row + (None,) * (k - len(row))
    right = (None,) * (k - len(row)) + row
    side, other = (
        (("right", right), ("left", left))
        if readings[0].kind == EMPTY
        else (("left", left), ("right", right))
    )
    reason = f"{len(cols)} cells for {k} columns: placed from the {side[0]}"
    fits = [Fit(side[1], f"short-row-{side[0]}", True, reason)]
    if other[1] != side[1]:
        fits.append(Fit(other[1], f"short-row-{other[0]}", True, reason))
    return Options(tuple(fits), SHORT, reason)


def _long(cells, readings, filled, k) -> Options:
    extra = len(filled) - k
    if extra > 3:
        return Options((unreadable(k, f"{len(filled)} cells for {k} columns"),))
    items = [(cells[i], readings[i]) for i in filled]
    applied = (_apply(items, ops) for ops in _reductions(len(items), extra))
    fits = [Fit(f, "extra-cell") for f in applied if f is not None]
    if len({_values(f.slots) for f in fits}) == 1:
        return Options((fits[0],))
    return Options(tuple(fits), "extra-cell", f"{len(filled)} cells for {k} columns")


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
            out.append(Slot(joined.value, cell.text + nxt.text, cell.start, nxt.end,
                            reason="number split over two cells"))
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


def _signed_run(cells, filled) -> bool:
    return any(re.fullmatch(r"\s*[+-]\d{2,}\s*", cells[i].text) for i in filled)


def _forced(slots, cells, filled) -> bool:
    """Every digit of every run is a column of its own: the only way the row can be read."""
    if _signed_run(cells, filled):
        return False  # a signed run (`-30`) could be cut too (`-3` `0`): not the only reading
    if any(read_cell(cells[i].text).kind != NUMBER for i in filled):
        # a placeholder or a guessed digit stands apart: the row keeps its cells apart, a cell may
        # be missing
        return False
    runs = [cells[i] for i in filled if re.fullmatch(r"\s*\d{2,}\s*", cells[i].text)]
    digits = sum(len(c.text.strip()) for c in runs)
    from_runs = [
        s for s in slots if s is not None and any(c.start <= s.start < c.end for c in runs)
    ]
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
                Slot(int(c), c, cell.start + offsets[a], cell.start + offsets[b - 1] + 1,
                     reason="digits run together, cut by arithmetic" if parts > 1 else "")
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


def values_of(fit: Fit) -> tuple:
    """A reading's values, one per column (None: blank)."""
    return _values(fit.slots)


def others_of(fits: Sequence[Fit], chosen: Fit) -> tuple[tuple, ...]:
    """The values of the readings other than `chosen` (at most MAX_OTHERS), for alternatives."""
    return _others(fits, chosen)
