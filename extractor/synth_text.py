"""Stress layouts of reports whose tables lost their structure on the way to text, each drawn like
the real kind it stands for (../shared/cases and its rendered/):

- `crawler`: a report as a crawler saved it (one_line_dump_2022.txt): a metadata header, then the
  body on one line (or each table row on a line of its own), headings mid-line, a row's cells run
  together after its label, table 4 as 15 numbers spaced or run together. Blank cells vanish.
- `pdftotext_layout`: `pdftotext -layout` of the official template: columns aligned by spaces,
  labels wrapped inside their column, the 总计 cell top-aligned (t3_total_top_aligned_row_rotated).
- `pdftotext_raw`: plain `pdftotext`: a cell a line in the PDF's stream order, a single-row block's
  numbers before its label, the block's unit (元) below (t2_raw_values_before_label), table 4's
  header split into characters with its numbers interleaved, the groups' 总计 last
  (t4_raw_interleaved_header).
- `detached_markdown`: PDF→markdown with row labels on lines of their own, apart from their
  numbers, two or three labels before as many bare rows that are theirs in order
  (t3_detached_label_shift.md).

Each returns (text, open keys): the keys a careful reader of that text cannot settle (several
readings of a run, a blank that vanished, table 4's stream order), which the tool must mark.
"""

from __future__ import annotations

import random
import re
from dataclasses import replace

from .synth_page import Cell, dwidth, lay_out, wrap
from .synth_readings import INT, Reading, differing, open_keys, row_readings, splits, t4_readings
from .synth_values import MONEY_KEYS, T3_HEADER, T4_HEADER, cell_pattern, label_spans
from .template import template as template_of_name

T4_HEADS = ("结果维持", "结果纠正", "其他结果", "尚未审结", "总计")


def _data(t: dict) -> list:
    return [r for r in t["rows"] if r.kind == "data"]


def _values(r, truth: dict) -> list:
    return [truth[k] for k in r.keys]


def _partly_blank(r, truth: dict) -> bool:
    vals = _values(r, truth)
    return any(v is None for v in vals) and any(v is not None for v in vals)


# -------------------------------------------------------- what a careful reader cannot settle
def open_t2(t: dict, truth: dict) -> set[str]:
    """Table 2's rows run together: no identities, so every cut beyond one leaves cells open; a row
    with a blank that vanished is open whole."""
    out: set[str] = set()
    for r in _data(t):
        if _partly_blank(r, truth):
            out |= set(r.keys)
        elif all(v is not None for v in _values(r, truth)):
            readings = splits("".join(r.cells), [cell_pattern(k) for k in r.keys])
            out |= set(r.keys) if readings is None else differing(readings, r.keys)
    return out


def open_t3(t: dict, truth: dict, template: str) -> set[str]:
    """Table 3's rows run together: each row's cuts that add up (T3-B), then the combinations the
    columns' identities (T3-A, T3-C) leave."""
    readings: dict[str, list[Reading] | None] = {}
    keys_of: dict[str, list[str]] = {}
    for r in _data(t):
        vals = _values(r, truth)
        if all(v is None for v in vals):
            continue
        row = r.keys[0].rsplit(".", 1)[0]
        keys_of[row] = r.keys
        if any(v is None for v in vals):
            readings[row] = None
            continue
        run = "".join(r.cells)
        found = row_readings(run, len(r.keys), row_sum=True)
        readings[row] = found if found != [] else row_readings(run, len(r.keys))
    eqs = [e for e in template_of_name(template).identities if e.table == "t3"]
    return open_keys(readings, keys_of, eqs)


def open_t4(t: dict, truth: dict, run_together: bool) -> set[str]:
    """Table 4's 15 numbers: spaced, they are read in order; run together, each group's total
    (T4) decides what it can. A blank that vanished leaves every cell open."""
    r = _data(t)[0]
    vals = _values(r, truth)
    if all(v is None for v in vals):
        return set()
    if any(v is None for v in vals):
        return set(r.keys)
    if not run_together:
        return set()
    run = "".join(r.cells)
    readings = t4_readings(run)
    if readings == []:  # the report's own sums do not hold: its cuts without them
        readings = splits(run, [INT] * len(r.keys))
    return set(r.keys) if readings is None else differing(readings, r.keys)


