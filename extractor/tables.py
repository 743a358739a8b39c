"""Tables 2, 3 and 4 of a report → canonical keys with values and provenance.

One direction, a module a step: a table's region of text is cut into segments (rows.py); the
template's rows are located among them (locate.py); each row's cells give its candidate readings
(align.py, placed by the grid's columns where the text keeps a grid: grid.py); the table's
identities choose among them (solve.py); the readings become fields here. A row not found, or
whose cells cannot be read without guessing, gets null or its likeliest values, marked for review.

    read_t2 / read_t3 / read_t4(text, region, template name) -> TableReading
"""

from __future__ import annotations

import itertools
import re
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field

from . import align, solve
from .cells import EMPTY, ILLEGIBLE, Cell, read_cell
from .grid import grid_columns, header_columns, header_starts, value_columns, words_in_value_columns
from .locate import BEFORE_LABEL, PLACED_BY_ORDER, Located, RowText, locate
from .record import Field, Finding
from .rows import Segment, physical_rows, segments
from .sections import Span
from .template import (
    Identity,
    Row,
    RowTest,
    Table,
    money_factor,
    narrative_words,
    row_identity,
    template,
)

YUAN = re.compile(r"(?<!万)元")


@dataclass
class TableReading:
    """What reading one table gave: a Field per key, findings, and where each row stands."""

    fields: dict[str, Field]
    findings: list[Finding] = field(default_factory=list)
    rows: dict[str, tuple[int, int]] = field(default_factory=dict)  # "t3.granted" → text span


@dataclass
class Reading:
    """One row on its way to fields: where it stands, its candidate readings, the one taken."""

    row: Row
    text: RowText | None
    options: align.Options | None = None
    fit: align.Fit | None = None
    grid: bool = False  # placed by the grid's columns


# ---------------------------------------------------------------- table 3
def read_t3(text: str, region: Span | None, template_name: str) -> TableReading:
    tpl = template(template_name)
    table = tpl.tables["t3"]
    k = len(table.columns)
    row_sum = row_identity(template_name, "t3")  # T3-B
    if region is None:
        return _missing_table(table, "table 3 not found", "parse.t3_missing")
    lines = physical_rows(text, region.start, region.end)
    located = locate(segments(lines), table, lambda row: k)
    grid = grid_columns(lines, k, row_sum)
    readings = []
    for row in table.rows:
        rt = located.rows.get(row.id)
        reading = Reading(row, rt)
        if rt is not None:
            cells = value_columns(rt, lines, grid, k) if grid else None
            reading.grid = bool(cells)
            reading.options = align.options(cells or rt.cells, k, _glued(rt), row_sum)
        readings.append(reading)
    _decide(readings, [eq for eq in tpl.identities if eq.table == "t3"], row_sum,
            _physical_row_of(lines))
    return _assemble(table, readings, located, "t3", row_sum)


# ---------------------------------------------------------------- deciding
def _decide(readings: list[Reading], identities: list[Identity], row_identity,
            row_of: Callable[[Cell], int]) -> None:
    """Each row's reading: its own when its cells allow one (or its arithmetic leaves one, the
    cells of its lines taken in another order if need be); else the one the table's identities
    leave across rows (solve.py); else its likeliest, marked."""
    k = len(readings[0].row.columns)
    undecided = []
    for r in readings:
        if r.options is None:
            continue
        fit = align.choose(r.options, row_identity, k)
        if not r.grid:
            fit = _in_another_line_order(r, fit, row_of, k, row_identity) or fit
        if _open(r, fit, row_identity):
            undecided.append(r)
        r.fit = fit
    if undecided:
        _solve(readings, undecided, identities, row_identity)
    _confirm_cuts(readings, identities)


def _open(r: Reading, fit: align.Fit, row_identity) -> bool:
    """Is the row's reading for the table's arithmetic to choose? Readings to choose from, all
    of them listed; or cuts of a run left unread because a blank cell may have been lost instead,
    some of which keep the row's own arithmetic."""
    assert r.options is not None
    if fit.rule.endswith("+ambiguous") and r.options.complete:
        return True
    if _cut_or_blank(fit):  # one cut adds up: the table is to weigh it against a blank lost
        return True
    return (
        fit.rule == "unreadable" and r.options.cut_or_blank and bool(_candidates(r, row_identity))
    )


