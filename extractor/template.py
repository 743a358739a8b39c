"""The statutory templates as typed objects, loaded once from rules/templates.toml.

Every module that needs a fact about the templates (rows, labels, columns, identities, section
headings, marker words, units) takes it from here; rules/templates.toml is the one source.

    template("2021") -> Template
        .tables["t2" | "t3" | "t4"] -> Table
            .rows -> (Row, ...)          # template order
            .columns -> (Column, ...)    # t3, t4: shared by every row; t2: per row (Row.columns)
        .identities -> (Identity, ...)   # T3-A, T3-B, T3-C, T4, expanded to keys
    row_identity(name, table) -> test    # a printed line's values → do its row identities hold?
        .markers -> (str, ...)           # words only this format prints
    sections() -> (Section, ...)         # the six headings
    money_factor(unit) -> float          # 元 → 万元 and the like

Sources: 国办公开办函〔2019〕60号 (2019 format) and 国办公开办函〔2021〕30号 (2021 format).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any, Callable, Sequence

from .errors import UsageError
from .spec import TEMPLATES, templates

NUMBERED_TABLES = ("t2", "t3", "t4")


@dataclass(frozen=True, eq=False)
class Row:
    """One row of a table as the template prints it. Compared and hashed by identity."""

    table: str  # "t2", "t3", "t4"
    id: str  # "granted", "denied.state_secret", "review", …
    label: str  # the cell as printed, without its enumerator
    enumerator: str = ""  # "（一）", "1.", "一、" …
    aliases: tuple[str, ...] = ()  # further words that name it in real reports
    columns: tuple[str, ...] = ()  # column ids, in order
    group: str = ""  # t3: the result group it stands under ("denied", …)
    detail: bool = False  # t3: one of （一）…（六）, summed by （七）总计
    bare: bool = False  # named by a bare word (其他, 总计): matched only in its place
    heading_only: bool = False  # named by its group heading alone (2019 （六）其他处理)
    money: tuple[str, ...] = ()  # columns stored in 万元
    block: int | None = None  # t2: index of the block (第二十条 item) it stands in

    @cached_property
    def keys(self) -> tuple[str, ...]:
        """The canonical keys of its cells, in column order: ("t3.granted.natural", …)."""
        return tuple(f"{self.table}.{self.id}.{c}" for c in self.columns)

    @cached_property
    def words(self) -> tuple[str, ...]:
        """Every word that names it: its label, then its aliases."""
        return (self.label,) + self.aliases


@dataclass(frozen=True)
class Column:
    id: str
    label: str
    group: str = ""  # t3: "法人或其他组织" above five of the columns


@dataclass(frozen=True)
class Block:
    """Table 2: one item of 第二十条 with its header and rows."""

    item: str  # "第二十条第（一）项"
    header: tuple[str, ...]
    rows: tuple[str, ...]
    unit_words: tuple[str, ...] = ()  # words after which the block states its money unit


@dataclass(frozen=True)
class Group:
    id: str
    label: str
    enumerator: str


@dataclass(frozen=True)
class Table:
    id: str
    title: str
    rows: tuple[Row, ...]
    columns: tuple[Column, ...] = ()  # t3 and t4 (every row has them)
    blocks: tuple[Block, ...] = ()  # t2
    groups: tuple[Group, ...] = ()  # t3
    header_words: tuple[str, ...] = ()
    printed_as_one_row: bool = False  # t4: the groups side by side in one row
    caption: str = ""  # t3: the header's caption over the applicant columns (申请人情况)
    note: str = ""  # t3: the note printed in the header's first cell (T3-A in words)

    def row(self, row_id: str) -> Row:
        """The row with this id. Raises KeyError when the table has none."""
        for row in self.rows:
            if row.id == row_id:
                return row
        raise KeyError(f"{self.id} has no row {row_id!r}")

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(k for row in self.rows for k in row.keys)


@dataclass(frozen=True)
class Identity:
    """sum(left) = sum(right) in a correct report (勾稽关系), for one row or column."""

    check: str  # family: T3-A, T3-B, T3-C, T4
    name: str  # this instance: T3-A[natural]
    table: str
    left: tuple[str, ...]  # keys
    right: tuple[str, ...]
    printed: bool = False  # printed in the template itself
    says: str = ""
    each: str = "column"  # "column": over rows, one per column; "row": over columns, one per row

    @property
    def keys(self) -> tuple[str, ...]:
        return self.left + self.right


@dataclass(frozen=True)
class Section:
    number: int
    printed: str
    words: tuple[str, ...]
    table: str | None = None


@dataclass(frozen=True)
class Template:
    name: str  # "2019" or "2021"
    source: str  # the circular that set the format
    first_year: int
    last_year: int | None
    tables: dict[str, Table]
    identities: tuple[Identity, ...]
    markers: tuple[str, ...]

    def row(self, table: str, row_id: str) -> Row:
        return self.tables[table].row(row_id)


@lru_cache(maxsize=2)
def template(name: str) -> Template:
    """The 2019 or the 2021 format. Raises UsageError (a ValueError) for any other name."""
    if name not in TEMPLATES:
        raise UsageError(f"unknown template {name!r} (known: {', '.join(TEMPLATES)})")
    data = templates()
    meta = data["templates"][name]
    tables = {"t2": _t2(data["t2"], name), "t3": _t3(data["t3"], name), "t4": _t4(data["t4"])}
    return Template(name, meta["source"], meta["first_year"], meta.get("last_year"), tables,
                    _identities(data["identities"], tables), tuple(data["markers"][name]))


RowTest = Callable[[Sequence[float | None]], "bool | None"]


@lru_cache(maxsize=8)
def row_identity(name: str, table_id: str, rows: int = 1) -> RowTest:
    """The identities a row of the table keeps over its columns (`each = "row"` in
    rules/templates.toml: T3-B 总计 = the six applicant columns,
    T4 总计 = 维持 + 纠正 + 其他 + 尚未审结) as one test of a printed line of values: `rows`
    template rows side by side (table 4 prints its three rows on one line), one value per column.
    The test gives True or False, or None when a value is blank (None) and nothing can be said.
    Raises KeyError for an unknown table."""
    table = template(name).tables[table_id]
    columns = [c.id for c in table.columns]
    first = table.rows[0]
    sides = [([columns.index(_column(k)) for k in eq.left],
              [columns.index(_column(k)) for k in eq.right])
             for eq in template(name).identities
             if eq.table == table_id and eq.each == "row" and eq.name.endswith(f"[{first.id}]")]
    width = len(columns)

    def holds(values: Sequence[float | None]) -> bool | None:
        if any(v is None for v in values):
            return None
        lines = [values[g * width : (g + 1) * width] for g in range(rows)]
        return all(sum(line[i] for i in left) == sum(line[i] for i in right)  # type: ignore[misc]
                   for line in lines for left, right in sides)

    return holds


def _column(key: str) -> str:
    return key.rsplit(".", 1)[1]


def template_for_year(year: int) -> str | None:
    """The format a report for `year` must use (the circulars' own years); None before 2019."""
    for name in TEMPLATES:
        meta = templates()["templates"][name]
        if meta["first_year"] <= year <= meta.get("last_year", year):
            return name
    return None


@lru_cache(maxsize=1)
def sections() -> tuple[Section, ...]:
    """The six sections of a report, as the template heads them."""
    return tuple(Section(s["number"], s["printed"], tuple(s["words"]), s.get("table"))
                 for s in templates()["sections"])


def money_factor(unit: str) -> float:
    """What a value printed in `unit` (元, 千元, 万元) is multiplied by to be in 万元.
    Raises KeyError for a unit the rules do not know."""
    return float(templates()["units"]["factors"][unit])


def signed_columns() -> tuple[str, ...]:
    """Table 2's columns that may be negative (本年增/减)."""
    return tuple(templates()["t2"]["signed"]["columns"])


def narrative_words() -> dict[str, tuple[str, ...]]:
    """Table 2's columns → the words the narrative names them by (`现行有效`, `制发`)."""
    return {column: tuple(words) for column, words in templates()["t2"]["narrative"].items()}


def all_markers() -> dict[str, tuple[str, ...]]:
    """Each format's marker words: {"2019": (...), "2021": (...)}."""
    return {name: template(name).markers for name in TEMPLATES}


# ---------------------------------------------------------------- loading
def _applies(entry: dict, name: str) -> bool:
    return name in entry.get("templates", TEMPLATES)


def _per_template(value: Any, name: str) -> Any:
    """A value given once for both formats, or as {"2019": …, "2021": …}."""
    return value[name] if isinstance(value, dict) else value


def _t2(data: dict, name: str) -> Table:
    blocks = tuple(Block(b["item"], tuple(b["header"][name]), tuple(b["rows"]),
                         tuple(b.get("unit_words", ())))
                   for b in data["blocks"] if _applies(b, name))
    block_of = {row: i for i, b in enumerate(blocks) for row in b.rows}
    rows = tuple(Row("t2", r["row"], _per_template(r["label"], name), "",
                     tuple(r.get("aliases", ())), tuple(r["columns"][name]),
                     money=tuple(r.get("money", ())), block=block_of[r["row"]])
                 for r in data["rows"] if _applies(r, name))
    return Table("t2", data["title"], rows, blocks=blocks)


def _t3(data: dict, name: str) -> Table:
    columns = tuple(Column(c["column"], c["label"], c.get("group", "")) for c in data["columns"])
    ids = tuple(c.id for c in columns)
    rows = tuple(Row("t3", r["row"], r["label"], r.get("enumerator", ""),
                     tuple(r.get("aliases", ())), ids, r.get("group", ""), r.get("detail", False),
                     r.get("bare", False), r.get("heading_only", False))
                 for r in data["rows"] if _applies(r, name))
    groups = tuple(Group(g["group"], g["label"], g["enumerator"]) for g in data["groups"])
    return Table("t3", data["title"], rows, columns, groups=groups,
                 header_words=tuple(data["header_words"]), caption=data.get("caption", ""),
                 note=data.get("note", ""))


def _t4(data: dict) -> Table:
    columns = tuple(Column(c["column"], c["label"]) for c in data["columns"])
    ids = tuple(c.id for c in columns)
    rows = tuple(Row("t4", r["row"], r["label"], "", tuple(r.get("aliases", ())), ids)
                 for r in data["rows"])
    return Table("t4", data["title"], rows, columns, header_words=tuple(data["header_words"]),
                 printed_as_one_row=data.get("printed_as_one_row", False))


def _identities(data: list[dict], tables: dict[str, Table]) -> tuple[Identity, ...]:
    out: list[Identity] = []
    for entry in data:
        table = tables[entry["table"]]
        if entry["each"] == "column":
            out += [_by_rows(entry, table, column.id) for column in table.columns]
        else:
            out += [_by_columns(entry, row) for row in table.rows]
    return tuple(out)


def _by_rows(entry: dict, table: Table, column: str) -> Identity:
    """One identity over rows, for one column: T3-A[natural], T3-C[natural]."""
    def keys(names: list[str]) -> tuple[str, ...]:
        rows = [r.id for r in table.rows if r.detail] if names == ["detail"] else names
        return tuple(f"{table.id}.{r}.{column}" for r in rows)

    return Identity(entry["check"], f"{entry['check']}[{column}]", table.id, keys(entry["left"]),
                    keys(entry["right"]), entry.get("printed", False), entry.get("says", ""))


def _by_columns(entry: dict, row: Row) -> Identity:
    """One identity over columns, for one row: T3-B[granted], T4[review]."""
    def keys(names: list[str]) -> tuple[str, ...]:
        return tuple(f"{row.table}.{row.id}.{c}" for c in names)

    return Identity(entry["check"], f"{entry['check']}[{row.id}]", row.table, keys(entry["left"]),
                    keys(entry["right"]), entry.get("printed", False), entry.get("says", ""), "row")
