"""Exports an assessor can use (issue 16): the format from the suffix, '-' for standard output,
review marks and units in CSV and XLSX, an XLSX with frozen headers, widths, filters, numbers as
numbers and marked cells coloured with the reason as a comment; `--labels zh` in Chinese."""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
import zipfile

import pytest
from click.testing import CliRunner
from conftest import EXAMPLES

from extractor import labels
from extractor.cli import main

ENGLISH_WORD = re.compile(r"(?<![A-Za-z0-9_.\-\[])[A-Za-z]{3,}(?![A-Za-z0-9_\-\]])")
IDS = {"PDF", "OCR", "SQLite", "token"}  # names that stay as they are in Chinese text


def run(*args, input=None):
    return CliRunner().invoke(main, [str(a) for a in args], input=input)


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = tmp_path_factory.mktemp("export") / "r.db"
    assert run("extract", EXAMPLES, "--db", path, "-q", "-w", "1").exit_code == 0
    return path


def sheet(z: zipfile.ZipFile, n: int) -> str:
    return z.read(f"xl/worksheets/sheet{n}.xml").decode("utf-8")


def test_the_format_is_the_outputs_suffix_and_dash_is_stdout(db, tmp_path):
    out = tmp_path / "out.xlsx"
    assert run("export", db, "-o", out).exit_code == 0
    assert out.read_bytes()[:2] == b"PK"  # a workbook, not CSV bytes in an .xlsx
    result = run("export", db, "-o", "-")
    assert result.exit_code == 0 and not (tmp_path / "-").exists()
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0][:3] == ["path", "sha256", "status"] and len(rows) == 8
    assert run("export", db, "--format", "csv", "-o", tmp_path / "x.xlsx").exit_code == 2
    assert run("export", db, "-o", tmp_path / "x.pdf").exit_code == 2


@pytest.mark.parametrize("name", ["x.csv", "x.xlsx"])
def test_a_file_that_cannot_be_written_is_named_as_the_user_gave_it(db, tmp_path, name):
    target = tmp_path / "missing" / name
    result = run("export", db, "-o", target)
    assert result.exit_code == 1
    assert f"cannot write {target}:" in result.output and ".partial" not in result.output


def test_csv_carries_marks_units_and_a_review_file(db, tmp_path):
    out = tmp_path / "r.csv"
    assert run("export", db, "-o", out).exit_code == 0
    rows = list(csv.DictReader(out.open(encoding="utf-8-sig")))
    assert "t2.fees.amount [万元]" in rows[0] and "t3.new.natural [件]" in rows[0]
    flagged = next(r for r in rows if r["path"].endswith("002_8f53831139afa8fc.txt"))
    assert "t3.denied.state_secret.natural" in flagged["marked"].split()
    review = list(csv.DictReader((tmp_path / "r.review.csv").open(encoding="utf-8-sig")))
    mark = next(r for r in review if r["key"] == "t3.denied.state_secret.natural")
    assert mark["reason"] == "6 cells for 7 columns: placed from the right"
    assert mark["label"] == "三（三）不予公开 1.属于国家秘密 × 自然人"
    with sqlite3.connect(db) as conn:
        marked = conn.execute('select count(*) from "values" where review = 1').fetchone()[0]
    assert len(review) == marked


def test_xlsx_frozen_filtered_sized_numbers_and_marked_cells(db, tmp_path):
    out = tmp_path / "r.xlsx"
    assert run("export", db, "-o", out).exit_code == 0
    with zipfile.ZipFile(out) as z:
        reports, comments = sheet(z, 1), z.read("xl/comments1.xml").decode("utf-8")
        styles = z.read("xl/styles.xml").decode("utf-8")
    assert 'state="frozen"' in reports and "<autoFilter" in reports and 'customWidth="1"' in reports
    assert "6 cells for 7 columns: placed from the right" in comments
    assert "FFD966" in styles  # the fill of a marked cell
    # numbers are numbers: the year and the template are numeric cells, not strings
    year = re.search(r'<c r="H2"[^>]*>(.*?)</c>', reports).group(0)
    template = re.search(r'<c r="D2"[^>]*>(.*?)</c>', reports).group(0)
    assert 't="inlineStr"' not in year and 't="s"' not in year and "<v>20" in year
    assert 't="inlineStr"' not in template and "<v>20" in template