def _confirm_cuts(readings: list[Reading], identities: list[Identity]) -> None:
    """A run cut one digit a column while a space parted it from its label (`（一）予以公开
    210000021`) is marked: a blank cell may have been lost instead. The table's arithmetic lifts
    the doubt when the row adds up and every other identity it stands in holds (or has a blank)."""
    cut = [r for r in readings if _cut_or_blank(r.fit)]
    if not cut:
        return
    values = {key: v for r in readings if r.fit is not None
              for key, v in zip(r.row.keys, align.values_of(r.fit))}
    for r in cut:
        assert r.fit is not None  # _cut_or_blank holds only of a fit
        if _vouched(set(r.row.keys), identities, values):
            rule = r.fit.rule if r.fit.rule.endswith("arithmetic") else r.fit.rule + "+arithmetic"
            r.fit = r.fit._replace(rule=rule, review=False, reason="")


def _cut_or_blank(fit: align.Fit | None) -> bool:
    return (fit is not None and fit.rule.startswith("digit-split") and fit.review
            and fit.reason == align.CUT_OR_BLANK)


def _vouched(keys: set[str], identities: list[Identity], values: dict) -> bool:
    """The row's own identity holds, one across rows holds too, and none it stands in fails."""
    mine = [eq for eq in identities if keys & set(eq.keys)]
    held = [_holds(eq, values) for eq in mine]
    own = [h for eq, h in zip(mine, held) if set(eq.keys) <= keys]
    across = [h for eq, h in zip(mine, held) if not set(eq.keys) <= keys]
    # the row adding up may be chance (17 cut 1|7 beside an 8); a column that adds up too is not
    return (
        bool(own)
        and all(own)
        and any(h is True for h in across)
        and not any(h is False for h in held)
    )


def _holds(eq: Identity, values: dict) -> bool | None:
    try:
        return sum(values[k] for k in eq.left) == sum(values[k] for k in eq.right)
    except (KeyError, TypeError):  # a blank, or a row not read
        return None


MAX_LINES_REORDERED = 3


def _in_another_line_order(r: Reading, fit: align.Fit, row_of: Callable[[Cell], int], k: int,
                           row_identity) -> align.Fit | None:
    """A row whose cells stand on two or three lines: read in every order of its lines
    (pdftotext -layout prints a top-aligned 总计 on the label's first line, the six applicant
    columns on the next). The orders whose row adds up: one reading — taken (unmarked when the
    arithmetic chose it over the text's order); several — they are the row's readings, for the
    table's identities to choose from (solve.py); none — the text's order, marked (None when it
    adds up or is marked already)."""
    assert r.text is not None
    groups = _line_groups(row_of, r.text.cells)
    if len(groups) < 2:
        return None
    adds_up = _blanks_as_zero(row_identity)  # a row printing `—` for its zeros adds up too
    if len(groups) > MAX_LINES_REORDERED:  # a cell a line (plain pdftotext): too many orders
        return _several_lines_no_sum(fit, row_identity)
    # only readings that place every column (a cell, or a `—`, for each): a row short of cells
    # is placed by a guess, and counting its blanks as zeros would make the guess add up
    found = [fit] if fit.rule == "grid" and adds_up(align.values_of(fit)) is True else []
    for order in list(itertools.permutations(groups))[1:]:
        cells = [c for group in order for c in group]
        found += [f._replace(rule="line-order") for f in align.options(cells, k, glued=False).fits
                  if f.rule == "grid" and adds_up(align.values_of(f)) is True]
    distinct = {align.values_of(f) for f in found}
    if not found:
        return _several_lines_no_sum(fit, row_identity)
    if len(distinct) == 1 and found[0] is fit:
        return None
    if len(distinct) == 1:
        return found[0]._replace(rule="line-order+arithmetic", review=False, reason="",
                                 others=align.others_of([fit] + found, found[0]))
    readings = list({align.values_of(f): f for f in found}.values())
    r.options = align.Options(
        tuple(readings), "line-order", "its lines add up in more than one order"
    )
    return align.ambiguous(readings, r.options.reason)


def _blanks_as_zero(identity):
    """The identity with blank cells counted as 0: to tell which order of a row's lines adds up
    when the row prints `—` or nothing for its zeros (the cells stay null)."""
    return lambda values: identity(align.blank_as_zero(values))


