"""Where each of a table's template rows stands in the text: its label, and the value cells that
belong to it. The first step of reading a table (locate → candidate readings → solve → fields).

    locate(segments, table, widths) -> (Located, findings)
        Located.rows: {row id: RowText}   # template rows found, with their cells in text order

Two passes over the segments (rows.py: a label and the value cells after it):

1. `name_segments`: which template row each segment's label names. By the template's words (the
   longest that the label holds wins); a bare word (`其他`, `总计`) only in its place after the rows
   before it; a label a character or two off (a misprint, an OCR error) by its similarity to the
   rows that may come next in the template's order; labels wrapped over two segments joined.
   Header rows, block headings (第二十条第（八）项) and group headings (（三）不予公开) are named
   too.
2. `attach_values`: which row each value cell belongs to. Values after a label on its line are
   its own; values on lines of their own go to the rows still waiting for values, first come first
   served (a label on a line with its values on the next lines; several labels detached from a
   block of value rows below them, as PDF→markdown converters leave them); a line that makes up the
   rest of a row split over two lines joins it; values that stand before their label are taken by
   it, marked. A block heading of table 2 closes the rows above it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable

from rapidfuzz import fuzz

from .cells import EMPTY, Cell, normalise, read_cell
from .record import Finding
from .rows import Segment
from .template import Row, Table

PUNCT = re.compile(r"[\s（）()、.．,，:：;；“”\"'‘’《》〈〉\[\]【】\-—_/／·・]")
ENUMERATOR = re.compile(
    r"[（(][一二三四五六七八九十\d]{1,3}[)）]|[一二三四五六七八九十]{1,3}、|\d{1,2}[.、．](?!\d)"
)
# （六）: a group of table 3's results
GROUP_ENUM = re.compile(r"[（(][一二三四五六七八九十]{1,2}[)）]")
UNIT_WORDS = {"件", "项", "个", "条", "次", "家", "宗", "元", "万元", "单位件", "单位万元"}
# A label at least this similar (rapidfuzz ratio, 0–100) to a row that may come next is that row.
SIMILAR = 80
MIN_FUZZY = 4  # characters of a label key, at least, before similarity is tried
LOOKAHEAD = 3  # template rows after the last one found that a similar label may name

BEFORE_LABEL = "values stand before their label"
STRAY = "a number standing alone before its row's line of the table: left out"
PLACED_BY_ORDER = "values placed by the template's order of rows (their label stands elsewhere)"
HEADER, BLOCK, GROUP, ROW, UNKNOWN, VALUES = "header", "block", "group", "row", "unknown", "values"


@lru_cache(maxsize=65536)
def label_key(label: str) -> str:
    """A label reduced to its words: white space, punctuation and numbering (（一） 1. 一、)
    removed, full-width folded."""
    return PUNCT.sub("", ENUMERATOR.sub("", normalise(label)))


@dataclass
class Named:
    """What a segment is (pass 1)."""

    seg: Segment
    kind: str  # HEADER, BLOCK, GROUP, ROW, UNKNOWN or VALUES
    row: Row | None = None
    similar: bool = False  # named by similarity, not by the template's words


@dataclass
class RowText:
    """A template row as it stands in the text."""

    row: Row
    label: Segment
    cells: list[Cell] = field(default_factory=list)
    vertical: bool = False  # its values stood on lines of their own below it
    doubt: str = ""  # why the placement of its values is a guess ("" when it is not)
    similar: bool = False  # its label was found by similarity (a misprint or OCR error)
    before: list[Cell] = field(default_factory=list)  # values before its label, too few for a row

    @property
    def span(self) -> tuple[int, int]:
        """(start, end) of the row's text: its label to its last cell."""
        ends = [self.label.end] + [c.end for c in self.cells]
        starts = [self.label.start] + [c.start for c in self.cells]
        return min(starts), max(ends)


@dataclass
class Located:
    rows: dict[str, RowText]
    findings: list[Finding]


