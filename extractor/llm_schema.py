"""What the LLM must return for one table, and the checks that keep it honest.

A reply is a list of rows; each row names a template row, quotes it verbatim from the section
text, and gives one value per column (null for a blank cell). The validators, run by pydantic
with the section text as validation context (so instructor re-asks on failure), require:

- the quote stands in the section text (exactly, else ignoring white space; the text as printed
  there is what the next checks read);
- every value stands in its quote, the values in column order (so a 0 needs a 0 or 零 in the
  quote: blanks are null, never invented zeros);
- the row's arithmetic (table 3: 总计 = the six applicant columns; table 4: 总计 = its four
  results) holds, unless the quote prints those very numbers as separate cells: then the report's
  own error is kept as printed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, create_model, model_validator
from pydantic.json_schema import GenerateJsonSchema

from .spec import field_by_key
from .template import template

SECTIONS = ("t2", "t3", "t4")
FOLD = str.maketrans("０１２３４５６７８９〇", "01234567890")
ZERO_WORDS = str.maketrans({"零": "0"})
THOUSANDS = re.compile(r"(?<=\d)[,，](?=\d{3}(?!\d))")
TOKEN = re.compile(r"\d+(?:\.\d+)?")
MAX_QUOTE = 300  # characters: a row, or table 4's line of numbers; never the whole table


@dataclass(frozen=True)
class RowSpec:
    id: str  # "granted", "denied.state_secret", "review", …
    label: str  # the row as the template prints it
    keys: tuple[str, ...]  # canonical keys, in column order
    columns: tuple[str, ...]  # column labels, in order
    money: tuple[str, ...] = ()  # keys stored in 万元


@dataclass
class LLMValue:
    """One value the LLM read, grounded: the quote it came from and the value's span in the document."""

    key: str
    value: int | float | None
    quote: str
    start: int | None = None
    end: int | None = None
    source: str = "llm"  # "llm:<model>"
    prompt: str = ""  # "t3.v1"


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
            columns = tuple(labels[k].label_zh.split(" × ")[1].replace("法人或其他组织 ", "") for k in ks)
        else:
            label = labels[ks[0]].label_zh.rsplit(" ", 1)[0]
            columns = tuple(labels[k].label_zh.rsplit(" ", 1)[1] for k in ks)
        money = tuple(f"t2.{row.id}.{m}" for m in row.money if f"t2.{row.id}.{m}" in ks)
        out.append(RowSpec(row.id, label, ks, columns, money))
    return tuple(out)


def short_label(section: str, spec: RowSpec) -> str:
    """A row's label cut to the words that tell it from the others."""
    if section != "t3":
        return spec.label.split(" ")[-1] if section == "t2" else spec.label
    table = template("2021" if spec.id != "other" else "2019").tables["t3"]
    row = table.row(spec.id)
    word = row.label if row.bare or row.heading_only or not row.aliases else row.aliases[0]
    group = next((g.label for g in table.groups if g.id == row.group), "") if "." in spec.id else ""
    return f"{group} {word}".strip()


def rows_table(section: str, template: str) -> str:
    """The rows as the prompt lists them: `id: label`, with the columns once when all rows share them."""
    specs = row_specs(section, template)
    shared = len({s.columns for s in specs}) == 1
    lines = [f"Columns, in order: {', '.join(specs[0].columns)}.", "Rows (id: label):"] if shared else ["Rows (id: label | columns):"]
    for s in specs:
        lines.append(f"{s.id}: {short_label(section, s)}" + ("" if shared else f" | {', '.join(s.columns)}"))
    return "\n".join(lines)


# ---------------------------------------------------------------- grounding
def find_quote(text: str, quote: str) -> tuple[int, int] | None:
    """Where the quote stands in text: exactly, else ignoring white space. (start, end) or None."""
    quote = (quote or "").strip()
    if not quote:
        return None
    i = text.find(quote)
    if i >= 0:
        return i, i + len(quote)
    positions = [i for i, c in enumerate(text) if not c.isspace()]
    compact = "".join(text[i] for i in positions)
    q = "".join(c for c in quote if not c.isspace())
    j = compact.find(q)
    if j < 0 or not q:
        return None
    return positions[j], positions[j + len(q) - 1] + 1