def _several_lines_no_sum(fit: align.Fit, row_identity) -> align.Fit | None:
    """A row whose cells stand on several lines and that does not add up, or cannot be checked
    for a blank: marked, since the lines may not all be its own (a number wrapped in its column,
    a neighbour's total printed in the stream between, a blank cell that printed nothing). None
    when it adds up, or is marked already."""
    if row_identity(align.values_of(fit)) is True or fit.review:
        return None
    return fit._replace(review=True, reason="its cells stand on several lines and do not add up "
                        "(or a blank leaves it unchecked)")


def _line_groups(row_of: Callable[[Cell], int], cells: list[Cell]) -> list[list[Cell]]:
    """A row's value cells grouped by the physical row (a line, or a block of cell lines) each
    stands on."""
    groups: list[list[Cell]] = []
    for cell in cells:
        if groups and row_of(groups[-1][-1]) == row_of(cell):
            groups[-1].append(cell)
        else:
            groups.append([cell])
    return groups


def _physical_row_of(lines: list[list[Cell]]) -> Callable[[Cell], int]:
    """The index of the physical row (rows.physical_rows: a line of text; in a dump of one cell a
    line, the block of lines of one table row) a cell, or a piece of one, stands in."""
    starts = [row[0].start for row in lines if row]
    return lambda cell: bisect_right(starts, cell.start)


def _candidates(r: Reading, row_identity) -> list[align.Fit]:
    """A row's readings for the solver: those that keep the row's own identity, if any do."""
    fits = list(r.options.fits) if r.options else []
    good = [f for f in fits if row_identity(align.values_of(f)) is True]
    if r.options is not None and (r.options.cut_or_blank or _cut_or_blank(r.fit)):
        return good  # a cut that breaks its row is no candidate: a blank cell may have been lost
    return good or fits


def _lost_blanks(r: Reading, row_identity) -> list[tuple] | None:
    """For a row whose run may have lost a blank cell instead of being cut: its readings with
    one blank gone (align.lost_blank_readings), for the solver to weigh beside its cuts. None
    when too many to list (then no cut of it can be sure)."""
    if r.text is None or r.options is None:
        return []
    if not (r.options.cut_or_blank or _cut_or_blank(r.fit)):
        return []
    k = len(r.row.keys)
    return align.lost_blank_readings(r.text.cells, k, row_identity)


def _solve(readings: list[Reading], undecided: list[Reading], identities: list[Identity],
           row_identity) -> None:
    """The rows left undecided, by the table's identities across rows (solve.decide)."""
    read = [r for r in readings if r.fit is not None]
    fits = {r.row.id: _candidates(r, row_identity) if r in undecided else [r.fit]
            for r in readings if r.fit is not None}
    lost = {r.row.id: _lost_blanks(r, row_identity) if r in undecided else [] for r in read}
    rows = {_prefix(r): [solve.Candidate(align.values_of(f)) for f in fits[r.row.id]]
            + [solve.Candidate(align.blank_as_zero(v)) for v in lost[r.row.id] or []]
            for r in read}
    decisions = solve.decide(rows, identities, {_prefix(r): r.row.keys for r in read})
    for r in undecided:
        decision = decisions[_prefix(r)]
        if lost[r.row.id] is None or any(i >= len(fits[r.row.id]) for i in decision.feasible):
            r.fit = _blank_may_be_lost(r)  # a vanished blank keeps the arithmetic as well
        else:
            r.fit = _decided(r, fits[r.row.id], decision)


LOST_BLANK = ("a number cut into digits, or a blank cell lost: the table's arithmetic holds "
              "either way")


def _blank_may_be_lost(r: Reading) -> align.Fit:
    """A row whose cut the table's arithmetic cannot tell from its run having lost a blank cell:
    its reading as it stood (a cut shown, or null), marked so that nothing lifts the mark."""
    assert r.fit is not None
    if r.fit.rule == "unreadable":
        return r.fit
    return r.fit._replace(review=True, reason=LOST_BLANK)


def _prefix(r: Reading) -> str:
    return f"{r.row.table}.{r.row.id}"


