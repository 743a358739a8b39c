"""What the LLM must return for one table, and the checks that keep it honest.

A reply names the rows it was asked for by id and gives one value per column, null for a blank
cell: `{"rows": [{"row": "granted", "values": [11, 1, 0, 0, 0, 0, 12]}]}`. The schema sent with
the request bounds it (the ids asked, enumerated; exactly the row's number of values; exactly the
number of rows asked), so grammar-constrained decoding cannot loop. Grounding is done by the
tool, not the model (a quote may be given; it is not needed and not used):

- each row's values must be numbers printed in that row's own text (`Record.regions["t3.granted"]`,
  the row's label through its last value cell), every printed number used once, in order; a
  value is a whole printed number, or a piece of a run of digits the text prints together;
- a run cut into pieces must be settled by the row's arithmetic (the template's identities over
  the row's own columns: 总计 = its parts), every column given; table 2 has no such sum, so a run
  there is not cut by the LLM;
- a row the rules did not locate is grounded in the table's region only, as whole numbers;
- a reply whose values break an identity across rows (T3-A, T3-C) that another reading of the
  same printed text keeps, every other term known (the rules' unmarked values, or the reply), is
  a rejection (`refuted`);
- a reply that reads no value at all (every row null) is a rejection.

Problems are put in words a small model can act on, a few at a time (`MAX_PROBLEMS`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationInfo, model_validator

from .cells import NUMBER, OCR, normalise, read_cell
from .spec import field_by_key
from .template import template

SECTIONS = ("t2", "t3", "t4")
FOLD = str.maketrans("０１２３４５６７８９〇", "01234567890")
MAX_PROBLEMS = 3  # named in one re-ask; a model acts on a few, not on 158 lines
MAX_QUOTE = 200  # characters, when a reply gives a quote anyway (not used for grounding)
BLANK_WORDS = {"", "-", "/", "—", "–", "无", "null", "none", "n/a"}
CELL = re.compile(r"[^\s|]+")
RUN = re.compile(r"\d+(?:\.\d+)?")
# A row's enumerator printed before its label (1. 2、 (3)), never a value.
ENUMERATOR = re.compile(r"^[(（]?\d{1,2}[)）]?[.、．](?!\d)|^[(（]\d{1,2}[)）]")
LEADING_ZERO = re.compile(r"0\d+")  # a run no single number prints: several cells run together
LABEL_PREFIX = re.compile(r"^[（(]?[一二三四五六七八九十\d]+[)）、.．]?\s*")


@dataclass(frozen=True)
class RowSpec:
    id: str  # "granted", "denied.state_secret", "review", …
    label: str  # the row as the template prints it
    keys: tuple[str, ...]  # canonical keys, in column order
    columns: tuple[str, ...]  # column labels, in order
    money: tuple[str, ...] = ()  # keys stored in 万元
    words: tuple[str, ...] = ()  # every name a reply may give it by (id, label, aliases)


@dataclass
class LLMValue:
    """One value the LLM read, grounded by the tool: where it stands in the document and how."""

    key: str
    value: int | float | None
    quote: str  # the row's text as printed (the span it was grounded in)
    start: int | None = None
    end: int | None = None
    source: str = "llm"  # "llm:<model>"
    prompt: str = ""  # "t3.v2"
    grounded: str = "row"  # "row": in the row's own text; "region": the row was not located
    printed: str = "whole"  # "whole" number, a "cut" piece of a run, or "ocr" (a confusable letter)


# ---------------------------------------------------------------- the template's rows
@lru_cache(maxsize=8)
def row_specs(section: str, template_name: str) -> tuple[RowSpec, ...]:
    """The rows of one table as the prompt names them, from the template (extractor/template.py)."""
    if section not in SECTIONS:
        raise ValueError(f"unknown section {section!r}")
    labels = field_by_key()
    table = template(template_name).tables[section]
    out = []
    for row in table.rows:
        ks = row.keys
        if section == "t3":
            label = labels[ks[-1]].label_zh.split(" × ")[0]
            columns = tuple(
                labels[k].label_zh.split(" × ")[1].replace("法人或其他组织 ", "") for k in ks
            )
        else:
            label = labels[ks[0]].label_zh.rsplit(" ", 1)[0]
            columns = tuple(labels[k].label_zh.rsplit(" ", 1)[1] for k in ks)
        money = tuple(f"t2.{row.id}.{m}" for m in row.money if f"t2.{row.id}.{m}" in ks)
        words = tuple(dict.fromkeys(w for w in (row.id, row.label, label, *row.aliases) if w))
        out.append(RowSpec(row.id, label, ks, columns, money, words))
    return tuple(out)


def spec_of(section: str, template_name: str, row_id: str) -> RowSpec:
    """The row with this id. Raises KeyError."""
    for spec in row_specs(section, template_name):
        if spec.id == row_id:
            return spec
    raise KeyError(f"{section} has no row {row_id!r}")


def short_label(section: str, spec: RowSpec) -> str:
    """A row's label cut to the words that tell it from the others."""
    if section != "t3":
        return spec.label.split(" ")[-1] if section == "t2" else spec.label
    table = template("2021" if spec.id != "other" else "2019").tables["t3"]
    row = table.row(spec.id)
    word = row.label if row.bare or row.heading_only or not row.aliases else row.aliases[0]
    group = next((g.label for g in table.groups if g.id == row.group), "") if "." in spec.id else ""
    return f"{group} {word}".strip()