# ---------------------------------------------------------------- pass 1: what each label names
@dataclass(frozen=True)
class _Words:
    """A table's words, reduced by label_key, built once per table."""

    keywords: tuple[tuple[str, Row], ...]  # every row's words, longest first
    printed: dict[str, Row]  # enumerator + label as printed (（七）总计) → row
    headers: tuple[str, ...]
    groups: tuple[str, ...]
    blocks: tuple[str, ...]


@lru_cache(maxsize=8)
def _words(table: Table) -> _Words:
    keywords = [(label_key(w), row) for row in table.rows if not (row.bare or row.heading_only)
                for w in row.words]
    keywords.sort(key=lambda kw: -len(kw[0]))
    printed = {
        PUNCT.sub("", normalise(r.enumerator + r.label)): r for r in table.rows if r.enumerator
    }
    return _Words(tuple(keywords), printed, tuple(label_key(w) for w in table.header_words),
                  tuple(label_key(g.label) for g in table.groups),
                  tuple(label_key(b.item) for b in table.blocks))


@dataclass
class _Place:
    """Where pass 1 stands in the template: the furthest row named so far."""

    order: dict[int, int]
    last: int | None = None
    seen_keyword: bool = False
    open_row: bool = False  # the last row named stood without values, none have come since
    open: Row | None = None  # that row

    def advance(self, row: Row) -> None:
        index = self.order[id(row)]
        self.last = index if self.last is None else max(self.last, index)
        self.seen_keyword = self.seen_keyword or not (row.bare or row.heading_only)


def name_segments(segs: list[Segment], table: Table) -> list[Named]:
    """Pass 1: what each segment's label names, in text order (segments whose label was joined
    to the one before it are left out)."""
    words = _words(table)
    place = _Place({id(r): n for n, r in enumerate(table.rows)})
    out: list[Named] = []
    pending = ""  # the words of a label without values that the next label may continue
    skip = -1
    segs = [part for seg in segs for part in split_labels(seg, table)]
    for i, seg in enumerate(segs):
        if i == skip:
            continue
        if not seg.label:
            out.append(Named(seg, VALUES))
            place.open_row = False
            continue
        named, joined = _name(seg, segs[i + 1] if i + 1 < len(segs) else None, pending, table,
                              words, place)
        if joined:
            skip = i + 1
        first = _first_line_of(out, named)
        if first is not None:
            # `2.申请人逾期未按收费通  0` / `知要求缴纳费用…`
            out[first] = Named(out[first].seg, ROW, named.row)
        if named.row is not None:
            place.advance(named.row)
        if named.kind in (ROW, VALUES) or seg.has_values:
            place.open_row = named.kind == ROW and not seg.has_values
            place.open = named.row if place.open_row else None
        pending = label_key(seg.label) if named.kind == UNKNOWN and not seg.has_values else ""
        out.append(named)
    return out


LEADING_ENUMERATOR = re.compile(
    r"(?:\d{1,2}\s*[.、．]|[（(][一二三四五六七八九十\d]{1,3}[)）]|"
    r"[一二三四五六七八九十]{1,3}、)\s*$"
)


def split_labels(seg: Segment, table: Table) -> list[Segment]:
    """A label that names several rows of the template, or the header's words and then a row,
    is cut before each row's name (with its enumerator): crawler text runs a row that printed
    nothing into the next (`行政处罚行政强制78`, `6.属于四类过程性信息7.属于行政执法案卷8000008`),
    and the header's last word into the first row (`其他一、本年新收…`). The values stay with the
    last."""
    label = seg.label
    cuts = [c for c in _row_starts(label, table) if c > 0]
    if not cuts:
        return [seg]
    parts, at = [], 0
    for cut in cuts + [len(label)]:
        last = cut == len(label)
        end = seg.start + cut if not last else seg.end
        parts.append(Segment(label[at:cut], seg.start + at, end, list(seg.values) if last else [],
                             seg.row, seg.has_values and last))
        at = cut
    return parts