def _decided(r: Reading, candidates: list[align.Fit], decision: solve.Decision) -> align.Fit:
    """One reading the arithmetic left: taken, unmarked. Several that keep it: the cells they
    disagree on are marked. The arithmetic failing whichever way: every reading stands. A run
    whose cutting is in doubt (a blank cell lost instead?): the one cut left is shown, marked for
    _confirm_cuts to vouch for; else the row stays unread."""
    assert r.options is not None and r.fit is not None
    chosen = [candidates[i] for i in decision.feasible]
    one = not decision.broken and len({align.values_of(f) for f in chosen}) == 1
    if r.options.cut_or_blank or _cut_or_blank(r.fit):
        if not one:
            return r.fit
        return chosen[0]._replace(rule=r.options.rule + "+table-arithmetic", review=True,
                                  reason=align.CUT_OR_BLANK,
                                  others=align.others_of(candidates, chosen[0]))
    if decision.broken:
        fit = align.ambiguous(chosen + [f for f in candidates if f not in chosen],
                              r.options.reason)
        if r.fit.reason == align.NONE_ADDS_UP:  # no cut keeps its own row: no cell is sure
            fit = fit._replace(review=True, reason=align.NONE_ADDS_UP)
        return fit
    if not one:
        return align.ambiguous(chosen, r.options.reason)
    return chosen[0]._replace(rule=r.options.rule + "+table-arithmetic", review=False, reason="",
                              others=align.others_of(candidates, chosen[0]))


# ---------------------------------------------------------------- fields
def _doubt_lifted(r: Reading, fit: align.Fit, row_identity) -> bool:
    """Values taken from before their label, or placed by the template's order of rows, whose row
    adds up (in the order of its lines that makes it add up): the arithmetic vouches for them."""
    assert r.text is not None
    if r.text.doubt == BEFORE_LABEL:
        return fit.rule.startswith("line-order+")
    if r.text.doubt == PLACED_BY_ORDER and row_identity is not None:
        return row_identity(align.values_of(fit)) is True and not fit.review
    return False


def _assemble(table: Table, readings: list[Reading], located: Located, name: str,
              row_identity=None) -> TableReading:
    out = TableReading({}, list(located.findings))
    for r in readings:
        if r.text is None:
            out.fields.update(
                _missing_row(r.row, f"row not found in table {name[1]}", f"{name}.row-missing")
            )
            continue
        fit = r.fit
        assert fit is not None  # read_t3 gives a row it found options, and _decide them a fit
        if r.grid:
            fit = fit._replace(rule=fit.rule + "+grid-columns")
        if r.text.doubt and not _doubt_lifted(r, fit, row_identity):
            fit = fit._replace(review=True, reason=r.text.doubt)
        out.fields.update(fields_from_fit(r.row.keys, fit, name))
        out.rows[f"{name}.{r.row.id}"] = r.text.span
    return out


def fields_from_fit(keys: tuple[str, ...], fit: align.Fit, rule: str) -> dict[str, Field]:
    """One Field per column; the row's other readings ride along as alternatives (numbered alike
    across the row)."""
    out = {}
    name = f"{rule}.{fit.rule}"
    review, reason = fit.review, fit.reason
    for i, (key, slot) in enumerate(zip(keys, fit.slots)):
        if slot is None:
            f = Field(key, None, None, None, None, name, "rules", review, reason)
        elif slot.start < 0:  # a column no cell stands in, that another reading fills
            f = Field(key, None, None, None, None, name, "rules", True, slot.reason)
        else:
            f = Field(key, slot.value, slot.raw.strip(), slot.start, slot.end, name, "rules",
                      review or slot.review, reason or slot.reason)
        if fit.others:
            f.alternatives = [
                {"value": other[i], "source": "reading", "reading": n + 1, "rule": fit.rule}
                for n, other in enumerate(fit.others)
            ]
        out[key] = f
    return out


def _missing_row(row: Row, reason: str, rule: str) -> dict[str, Field]:
    return {key: Field(key, None, rule=rule, review=True, reason=reason) for key in row.keys}


def _missing_table(table: Table, reason: str, check: str) -> TableReading:
    fields = {}
    for row in table.rows:
        fields.update(_missing_row(row, reason, f"{table.id}.missing"))
    return TableReading(
        fields, [Finding(check, "parse", reason, list(fields) if table.id == "t4" else [])]
    )


def _glued(rt: RowText) -> bool:
    """Do the row's numbers run straight on from its label, with nothing between (`规章000`)?"""
    first = next((c for c in rt.cells if c.text.strip()), None)
    return first is not None and bool(rt.label.label) and first.start == rt.label.end


