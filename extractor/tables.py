"""Tables 2, 3 and 4 of a report → canonical keys with values and provenance.

Each table's region is cut into segments (rows.py); segment labels are matched to the
template's rows by the words in rules/templates.toml; each matched row's cells are fitted to
the template's columns (align.py). A row that is not found, or whose cells cannot be fitted
without guessing, gets null values marked for review.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from . import align
from .cells import EMPTY, ILLEGIBLE, TEXT, Cell, normalise, read_cell
from .record import Field, Finding
from .rows import Segment, physical_rows, segments
from .sections import Span
from .spec import templates

PUNCT = re.compile(r"[\s（）()、.．,，:：;；“”\"'‘’《》〈〉\[\]【】\-—_/／·・]")
ENUMERATOR = re.compile(r"[（(][一二三四五六七八九十\d]{1,3}[)）]|[一二三四五六七八九十]{1,3}、|\d{1,2}[.、．](?!\d)")
YUAN = re.compile(r"(?<!万)元")
UNIT_WORDS = {"件", "项", "个", "条", "次", "家", "宗", "元", "万元", "单位件", "单位万元"}
GROUP_ENUM = re.compile(r"[（(][一二三四五六七八九十]{1,2}[)）]")  # （六）: a group of table 3's results


@dataclass(frozen=True, eq=False)  # one object per row of a template (row_specs): compared and hashed by identity
class RowSpec:
    row: str
    keywords: tuple[str, ...]
    exact: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()


@lru_cache(maxsize=8)
def row_specs(table: str, template: str) -> tuple[RowSpec, ...]:
    """The template's rows of table 2 or 3, as rules/templates.toml names them."""
    rows = templates()[table]["rows"] if table == "t3" else templates()[table]
    return tuple(RowSpec(r["row"], tuple(r.get("keywords", ())), tuple(r.get("exact", ())), tuple(r.get("requires", ())))
                 for r in rows if template in r.get("templates", [template]))


@lru_cache(maxsize=8)
def _keywords_longest_first(specs: tuple[RowSpec, ...]) -> tuple[tuple[str, RowSpec], ...]:
    """Every row's keywords as label keys, longest first (rows in template order among equals)."""
    return tuple(sorted(((label_key(w), spec) for spec in specs for w in spec.keywords), key=lambda ws: -len(ws[0])))


@dataclass
class Matched:
    spec: RowSpec
    label: Segment
    values: list[Cell] = field(default_factory=list)
    vertical: bool = False
    review: str = ""  # a reason when the match itself was a guess


@lru_cache(maxsize=65536)
def label_key(label: str) -> str:
    return PUNCT.sub("", ENUMERATOR.sub("", normalise(label)))


def match_rows(segs: list[Segment], specs: tuple[RowSpec, ...], header_words=(), group_words=(), width=None) -> tuple[dict[str, Matched], list[Finding]]:
    """Assign segments to template rows: labels by their words, value-only segments to the label above.

    `width(row)` is the number of columns a row has: a row whose cells were split over two
    lines (fewer cells, then a line of cells without a label that makes up exactly the rest) is joined.
    """
    matched: dict[str, Matched] = {}
    findings: list[Finding] = []
    target: Matched | None = None
    pending_label = ""
    orphans: list[Cell] = []
    seen_keyword = False
    skip = -1
    order = {id(spec): n for n, spec in enumerate(specs)}
    last: int | None = None  # the template position of the furthest row matched so far
    for i, seg in enumerate(segs):
        if i == skip:
            continue
        if not seg.label:
            if target is not None and (not _has_values(target.values) or target.vertical):
                target.values.extend(seg.values)
                target.vertical = True
            elif target is not None and width and _filled(target.values) < width(target.spec.row) == _filled(target.values) + _filled(seg.values):
                target.values.extend(seg.values)  # the rest of a row split over two lines
                target = None
            else:
                orphans = list(seg.values)
            continue
        key = label_key(seg.label)
        if any(w in key for w in header_words):
            target, pending_label = None, ""
            continue
        # `（六）其他` is the group 其他处理 wrapped, never the row 3.其他 (whereas `（七）总计` is its row)
        grouped = key == "其他" and bool(GROUP_ENUM.match(normalise(seg.label)))
        spec = _match(key, specs, group_words, seen_keyword, last, grouped)
        if spec is None and pending_label:
            spec = _match(pending_label + key, specs, group_words, seen_keyword, last)
        if spec is None and seg.has_values and (target is None or _has_values(target.values)):
            # A label wrapped onto the next line, its values on the first: `3.要求 0 0 …` / `提供公开出版物`.
            nxt = segs[i + 1] if i + 1 < len(segs) else None
            if nxt is not None and nxt.label and not nxt.has_values:
                joined = _match(key + label_key(nxt.label), specs, group_words, seen_keyword, last)
                alone = _match(label_key(nxt.label), specs, group_words, seen_keyword, last)
                if joined is not None and alone in (None, joined) and not (joined.row in matched and _has_values(matched[joined.row].values)):
                    spec, skip = joined, i + 1
        if spec is None and target is not None and seg.row == target.label.row and key not in UNIT_WORDS:
            # words on the row's own line after its label (`1.25万`, `不适用`): a value may stand there
            target.review = target.review or f"words among the row's values: {seg.label[:20]!r}"
        if spec is None:
            if seg.has_values and target is not None and not _has_values(target.values):
                target.values.extend(seg.values)  # a wrapped label's second line carries the values
            elif seg.has_values:
                findings.append(Finding("parse.unknown_row", "parse", f"a row the template does not have: {seg.label!r}"))
                target = None
            pending_label = key if not seg.has_values else ""
            continue
        seen_keyword = seen_keyword or bool(spec.keywords)
        pending_label = ""
        entry = matched.get(spec.row)
        if entry is not None and not _has_values(entry.values):
            entry.values.extend(seg.values)
            target = entry
        elif entry is not None:
            if seg.has_values and _readings(seg.values) != _readings(entry.values):
                entry.review = "the row appears twice with different values"
            target = None
        else:
            entry = Matched(spec, seg, list(seg.values))
            if not seg.has_values and orphans:
                entry.values, entry.review = orphans, "values stand before their label"
            matched[spec.row] = entry
            last = order[id(spec)] if last is None else max(last, order[id(spec)])
            target = entry
        orphans = []
    return matched, findings