def test_labels_zh_are_chinese_throughout(db, tmp_path):
    out = tmp_path / "zh.csv"
    assert run("export", db, "-o", out, "--labels", "zh").exit_code == 0
    reports = list(csv.reader(out.open(encoding="utf-8-sig")))
    assert "第二十条第（八）项 行政事业性收费 本年收费金额（万元）" in reports[0]
    assert {r[2] for r in reports[1:]} == {"正常", "待复核"}
    findings = list(csv.DictReader((tmp_path / "zh.findings.csv").open(encoding="utf-8-sig")))
    review = list(csv.DictReader((tmp_path / "zh.review.csv").open(encoding="utf-8-sig")))
    assert findings and review
    for text in [f["说明"] for f in findings] + [r["待复核原因"] for r in review] + \
            [f["类别"] for f in findings]:
        words = set(ENGLISH_WORD.findall(text)) - IDS
        assert not words, text
    assert all("." not in f["实为"] for f in findings)  # counts as whole numbers, not 55.0


MESSAGES = [
    "T3-B[granted]: t3.granted.total = 3, but t3.granted.natural + t3.granted.commercial = 5"
    "; another reading of t3.granted satisfies it",
    "T3-A[total]: t3.new.total + t3.carried_over.total = 6e+02, but t3.total.total = 6",
    "T4[review]: not assessable, blank: t4.review.total, t4.review.upheld",
    "t3.new.natural is -2: a count or amount cannot be negative",
    "a 2022 report uses the 2019 template (the 2021 template applies from the 2021 reports on)",
    "the tables mix the two templates (marker words: 2019 ×2, 2021 ×3)",
    "the text says '收到申请12件' (at 1234) but the table gives 11",
    "the text says '行政复议2件' but t4.review.total is blank",
    "信息处理费 is charged (收取信息处理费) but section 六 does not report it",
    "section 五 (存在的主要问题及改进情况) is missing",
    "a row the template does not have: '其他'",
    "table 4 not found",
]
REASONS = [
    "meta.agency: no title names a body, and no signature stands above the report's date",
    "meta.agency: no title or signature names a body: read from the text",
    "meta.agency: '第0财政局' does not read as a body's name",
    "meta.agency: '西工区财政' does not end as a body's name does (人民政府, 局, 委员会…)",
    "meta.agency: '财政局' names no region (no division of cpca, no zone)",
    "meta.agency: 江苏省沐阳县 is not a division of cpca (沭阳县?)",
    "a number cut into digits to fill the columns, or is a blank cell missing?",
    "no cut of the digits adds up: a blank cell lost, or the report's own error",
    "its cells stand on several lines and do not add up (or a blank leaves it unchecked)",
]


@pytest.mark.parametrize("translate, text", [(labels.message, m) for m in MESSAGES]
                         + [(labels.reason, r) for r in REASONS])
def test_every_kind_of_finding_message_and_review_reason_has_its_chinese(translate, text):
    """Findings' messages, and the review reasons of the agency and of cut runs."""
    chinese = translate(text, "zh")
    assert chinese != text and not set(ENGLISH_WORD.findall(chinese)) - IDS, chinese


def test_an_untranslated_text_stays_as_written():
    assert labels.message("something new", "zh") == "something new"
    assert labels.reason("x", "en") == "x"


def test_findings_lines_in_chinese_with_whole_numbers(db):
    result = run("findings", db, "--labels", "zh")
    assert result.exit_code == 0 and "无法核对" in result.stdout
    assert "not assessable" not in result.stdout


def test_jsonl_export_to_stdout(db):
    result = run("export", db, "-o", "-", "--format", "jsonl")
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 7 and {"file", "status", "fields"} <= set(lines[0])