# ---------------------------------------------------------------- table 4
def read_t4(text: str, region: Span | None, template_name: str = "2021") -> TableReading:
    """Table 4, printed as one row of 15 cells (the three groups side by side)."""
    table = template(template_name).tables["t4"]
    segs = segments(physical_rows(text, region.start, region.end)) if region else []
    cells = [c for s in segs if s.has_values for c in s.values]
    if not any(read_cell(c.text).kind not in (EMPTY, ILLEGIBLE) for c in cells):
        return _missing_table(table, _why_no_t4(cells, region), "parse.t4_missing")
    sums = row_identity(template_name, "t4", len(table.rows))  # T4, for each of its rows
    fit = align.fit_row(cells, len(table.keys), sums)
    runs = _runs(segs)
    if len(runs) > 1:  # its numbers stand among its header's words: their order is in doubt
        fit = _in_stream_order(fit, table, sums) or _by_runs(fit, runs, table, sums)
    out = TableReading(fields_from_fit(table.keys, fit, "t4"))
    start, end = min(c.start for c in cells), max(c.end for c in cells)
    out.rows = {f"t4.{row.id}": (start, end) for row in table.rows}
    return out


def _why_no_t4(cells: list[Cell], region: Span | None) -> str:
    if any(read_cell(c.text).kind == ILLEGIBLE for c in cells):
        return "table 4 is illegible in the source"
    return "table 4 not found" if region is None else "table 4 has no readable cells"


MAX_RUNS = 6  # runs of table 4's numbers whose placements are tried (more: the order is unknown)


def _runs(segs: list[Segment]) -> list[list[Cell]]:
    """Table 4's numbers in runs: those standing together, without words between them (a plain
    text stream interleaves them with its header's characters: each run keeps its own order)."""
    runs: list[list[Cell]] = []
    words = True  # words stood since the last number
    for seg in segs:
        cells = [c for c in seg.values if read_cell(c.text).kind not in (EMPTY, ILLEGIBLE)]
        words = words or bool(seg.label)
        if not cells:
            continue
        if words:
            runs.append(cells)
        else:
            runs[-1].extend(cells)
        words = False
    return runs


RUNS_GUESSED = "table 4's numbers stand among its header's words: the order of its cells is a guess"


def _by_runs(fit: align.Fit, runs: list[list[Cell]], table: Table, sums: RowTest) -> align.Fit:
    """Table 4's numbers stand among its header's words, and as read they break its sums: the
    runs of numbers placed in the table's cells every way that keeps each run's order and makes
    every sum hold. One such placement: shown, marked; several: the cells they disagree on null;
    none, or too many runs to try: the cells as read, all marked (the order is not known)."""
    fits = [fit._replace(slots=tuple(p)) for p in _placements_that_add_up(fit, runs, table, sums)]
    if not fits:
        return fit._replace(review=True, reason=RUNS_GUESSED)
    if len({align.values_of(f) for f in fits}) == 1:
        return fits[0]._replace(rule="runs+arithmetic", review=True, reason=RUNS_GUESSED,
                                others=align.others_of([fit] + fits, fits[0]))
    return align.ambiguous(fits, RUNS_GUESSED)._replace(review=True, reason=RUNS_GUESSED)


def _placements_that_add_up(fit: align.Fit, runs: list[list[Cell]], table: Table,
                            sums: RowTest) -> list[list]:
    size = len(fit.slots)
    cells = [c for run in runs for c in run]
    slots = {c.start: s for c, s in zip(cells, fit.slots) if s is not None}
    if len(runs) > MAX_RUNS or len(cells) != size or len(slots) != size:
        return []
    laid = _placements([[slots[c.start] for c in run] for run in runs], len(table.columns), size)
    return [p for p in laid if sums([s.value for s in p]) is True]


def _placements(runs: list[list], width: int, size: int, taken: tuple = ()):
    """Every way to lay the runs, in order, each inside one group of `width` cells, covering all
    `size` cells once: yields lists of the runs' items by cell."""
    if not runs:
        cells = dict(taken)
        yield [cells[i] for i in range(size)]
        return
    used = {i for i, _ in taken}
    run = runs[0]
    for start in range(size - len(run) + 1):
        if start // width != (start + len(run) - 1) // width:
            continue  # a run stays in one group
        positions = range(start, start + len(run))
        if used.isdisjoint(positions):
            yield from _placements(runs[1:], width, size, taken + tuple(zip(positions, run)))


STREAM_ORDERS = ("table 4's cells stand in another order than the template's (a PDF's text "
                 "stream): shown in the order in which its sums hold")


