"""Exports for assessors and researchers: one row per report, one column per canonical key, the
findings, and the values marked for review.

    csv    NAME.csv (the reports; UTF-8 with BOM, so Excel reads the Chinese), NAME.findings.csv
           and NAME.review.csv (one row per marked value, with its reason)
    xlsx   sheets `reports` (a marked cell coloured, its reason as the cell's comment), `findings`
           and `review`; headers frozen and filtered, columns sized, numbers as numbers
    jsonl  one record per report (Record.to_json)

The format is the output's suffix unless given. Headers carry each value's unit (`[万元]`,
`（件）`); with labels `zh` they are the template's Chinese labels, and statuses, kinds, messages
and reasons are in Chinese (labels.py). Rows are streamed from the database: memory stays flat.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import sys
from pathlib import Path
from typing import IO, Iterator

from . import labels as words
from . import store
from .errors import OutputError, UsageError
from .spec import fields

FORMATS = ("csv", "xlsx", "jsonl")
DOC_COLUMNS = ("path", "sha256", "status", "template", "error", "marked")
REVIEW_COLUMNS = ("path", "sha256", "key", "label", "value", "reason")
MARKED_FILL = "#FFD966"  # a marked cell in the XLSX


def key_columns() -> list[str]:
    """Every canonical key of either template, in fields.tsv order (a report leaves the other
    template's blank)."""
    return list(dict.fromkeys(f.key for f in fields()))  # a few keys are in both templates' rows


def format_for(output: str, fmt: str | None) -> str:
    """The export format: `fmt`, else the output's suffix, else csv (standard output). Raises
    UsageError for an unknown format or a suffix that names another."""
    suffix = Path(output).suffix.lower().lstrip(".") if output != "-" else ""
    if fmt is not None and fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}: one of {', '.join(FORMATS)}")
    if fmt is None:
        if suffix and suffix not in FORMATS:
            raise UsageError(f"cannot tell the format from {output!r}: name a .csv, .xlsx or "
                             ".jsonl file, or give --format")
        return suffix or "csv"
    if suffix in FORMATS and suffix != fmt:
        raise UsageError(f"--format {fmt} but the output is named {output!r}: name it .{fmt}")
    return fmt


def headers(labels: str) -> tuple[list[str], list[str]]:
    """The reports' header and the findings' header."""
    keys = [words.key_header(k, labels) for k in key_columns()]
    documents = [words.column(c, labels) for c in DOC_COLUMNS]
    return documents + keys, [words.column(c, labels) for c in store.FINDING_COLUMNS]


def report_rows(db, labels: str = "en") -> Iterator[tuple[list, dict[int, str]]]:
    """Per report its row, and the reasons of its marked cells by column index."""
    keys = key_columns()
    first = len(DOC_COLUMNS)
    for doc in store.documents(db):
        values = store.values_of(db, doc["sha256"])
        marked = {k: v["reason"] for k, v in values.items() if v["review"]}
        row = [doc["path"], doc["sha256"], words.status(doc["status"], labels), doc["template"],
               words.message(doc["error"], labels), " ".join(marked)]
        row += [values[k]["value"] if k in values else None for k in keys]
        reasons = {first + i: words.reason(marked[k], labels) or "" for i, k in enumerate(keys)
                   if k in marked}
        yield row, reasons


def finding_rows(db, labels: str = "en", rows: list[dict] | None = None) -> Iterator[list]:
    """The findings (`rows` of store.all_findings, default all) as export rows: numbers that are
    whole as integers, and with labels zh in Chinese."""
    for row in store.all_findings(db) if rows is None else rows:
        out = dict(row)
        out["check"] = words.check_name(row["check"], labels)
        out["kind"] = words.kind(row["kind"], labels)
        out["message"] = words.message(row["message"], labels)
        out["expected"], out["actual"] = words.number(row["expected"]), words.number(row["actual"])
        if labels == "zh":
            out["keys"] = "；".join(words.key_label(k) for k in json.loads(row["keys"] or "[]"))
        yield [out[c] for c in store.FINDING_COLUMNS]


def review_rows(db, labels: str = "en") -> Iterator[list]:
    """One row per value marked for review: the file, the key, its label, value and reason."""
    sql = ('SELECT d.path, d.sha256, v.key, v.value, v.reason FROM "values" v JOIN documents d '
           "ON d.id = v.document_id WHERE v.review = 1 ORDER BY d.path")
    order = {k: i for i, k in enumerate(key_columns())}
    rows = sorted(db.execute(sql).fetchall(), key=lambda r: (r[0], order.get(r[2], 1 << 20)))
    for path, sha, key, value, why in rows:
        yield [path, sha, key, words.key_label(key), value, words.reason(why, labels)]


def export(db, output: str, fmt: str | None = None, labels: str = "en",
           stdout: IO[bytes] | None = None) -> list[str]:
    """Write the export; returns the files written ("-": standard output, the reports only).
    Each file is written under a temporary name and renamed when whole: a database that fails
    mid-way (damaged pages) leaves no file cut short. Raises UsageError (format, labels),
    OutputError (cannot write)."""
    words.check_language(labels)
    fmt = format_for(output, fmt)
    if output == "-":
        return _to_stdout(db, fmt, labels, stdout or sys.stdout.buffer)
    target = Path(output)
    try:
        return [str(p) for p in _write(db, fmt, target, labels)]
    except OSError as e:
        where = _final_name(e.filename) if e.filename else target
        raise OutputError(f"cannot write {where}: {e.strerror or e}") from e