def number_text(value) -> str:
    """A value as a report prints it: 12, 763.0137 (no sign: the quote's digits are compared)."""
    v = abs(value)
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return f"{v:f}".rstrip("0").rstrip(".") if isinstance(v, float) else str(v)


def _folded(quote: str) -> str:
    return THOUSANDS.sub("", quote.translate(FOLD))


def _is_subsequence(needle: str, haystack: str) -> bool:
    it = iter(haystack)
    return all(c in it for c in needle)


def plainly_printed(values, quote: str) -> bool:
    """The non-null values are whole numbers of the quote, in order (not digits cut from a run)."""
    tokens = [float(t) for t in TOKEN.findall(_folded(quote))]
    it = iter(tokens)
    return all(any(abs(float(v)) == t for t in it) for v in values if v is not None)


def row_problems(spec: RowSpec, quote: str, values: list, unit: str | None, text: str) -> list[str]:
    """Why a row cannot be taken as read (empty when it can)."""
    where = f"row {spec.id}"
    if len(values) != len(spec.columns):
        return [f"{where}: {len(values)} values for {len(spec.columns)} columns ({', '.join(spec.columns)}); give null for a blank cell"]
    present = [v for v in values if v is not None]
    if not present:
        return []
    if len(quote.strip()) > MAX_QUOTE:
        return [f"{where}: the quote is {len(quote.strip())} characters long; quote this row only (at most {MAX_QUOTE})"]
    found = find_quote(text, quote)
    if found is None:
        return [f"{where}: the quote {quote!r} is not in the section text; copy the row verbatim"]
    quote = text[found[0]:found[1]]  # from here on the text as printed, not as the reply spaced it
    folded = _folded(quote)
    problems = []
    for col, v in zip(spec.columns, values):
        if v is None:
            continue
        digits = number_text(v)
        if v == 0 and "0" not in folded.translate(ZERO_WORDS):
            problems.append(f"{where}, {col}: 0 but the quote has no 0 or 零; a blank cell is null, not 0")
        elif digits not in folded:
            problems.append(f"{where}, {col}: {digits} does not stand in the quote {quote!r}")
    if problems:
        return problems
    wanted = "".join(number_text(v).replace(".", "") for v in present)
    if not _is_subsequence(wanted, re.sub(r"\D", "", folded.translate(ZERO_WORDS))):
        problems.append(f"{where}: the values {present} do not stand in the quote in column order; a blank cell is null, not 0")
    if unit == "元" and not re.search(r"(?<!万)元", text):
        problems.append(f"{where}: unit 元 is not stated in the section text")
    if unit == "万元" and "万元" not in text:
        problems.append(f"{where}: unit 万元 is not stated in the section text")
    problems += _cells_problem(where, present, folded)
    total_problem = _identity_problem(spec, values, quote)
    if total_problem:
        problems.append(total_problem)
    return problems


ENUMERATOR = re.compile(r"(?<![\d.])\d{1,2}[.、．](?!\d)|(?<!\d)\d++(?=\s*[位年月日号])")


def _cells_problem(where: str, present: list, folded: str) -> list[str]:
    """When the quote prints its numbers as separate cells, the reply must use each of them once,
    in order: a column shifted with null padding, or a digit taken from another cell, is refused.
    When it runs digits together, every digit must be used."""
    numbers = TOKEN.findall(ENUMERATOR.sub(" ", folded.translate(ZERO_WORDS)))
    given = [number_text(v) for v in present]
    if numbers and all(g in numbers for g in given) and len(numbers) >= 2:
        if [float(n) for n in numbers] != [abs(float(v)) for v in present]:
            return [f"{where}: the quote prints the numbers {numbers}, the reply gives {given}: give every printed number once, "
                    f"in its column, and null only for a blank cell"]
        return []
    if len(numbers) == 1 and "".join(given).replace(".", "") != numbers[0].replace(".", ""):
        return [f"{where}: the quote runs the digits {numbers[0]} together; the values must use all of them, in order"]
    return []