def _stream_orders(table: Table) -> list[tuple[int, ...]]:
    """The orders a PDF's text stream may give table 4's 15 cells in, besides the template's:
    some groups' 总计 cells drawn after every other cell (each order lists, for each position in
    the text, the template position of the cell that stands there)."""
    width = len(table.columns)
    groups = [list(range(g * width, (g + 1) * width)) for g in range(len(table.rows))]
    orders = []
    for late in itertools.product((False, True), repeat=len(groups)):
        if not any(late):
            continue
        head = [p for g, drawn_last in zip(groups, late) for p in (g[:-1] if drawn_last else g)]
        orders.append(tuple(head + [g[-1] for g, drawn_last in zip(groups, late) if drawn_last]))
    return orders


def _in_stream_order(fit: align.Fit, table: Table, sums: RowTest) -> align.Fit | None:
    """Table 4's numbers stand among its header's words (plain pdftotext): the text's order is one
    a PDF's stream may give, beside others (the groups' 总计 drawn last). Of the orders whose sums
    all hold: one reading, the text's — read plainly; one reading, another order's — shown,
    marked; several — the cells they agree on, the others null and marked. None when no order
    holds."""
    printed = [s for s in fit.slots if s is not None]
    if len(printed) < len(fit.slots):
        return None
    fits = [fit] if sums(align.values_of(fit)) is True else []
    for order in _stream_orders(table):
        at_position = dict(zip(order, printed))  # the text's n-th cell stands at order[n]
        slots = tuple(at_position[position] for position in range(len(order)))
        if sums([s.value for s in slots]) is True:
            fits.append(fit._replace(slots=slots))
    if not fits:
        return None
    if len({align.values_of(f) for f in fits}) > 1:  # the cells those orders disagree on: open
        return align.ambiguous(fits, STREAM_ORDERS)._replace(review=True, reason=STREAM_ORDERS)
    if fits[0] is fit:
        return fit
    return fits[0]._replace(rule="stream-order+arithmetic", review=True, reason=STREAM_ORDERS,
                            others=align.others_of([fit] + fits, fits[0]))


# ---------------------------------------------------------------- table 2
def read_t2(text: str, region: Span | None, template_name: str) -> TableReading:
    table = template(template_name).tables["t2"]
    if region is None:
        return _missing_table(table, "table 2 not found", "parse.t2_missing")
    widths = {row.id: len(row.columns) for row in table.rows}
    lines = physical_rows(text, region.start, region.end)
    located = locate(segments(lines), table, widths.__getitem__)
    out = TableReading({}, list(located.findings))
    for row in table.rows:
        rt = located.rows.get(row.id)
        if rt is None:
            out.fields.update(_missing_row(row, "row not found in table 2", "t2.row-missing"))
            continue
        fields = _t2_row(text, region, table, row, rt, lines)
        out.fields.update(fields)
        out.rows[f"t2.{row.id}"] = rt.span
    return out


def _t2_row(text: str, region: Span, table: Table, row: Row, rt: RowText,
            lines: list[list[Cell]]) -> dict[str, Field]:
    k = len(row.columns)
    starts = header_starts(rt, lines, k)
    cells = header_columns(rt, lines, k, starts)
    opts = align.options(cells or rt.cells, k, glued=_glued(rt))
    fit = _as_the_narrative_states(text, region, row, opts) or align.choose(opts, None, k)
    if cells:
        fit = fit._replace(rule=fit.rule + "+grid-columns")
    words = None if fit.review else words_in_value_columns(rt, lines, starts)
    if words:
        fit = fit._replace(review=True, reason=words)
    if rt.doubt:
        fit = fit._replace(review=True, reason=rt.doubt)
    fields = fields_from_fit(row.keys, fit, "t2")
    block = table.blocks[row.block] if row.block is not None else None
    for column, key, slot in zip(row.columns, row.keys, fit.slots):
        if column in row.money:
            unit = _block_unit(text, region, rt, block.unit_words if block else ())
            _to_wan(fields[key], slot, unit)
        elif isinstance(fields[key].value, float):
            fields[key].review, fields[key].reason = True, "a fraction where a count should stand"
    return fields


CLAUSE = re.compile(r"[^。；;，,！!？?\n]+")
STATED_COUNT = re.compile(r"(?<!\d)(\d++(?:\.\d+)?)\s*(?:件|项|个|条|份|万元)")