def _write(db, fmt: str, output: Path, labels: str) -> list[Path]:
    report_header, finding_header = headers(labels)
    review_header = [words.column(c, labels) for c in REVIEW_COLUMNS]
    if fmt == "csv":
        findings_path = output.with_name(output.stem + ".findings.csv")
        review_path = output.with_name(output.stem + ".review.csv")
        with _whole(output) as tmp, open(tmp, "w", encoding="utf-8-sig", newline="") as f:
            _csv(f, report_header, (row for row, _ in report_rows(db, labels)))
        with _whole(findings_path) as tmp, open(tmp, "w", encoding="utf-8-sig", newline="") as f:
            _csv(f, finding_header, finding_rows(db, labels))
        with _whole(review_path) as tmp, open(tmp, "w", encoding="utf-8-sig", newline="") as f:
            _csv(f, review_header, review_rows(db, labels))
        return [output, findings_path, review_path]
    if fmt == "xlsx":
        with _whole(output) as tmp:
            _xlsx(str(tmp), db, labels)
        return [output]
    with _whole(output) as tmp, open(tmp, "w", encoding="utf-8") as f:
        _jsonl(f, db)
    return [output]


def _to_stdout(db, fmt: str, labels: str, out: IO[bytes]) -> list[str]:
    if fmt == "csv":
        text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
        report_header, _ = headers(labels)
        _csv(text, report_header, (row for row, _ in report_rows(db, labels)))
        text.detach()
    elif fmt == "jsonl":
        text = io.TextIOWrapper(out, encoding="utf-8", write_through=True)
        _jsonl(text, db)
        text.detach()
    else:
        if getattr(out, "isatty", lambda: False)():
            raise UsageError("an XLSX workbook is binary: give -o FILE.xlsx, or redirect the "
                             "standard output to a file")
        buffer = io.BytesIO()
        _xlsx(buffer, db, labels)
        out.write(buffer.getvalue())
    out.flush()
    return ["-"]


def _jsonl(f, db) -> None:
    for doc in store.documents(db):
        f.write(json.dumps(store.load_record(db, doc).to_json(), ensure_ascii=False) + "\n")


PARTIAL = ".partial"  # a file being written is `.NAME.partial.SUFFIX` beside NAME


def _final_name(filename) -> Path:
    """The file a temporary name stands for (`.x.csv.partial.csv` → `x.csv`), else the name."""
    path = Path(filename)
    head, sep, _ = path.name.partition(PARTIAL)
    return path.with_name(head[1:]) if sep and head.startswith(".") else path


@contextlib.contextmanager
def _whole(path: Path):
    """A temporary name beside `path`, renamed to it when the block ends without an error, else
    removed."""
    tmp = path.with_name(f".{path.name}{PARTIAL}{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)


def _csv(f, header: list[str], rows) -> None:
    writer = csv.writer(f)
    writer.writerow(header)
    writer.writerows(rows)


# ---------------------------------------------------------------- XLSX

WIDTHS = {"path": 36, "sha256": 12, "status": 9, "template": 9, "error": 30, "marked": 16,
          "agency": 22, "year": 8, "check": 14, "kind": 16, "message": 70, "keys": 30,
          "expected": 9, "actual": 9, "key": 28, "label": 40, "value": 10, "reason": 50}


def _xlsx(target, db, labels: str) -> None:
    import xlsxwriter

    book = xlsxwriter.Workbook(target, {"constant_memory": True, "in_memory": not isinstance(
        target, str), "strings_to_numbers": False})
    styles = {
        "head": book.add_format({"bold": True, "text_wrap": True, "valign": "top",
                                 "bg_color": "#DDEBF7", "border": 1}),
        "marked": book.add_format({"bg_color": MARKED_FILL}),
    }
    report_header, finding_header = headers(labels)
    review_header = [words.column(c, labels) for c in REVIEW_COLUMNS]
    reports = book.add_worksheet("reports")
    _sheet_head(reports, report_header, DOC_COLUMNS, styles["head"], key_width=14)
    n = 0
    for n, (row, reasons) in enumerate(report_rows(db, labels), start=1):
        row[3] = _template_number(row[3])
        for col, value in enumerate(row):
            why = reasons.get(col)
            reports.write(n, col, value, styles["marked"] if why else None)
            if why:
                reports.write_comment(n, col, why, {"x_scale": 2, "y_scale": 1.5})
    reports.autofilter(0, 0, n, len(report_header) - 1)
    for name, header, columns, rows in (
        ("findings", finding_header, store.FINDING_COLUMNS, finding_rows(db, labels)),
        ("review", review_header, REVIEW_COLUMNS, review_rows(db, labels)),
    ):
        sheet = book.add_worksheet(name)
        _sheet_head(sheet, header, columns, styles["head"], key_width=40)
        n = 0
        template = columns.index("template") if "template" in columns else None
        for n, row in enumerate(rows, start=1):
            if template is not None:
                row[template] = _template_number(row[template])
            sheet.write_row(n, 0, row)
        sheet.autofilter(0, 0, n, len(header) - 1)
    try:
        book.close()
    except xlsxwriter.exceptions.FileCreateError as e:  # the OSError beneath, for one Error line
        cause = e.args[0] if e.args and isinstance(e.args[0], OSError) else OSError(str(e))
        raise cause from e


def _sheet_head(sheet, header: list[str], named: tuple[str, ...], style, key_width: int) -> None:
    """Column widths (set before any row, as constant_memory needs), the header row, frozen."""
    for col, _ in enumerate(header):
        name = named[col] if col < len(named) else ""
        sheet.set_column(col, col, WIDTHS.get(name, key_width if col >= len(named) else 16))
    sheet.set_row(0, 60)
    sheet.write_row(0, 0, header, style)
    sheet.freeze_panes(1, 1)


def _template_number(template):
    """The template's name is its year (2019, 2021): a number in the sheet, as the year is."""
    return int(template) if isinstance(template, str) and template.isdigit() else template