# ---------------------------------------------------------------- crawler text
def _glue(pieces: list[str], rng: random.Random, p_space: float) -> str:
    out = pieces[0] if pieces else ""
    for p in pieces[1:]:
        out += (" " if rng.random() < p_space else "") + p
    return out


def _crawler_t2(t: dict, rng: random.Random, o: dict) -> list[str]:
    out = []
    for r in t["rows"]:
        if r.kind == "section":
            out.append(r.labels[0])
        elif r.kind == "header":
            out.append(_glue([c for c in r.labels if c], rng, 0.5))
        else:
            out.append(
                r.labels[0] + (" " if rng.random() < o["label_space"] else "") + "".join(r.cells)
            )
    return out


def _t3_header_words(rng: random.Random) -> list[str]:
    words = [T3_HEADER[0][3]] + [w for w in T3_HEADER[1] + T3_HEADER[2] if w]
    return [w[:2] + " " + w[2:] if len(w) == 4 and rng.random() < 0.3 else w for w in words]


def _crawler_t3(t: dict, rng: random.Random, o: dict) -> list[str]:
    note = T3_HEADER[0][0]
    out = [note] if rng.random() < 0.8 else []
    out.append(_glue(_t3_header_words(rng), rng, 0.8))
    for r in _data(t):
        label = _glue([c for c in r.labels if c], rng, 0.5)
        out.append(label + (" " if rng.random() < o["label_space"] else "") + "".join(r.cells))
    return out


def _crawler_t4(t: dict, rng: random.Random, run_together: bool) -> list[str]:
    heads = [
        T4_HEADER[0][0] + " " + T4_HEADER[0][5],
        "".join(T4_HEADER[1][:5]),
        T4_HEADER[1][5] + " " + T4_HEADER[1][10],
        "".join(T4_HEADER[2][5:]),
    ]
    cells = [c for c in _data(t)[0].cells if c]
    return [_glue(heads, rng, 0.6)] + ([("" if run_together else " ").join(cells)] if cells else [])


def crawler(
    parts, tables: dict, truth: dict, o: dict, rng: random.Random, info: dict, one_line: bool = True
) -> tuple[str, set[str]]:
    """A crawler's text file of the report: the header it writes, then the body (one line, or a
    line per paragraph and table row)."""
    template = truth["meta.template"]
    t4_run = rng.random() < 0.5
    info["details"].append(
        ("one line" if one_line else "a line per row")
        + (", table 4 run together" if t4_run else ", table 4 spaced")
    )
    pieces: list[str] = []
    title = ""
    for kind, text in parts:
        if kind == "title":
            title = text
        elif kind == "t2":
            pieces += _crawler_t2(tables["t2"], rng, o)
        elif kind == "t3":
            pieces += _crawler_t3(tables["t3"], rng, o)
        elif kind == "t4":
            pieces += _crawler_t4(tables["t4"], rng, t4_run)
        else:
            pieces.append(text)
    body = _glue(pieces, rng, o["piece_space"]) if one_line else "\n".join(pieces)
    must = open_t2(tables["t2"], truth) | open_t3(tables["t3"], truth, template)
    must |= open_t4(tables["t4"], truth, t4_run)
    return _crawler_header(title, truth, rng) + body + "\n", must


def _crawler_header(title: str, truth: dict, rng: random.Random) -> str:
    year = (truth["meta.year"] or 2023) + 1
    month, day = rng.randint(1, 3), rng.randint(1, 28)
    n = rng.randint(10000, 99999)
    agency = truth["meta.agency"] or ""
    publisher = rng.choice(["", "", agency, agency + "办公室"])
    path = f"zwgk/zfxxgk/zfxxgknb/{year}{month:02d}"
    lines = [
        f"标题: {title}",
        f"发布时间: {year}-{month:02d}-{day:02d} {rng.randint(8, 18)}:{rng.randint(0, 59):02d}",
        "文号: ",
        f"发布机构: {publisher}",
        "栏目: 政府信息公开年报",
        f"原文链接: https://www.example.gov.cn/{path}/t{year}{month:02d}{day:02d}_{n}.htm",
    ]
    if rng.random() < 0.5:
        lines += [f"本地目录: {path}/{n}_{title}", "页面链接与图片详见 links.tsv(同目录)"]
    return "\n".join(lines) + "\n" + "=" * 20 + " 正文 " + "=" * 20 + "\n"