def rows_table(section: str, template_name: str, ids: tuple[str, ...] | None = None) -> str:
    """The rows to read as the prompt lists them: `id: label`, with the columns once when all
    rows share them (`ids`: those asked; None: every row)."""
    specs = [s for s in row_specs(section, template_name) if ids is None or s.id in ids]
    shared = len({s.columns for s in specs}) == 1
    lines = (
        [
            f"Columns, in order ({len(specs[0].columns)} values per row): "
            f"{', '.join(specs[0].columns)}.",
            "Rows to read (id: label):",
        ]
        if shared
        else ["Rows to read (id: label | columns, in order):"]
    )
    for s in specs:
        lines.append(
            f"{s.id}: {short_label(section, s)}" + ("" if shared else f" | {', '.join(s.columns)}")
        )
    return "\n".join(lines)


def rows_printed(printed: dict[str, str]) -> str:
    """The asked rows' own text, one a line (`id: cell | cell | …`); the rules located them."""
    by_text: dict[str, list[str]] = {}
    for row_id, text in printed.items():
        by_text.setdefault(text, []).append(row_id)  # table 4's groups share one line
    return (
        "\n".join(f"{', '.join(ids)}: {text}" for text, ids in by_text.items()) or "(not located)"
    )


def as_cells(text: str) -> str:
    """A row's text on one line, its cells apart: tabs and line ends as ` | `, so a blank cell
    shows."""
    return " | ".join(cell.strip() for cell in re.split(r"\t|\n", text.strip()))


def resolve_row(
    section: str, template_name: str, given: object, asked: tuple[str, ...]
) -> tuple[str | None, str]:
    """The row id a reply names by its id or its label (`本年新收` → `new`); (None, why) when it
    names none or several. `given` is what the reply holds there, whatever its JSON type."""
    text = normalise(str(given or ""))
    if not text:
        return None, "a row without its id"
    specs = row_specs(section, template_name)
    for s in specs:
        if text == s.id:
            return s.id, ""
    bare = LABEL_PREFIX.sub("", text)
    exact = [s.id for s in specs if any(bare and bare == normalise(w) for w in s.words[1:])]
    hits = exact or [
        s.id
        for s in specs
        if bare and any(bare in normalise(w) or normalise(w) in bare for w in s.words[1:])
    ]
    hits = list(dict.fromkeys(hits))
    if len(hits) > 1:
        preferred = [h for h in hits if h in asked]
        hits = preferred if len(preferred) == 1 else hits
    if len(hits) == 1:
        return hits[0], ""
    ids = ", ".join(asked)
    if len(hits) > 1:
        return None, f"row {given!r} could be {', '.join(hits[:4])}: name it by its id ({ids})"
    return None, f"row {given!r} is not a row of this table: name it by its id ({ids})"


# ---------------------------------------------------------------- the printed numbers
@dataclass(frozen=True)
class Token:
    """A number as the text prints it: its digits (a run may hold several cells), its span."""

    digits: str  # "12", "763.0137", "801000081"
    start: int
    end: int
    ocr: bool = False  # read through a character OCR confuses with a digit (O → 0)
    glued: bool = (
        False  # digits run on from a label (`申请数量801000081`): they may hold several cells
    )
    printed: str = ""  # the cell as printed, when it is not its digits (`O` read as 0)