def _as_the_narrative_states(text: str, region: Span, row: Row,
                             opts: align.Options) -> align.Fit | None:
    """A row of table 2 whose digits ran together more than one way (`行政规范性文件8855698`) and
    that no arithmetic can settle: the one reading whose values the narrative states
    (`现行有效行政规范性文件698件`, `制发的规范性文件88件`) is shown, still marked, the others
    beside it. None when the narrative does not single out one reading."""
    if opts.distinct < 2 or not opts.complete:
        return None
    stated = _narrative_figures(text[: region.start] + "\n" + text[region.end :], row)
    agree = [f for f in opts.fits
             if stated and all(align.values_of(f)[j] == v for j, v in stated.items())]
    if len({align.values_of(f) for f in agree}) != 1:
        return None
    figures = ", ".join(f"{row.columns[j]} {v:g}" for j, v in sorted(stated.items()))
    reason = f"digits run together: the reading the narrative's figures state ({figures})"
    return agree[0]._replace(rule=opts.rule + "+narrative", review=True, reason=reason,
                             others=align.others_of(opts.fits, agree[0]))


def _narrative_figures(narrative: str, row: Row) -> dict[int, float]:
    """{column index: the figure the narrative states for it} for one row of table 2: a clause
    that names the row and one of its columns (template.narrative_words) and one count."""
    words = narrative_words()
    out: dict[int, float] = {}
    for clause in CLAUSE.findall(narrative):
        if not any(w in clause for w in row.words):
            continue
        counts = STATED_COUNT.findall(clause)
        columns = [
            j for j, c in enumerate(row.columns) if any(w in clause for w in words.get(c, ()))
        ]
        if len(counts) == 1 and len(columns) == 1:
            out.setdefault(columns[0], float(counts[0]))
    return out


UNIT_ALONE = re.compile(r"(?:^|[\s（(|])(?:单位[:：]?\s*)?(万元|千元|元)\s*(?:[）)|]|$)", re.M)


def _block_unit(text: str, region: Span, rt: RowText, block_words) -> str | None:
    """The money unit the table states for this row: 元, 千元, 万元, or None when it says neither.
    Read from its block's header above the row's values (in a crawler's one-line text the header
    runs into the label: `本年收费金额（单位：元）行政事业性收费28876000`), else from a unit
    standing alone below it in the block (a header cell `采购总金额（单位：元）` wrapped, as plain
    pdftotext leaves it). White space is dropped first: a wrapped `（单位：万` / `元）` is 万元."""
    first = min([c.start for c in rt.cells if c.text.strip()] or [rt.label.end])
    head = text[region.start : first]
    starts = [head.rfind(w) for w in block_words if w in head]
    unit = _unit_in("".join((head[max(starts):] if starts else head[-80:]).split()))
    if unit is not None:
        return unit
    end = text.find("第二十条", rt.label.end, region.end)
    alone = UNIT_ALONE.search(text, rt.label.end, end if end >= 0 else region.end)
    return alone.group(1) if alone else None


UNIT_NAMED = re.compile(r"单位[:：]?(千元|万元|元|万)")


def _unit_in(block: str) -> str | None:
    """The unit a block's header states: after 单位 (`单位：万` wrapped before its 元 is 万元), else
    the first money unit it names."""
    named = UNIT_NAMED.search(block)
    if named:
        return {"万": "万元"}.get(named.group(1), named.group(1))
    if "千元" in block:
        return "千元"
    if YUAN.search(block):
        return "元"
    return "万元" if "万元" in block else None


def _to_wan(f: Field, slot, block_unit: str | None) -> None:
    """A money value in 万元 (fields.tsv's unit), converted by the unit its cell or its block
    states."""
    if f.value is None:
        return
    unit = (slot.unit if slot is not None else None) or block_unit
    if unit == "万":
        unit = "万元"
    if unit in ("元", "千元"):
        f.value = round(float(f.value) * money_factor(unit), 6)
        f.rule += "+yuan-to-wan" if unit == "元" else "+qianyuan-to-wan"
    else:
        f.value = float(f.value)
        if unit is None and f.key == "t2.procurement.amount" and f.value != 0:
            # The 2019 template's 采购总金额 names no unit, and reports print 元 as often as 万元.
            f.review = True
            f.reason = "no unit stated for 采购总金额: read as 万元, but it may be 元"