def _readings(cells: list[Cell]) -> list:
    return [r.value for r in map(read_cell, (c.text for c in cells)) if r.kind != EMPTY]


def _filled(cells: list[Cell]) -> int:
    return sum(1 for c in cells if read_cell(c.text).kind != EMPTY)


def _has_values(cells: list[Cell]) -> bool:
    return any(read_cell(c.text).kind != EMPTY for c in cells)


def _match(key: str, specs: tuple[RowSpec, ...], group_words, seen_keyword: bool, last: int | None = None, grouped: bool = False) -> RowSpec | None:
    """The row a label names: by its keywords (the longest wins), else, for rows named by a bare
    word (`其他`, `总计`), only right after the rows that precede them in the template, and never
    for a label numbered as a group (`（六）其他` is 其他处理 wrapped, not the row 3.其他)."""
    best = next((spec for word, spec in _keywords_longest_first(specs) if word in key), None)
    if best is not None or not seen_keyword or grouped:
        return best
    bare = key
    for word in group_words:
        bare = bare.replace(word, "")
    for index, spec in enumerate(specs):
        if bare in spec.exact and all(r in key for r in spec.requires) and (last is None or 0 < index - last <= 3):
            return spec
    return None


def _region_segments(text: str, region: Span | None) -> list[Segment]:
    return segments(physical_rows(text, region.start, region.end)) if region else []


def _fields_from_fit(keys: list[str], fit: align.Fit, rule: str) -> dict[str, Field]:
    """One Field per column; the row's other readings ride along as alternatives (numbered alike across the row)."""
    out = {}
    name = f"{rule}.{fit.rule}"
    review, reason = fit.review, fit.reason
    for i, (key, slot) in enumerate(zip(keys, fit.slots)):
        if slot is None:
            f = Field(key, None, None, None, None, name, "rules", review, reason)
        else:
            f = Field(key, slot.value, slot.raw.strip(), slot.start, slot.end, name, "rules", review or slot.review, reason or slot.reason)
        if fit.others:
            f.alternatives = [{"value": other[i], "source": "reading", "reading": n + 1, "rule": fit.rule} for n, other in enumerate(fit.others)]
        out[key] = f
    return out


def _missing(prefix: str, columns: list[str], rule: str, reason: str) -> dict[str, Field]:
    return {f"{prefix}.{c}": Field(f"{prefix}.{c}", None, rule=rule, review=True, reason=reason) for c in columns}


