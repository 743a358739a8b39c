"""A table's region of text → rows of cells → segments (a label and the value cells after it).

Layouts read here: tab-separated cells (empty cells kept, so columns stay aligned), markdown
pipes, space-separated cells, and one cell per line (each cell a line starting with a tab,
rows between blank lines, a line without the tab continuing the cell above). Within a cell,
numbers that follow a label or each other (`行政规范性文件 0 0 0`, `行政规范性文件77132470`)
are cut out as cells of their own. HTML reaches this module already rendered as tab-separated
rows by ingest.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from functools import lru_cache

from .cells import EMPTY, NUMBER, TEXT, Cell, read_cell

# Never a row: a line of nothing, a markdown table's rule (`|---|:--:|`, ASCII hyphens) or a run
# of three dashes or more. A dash or two alone is a cell (`—`, a blank printed by plain pdftotext
# on a line of its own; `| — | — |`), and a line of empty pipe cells (`|  |  |`) a row of blanks.
MARKDOWN_RULE_CHARS = frozenset("|:-+ \t")
RULE_CHARS = frozenset("|:：+-—–= \t")
THREE_DASHES = re.compile(r"[-—–=]{3}")


def is_rule(line: str) -> bool:
    """Is the line a rule between rows, or blank (see above)?"""
    chars = set(line.strip())
    if "|" in chars and chars <= MARKDOWN_RULE_CHARS:
        return "-" in chars
    return not chars or (chars <= RULE_CHARS and THREE_DASHES.search(line) is not None)


# digits, or a placeholder slash, run into a label; a change of 本年增/减 may be negative
RUN = re.compile(r"[-−—–]?\d+(?:\.\d+)?|[/／](?=[/／\d]|$)")
LABEL_END = r"[\u4e00-\u9fff”\"）)》]"
# What a label opens with, when a run of digits at the start of a cell runs into it
# (`713000074二、上年结转…`, `00000002.其他…`): a character, or an enumerator.
LABEL_START = r"[\u4e00-\u9fff（(“\"]|\d[.、．]"
MEASURE = r"[位年月日号条项件个人次家万元%％届批期天]"
TOKEN = re.compile(r"\S+")


@dataclass
class Segment:
    """A row label (maybe empty) and the value cells that follow it on the same row."""

    label: str
    start: int
    end: int
    values: list[Cell] = field(default_factory=list)
    row: int = 0  # index of the physical row it came from
    has_values: bool = False  # a value cell that is not empty (kept by segments() as it adds cells)


def physical_rows(text: str, start: int, end: int) -> list[list[Cell]]:
    lines = _lines(text, start, end)
    filled = [ln for ln in lines if ln[0].strip()]
    one_per_line = sum(1 for s, _ in filled if s.startswith("\t") and "\t" not in s[1:])
    if filled and one_per_line >= 0.6 * len(filled):
        return _cell_per_line_rows(lines)
    rows = []
    for n, (line, offset) in enumerate(lines):
        line = _without_page_number(line)
        if _page_number_at_break(lines, n):
            continue
        for piece, at in _sentences(line, offset):
            if is_rule(piece) or _is_prose(piece):
                continue
            rows.append(_split_line(piece, at))
    return _join_wrapped_numbers(rows)


# A number in a narrow cell wraps at its thousands separator's last group: `1,52` / `2`.
NUMBER_HEAD = re.compile(r"\d{1,3}(?:,\d{3})*,(\d{1,2})")


def _join_wrapped_numbers(rows: list[list[Cell]]) -> list[list[Cell]]:
    """A line holding only the head of a number cut inside its last group of thousands (`1,52`)
    and the next line only its tail (`2`): one number (`1,522`), as plain pdftotext prints a
    number wrapped in a narrow column. Its span covers both pieces."""
    out: list[list[Cell]] = []
    for row in rows:
        head = out[-1] if out else None
        if head is not None and len(head) == 1 and len(row) == 1:
            m = NUMBER_HEAD.fullmatch(head[0].text.strip())
            tail = row[0].text.strip()
            if m and tail.isdigit() and len(m.group(1)) + len(tail) == 3:
                out[-1] = [Cell(head[0].text.strip() + tail, head[0].start, row[0].end)]
                continue
        out.append(row)
    return out


# A page's number printed in its footer, at the end of a line a PDF's text runs it into
# (`769- 5 -`, `第5页`, `第 5 页 共 12 页`): never a cell.
PAGE_NUMBER = re.compile(
    r"(?<![-—–－])[-—–－]\s*\d{1,3}\s*[-—–－]\s*$|"
    r"第\s*\d{1,3}\s*页(?:\s*[/，,]?\s*共\s*\d{1,3}\s*页)?\s*$"
)


def _page_number_at_break(lines: list[tuple[str, int]], n: int) -> bool:
    """A bare number alone on the line before (or after) a page break (pdftotext's form feed):
    the page's number in its footer (or header), not a cell."""
    line = lines[n][0]
    bare = line.strip()
    if "\f" in line or not (bare.isdigit() and len(bare) <= 3):
        return False
    after = next((ln for ln, _ in lines[n + 1 :] if ln.strip()), "")
    before = next((ln for ln, _ in reversed(lines[:n]) if ln.strip()), "")
    return after.startswith("\f") or before.rstrip(" ").endswith("\f")


def _without_page_number(line: str) -> str:
    """The line with a page number at its end blanked (same length: offsets hold)."""
    m = PAGE_NUMBER.search(line)
    return line if m is None else line[: m.start()] + " " * (m.end() - m.start())


SENTENCE_END = re.compile(r"(?<=。)")
# A number standing as a cell, not counted in a sentence (`14571条`, `2022年`): followed by
# neither a measure word nor a date word.
BARE_NUMBER = re.compile(r"\d+(?:\.\d+)?(?![\d.年月日号条项件个人次家位%％])")
# a long line without cell separators holding this many is a table's run of cells
MIN_BARE_NUMBERS = 3
MIN_RUN_DIGITS = 7  # … or this many digits in bare numbers (table 4's 15 cells run together)


def _sentences(line: str, offset: int) -> list[tuple[str, int]]:
    """A line without cell separators cut after each 。: a crawler dump holds whole sections,
    sentences and tables, on one line. Other lines are returned whole."""
    if "\t" in line or "|" in line or "。" not in line:
        return [(line, offset)]
    out, pos = [], 0
    for piece in SENTENCE_END.split(line):
        out.append((piece, offset + pos))
        pos += len(piece)
    return out


def _is_prose(line: str) -> bool:
    """A sentence of the narrative, not a table row: its numbers are not cells. A long line
    without cell separators is a sentence unless numbers stand in it as cells do."""
    if "。" in line:
        return True
    if "\t" in line or "|" in line or len(line.strip()) <= 100:
        return False
    bare = BARE_NUMBER.findall(line)
    # a table's run of cells: three numbers apart, or one run of digits as long as a row's cells
    return len(bare) < MIN_BARE_NUMBERS and sum(len(n) for n in bare) < MIN_RUN_DIGITS


def segments(rows: list[list[Cell]]) -> list[Segment]:
    out: list[Segment] = []
    for index, row in enumerate(rows):
        cells = [piece for cell in row for piece in split_cell(cell)]
        cells = _fold_enumerator(cells)
        current: Segment | None = None
        leading: list[Cell] = []
        if len(cells) >= 2 and all(read_cell(c.text).kind == EMPTY for c in cells):
            out.append(Segment("", cells[0].start, cells[0].start, cells, row=index))  # all blank
            continue
        for cell in cells:
            kind = read_cell(cell.text).kind
            if kind == TEXT:
                if current is None or current.has_values or _opens_row(cell.text, current):
                    current = Segment(cell.text.strip(), cell.start, cell.end, row=index)
                    out.append(current)
                else:
                    current.label += cell.text.strip()
                    current.end = cell.end
            elif current is None:
                if kind == EMPTY:
                    # merged label columns before a label, or blank columns of a row of values
                    leading.append(cell)
                    continue
                current = Segment(
                    "", cell.start, cell.start, leading + [cell], row=index, has_values=True
                )
                out.append(current)
            else:
                current.values.append(cell)
                current.has_values = current.has_values or kind != EMPTY
    return out


# The numbering a row or a group of rows opens with: 一、 （一） (a third level, `1.`, stays with
# the group heading before it: `（三）不予公开 1.属于国家秘密`).
OPENS_ROW = re.compile(
    r"(?<!\s)\s*+(?:[一二三四五六七八九十]{1,2}[、.．]|[（(][一二三四五六七八九十]{1,2}[)）])"
)


def _opens_row(text: str, current: Segment) -> bool:
    """A label cell numbered as a row of its own, after words without values (a header's words
    run into the first row in crawler text: `…法律服务机构 其他 一、本年新收…`)."""
    return bool(current.label) and bool(OPENS_ROW.match(text))


def split_cell(cell: Cell) -> list[Cell]:
    """Cut the numbers out of a cell that holds a label and numbers, or several numbers."""
    bare = cell.text.strip()
    if not bare or bare.isdigit():
        return [cell]
    pieces = _split_text(cell.text)
    if pieces is None:
        return [cell]
    return [Cell(text, cell.start + a, cell.start + b) for text, a, b in pieces]


@lru_cache(maxsize=16384)
def _split_text(text: str) -> tuple[tuple[str, int, int], ...] | None:
    """split_cell on a cell's text alone, with offsets from its start (labels repeat across
    reports: cached)."""
    cell = Cell(text, 0, len(text))
    tokens = [Cell(m.group(), m.start(), m.end()) for m in TOKEN.finditer(text)]
    if len(tokens) <= 1 and (not tokens or read_cell(tokens[0].text).kind != TEXT):
        return None
    cut = len(tokens)
    while cut > 0 and read_cell(tokens[cut - 1].text).is_value:
        cut -= 1
    values = tokens[cut:]
    if cut > 0:
        label = Cell(
            text[tokens[0].start : tokens[cut - 1].end], tokens[0].start, tokens[cut - 1].end
        )
        values = cut_digit_runs(label) + values
    pieces = tuple((c.text, c.start, c.end) for c in values)
    return None if pieces == ((cell.text, cell.start, cell.end),) else pieces


def cut_digit_runs(cell: Cell) -> list[Cell]:
    """Crawler text runs cells together: `规章000行政规范性文件77132470` → label, run, label, run.

    A run of digits after a label is cut out as a value cell, unless a measure word follows it
    (`保留4位小数` is prose) or it is the number of the next row's label (`…秘密00000002.其他`).
    """
    out: list[Cell] = []
    pos = 0
    for m in RUN.finditer(cell.text):
        a, b = m.start(), m.end()
        if re.match(MEASURE, cell.text[b : b + 1]):
            continue
        if re.match(r"[.、．]", cell.text[b : b + 1]):  # the run ends with the next label's number
            if b - a < 2:
                continue
            b -= 1
        after_label = a > 0 and (re.match(LABEL_END, cell.text[a - 1]) or (out and a == pos))
        before_label = (
            a == 0 and b < len(cell.text) and bool(re.match(LABEL_START, cell.text[b : b + 2]))
        )
        if not (after_label or before_label):
            continue
        if cell.text[pos:a]:
            out.append(Cell(cell.text[pos:a], cell.start + pos, cell.start + a))
        out.append(Cell(cell.text[a:b], cell.start + a, cell.start + b))
        pos = b
    if not out:
        return [cell]
    if cell.text[pos:]:
        out.append(Cell(cell.text[pos:], cell.start + pos, cell.end))
    return out


def _fold_enumerator(cells: list[Cell]) -> list[Cell]:
    """`1 属于国家秘密`: a bare small number that opens a row before its label is the label's
    number."""
    firsts = list(
        itertools.islice((i for i, c in enumerate(cells) if read_cell(c.text).kind != EMPTY), 2)
    )
    if len(firsts) >= 2:
        i, j = firsts[0], firsts[1]
        head, nxt = cells[i], cells[j]
        if (
            re.fullmatch(r"\d{1,2}[.、．]?", head.text.strip())
            and read_cell(nxt.text).kind == TEXT
            and j == i + 1
            and read_cell(head.text).kind == NUMBER
        ):
            merged = Cell(head.text.strip() + "." + nxt.text.strip(), head.start, nxt.end)
            return cells[:i] + [merged] + cells[j + 1 :]
    return cells


def _lines(text: str, start: int, end: int) -> list[tuple[str, int]]:
    out, pos = [], start
    for line in text[start:end].split("\n"):
        out.append((line, pos))
        pos += len(line) + 1
    return out


def _split_line(line: str, offset: int) -> list[Cell]:
    if "\t" in line:
        return _cells_by(line, offset, "\t")
    if line.count("|") >= 2 or line.lstrip().startswith("|") or line.rstrip().endswith(" |"):
        stripped = line.strip()
        lead = line.index(stripped[0])
        body = stripped[1:] if stripped.startswith("|") else stripped
        body = body[:-1] if body.endswith("|") else body
        base = offset + lead + (1 if stripped.startswith("|") else 0)
        return _cells_by(body, base, "|")
    return [Cell(m.group(), offset + m.start(), offset + m.end()) for m in TOKEN.finditer(line)]


def _cells_by(line: str, offset: int, sep: str) -> list[Cell]:
    cells, pos = [], 0
    for part in line.split(sep):
        cells.append(Cell(part, offset + pos, offset + pos + len(part)))
        pos += len(part) + 1
    return cells


def _cell_per_line_rows(lines: list[tuple[str, int]]) -> list[list[Cell]]:
    rows: list[list[Cell]] = []
    current: list[Cell] = []
    for line, offset in lines:
        if line == "" or (not line.strip() and "\t" not in line):
            if current:
                rows.append(current)
                current = []
            continue
        if is_rule(line) and line.strip():
            continue
        if line.startswith("\t") or not current:
            body = line[1:] if line.startswith("\t") else line
            current.append(Cell(body, offset + len(line) - len(body), offset + len(line)))
        else:
            prev = current[-1]
            current[-1] = Cell(prev.text + line.strip(), prev.start, offset + len(line))
    if current:
        rows.append(current)
    return rows