@lru_cache(maxsize=32768)  # labels repeat from report to report
def _row_starts(label: str, table: Table) -> list[int]:
    """Where each row the label names starts in it (backed over its enumerator), when it names
    two rows or more, or a row after the header's words; [] otherwise."""
    found = []
    for row, words in _naming_words(table):
        hits = [(label.find(w), len(w)) for w in words if w in label]
        if hits:
            found.append(min(hits))
    found.sort()
    starts, end = [], -1
    for pos, size in found:
        if pos >= end:
            starts.append(pos)
            end = pos + size
    bare = _bare_row_at_end(label, table)
    if bare is not None and (not starts or bare > starts[-1]):
        return [_with_enumerator(label, pos) for pos in starts] + [bare]
    if len(starts) < 2 and not (starts and _header_before(label[: starts[0]], table)):
        return []
    return [_with_enumerator(label, pos) for pos in starts]


@lru_cache(maxsize=8)
def _naming_words(table: Table) -> tuple[tuple[Row, tuple[str, ...]], ...]:
    """Each row's words of two characters or more, but for rows named by a bare word (`其他`,
    `总计`, `其他处理` stand inside other rows' labels too)."""
    return tuple((row, tuple(w for w in row.words if len(w) >= 2)) for row in table.rows
                 if not (row.bare or row.heading_only))


@lru_cache(maxsize=8)
def _printed_bare(table: Table) -> frozenset[str]:
    return frozenset(PUNCT.sub("", normalise(r.enumerator + r.label)) for r in table.rows
                     if r.bare or r.heading_only)


INNER_ENUMERATOR = re.compile(r"(?:\d{1,2}\s*[.、．]|[（(][一二三四五六七八九十]{1,2}[)）])")


def _bare_row_at_end(label: str, table: Table) -> int | None:
    """Where a row named by a bare word, with its enumerator, ends the label (`…政府信息公开申请
    3.其他`, `…不计其他情形)(七)总计`): rows of a crawler's text run into the next."""
    printed = _printed_bare(table)
    for m in INNER_ENUMERATOR.finditer(label, 1):
        if PUNCT.sub("", normalise(label[m.start():])) in printed:
            return m.start()
    return None


def _header_before(head: str, table: Table) -> bool:
    return any(w in head for w in table.header_words)


def _with_enumerator(label: str, pos: int) -> int:
    m = LEADING_ENUMERATOR.search(label, 0, pos)
    return m.start() if m else pos


def _first_line_of(out: list[Named], named: Named) -> int | None:
    """The index in `out` of the row's first line, when the unknown label just before its label
    (past a heading's fragments such as `（六）其`) holds the opening words of its label, wrapped
    before the words that name it (pdftotext -layout prints a top-aligned 总计 beside them)."""
    if named.kind != ROW or named.row is None:
        return None
    full = label_key(named.row.label)
    for back in range(len(out) - 1, max(-1, len(out) - 4), -1):
        before = out[back]
        if before.kind not in (UNKNOWN, GROUP):
            return None
        head = label_key(before.seg.label)
        if before.kind == UNKNOWN and len(head) >= 2 and full.startswith(head):
            return back
        if before.seg.has_values:
            return None
    return None


def _name(seg: Segment, nxt: Segment | None, pending: str, table: Table, words: _Words,
          place: _Place) -> tuple[Named, bool]:
    """What one label names; True when it was joined with the next segment's label."""
    key = label_key(seg.label)
    kind = _structural(seg, key, words)
    if kind is not None:
        return Named(seg, kind), False
    row = _row_named(seg, key, table, words, place)
    if row is None and pending:
        row = _row_named(seg, pending + key, table, words, place)
    if row is not None:
        return Named(seg, ROW, row), False
    joined = None if place.open_row else _wrapped_with_next(seg, key, nxt, table, words, place)
    if joined is not None:
        return Named(seg, ROW, joined), True
    if place.open is not None and _continues(place.open, key):
        return Named(seg, ROW, place.open), False  # `一、本年新收` / `政府信息公开申请数量 131 …`
    row = _similar_row(key, table, place)
    if row is not None:
        return Named(seg, ROW, row, similar=True), False
    if any(g == key or (g in key and len(key) <= len(g) + 2) for g in words.groups):
        return Named(seg, GROUP), False
    return Named(seg, UNKNOWN), False


