"""Exports for assessors and researchers: one row per report, one column per canonical key.

CSV (UTF-8 with BOM, so Excel reads the Chinese), XLSX (a `reports` sheet and a `findings`
sheet) and JSON lines. Rows are streamed from the database, so memory stays flat.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
from pathlib import Path
from typing import Iterator

from . import store
from .spec import fields

DOC_COLUMNS = ("path", "sha256", "status", "template", "error")
DOC_LABELS_ZH = {"path": "文件", "sha256": "sha256", "status": "状态", "template": "表格格式", "error": "错误"}
FINDING_LABELS_ZH = {"path": "文件", "agency": "发布机关", "year": "报告年度", "template": "表格格式", "check": "检查", "kind": "类别",
                     "message": "说明", "keys": "涉及字段", "expected": "应为", "actual": "实为", "sha256": "sha256"}


def key_columns() -> list[str]:
    """Every canonical key of either template, in fields.tsv order (a report leaves the other template's blank)."""
    return list(dict.fromkeys(f.key for f in fields()))  # a few keys are in both templates' rows


def headers(labels: str) -> tuple[list[str], list[str]]:
    keys = key_columns()
    if labels == "zh":
        by_key: dict[str, str] = {}
        for f in fields():
            by_key.setdefault(f.key, f.label_zh)
        return [DOC_LABELS_ZH[c] for c in DOC_COLUMNS] + [by_key[k] for k in keys], [FINDING_LABELS_ZH[c] for c in store.FINDING_COLUMNS]
    return list(DOC_COLUMNS) + keys, list(store.FINDING_COLUMNS)


def report_rows(db) -> Iterator[list]:
    keys = key_columns()
    for doc in store.documents(db):
        values = store.values_of(db, doc["sha256"])
        yield [doc[c] for c in DOC_COLUMNS] + [values[k]["value"] if k in values else None for k in keys]


def finding_rows(db) -> Iterator[list]:
    for row in store.all_findings(db):
        yield [row[c] for c in store.FINDING_COLUMNS]


def export(db, fmt: str, output: Path, labels: str = "en") -> list[Path]:
    """Write the export; returns the files written. Each file is written under a temporary name
    and renamed when whole: a database that fails mid-way (damaged pages) leaves no file cut short.
    """
    report_header, finding_header = headers(labels)
    if fmt == "csv":
        findings_path = output.with_name(output.stem + ".findings.csv")
        with _whole(output) as tmp:
            _csv(tmp, report_header, report_rows(db))
        with _whole(findings_path) as tmp:
            _csv(tmp, finding_header, finding_rows(db))
        return [output, findings_path]
    if fmt == "xlsx":
        import xlsxwriter

        with _whole(output) as tmp:
            book = xlsxwriter.Workbook(str(tmp), {"constant_memory": True})
            for name, header, rows in (
                ("reports", report_header, report_rows(db)),
                ("findings", finding_header, finding_rows(db)),
            ):
                sheet = book.add_worksheet(name)
                sheet.write_row(0, 0, header)
                for i, row in enumerate(rows, start=1):
                    sheet.write_row(i, 0, row)
            book.close()
        return [output]
    if fmt == "jsonl":
        with _whole(output) as tmp, open(tmp, "w", encoding="utf-8") as f:
            for doc in store.documents(db):
                f.write(json.dumps(store.load_record(db, doc).to_json(), ensure_ascii=False) + "\n")
        return [output]
    raise ValueError(f"unknown format {fmt!r}")


@contextlib.contextmanager
def _whole(path: Path):
    """A temporary name beside `path`, renamed to it when the block ends without an error, else
    removed."""
    tmp = path.with_name(f".{path.name}.partial{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)


def _csv(path: Path, header: list[str], rows) -> None:
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