def printed_numbers(text: str, start: int, end: int) -> list[Token]:
    """The numbers printed in text[start:end], in order, as tokens with document spans. A cell
    that is a number (as the rules read cells, OCR confusions included) is one token; a cell that
    is text keeps the digit runs in it (a label with its digits run on: `申请数量801000081`), and
    so does a run with a leading zero (`0000000`: cells run together, not the number 0); an
    enumerator (`1.`) is no number."""
    out: list[Token] = []
    for m in CELL.finditer(text, start, end):
        cell, at = m.group(), m.start()
        reading = read_cell(cell)
        digits = cell.translate(FOLD)
        if reading.kind == NUMBER and LEADING_ZERO.fullmatch(digits):  # 0000000: seven cells
            out.append(Token(digits, at, m.end(), glued=True))
            continue
        if reading.kind in (NUMBER, OCR):
            out.append(
                Token(
                    number_text(reading.value),
                    at,
                    m.end(),
                    reading.kind == OCR,
                    printed=cell if reading.kind == OCR else "",
                )
            )
            continue
        folded = cell.translate(FOLD)
        skip = ENUMERATOR.match(folded)
        for r in RUN.finditer(folded, skip.end() if skip else 0):
            out.append(Token(r.group(), at + r.start(), at + r.end(), glued=True))
    return out


def number_text(value) -> str:
    """A value as a report prints it: 12, 763.0137 (no sign: the printed digits are compared)."""
    v = abs(value)
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return f"{v:f}".rstrip("0").rstrip(".") if isinstance(v, float) else str(v)


@dataclass
class Placed:
    """Where each non-null value of a row was found: (token, how) in column order."""

    spans: list[tuple[int, int] | None] = field(default_factory=list)
    how: list[str] = field(
        default_factory=list
    )  # "whole", "cut" (from a run), "ocr" per column ("" for null)
    problem: str = ""


def align(values: list, tokens: list[Token]) -> Placed:
    """Match a row's values, in column order, to its printed numbers: each value a whole token
    or consecutive pieces of one (a run), every token used, nothing else."""
    placed = Placed()
    ti, offset = 0, 0
    for v in values:
        if v is None:
            placed.spans.append(None)
            placed.how.append("")
            continue
        digits = number_text(v)
        if ti >= len(tokens) or not tokens[ti].digits.startswith(digits, offset):
            placed.problem = _misplaced(v, tokens, ti)
            return placed
        token = tokens[ti]
        whole = offset == 0 and len(digits) == len(token.digits)
        at = token.start + (offset if not whole else 0)
        placed.spans.append((at, at + len(digits)) if not token.ocr else (token.start, token.end))
        placed.how.append("ocr" if token.ocr else "whole" if whole and not token.glued else "cut")
        offset += len(digits)
        if offset == len(token.digits):
            ti, offset = ti + 1, 0
    if ti < len(tokens) or offset:
        rest = [t.digits for t in tokens[ti:]]
        rest[:1] = [rest[0][offset:]] if rest else []  # what is left of a run cut so far
        placed.problem = (
            f"the row prints {_show(tokens)} and the reply leaves {', '.join(rest)} out: give "
            "every "
            f"printed number once, in its column; null only for a blank cell"
        )
    return placed


def _misplaced(v, tokens: list[Token], ti: int) -> str:
    if not tokens:
        return f"{number_text(v)} is not printed in this row (it prints no number): give null"
    if ti >= len(tokens):
        return f"{number_text(v)} is one value too many: the row prints only {_show(tokens)}"
    if v == 0 and all("0" not in t.digits for t in tokens):
        return f"0 is not printed in this row ({_show(tokens)}): a blank cell is null, not 0"
    return (
        f"{number_text(v)} is not the next number printed in this row ({_show(tokens)}), "
        "in column order"
    )


def _show(tokens: list[Token]) -> str:
    return " ".join(t.printed or t.digits for t in tokens)


# ---------------------------------------------------------------- one row checked
@dataclass(frozen=True)
class Grounds:
    """What a reply is checked against: the document's text, the table's region and each asked
    row's own span (None: the rules did not locate it)."""

    text: str
    table: tuple[int, int]
    rows: dict[str, tuple[int, int] | None]
    between: frozenset = frozenset()  # rows whose span is the text between the rows around them
    # the rules' unmarked values of the table's other cells, by key: terms of its identities
    known: dict = field(default_factory=dict)