# ---------------------------------------------------------------- the template drawn on a page
def _label_cells(rows: list, valign: str) -> list[Cell]:
    """Table 3's label cells with the template's spans (三、本年度办理结果 down the first column,
    each group's heading down the second)."""
    return [Cell(i, j, lab, rs, cs, valign if rs == 1 else "center", "left")
            for i, j, lab, rs, cs in label_spans([r.labels for r in rows])]


def _t3_page(t: dict, g: dict) -> tuple[list[Cell], list[int], int]:
    head = [
        Cell(0, 0, T3_HEADER[0][0], 3, 3, halign="left"),
        Cell(0, 3, "申请人情况", colspan=7),
        Cell(1, 3, "自然人", 2),
        Cell(1, 4, "法人或其他组织", colspan=5),
        Cell(1, 9, "总计", 2),
    ]
    head += [Cell(2, 4 + i, w) for i, w in enumerate(T3_HEADER[2][4:9])]
    rows = _data(t)
    cells = head + [
        Cell(c.row + 3, c.col, c.text, c.rowspan, c.colspan, c.valign, c.halign)
        for c in _label_cells(rows, g["label_valign"])
    ]
    for i, r in enumerate(rows):
        for j, text in enumerate(r.cells):
            top = j == len(r.cells) - 1 and g["total_top"]
            cells.append(Cell(i + 3, 3 + j, text, valign="top" if top else "center"))
    return cells, [4, 8, g["t3_label"]] + [g["value"]] * 7, 3


def _t2_page(t: dict, g: dict) -> tuple[list[Cell], list[int], int]:
    cells = []
    for i, r in enumerate(t["rows"]):
        texts = [c for c in r.labels if c] + r.cells
        if r.kind == "section":
            cells.append(Cell(i, 0, texts[0], colspan=4))
            continue
        for j, text in enumerate(texts):
            span = 4 - j if j == len(texts) - 1 else 1
            cells.append(
                Cell(
                    i,
                    j,
                    text,
                    colspan=span,
                    halign="left" if j == 0 and r.kind == "data" else "center",
                )
            )
    return cells, [g["t2_label"]] + [g["t2_value"]] * 3, 0


def _t4_page(t: dict, g: dict) -> tuple[list[Cell], list[int], int]:
    cells = [Cell(0, 0, T4_HEADER[0][0], colspan=5), Cell(0, 5, T4_HEADER[0][5], colspan=10)]
    cells += [Cell(1, i, h, 2) for i, h in enumerate(T4_HEADS)]
    cells += [Cell(1, 5, T4_HEADER[1][5], colspan=5), Cell(1, 10, T4_HEADER[1][10], colspan=5)]
    cells += [Cell(2, 5 + i, h) for i, h in enumerate(T4_HEADS * 2)]
    cells += [Cell(3, i, c) for i, c in enumerate(_data(t)[0].cells)]
    return cells, [g["t4_value"]] * 15, 3


def page_geometry(rng: random.Random) -> dict:
    """One document's template as its Word file set it: column widths, gaps, alignments."""
    return {
        "t3_label": rng.choice([18, 20, 22]),
        "value": rng.choice([4, 5, 6]),
        "gap": rng.choice([1, 2]),
        "t2_label": rng.choice([14, 16, 18]),
        "t2_value": rng.choice([10, 12, 14]),
        "t4_value": rng.choice([4, 5]),
        "indent": rng.choice([0, 1, 2]),
        "total_top": rng.random() < 0.75,
        "label_valign": "center" if rng.random() < 0.7 else "top",
        "tall": rng.choice([0.0, 0.0, 0.1, 0.25]),
        "page": rng.randint(40, 56),
        "width": rng.choice([72, 76, 80]),
        "footer": rng.choice(["- {n} -", "— {n} —", "第 {n} 页", "{n}"]),
    }


_PAGES = {"t2": _t2_page, "t3": _t3_page, "t4": _t4_page}


def _table_lines(kind: str, t: dict, g: dict, rng: random.Random) -> list[tuple[int, str]]:
    """(row, line) of one table as `pdftotext -layout` prints it; some data rows are drawn taller
    than their text (a row height set in the template), which leaves a top-aligned total alone on
    a line above its row's label."""
    cells, widths, head = _PAGES[kind](t, g)
    nrows = max(c.row for c in cells) + 1
    tall = [
        2 if r >= head and kind == "t3" and rng.random() < g["tall"] else 1 for r in range(nrows)
    ]
    return [(row, line) for _, row, line in lay_out(cells, widths, g["gap"], g["indent"], tall)]