def _structural(seg: Segment, key: str, words: _Words) -> str | None:
    """A header row, or a block heading of table 2: never a data row."""
    if any(w in key for w in words.headers):
        return HEADER
    if any(b in key for b in words.blocks) and not seg.has_values:
        return BLOCK
    return None


def _row_named(seg: Segment, key: str, table: Table, words: _Words, place: _Place) -> Row | None:
    """The row a label names by the template's words: the longest keyword it holds; the printed
    enumerator and label (`（七）总计`); or a bare word (`其他`, `总计`) right after the rows that
    precede it in the template, never a label numbered as a group (`（六）其他` is 其他处理
    wrapped, not the row 3.其他)."""
    best = next((row for word, row in words.keywords if word in key), None)
    if best is not None:
        return best
    printed = words.printed.get(PUNCT.sub("", normalise(seg.label)))
    if printed is not None and printed.bare:
        return printed
    grouped = key == "其他" and bool(GROUP_ENUM.match(normalise(seg.label)))
    if not place.seen_keyword or grouped:
        return None
    bare = key
    for group in words.groups:
        bare = bare.replace(group, "")
    for index, row in enumerate(table.rows):
        near = place.last is None or 0 < index - place.last <= 3
        if _bare_match(row, bare, key, table) and near:
            return row
    return None


def _bare_match(row: Row, bare: str, key: str, table: Table) -> bool:
    if row.heading_only:
        group = next(g for g in table.groups if g.id == row.group)
        return bare == "" and label_key(group.label) in key
    return row.bare and bare in (label_key(w) for w in row.words)


def _wrapped_with_next(seg: Segment, key: str, nxt: Segment | None, table: Table, words: _Words,
                       place: _Place) -> Row | None:
    """A label wrapped onto the next line, its values on the first: `3.要求 0 0 …` /
    `提供公开出版物`."""
    if not seg.has_values or nxt is None or not nxt.label or nxt.has_values:
        return None
    joined = _row_named(seg, key + label_key(nxt.label), table, words, place)
    alone = _row_named(nxt, label_key(nxt.label), table, words, place)
    return joined if joined is not None and alone in (None, joined) else None


def _continues(row: Row, key: str) -> bool:
    """The rest of the row's label, wrapped onto the next line (its values after it)."""
    return len(key) >= 2 and label_key(row.label).endswith(key)


def _similar_row(key: str, table: Table, place: _Place) -> Row | None:
    """A label a character or two off its row (`其他法律行政止公开`): the row among the next few
    in the template's order whose label it resembles most, when it resembles no other as much."""
    if len(key) < MIN_FUZZY:
        return None
    start = 0 if place.last is None else place.last + 1
    window = [r for r in table.rows[start : start + LOOKAHEAD] if not (r.bare or r.heading_only)]
    scored = sorted(((fuzz.ratio(key, label_key(r.label)), n, r) for n, r in enumerate(window)),
                    key=lambda s: (-s[0], s[1]))
    if not scored or scored[0][0] < SIMILAR:
        return None
    if len(scored) > 1 and scored[1][0] >= scored[0][0] - 5:
        return None  # as like another row: no reading of it
    return scored[0][2]


# ---------------------------------------------------------------- pass 2: whose values they are
Width = Callable[[str], int]