def grounds_of(
    text: str, section: str, template_name: str, regions: dict, asked, known=None
) -> Grounds:
    """The grounds of a table's asked rows. A row the rules did not locate, alone between two
    rows they did (in the template's order), or the table's last row after one they did, takes
    the text between those (or to the table's end) as its span: its label may be misprinted past
    recognition while its numbers stand there. `known`: the rules' unmarked values of the table
    ({key: value}), which a reply's values must keep the table's identities with."""
    table = regions[section]
    order = [s.id for s in row_specs(section, template_name)]
    spans = {r: regions.get(f"{section}.{r}") for r in order}
    rows, between = {}, set()
    for row_id in asked:
        rows[row_id] = spans.get(row_id)
        if rows[row_id] is not None:
            continue
        i = order.index(row_id)
        before = next((spans[r] for r in reversed(order[:i]) if spans[r]), None)
        after_i = next((j for j in range(i + 1, len(order)) if spans[order[j]]), None)
        after = spans[order[after_i]] if after_i is not None else None
        last = i == len(order) - 1  # the table's last row: the region's end closes its gap
        if before is None or (after_i != i + 1 and not (last and after_i is None)):
            continue  # not alone in its gap: the region only
        gap = (before[1], table[1] if after is None else after[0])
        if (
            gap[0] < gap[1]
            and printed_numbers(text, *gap)
            and table[0] <= gap[0]
            and gap[1] <= table[1]
        ):
            rows[row_id] = gap
            between.add(row_id)
    return Grounds(text, table, rows, frozenset(between), dict(known or {}))


def row_problem(
    section: str, template_name: str, spec: RowSpec, values: list, unit, grounds: Grounds
) -> tuple[str, Placed]:
    """Why a row's values cannot be taken (empty when they can), and where they stand."""
    where = f"row {spec.id}"
    if all(v is None for v in values):  # "a row you cannot read: null for all its values"
        return "", Placed([None] * len(values), [""] * len(values))  # the merge leaves it be
    span = grounds.rows.get(spec.id)
    if span is None:
        placed = _in_region(values, grounds)
        return (f"{where}: {placed.problem}" if placed.problem else ""), placed
    tokens = printed_numbers(grounds.text, *span)
    present = [v for v in values if v is not None]
    if len(present) > len(tokens) and not any(t.glued or len(t.digits) > 1 for t in tokens):
        n, blanks = len(tokens), len(values) - len(tokens)
        return (
            f"{where}: the row prints only {n} number{'s' if n != 1 else ''} ({_show(tokens)}) for "
            f"{len(values)} columns: give {'each' if n != 1 else 'it'} in its column and null for "
            f"the {blanks} "
            f"blank cells"
        ), Placed()
    placed = align(values, tokens)
    if placed.problem:
        return f"{where}: {placed.problem}", placed
    if (
        "cut" in placed.how and len(spec.columns) > 1
    ):  # a run in a row of one cell can only be that cell
        problem = _cut_problem(section, template_name, spec, values)
        if problem:
            return f"{where}: {problem}", placed
    return _unit_problem(where, spec, values, unit, grounds), placed


def check_reply(
    section: str, template_name: str, rows: list[dict], grounds: Grounds
) -> tuple[list[str], dict[str, Placed]]:
    """The problems of a reply's rows (in words) and where each row's values stand. Rows printed
    on one text (table 4's groups in one line) are checked together: their values, in the
    template's order, against that text's numbers."""
    order = {s.id: i for i, s in enumerate(row_specs(section, template_name))}
    groups: dict[object, list[dict]] = {}
    for row in rows:
        span = grounds.rows.get(row["row"])
        groups.setdefault(span if span is not None else ("alone", row["row"]), []).append(row)
    problems, placed = [], {}
    for group in groups.values():
        group.sort(key=lambda r: order[r["row"]])
        shared = grounds.rows.get(group[0]["row"])
        if len(group) == 1 or shared is None:  # (rows are grouped only by a span they share)
            row = group[0]
            spec = spec_of(section, template_name, row["row"])
            problem, placed[row["row"]] = row_problem(
                section, template_name, spec, row["values"], row.get("unit"), grounds
            )
            problems += [problem] if problem else []
            continue
        problems += _group(section, template_name, group, grounds, shared, placed)
    return problems, placed