def _prose_lines(kind: str, text: str, g: dict) -> list[str]:
    if kind == "title":
        lines = wrap(text, 40)
        return [" " * max(0, (g["width"] - dwidth(line)) // 2) + line for line in lines]
    if kind == "heading":
        return ["    " + text]
    lines = wrap("    " + text, g["width"])
    return lines


def pdftotext_layout(parts, tables: dict, truth: dict, o: dict, rng: random.Random, info: dict):
    """`pdftotext -layout` of the report typeset in the official template, pages ending with a
    footer and a form feed (a table may break across pages between rows)."""
    g = page_geometry(rng)
    info["details"].append(
        ("total top-aligned" if g["total_top"] else "total centered")
        + f", labels {g['label_valign']}"
        + (", some rows tall" if g["tall"] else "")
    )
    blocks: list[list[str]] = []  # a page may break between blocks only
    for kind, text in parts:
        if kind in _PAGES:
            rows: dict[int, list[str]] = {}
            for row, line in _table_lines(kind, tables[kind], g, rng):
                rows.setdefault(row, []).append(line)
            blocks += list(rows.values())
        else:
            blocks += [[line] for line in _prose_lines(kind, text, g)] + [[""]]
    return _paginate(blocks, g), set()


def _paginate(blocks: list[list[str]], g: dict) -> str:
    out, n, used = [], 1, 0
    for block in blocks:
        if used + len(block) > g["page"] and used:
            out += ["", " " * (g["width"] // 2 - 2) + g["footer"].format(n=n), "\f"]
            n, used = n + 1, 0
        out += block
        used += len(block)
    return "\n".join(out).replace("\n\f\n", "\n\f") + "\n"


# ---------------------------------------------------------------- plain pdftotext: stream order
def _raw_rows(cells: list[Cell], widths: list[int], gap: int) -> dict[int, list[list[str]]]:
    """Each row's cells in the order a PDF draws them (a spanning cell at its first row), each
    cell's text as the lines it wraps into."""
    xs = [0]
    for w in widths:
        xs.append(xs[-1] + w + gap)
    rows: dict[int, list[list[str]]] = {}
    for c in sorted(cells, key=lambda c: (c.row, c.col)):
        rows.setdefault(c.row, []).append(wrap(c.text, xs[c.col + c.colspan] - gap - xs[c.col]))
    return rows


def _raw_t2(t: dict, g: dict, o: dict, info: dict) -> list[str]:
    """Row by row, a cell's lines in order; a block that holds one row prints its numbers before
    its label, and when its money is in 元 the unit stands alone below the row."""
    rows = t["rows"]
    if o["unit_below"]:
        rows = [
            replace(r, labels=[_unitless(c) for c in r.labels]) if r.kind == "header" else r
            for r in rows
        ]
    cells, widths, _ = _t2_page({"rows": rows}, g)
    drawn = _raw_rows(cells, widths, g["gap"])
    out: list[str] = []
    for i, r in enumerate(rows):
        pieces = drawn.get(i, [])
        if r.kind != "data":
            out += [line for lines in pieces for line in lines]
            continue
        alone = rows[i - 1].kind == "header" and (i + 1 == len(rows) or rows[i + 1].kind != "data")
        label, values = pieces[0], [line for lines in pieces[1:] for line in lines]
        if alone and o["values_first"]:
            out += values + label
            info["details"].append(f"{r.labels[0]}: values before label")
        else:
            out += label + values
        if o["unit_below"] and any(k in MONEY_KEYS for k in r.keys):
            out.append("元")
    return out


def _unitless(header: str) -> str:
    return re.sub(r"（(单位：)?元）", "", header)


def _raw_t3(t: dict, g: dict) -> list[str]:
    """In the order a PDF draws the cells: row by row, a spanning label at its first row."""
    cells, widths, _ = _t3_page(t, g)
    return [
        line
        for cell in _raw_rows(cells, widths, g["gap"]).values()
        for lines in cell
        for line in lines
    ]


def _chars(words: list[str], across: bool) -> list[str]:
    """Words drawn upright in narrow cells, one character a line: read across the cells line by
    line, or down each cell in turn."""
    if not across:
        return [c for w in words for c in w]
    return [w[i] for i in range(max(map(len, words))) for w in words if i < len(w)]


def _raw_t4(t: dict, rng: random.Random, last: bool) -> list[str]:
    """Table 4 as ../shared/cases/rendered/t4_raw_interleaved_header.txt: the header split into
    characters, numbers interleaved; with `last`, the two lawsuit groups' 总计 come last."""
    v = [c for c in _data(t)[0].cells]
    out = [T4_HEADER[0][0], T4_HEADER[0][5], T4_HEADER[1][5]]
    k = rng.randint(1, 3)
    for i in range(k):  # the first review columns: each header down, then its number
        out += list(T4_HEADS[i]) + [v[i]]
    out.append(T4_HEADER[1][10])
    out += _chars(list(T4_HEADS[k:5]), rng.random() < 0.5) + v[k:5]
    heads = list(T4_HEADS[:4])
    out += _chars(heads, True) + (v[5:9] if last else v[5:10])
    out += _chars(heads + (["总计", "总计"] if last else []), True) + (
        v[10:14] if last else v[10:15]
    )
    if last:
        out += [v[9], v[14]]
    return [c for c in out if c != ""]


def pdftotext_raw(parts, tables: dict, truth: dict, o: dict, rng: random.Random, info: dict):
    """Plain `pdftotext` of the report: a text line a line, tables a cell a line in stream order."""
    g = page_geometry(rng)
    o = dict(o, values_first=rng.random() < 0.7, unit_below=o["yuan"] and rng.random() < 0.7)
    last = rng.random() < 0.7
    info["details"].append("table 4 totals last" if last else "table 4 as drawn")
    sep = rng.choice(["\n", "\n\n"])
    out: list[str] = []
    for kind, text in parts:
        if kind == "t2":
            out += _raw_t2(tables["t2"], g, o, info)
        elif kind == "t3":
            out += _raw_t3(tables["t3"], g)
        elif kind == "t4":
            out += _raw_t4(tables["t4"], rng, last)
        else:
            out += _prose_lines(kind, text, g) if kind != "heading" else [text]
    truth_stream = _t4_stream_open(tables["t4"], truth, last)
    return sep.join(line.strip() for line in out) + "\n", truth_stream | _raw_blanks(tables, truth)


def _t4_stream_open(t: dict, truth: dict, last: bool) -> set[str]:
    """Which of table 4's cells its stream leaves open: the numbers in the order printed, read
    both ways the careful reader knows."""
    r = _data(t)[0]
    vals = _values(r, truth)
    if any(v is None for v in vals):
        return set(r.keys) if any(v is not None for v in vals) else set()
    stream = vals[:9] + vals[10:14] + [vals[9], vals[14]] if last else list(vals)
    drawn = list(stream)
    moved = stream[:9] + [stream[13]] + stream[9:13] + [stream[14]]
    ok = [
        c
        for c in (drawn, moved)
        if all(c[5 * g + 4] == sum(c[5 * g : 5 * g + 4]) for g in range(3))
    ]
    return differing(ok or [drawn, moved], r.keys)


def _raw_blanks(tables: dict, truth: dict) -> set[str]:
    """A cell a line: a blank leaves no line, so a row with one is open whole."""
    return {
        k for t in ("t2", "t3") for r in _data(tables[t]) if _partly_blank(r, truth) for k in r.keys
    }


# ---------------------------------------------------------------- PDF→markdown, labels detached
def _pipe(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _clusters(n: int, rng: random.Random) -> list[list[int]]:
    """Groups of two or three rows (of n) whose labels are printed apart from their numbers:
    consecutive, or spread over a few rows with others between (the labels hoisted)."""
    out, i = [], rng.randint(0, 3)
    while i < n - 1:
        if rng.random() < 0.45:
            size = min(rng.choice([2, 2, 3]), n - i)
            if rng.random() < 0.3 and i + 4 < n:
                members = sorted(rng.sample(range(i + 1, i + 5), size - 1))
                out.append([i] + members)
            else:
                out.append(list(range(i, i + size)))
            i = out[-1][-1] + 1
        i += rng.randint(1, 4)
    return out


def _label_lines(labels: list[str], width: int) -> list[str]:
    """A row's label cells as a converter prints them apart from the table: a heading that spans
    rows (三、本年度办理结果, （三）不予公开) wrapped in its narrow column, the row's own label
    wrapped in its column."""
    return _heading_lines(labels[:-1]) + wrap(labels[-1], width)


def _heading_lines(labels: list[str]) -> list[str]:
    return [line for lab in labels for line in wrap(lab, 8 if lab.startswith("（") else 4)]


def _md_rows(rows: list, rng: random.Random, width: int, stray: float) -> list[str]:
    """Rows as markdown lines: inline `| label | v … |`, or for a cluster the labels (wrapped, on
    lines of their own) where its first row stands and each row's bare numbers in its place."""
    clusters = _clusters(len(rows), rng)
    first = {c[0]: c for c in clusters}
    member = {i for c in clusters for i in c}
    out: list[str] = []
    for i, r in enumerate(rows):
        labels = [c for c in r.labels if c]
        if i in first:
            out += [
                line
                for j in first[i]
                for line in _label_lines([c for c in rows[j].labels if c], width)
            ]
            if rng.random() < stray:
                out.append(str(rng.randint(1, 8)))  # a stray enumerator
        elif i not in member and len(labels) > 1 and rng.random() < 0.5:
            out += _heading_lines(labels[:-1])  # the headings' fragments above an inline row
        out.append(_pipe(r.cells if i in member else labels[-1:] + r.cells))
    return out


def _fragments(lines: list[str], rng: random.Random) -> list[str]:
    """Each run of table lines as a converter writes a table: a separator after its first line,
    a blank line around it."""
    out: list[str] = []
    prev_pipe = False
    for line in lines:
        pipe = line.startswith("|")
        if pipe and not prev_pipe:
            out += (
                ["", line, "|" + "---|" * line.count(" | ") + "---|"]
                if rng.random() < 0.85
                else ["", line]
            )
        elif not pipe and prev_pipe:
            out += ["", line]
        else:
            out.append(line)
        prev_pipe = pipe
    return out


def _md_t3(t: dict, g: dict, rng: random.Random) -> list[str]:
    head_cells, widths, _ = _t3_page({"rows": []}, g)
    header = [re.sub(r" {2,}", "", line) for _, _, line in lay_out(head_cells, widths, g["gap"])]
    return header + _md_rows(_data(t), rng, rng.choice([18, 20, 22]), 0.3)


def _md_t2(t: dict, rng: random.Random) -> list[str]:
    """Table 2 as pipe rows; sometimes a block's first two labels stand apart, above their rows."""
    out: list[str] = []
    rows = t["rows"]
    detach = rng.random() < 0.4
    i = 0
    while i < len(rows):
        r = rows[i]
        nxt = rows[i + 1] if i + 1 < len(rows) else None
        if r.kind == "section":
            out.append(r.labels[0])
        elif r.kind == "header":
            out.append(_pipe([c for c in r.labels if c]))
        elif detach and nxt is not None and nxt.kind == "data":
            out += [r.labels[0], nxt.labels[0], _pipe(r.cells), _pipe(nxt.cells)]
            i += 1
        else:
            out.append(_pipe(r.labels + r.cells))
        i += 1
    return out


def _md_t4(t: dict) -> list[str]:
    return [
        _pipe(["行政复议"] * 5 + ["行政诉讼"] * 10),
        _pipe(list(T4_HEADS) + ["未经复议直接起诉"] * 5 + ["复议后起诉"] * 5),
        _pipe([""] * 5 + list(T4_HEADS) * 2),
        _pipe(_data(t)[0].cells),
    ]


def detached_markdown(parts, tables: dict, truth: dict, o: dict, rng: random.Random, info: dict):
    """A PDF→markdown conversion whose tables came apart: labels on lines of their own."""
    g = page_geometry(rng)
    lines: list[str] = []
    for kind, text in parts:
        if kind == "t2":
            lines += _md_t2(tables["t2"], rng)
        elif kind == "t3":
            lines += _md_t3(tables["t3"], g, rng)
        elif kind == "t4":
            lines += _md_t4(tables["t4"])
        elif kind == "title":
            lines += wrap(text, rng.choice([30, 36, 80]))
        else:
            lines.append(("## " if kind == "heading" and rng.random() < 0.5 else "") + text)
    return "\n".join(_fragments(lines, rng)) + "\n", set()  # blanks stay in their pipe cells