# ------------------------------------------------------------------------------ table 3
def read_t3(text: str, region: Span | None, template: str) -> tuple[dict[str, Field], list[Finding]]:
    conf = templates()["t3"]
    columns = conf["columns"]
    specs = row_specs("t3", template)
    if region is None:
        out = {}
        for spec in specs:
            out.update(_missing(f"t3.{spec.row}", columns, "t3.missing", "table 3 not found"))
        return out, [Finding("parse.t3_missing", "parse", "table 3 not found")]
    rows = physical_rows(text, region.start, region.end)
    matched, findings = match_rows(segments(rows), specs, [label_key(w) for w in conf["header_words"]],
                                   [label_key(w) for w in conf["group_words"]], width=lambda row: len(columns))
    grid = grid_columns(rows, len(columns), row_sum_identity)
    out: dict[str, Field] = {}
    for spec in specs:
        prefix = f"t3.{spec.row}"
        entry = matched.get(spec.row)
        if entry is None:
            out.update(_missing(prefix, columns, "t3.row-missing", "row not found in table 3"))
            continue
        cells = value_columns(entry, rows, grid, len(columns)) if grid else None
        fit = align.fit_row(cells or entry.values, len(columns), row_sum_identity, _glued(entry))
        if cells:
            fit = fit._replace(rule=fit.rule + "+grid-columns")
        if entry.review:
            fit = fit._replace(review=True, reason=entry.review)
        out.update(_fields_from_fit([f"{prefix}.{c}" for c in columns], fit, "t3"))
    return out, findings


def grid_columns(rows: list[list[Cell]], k: int, identity=None, first_header: str = "自然人") -> dict:
    """Where a table's k value columns start when the table is a grid whose cells keep their places
    (HTML, Word, PDF geometry, tab or pipe text that keeps its empty cells): `{None: (start, width)}`
    for the whole table, or, when its rows disagree (a table continued on another page with a
    column fewer), `{length: (start, length)}` for the rows of each length that agree among
    themselves. Empty when there is no grid to lean on.

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
    headers = [(i, len(row)) for row in rows for i, c in enumerate(row) if first_header[0] in c.text and normalise(c.text) == first_header]
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
        if len(numbers) == k or (identity is not None and identity([v or 0 for v in values]) is True):
            starts.add(numbers[0])  # all k printed, or the first and last printed and the row adds up
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


def value_columns(entry: Matched, rows: list[list[Cell]], grids: dict, k: int) -> list[Cell] | None:
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
    if not row or len(row) > max(width, start + k) or any(c.start not in column for c in entry.values):
        return None  # cells from other lines, or cut out of a cell: not places in the grid
    if any(read_cell(c.text).kind != EMPTY for c in entry.values if column[c.start] < start):
        return None
    end = row[-1].end
    return [row[i] if i < len(row) else Cell("", end, end) for i in range(start, start + k)]


def _glued(entry: Matched) -> bool:
    """Do the row's numbers run straight on from its label, with nothing between (`规章000`)?"""
    first = next((c for c in entry.values if c.text.strip()), None)
    return first is not None and bool(entry.label.label) and first.start == entry.label.end


def row_sum_identity(values) -> bool | None:
    """总计 = the six applicant columns."""
    if any(v is None for v in values):
        return None
    return values[-1] == sum(values[:-1])


# ------------------------------------------------------------------------------ table 4
def read_t4(text: str, region: Span | None) -> tuple[dict[str, Field], list[Finding]]:
    conf = templates()["t4"]
    keys = [f"t4.{g}.{c}" for g in conf["groups"] for c in conf["columns"]]
    segs = _region_segments(text, region)
    cells = [c for s in segs if s.has_values for c in s.values]
    if not any(read_cell(c.text).kind not in (EMPTY, ILLEGIBLE) for c in cells):
        if any(read_cell(c.text).kind == ILLEGIBLE for c in cells):
            reason = "table 4 is illegible in the source"
        else:
            reason = "table 4 not found" if region is None else "table 4 has no readable cells"
        return ({k: Field(k, None, rule="t4.missing", review=True, reason=reason) for k in keys},
                [Finding("parse.t4_missing", "parse", reason, keys)])
    fit = align.fit_row(cells, len(keys), group_total_identity)
    return _fields_from_fit(keys, fit, "t4"), []


def group_total_identity(values) -> bool | None:
    """In each of the three groups, 总计 = 维持 + 纠正 + 其他 + 尚未审结."""
    if any(v is None for v in values):
        return None
    return all(values[g + 4] == sum(values[g : g + 4]) for g in (0, 5, 10))