@dataclass
class _Attach:
    """Pass 2's state: the rows found so far, those waiting for values, and loose values."""

    width: Width
    # Is the row the only one of its block (table 2: 第二十条第（八）项 has 行政事业性收费 alone)?
    # Values between the block's heading and its label can then be no other row's.
    alone: Callable[[Row], bool] = lambda row: False
    rows: dict[str, RowText] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    waiting: list[RowText] = field(default_factory=list)  # rows without (all) their values yet
    last: RowText | None = None  # the row whose line we are on
    loose: list[Cell] = field(default_factory=list)  # values before their label
    after_block: bool = False  # a block heading stands between the last row and here
    order: dict[int, int] = field(default_factory=dict)  # id(row) → its place in the template
    furthest: int = -1  # the furthest place in the template of a row found so far


def attach_values(named: list[Named], table: Table, width: Width) -> Located:
    """Pass 2: the value cells of each row found by pass 1."""
    state = _Attach(width, lambda row: _alone_in_block(table, row),
                    order={id(r): n for n, r in enumerate(table.rows)})
    for item in named:
        if item.kind == VALUES:
            _values_alone(state, item.seg)
        elif item.kind == ROW:
            _row(state, item)
        elif item.kind in (HEADER, BLOCK):
            state.waiting, state.last, state.loose = [], None, []
            state.after_block = item.kind == BLOCK
        elif item.kind == UNKNOWN:
            _unknown(state, item.seg)
    for entry in state.rows.values():
        if _filled(entry.cells) == 0 and entry.before:
            entry.cells, entry.doubt = entry.before, BEFORE_LABEL  # nothing came after it
    _fill_gaps(state.rows, table, width)
    return Located(state.rows, state.findings)


def _fill_gaps(rows: dict[str, RowText], table: Table, width: Width) -> None:
    """Pass 3: template rows that got no values (their labels printed elsewhere, after their
    values, as plain pdftotext does), between two rows that did: the values left over between
    those two (past the first's columns, or before the second's label) are theirs, in the
    template's order, when there are exactly as many as they have columns."""
    ordered = list(table.rows)
    for a, gap, b in _gaps(ordered, rows):
        first, last = rows[a.id], rows[b.id]
        filled = [c for c in first.cells if read_cell(c.text).kind != EMPTY]
        left = filled[width(a.id):] or [c for c in last.before if read_cell(c.text).kind != EMPTY]
        if not left or len(left) != sum(width(r.id) for r in gap):
            continue
        if left[0] in first.cells:
            first.cells = first.cells[: first.cells.index(left[0])]
            first.doubt = first.doubt or PLACED_BY_ORDER  # which of its cells are its own?
        for r in gap:
            take, left = left[: width(r.id)], left[width(r.id) :]
            label = rows[r.id].label if r.id in rows else Segment("", take[0].start, take[0].start)
            rows[r.id] = RowText(r, label, take, doubt=PLACED_BY_ORDER)


def _gaps(ordered: list[Row], rows: dict[str, RowText]):
    """(row with values, [rows without], next row with values) for each run of template rows
    that got no values between two that did."""
    def has_values(row: Row) -> bool:
        return row.id in rows and _filled(rows[row.id].cells) > 0

    marks = [n for n, row in enumerate(ordered) if has_values(row)]
    for n, m in zip(marks, marks[1:]):
        if m - n > 1:
            yield ordered[n], ordered[n + 1 : m], ordered[m]




def locate(segs: list[Segment], table: Table, width: Width) -> Located:
    """Where each template row of `table` stands among the segments of its region, with its value
    cells. `width(row id)` is the number of value columns the row has."""
    return attach_values(name_segments(segs, table), table, width)


def _alone_in_block(table: Table, row: Row) -> bool:
    return row.block is not None and len(table.blocks[row.block].rows) == 1


def _filled(cells: list[Cell]) -> int:
    return sum(1 for c in cells if read_cell(c.text).kind != EMPTY)