def _group(section: str, template_name: str, group: list[dict], grounds: Grounds,
           span: tuple[int, int], placed) -> list:
    """Rows sharing one text (`span`): their values together, in order, against its numbers."""
    ids = [r["row"] for r in group]
    where = f"rows {', '.join(ids)} (printed together)"
    values = [v for r in group for v in r["values"]]
    together = align(values, printed_numbers(grounds.text, *span))
    at = 0
    for row in group:
        n = len(row["values"])
        placed[row["row"]] = Placed(together.spans[at : at + n], together.how[at : at + n])
        at += n
    if together.problem:
        return [f"{where}: {together.problem}"]
    out = []
    for row in group:
        spec = spec_of(section, template_name, row["row"])
        if "cut" in placed[row["row"]].how:
            problem = _cut_problem(section, template_name, spec, row["values"])
            out += [f"row {spec.id}: {problem}"] if problem else []
    return out


def _in_region(values: list, grounds: Grounds) -> Placed:
    """A row the rules did not locate: its values must stand as consecutive whole numbers somewhere
    in the table's region."""
    tokens = printed_numbers(grounds.text, *grounds.table)
    present = [v for v in values if v is not None]
    wanted = [number_text(v) for v in present]
    for i in range(len(tokens) - len(wanted) + 1):
        if [t.digits for t in tokens[i : i + len(wanted)]] == wanted:
            it = iter(tokens[i : i + len(wanted)])
            spans, how = [], []
            for v in values:
                t = next(it) if v is not None else None
                spans.append((t.start, t.end) if t else None)
                how.append(("ocr" if t.ocr else "whole") if t else "")
            return Placed(spans, how)
    return Placed(
        problem=f"the values {', '.join(wanted)} are not printed in the table as whole numbers "
        "in this order"
    )


def row_identities(template_name: str, spec: RowSpec):
    """The template's identities over this row's own columns (T3-B, T4: 总计 = its parts)."""
    keys = set(spec.keys)
    return [i for i in template(template_name).identities if set(i.keys) <= keys]


def _cut_problem(section: str, template_name: str, spec: RowSpec, values: list) -> str:
    identities = row_identities(template_name, spec)
    if not identities:
        return (
            "its digits run together and this table has no sum to check a cut against: give null "
            "for the cells "
            "of the run"
        )
    given = dict(zip(spec.keys, values))
    for identity in identities:
        if any(given.get(k) is None for k in identity.keys):
            return (
                "its digits run together: give every column (the cut is checked by the row's sum, "
                f"{identity.says}), or null for the whole row"
            )
        left, right = sum(given[k] for k in identity.left), sum(given[k] for k in identity.right)
        if left != right:
            return (
                f"its digits run together and this cut does not add up ({identity.says}: {left} ≠ "
                f"{right}): "
                "cut the digits so that it does, or give null for the whole row"
            )
    return ""


def _unit_problem(where: str, spec: RowSpec, values: list, unit, grounds: Grounds) -> str:
    if not spec.money or all(v is None for k, v in zip(spec.keys, values) if k in spec.money):
        return ""
    table = grounds.text[grounds.table[0] : grounds.table[1]]
    if unit == "元" and not re.search(r"(?<!万)元", table):
        return f"{where}: unit 元 is not stated in the table"
    if unit == "万元" and "万元" not in table:
        return f"{where}: unit 万元 is not stated in the table"
    return ""


# ---------------------------------------------------------------- the table's arithmetic
def refuted(section: str, template_name: str, rows: list[dict], grounds: Grounds) -> list[str]:
    """The rows whose values break an identity of the table (template.identities: T3-A, T3-C, …)
    that another reading of the same printed text keeps, with every identity the reply keeps. An
    identity counts when each of its terms is known: from the reply, or the rules' values, marked
    ones included (`grounds.known`: a doubtful term can only cost a right reply). One that no
    reading of the row keeps fails for reasons outside the row (the report's own arithmetic):
    never a rejection. Rows without their own text (not located, or
    sharing it) are not judged. Returns the problems in words, one per row."""
    specs = {row["row"]: spec_of(section, template_name, row["row"]) for row in rows}
    given = {k: v for row in rows for k, v in zip(specs[row["row"]].keys, row["values"])}
    values = {**grounds.known, **given}
    identities = [i for i in template(template_name).identities if i.table == section]
    spans = [grounds.rows.get(r) for r in specs]
    problems = []
    for row_id, spec in specs.items():
        span = grounds.rows.get(row_id)
        if span is None or spans.count(span) > 1:
            continue
        mine = [i for i in identities if set(i.keys) & set(spec.keys)]
        broken = [i for i in mine if _holds(i, values) is False]
        if not broken:
            continue
        kept = {i.name for i in mine if _holds(i, values)}
        tokens = printed_numbers(grounds.text, *span)
        for reading in readings(tokens, len(spec.keys)):
            if "cut" in reading.how and _cut_problem(section, template_name, spec, reading.values):
                continue  # not a reading the grounding would take
            trial = {**values, **dict(zip(spec.keys, reading.values))}
            held = {i.name for i in mine if _holds(i, trial)}
            fixed = [i for i in broken if i.name in held]
            if fixed and kept <= held:
                problems.append(f"row {row_id}: {_fails(fixed[0], values)}")
                break
    return problems