# ------------------------------------------------------------------------------ table 2
def read_t2(text: str, region: Span | None, template: str) -> tuple[dict[str, Field], list[Finding]]:
    rows = [r for r in templates()["t2"] if template in r["templates"]]
    specs = row_specs("t2", template)
    out: dict[str, Field] = {}
    if region is None:
        for r in rows:
            out.update(_missing(f"t2.{r['row']}", r["columns"][template], "t2.missing", "table 2 not found"))
        return out, [Finding("parse.t2_missing", "parse", "table 2 not found")]
    widths = {r["row"]: len(r["columns"][template]) for r in rows}
    lines = physical_rows(text, region.start, region.end)
    matched, findings = match_rows(segments(lines), specs, width=widths.get)
    for r in rows:
        prefix, columns = f"t2.{r['row']}", r["columns"][template]
        entry = matched.get(r["row"])
        if entry is None:
            out.update(_missing(prefix, columns, "t2.row-missing", "row not found in table 2"))
            continue
        starts = _header_starts(entry, lines, len(columns))
        cells = header_columns(entry, lines, len(columns), starts)
        fit = align.fit_row(cells or entry.values, len(columns), glued=_glued(entry))
        if cells:
            fit = fit._replace(rule=fit.rule + "+grid-columns")
        words = None if fit.review else words_in_value_columns(entry, lines, starts)
        if words:
            fit = fit._replace(review=True, reason=words)
        if entry.review:
            fit = fit._replace(review=True, reason=entry.review)
        fields = _fields_from_fit([f"{prefix}.{c}" for c in columns], fit, "t2")
        for col, slot in zip(columns, fit.slots):
            key = f"{prefix}.{col}"
            if col in r.get("money", []):
                _to_wan(fields[key], slot, _block_unit(text, region, entry.label, r.get("unit_block", [])), template)
            elif isinstance(fields[key].value, float):
                fields[key].review, fields[key].reason = True, "a fraction where a count should stand"
        out.update(fields)
    return out, findings


def _header_starts(entry: Matched, rows: list[list[Cell]], k: int) -> list[int] | None:
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
        if len(head) == len(row) and len(words) == k + 1 and all(read_cell(head[i].text).kind == TEXT for i in words):
            return words[1:]
    return None


def header_columns(entry: Matched, rows: list[list[Cell]], k: int, starts: list[int] | None) -> list[Cell] | None:
    """A table 2 row's cells by the columns of the header just above it, when both are rows of one
    grid (HTML, Word): `规章 | | 0 | | 5` under `信息内容 | 本年制发件数 | 本年废止件数 (two columns
    wide) | 现行有效件数` is blank, 0, 5, where a count of cells could place it two ways. None when
    there is no such header (`starts`, from _header_starts), or a column holds two values, or words
    stand among the values."""
    if starts is None:
        return None
    row = rows[entry.label.row]
    column = {c.start: i for i, c in enumerate(row)}
    if any(c.start not in column for c in entry.values):
        return None
    own = {c.start for c in entry.values}
    if any(read_cell(c.text).kind != EMPTY and c.start not in own for c in row[starts[0]:]):
        return None  # a cell of the row that went elsewhere (a word among the numbers): not a plain grid row
    slots: list[Cell | None] = [None] * k
    for c in entry.values:
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


def words_in_value_columns(entry: Matched, rows: list[list[Cell]], starts: list[int] | None) -> str | None:
    """Words standing in the value columns of the header above (`不适用`, `1.25万` taken for label
    text): the row cannot be read as blank without a person's look."""
    if starts is None:
        return None
    words = [c.text.strip() for c in rows[entry.label.row][starts[0]:] if read_cell(c.text).kind == TEXT]
    return f"words where a value should stand: {words[0][:20]!r}" if words else None


def _block_unit(text: str, region: Span, label: Segment, block_words: list[str]) -> str | None:
    """The money unit the table states for this row: 元, 千元, 万元, or None when it says neither."""
    head = text[region.start : label.start]
    starts = [head.rfind(w) for w in block_words if w in head]
    block = head[max(starts):] if starts else head[-80:]
    if "千元" in block:
        return "千元"
    if YUAN.search(block):
        return "元"
    return "万元" if "万元" in block else None


def _to_wan(f: Field, slot, block_unit: str | None, template: str) -> None:
    if f.value is None:
        return
    unit = (slot.unit if slot is not None else None) or block_unit
    if unit == "万":
        unit = "万元"
    if unit in ("元", "千元"):
        f.value = round(float(f.value) / (10000 if unit == "元" else 10), 6)
        f.rule += "+yuan-to-wan" if unit == "元" else "+qianyuan-to-wan"
    else:
        f.value = float(f.value)
        if unit is None and f.key == "t2.procurement.amount" and f.value != 0:
            # The 2019 template's 采购总金额 names no unit, and reports print 元 as often as 万元.
            f.review, f.reason = True, "no unit stated for 采购总金额: read as 万元, but it may be 元"