def _values_alone(state: _Attach, seg: Segment) -> None:
    """A line of values without a label."""
    if state.waiting:
        head = state.waiting[0]
        width = state.width(head.row.id)
        if len(seg.values) >= width and 0 < _filled(head.cells) < width:
            head.cells, head.doubt = [], STRAY  # a lone number before a whole line of the grid
        head.cells.extend(seg.values)
        head.vertical = True
        # full: its values, or one line of a grid that keeps blank cells (`| 18 |  |  | … | 18 |`)
        if _filled(head.cells) >= width or len(seg.values) >= width:
            state.waiting.pop(0)
        return
    last = state.last
    if last is not None and 0 < _filled(last.cells) < state.width(last.row.id) == \
            _filled(last.cells) + _filled(seg.values):
        last.cells.extend(seg.values)  # the rest of a row split over two lines
        state.last = None
        return
    state.loose.extend(seg.values)


def _row(state: _Attach, item: Named) -> None:
    seg, row = item.seg, item.row
    assert row is not None
    entry = state.rows.get(row.id)
    if entry is not None:
        _again(state, entry, seg)
    else:
        entry = RowText(row, seg, list(seg.values), similar=item.similar)
        if not seg.has_values and _filled(state.loose) == state.width(row.id):
            entry.cells = state.loose  # a whole row of values stood before its label
            if not (state.after_block and state.alone(row)):
                entry.doubt = BEFORE_LABEL
        elif not seg.has_values and state.loose:
            entry.before = state.loose  # its values, unless values follow it (header debris?)
        elif state.loose and _filled(seg.values) + _filled(state.loose) == state.width(row.id):
            # the rest of its cells on the line above it (a top-aligned 总计 printed on a line
            # of its own by pdftotext -layout): taken, in doubt until its arithmetic decides
            entry.cells, entry.doubt = state.loose + list(seg.values), BEFORE_LABEL
        state.rows[row.id] = entry
        # rows that got values on lines of their own have had their turn, and so have labels
        # passed over on this row's own line (a crawler's row that printed nothing)
        state.waiting = [w for w in state.waiting if _filled(w.cells) == 0
                         and not (seg.has_values and w.label.row == seg.row)]
        place = state.order[id(row)]
        late = place < state.furthest  # a label printed after its values (plain pdftotext)
        blank_row = len(entry.cells) >= state.width(row.id)  # a whole line of blank cells
        if _filled(entry.cells) == 0 and not late and not blank_row:
            state.waiting.append(entry)
        state.furthest = max(state.furthest, place)
        state.last = entry
    state.loose, state.after_block = [], False


def _again(state: _Attach, entry: RowText, seg: Segment) -> None:
    """A row found a second time: its values if it had none, else the same values or a doubt."""
    if _filled(entry.cells) == 0:
        entry.cells.extend(seg.values)
        state.last = entry
        if _filled(entry.cells):
            state.waiting = [w for w in state.waiting if w is not entry]
        return
    if not seg.has_values:
        state.last = entry  # the rest of its label, wrapped: its values may follow
        return
    if _readings(seg.values) != _readings(entry.cells):
        entry.doubt = "the row appears twice with different values"
    state.last = None


def _unknown(state: _Attach, seg: Segment) -> None:
    """A label the template does not have: words among a row's values, a wrapped label's second
    line that carries the values, or a row the template lacks."""
    last = state.last
    key = label_key(seg.label)
    if last is not None and seg.row == last.label.row and key not in UNIT_WORDS and not last.doubt:
        last.doubt = f"words among the row's values: {seg.label[:20]!r}"
    if not seg.has_values:
        return
    if state.waiting and state.waiting[0] is last:
        head = state.waiting.pop(0)
        head.cells.extend(seg.values)  # a wrapped label's second line carries the values
        state.last = head
        return
    if last is not None and 0 < _filled(last.cells) < state.width(last.row.id) == \
            _filled(last.cells) + _filled(seg.values):
        last.cells.extend(seg.values)  # the rest of the row, beside a heading's fragment (`他处理`)
        state.last = None
        return
    state.findings.append(Finding("parse.unknown_row", "parse",
                                  f"a row the template does not have: {seg.label!r}"))
    state.last = None


def _readings(cells: list[Cell]) -> list:
    return [r.value for r in map(read_cell, (c.text for c in cells)) if r.kind != EMPTY]