def _holds(identity, values: dict) -> bool | None:
    """Does the identity hold with these values? None when a term is unknown (absent, or null)."""
    terms = [values.get(k) for k in identity.keys]
    if any(v is None for v in terms):
        return None
    return sum(values[k] for k in identity.left) == sum(values[k] for k in identity.right)


def _fails(identity, values: dict) -> str:
    """An identity that fails, in words: `with these values T3-A fails in column natural (new +
    carried_over ≠ total + carried_forward: 124 ≠ 115); …`."""
    cells = {k: tuple(k.split(".", 1)[1].rsplit(".", 1)) for k in identity.keys}  # (row, column)
    per_column = len({column for _, column in cells.values()}) == 1
    where = "column" if per_column else "row"
    at = cells[identity.left[0]][1 if per_column else 0]
    left, right = (" + ".join(cells[k][0 if per_column else 1] for k in side)
                   for side in (identity.left, identity.right))
    sums = [sum(values[k] for k in side) for side in (identity.left, identity.right)]
    return (
        f"with these values {identity.check} fails in {where} {at} ({left} ≠ {right}: "
        f"{sums[0]} ≠ {sums[1]}); the row's printed digits read another way keep it: read them "
        "again"
    )


@dataclass(frozen=True)
class Reading:
    values: tuple  # one per column, None for a blank
    how: tuple  # "whole", "cut" or "" (blank) per column, as `align` places them


def readings(tokens: list[Token], n: int, limit: int = 20000):
    """Every way a row's printed numbers fill its n columns as `align` accepts them: in order,
    each number whole or cut into pieces (no piece with a leading zero), a blank anywhere,
    every number used; at most `limit` of them (a longer row is not judged further)."""
    count = 0

    def walk(col: int, ti: int, off: int, cut: bool, blank: bool):
        nonlocal count
        if count >= limit or n - col < len(tokens) - ti:
            return
        if col == n:
            count += 1
            yield Reading((), ())
            return
        if not cut and off == 0:  # a cut row gives every column: no blank beside a cut
            for rest in walk(col + 1, ti, off, cut, True):
                yield Reading((None,) + rest.values, ("",) + rest.how)
        if ti == len(tokens):
            return
        token = tokens[ti]
        left = token.digits[off:]
        for size in range(1, len(left) + 1):
            piece = left[:size]
            whole = size == len(left) and off == 0
            if size > 1 and piece[0] == "0" and piece.isdigit():
                continue  # align reads a value's digits without a leading zero
            if not whole and (token.ocr or not piece.isdigit()):
                continue
            how = "whole" if whole and not token.glued else "cut"
            if how == "cut" and blank:
                continue
            value = int(piece) if piece.isdigit() else float(piece)
            at = (ti + 1, 0) if size == len(left) else (ti, off + size)
            for rest in walk(col + 1, *at, cut or how == "cut", blank):
                yield Reading((value,) + rest.values, (how,) + rest.how)

    yield from walk(0, 0, 0, False, False)


# ------------------------------------------------------- the reply: shape in words, then grounding
class Reply(BaseModel):
    """A reply for one table. Subclassed per request (`reply_model`) with the rows asked."""

    model_config = ConfigDict(hide_input_in_errors=True)
    rows: list[dict[str, Any]]  # {"row": id, "values": [...], "unit": 元|万元|None}, normalised

    SECTION: ClassVar[str] = ""  # set by reply_model
    TEMPLATE: ClassVar[str] = ""
    ASKED: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def model_json_schema(cls, *args, **kwargs) -> dict:
        """The schema sent: compact and bounded (see `reply_schema`)."""
        return reply_schema(cls.SECTION, cls.TEMPLATE, cls.ASKED)

    @model_validator(mode="before")
    @classmethod
    def _shape(cls, data):
        rows, problems = normalise_reply(data, cls.SECTION, cls.TEMPLATE, cls.ASKED)
        if problems:
            raise ValueError(in_words(problems))
        return {"rows": rows}

    @model_validator(mode="after")
    def _grounded(self, info: ValidationInfo):
        grounds = (info.context or {}).get("grounds")
        if grounds is None:
            return self  # no context: shape only
        problems, _ = check_reply(self.SECTION, self.TEMPLATE, self.rows, grounds)
        if not problems:
            problems = refuted(self.SECTION, self.TEMPLATE, self.rows, grounds)
        if not any(v is not None for row in self.rows for v in row["values"]):
            problems.insert(
                0,
                "no value read: every row is null; give the numbers printed in each row (null only "
                "for a blank cell)",
            )
        if problems:
            raise ValueError(in_words(problems))
        return self