def _identity_problem(spec: RowSpec, values: list, quote: str) -> str | None:
    """总计 = its parts (tables 3 and 4), unless the quote itself prints these numbers so."""
    if not spec.keys[0].startswith(("t3.", "t4.")) or any(v is None for v in values):
        return None
    parts, total = values[:-1], values[-1]
    if sum(parts) == total or plainly_printed(values, quote):
        return None
    return (f"row {spec.id}: 总计 {total} is not the sum of the other columns ({sum(parts)}), and the quote does not print "
            f"these numbers as separate cells: cut run-together digits so the row adds up, or give null where it cannot be read")


# ---------------------------------------------------------------- the pydantic schemas
class _Compact(GenerateJsonSchema):
    """No per-field titles: the schema is sent with every request."""

    def field_title_should_be_set(self, schema) -> bool:
        return False


class _Reply(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @classmethod
    def model_json_schema(cls, by_alias=True, ref_template="#/$defs/{model}", schema_generator=_Compact, mode="validation", **kwargs):
        return super().model_json_schema(by_alias, ref_template, schema_generator, mode, **kwargs)

    @model_validator(mode="after")
    def _grounded(self, info: ValidationInfo):
        ctx = info.context or {}
        text, section, template = ctx.get("section_text"), ctx.get("section"), ctx.get("template")
        if text is None or section is None:
            return self  # no context: shape only
        specs = {s.id: s for s in row_specs(section, template)}
        problems, seen = [], set()
        for row in self.rows:
            if row.row in seen:
                problems.append(f"row {row.row} is given twice; give each row once")
                continue
            seen.add(row.row)
            problems += row_problems(specs[row.row], row.quote or "", list(row.values), getattr(row, "unit", None), text)
        if problems:
            raise ValueError("\n".join(problems))
        return self


@lru_cache(maxsize=8)
def reply_model(section: str, template: str) -> type[BaseModel]:
    """The pydantic model of a reply for this table of this template."""
    specs = row_specs(section, template)
    ids = tuple(s.id for s in specs)
    number = Optional[int | float] if section == "t2" else Optional[int]
    fields = {
        "row": (Literal[ids], ...),
        "quote": (str, Field(description="verbatim from the text")),
        "values": (list[number], Field(description="per column, in order; null if blank")),
    }
    if section == "t2":
        fields["unit"] = (Optional[Literal["元", "万元"]], Field(None, description="money rows only"))
    row = create_model(f"{section.upper()}Row", __config__=ConfigDict(extra="forbid"), **fields)
    title = {"t2": "Table2", "t3": "Table3", "t4": "Table4"}[section]
    return create_model(title, __base__=_Reply, __doc__=f"The cells of table {section[1]}", rows=(list[row], ...))


def values_from_reply(reply: BaseModel, section: str, template: str, text: str, offset: int) -> dict[str, LLMValue]:
    """Every key of the rows the reply gives, with its quote and its span in the document
    (`text` is the section text, standing at `offset` in the document)."""
    specs = {s.id: s for s in row_specs(section, template)}
    out: dict[str, LLMValue] = {}
    for row in reply.rows:
        spec = specs[row.row]
        where = find_quote(text, row.quote or "")
        cursor = where[0] if where else 0
        for key, v in zip(spec.keys, row.values):
            start = end = None
            if where is not None and v is not None:
                i = _folded_find(text, number_text(v), cursor, where[1])
                start, end = (i, i + len(number_text(v))) if i >= 0 else where
                cursor = end if i >= 0 else cursor
            if v is not None and key in spec.money:
                v = round(float(v) / 10000, 6) if getattr(row, "unit", None) == "元" else float(v)
            quoted = text[where[0]:where[1]] if where else (row.quote or "").strip()
            out[key] = LLMValue(key, v, quoted, None if start is None else offset + start,
                                None if end is None else offset + end)
    return out


def _folded_find(text: str, digits: str, start: int, end: int) -> int:
    return text.translate(FOLD).find(digits, start, end)