def in_words(problems: list[str]) -> str:
    """At most MAX_PROBLEMS problems, one a line, and how many more there are."""
    shown = problems[:MAX_PROBLEMS]
    more = len(problems) - len(shown)
    return "\n".join(shown) + (f"\n(and {more} more problems of these kinds)" if more else "")


def normalise_reply(
    data, section: str, template_name: str, asked: tuple[str, ...]
) -> tuple[list[dict], list[str]]:
    """A reply's rows as {"row", "values", "unit"} with the asked ids, and the problems of shape
    in words. Accepts the usual ways a model writes it: {"rows": [...]}, a bare list of rows, a
    row as [id, [values]], rows keyed by id ({"new": [...]}), a row named by its label."""
    if isinstance(data, (str, bytes)):
        return [], ['the reply is not JSON: answer with one JSON object {"rows": [...]}']
    if isinstance(data, dict) and "rows" not in data:
        inner = data.get("arguments") or data.get("parameters")
        if isinstance(inner, dict):
            data = inner
        elif data and all(isinstance(v, list) for v in data.values()):
            data = {"rows": [{"row": k, "values": v} for k, v in data.items()]}
    rows = data.get("rows") if isinstance(data, dict) else data if isinstance(data, list) else None
    if isinstance(rows, list) and rows and all(_is_number(r) for r in rows):
        rows = None  # [1]: a list of numbers, not of rows
    if not isinstance(rows, list):
        return [], [
            f'the reply must be one JSON object {{"rows": [{{"row": id, "values": [...]}}]}}, not '
            f"{_kind(data)}"
        ]
    out, problems, seen = [], [], set()
    for i, row in enumerate(rows):
        parsed, problem = _row(row, i, section, template_name, asked)
        if problem:
            problems.append(problem)
            continue
        if parsed is None:
            continue  # a row of the table that was not asked: not used
        if parsed["row"] in seen:
            problems.append(f"row {parsed['row']} is given twice: give each row once")
            continue
        seen.add(parsed["row"])
        out.append(parsed)
    if not out and not problems:
        problems.append(f"no row read: give the rows {', '.join(asked)}")
    return out, problems


def _is_number(x) -> bool:
    return x is None or (isinstance(x, (int, float)) and not isinstance(x, bool))


def _kind(data) -> str:
    if isinstance(data, list) and data and all(_is_number(r) for r in data):
        return "a list of numbers"
    return {
        list: "a list",
        dict: 'an object without "rows"',
        str: "text",
        int: "a number",
        float: "a number",
        type(None): "null",
        bool: "true/false",
    }.get(type(data), type(data).__name__)


def _row(row, i: int, section: str, template_name: str, asked: tuple[str, ...]):
    if isinstance(row, list) and len(row) == 2 and isinstance(row[1], list):
        row = {"row": row[0], "values": row[1]}
    if not isinstance(row, dict):
        return None, f'rows[{i}] must be an object {{"row": id, "values": [...]}}, not {_kind(row)}'
    row_id, why = resolve_row(section, template_name, row.get("row", row.get("id", "")), asked)
    if row_id is None:
        return None, why
    if row_id not in asked:
        return None, ""
    spec = spec_of(section, template_name, row_id)
    values = row.get("values")
    if not isinstance(values, list):
        return (
            None,
            f'row {row_id}: "values" must be a list of {len(spec.columns)} numbers or nulls',
        )
    if len(values) != len(spec.columns):
        return None, (
            f"row {row_id}: {len(values)} values for {len(spec.columns)} columns "
            f"({', '.join(spec.columns)}); "
            f"give {len(spec.columns)}, null for a blank cell"
        )
    parsed, problems = [], []
    for column, v in zip(spec.columns, values):
        number, problem = _value(v, section)
        parsed.append(number)
        if problem:
            problems.append(f"row {row_id}, {column}: {problem}")
    if problems:
        return None, problems[0]
    unit = row.get("unit") if row.get("unit") in ("元", "万元") else None
    return {"row": row_id, "values": parsed, "unit": unit}, ""


def _value(v, section: str):
    """A cell's value from a reply: a number, or null; a number written as text is read."""
    if v is None:
        return None, ""
    if isinstance(v, bool):
        return None, f"{v!r} is not a number: give the number printed, or null"
    if isinstance(v, str):
        text = normalise(v).lower()
        if text in BLANK_WORDS:
            return None, ""
        reading = read_cell(v)
        if reading.kind != NUMBER:
            return (
                None,
                f"{v!r} is not a number: give the digits printed, or null when the cell is blank",
            )
        v = reading.value
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if isinstance(v, float) and section != "t2":
        return None, f"{v} is not a whole number: this table counts, give the digits printed"
    if not isinstance(v, (int, float)):
        return None, f"{v!r} is not a number: give the number printed, or null"
    return v, ""


@lru_cache(maxsize=64)
def reply_model(
    section: str, template_name: str, asked: tuple[str, ...] | None = None
) -> type[Reply]:
    """The pydantic model of a reply for these rows of this table (`asked` None: every row)."""
    ids = asked or tuple(s.id for s in row_specs(section, template_name))
    title = {"t2": "Table2", "t3": "Table3", "t4": "Table4"}[section]
    return type(
        title,
        (Reply,),
        {
            "SECTION": section,
            "TEMPLATE": template_name,
            "ASKED": ids,
            "__doc__": f"The cells of table {section[1]}",
            "__module__": __name__,
        },
    )


def reply_schema(section: str, template_name: str, asked: tuple[str, ...]) -> dict:
    """The JSON schema of a reply: the row ids asked (enumerated), exactly each row's number of
    values (integers; numbers only in a row with money), exactly the number of rows asked."""
    specs = [s for s in row_specs(section, template_name) if s.id in asked]
    shapes: dict[tuple, list[str]] = {}
    for s in specs:
        shapes.setdefault((len(s.columns), bool(s.money)), []).append(s.id)
    variants = []
    for (n, decimal), ids in shapes.items():
        item = {"type": ["number" if decimal else "integer", "null"]}
        props = {
            "row": {"type": "string", "enum": ids},
            "values": {"type": "array", "items": item, "minItems": n, "maxItems": n},
        }
        if section == "t2" and any(spec_of(section, template_name, i).money for i in ids):
            props["unit"] = {"type": ["string", "null"], "enum": ["元", "万元", None]}
        variants.append(
            {
                "type": "object",
                "properties": props,
                "required": ["row", "values"],
                "additionalProperties": False,
            }
        )
    items = variants[0] if len(variants) == 1 else {"anyOf": variants}
    return {
        "type": "object",
        "title": {"t2": "Table2", "t3": "Table3", "t4": "Table4"}[section],
        "properties": {
            "rows": {
                "type": "array",
                "items": items,
                "minItems": len(specs),
                "maxItems": len(specs),
            }
        },
        "required": ["rows"],
        "additionalProperties": False,
    }


def values_from_reply(reply: Reply, grounds: Grounds) -> dict[str, LLMValue]:
    """Every key of the rows the reply gives, grounded: the value's span in the document, the row
    text it stands in, and how it is printed (whole, a cut piece of a run, an OCR confusion)."""
    out: dict[str, LLMValue] = {}
    _, placements = check_reply(reply.SECTION, reply.TEMPLATE, reply.rows, grounds)
    for row in reply.rows:
        spec = spec_of(reply.SECTION, reply.TEMPLATE, row["row"])
        span = grounds.rows.get(spec.id)
        placed = placements.get(spec.id) or Placed()
        raw = grounds.text[span[0] : span[1]].strip() if span else ""
        for i, (key, v) in enumerate(zip(spec.keys, row["values"])):
            where = placed.spans[i] if i < len(placed.spans) else None
            if v is not None and key in spec.money:
                v = round(float(v) / 10000, 6) if row.get("unit") == "元" else float(v)
            how = placed.how[i] if i < len(placed.how) else ""
            out[key] = LLMValue(
                key,
                v,
                raw,
                where[0] if where else None,
                where[1] if where else None,
                grounded="between" if spec.id in grounds.between else "row" if span else "region",
                printed=how or "whole",
            )
    return out
