"""Word input: paragraphs as lines, tables as grids with merged cells' copies empty, nested tables
flattened.

The reports are built here with python-docx from the same known values and table layouts as
the PDF tests; the official blank 2021 template (../shared/corpus) must give an all-null record.
"""

from __future__ import annotations

import io
import shutil
import zipfile

import pytest

docx = pytest.importorskip("docx")

from conftest import ROOT, place_spans  # noqa: E402
from test_pdf import known_values, t2_rows, t3_rows, t4_rows, wrong  # noqa: E402

from extractor.errors import InputError  # noqa: E402
from extractor.fold import fold  # noqa: E402
from extractor.ingest import read_document  # noqa: E402
from extractor.ingest_docx import DOC_HOW  # noqa: E402
from extractor.pipeline import extract  # noqa: E402
from extractor.spec import keys_for  # noqa: E402

# the official blank template, copied from ../shared/corpus
BLANK = ROOT / "tests" / "data" / "blank_template_2021.docx"


def add_table(document, rows: list[list[dict]]):
    """Lay HTML-style cell specs on a Word table and merge the spans, as Word itself stores them."""
    placed, width = place_spans(rows)
    table = document.add_table(rows=len(rows), cols=width)
    table.style = "Table Grid"
    for r, col, spec in placed:
        first = table.cell(r, col)
        if spec["rowspan"] > 1 or spec["colspan"] > 1:
            first = first.merge(table.cell(r + spec["rowspan"] - 1, col + spec["colspan"] - 1))
        text = spec["text"]
        if spec["vertical"]:
            text = "\n".join(text)  # one character per line, as such labels are often typed
        lines = text.split("\n")
        first.paragraphs[0].text = lines[0]
        for line in lines[1:]:
            first.add_paragraph(line)
    return table


def build_docx(v: dict, nested: bool = False) -> bytes:
    d = docx.Document()
    d.add_paragraph(f"{v['meta.agency']}{v['meta.year']}年政府信息公开工作年度报告")
    d.add_paragraph("一、总体情况")
    d.add_paragraph(
        f"{v['meta.year']}年，本局认真贯彻落实《中华人民共和国政府信息公开条例》，"
        "扎实推进政务公开各项工作。"
    )
    d.add_paragraph("二、主动公开政府信息情况")
    add_table(d, t2_rows(v))
    d.add_paragraph("三、收到和处理政府信息公开申请情况")
    t3 = t3_rows(v)
    # header words broken over two paragraphs
    t3[2] = [dict(c, text=c["text"][:2] + "\n" + c["text"][2:]) for c in t3[2]]
    add_table(d, t3)
    d.add_paragraph("四、政府信息公开行政复议、行政诉讼情况")
    if nested:  # table 4 set inside the one cell of an outer table
        outer = d.add_table(rows=1, cols=1)
        add_table(outer.cell(0, 0), t4_rows(v))
    else:
        add_table(d, t4_rows(v))
    d.add_paragraph("五、存在的主要问题及改进情况")
    d.add_paragraph("信息公开的及时性还需提高。")
    d.add_paragraph("六、其他需要报告的事项")
    d.add_paragraph("本年度未收取信息处理费。")
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


@pytest.fixture(scope="module")
def values():
    return known_values()


@pytest.fixture(scope="module")
def report(values) -> bytes:
    return build_docx(values)


def test_docx_report_is_read_exactly(report, values):
    record = extract(report, "report.docx")
    assert record.kind == "docx"
    assert list(record.fields) == list(keys_for("2021"))
    assert wrong(record, values) == {}
    assert record.review_keys() == []
    assert {f.route for f in record.fields.values()} == {"docx"}


def test_merged_cells_are_shown_once(report, values):
    text = read_document(report, "report.docx").text
    lines = text.split("\n")
    assert fold("第二十条第（五）项\t\t\t") in lines  # merged across: the copies are empty
    assert "行政许可\t447228\t\t" in lines
    assert text.count("三、本年度办理结果") == 1  # merged down 22 rows: shown in the first only
    assert fold("三、本年度办理结果\t（一）予以公开\t\t") in text
    second = next(ln for ln in lines if "2.其他法律行政法规禁止公开" in ln)
    assert second.split("\t")[:2] == ["", ""]
    assert "商业企业\t科研机构\t社会公益组织" in text  # a cell's paragraphs joined without a space


def test_nested_table_is_flattened(values):
    data = build_docx(values, nested=True)
    text = read_document(data, "nested.docx").text
    assert "行政复议\t\t\t\t\t行政诉讼" + "\t" * 9 in text.split("\n")  # rows of their own
    record = extract(data, "nested.docx")
    t4 = {k: v for k, v in values.items() if k.startswith("t4.")}
    assert wrong(record, t4) == {}


def test_kind_comes_from_the_bytes(report, values):
    assert read_document(report, "report.txt").kind == "docx"


def test_zip_without_a_word_document_is_refused():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("xl/workbook.xml", "<workbook/>")
    with pytest.raises(InputError, match="Excel workbook .* is not read"):
        read_document(buf.getvalue(), "book.xlsx")


def test_damaged_docx_is_one_line_error(report, values):
    data = report[:2000]
    with pytest.raises(InputError) as caught:
        read_document(data, "cut.docx")
    assert "Word" in str(caught.value) and "\n" not in str(caught.value)


def test_old_doc_says_how_to_convert(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    ole = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        + bytes(64)
        + "WordDocument".encode("utf-16-le")
        + bytes(64)
    )
    with pytest.raises(InputError) as caught:
        read_document(ole, "old.doc")
    assert str(caught.value) == DOC_HOW and "--convert-to docx" in DOC_HOW


def test_blank_template_is_an_all_null_2021_record():
    record = extract(BLANK.read_bytes(), str(BLANK))
    assert record.template == "2021" and record.kind == "docx"
    assert list(record.fields) == list(keys_for("2021"))
    values = {k: f.value for k, f in record.fields.items() if k.startswith(("t2.", "t3.", "t4."))}
    assert len(values) == 200
    assert {k: v for k, v in values.items() if v is not None} == {}  # no invented zeros
    assert [f for f in record.findings if f.kind in ("report_defect", "misreading_suspected")] == []


def test_old_doc_is_converted_when_libreoffice_is_there(report, values, tmp_path, monkeypatch):
    """The conversion's plumbing, with a stand-in `soffice` that writes the .docx LibreOffice
    would."""
    converted = tmp_path / "converted.docx"
    converted.write_bytes(report)
    fake = tmp_path / "soffice"
    fake.write_text("#!/bin/sh\n# soffice --headless ... --convert-to docx --outdir DIR FILE.doc\n"
                    'while [ "$1" != "--outdir" ]; do shift; done\n'
                    f'cp "{converted}" "$2/report.docx"\n')
    fake.chmod(0o755)
    monkeypatch.setattr(shutil, "which", lambda name: str(fake) if name == "soffice" else None)
    ole = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        + bytes(64)
        + "WordDocument".encode("utf-16-le")
        + bytes(64)
    )
    record = extract(ole, "old.doc")
    assert record.kind == "docx" and wrong(record, values) == {}


def _wrap_every_number(report: bytes, wrapper: str) -> bytes:
    """The report with each number's run inside a tracked insertion, a simple field, a smart tag or
    a content control (cell-level for `cellsdt`), as Word writes them."""
    import docx
    from docx.oxml import OxmlElement

    document = docx.Document(io.BytesIO(report))
    W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
    for tc in list(document.element.body.iter(W + "tc")):
        runs = [
            r
            for r in tc.iter(W + "r")
            if "".join(t.text or "" for t in r.iter(W + "t")).strip().isdigit()
        ]
        if not runs:
            continue
        if wrapper == "cellsdt":
            sdt, content = OxmlElement("w:sdt"), OxmlElement("w:sdtContent")
            sdt.append(OxmlElement("w:sdtPr"))
            tc.addprevious(sdt)
            content.append(tc)
            sdt.append(content)
            continue
        for run in runs:
            tags = {"ins": "w:ins", "field": "w:fldSimple", "smarttag": "w:smartTag",
                    "sdt": "w:sdt"}
            outer = OxmlElement(tags[wrapper])
            run.addprevious(outer)
            if wrapper == "sdt":
                outer.append(OxmlElement("w:sdtPr"))
                content = OxmlElement("w:sdtContent")
                outer.append(content)
                content.append(run)
            else:
                if wrapper == "ins":
                    outer.set(W + "id", "1"), outer.set(W + "author", "editor")
                if wrapper == "field":
                    outer.set(W + "instr", " =SUM(LEFT) ")
                outer.append(run)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


@pytest.mark.parametrize("wrapper", ["ins", "field", "smarttag", "sdt", "cellsdt"])
def test_numbers_inside_word_wrappers_are_read(report, values, wrapper):
    """Tracked insertions, =SUM fields, smart tags and content controls hold real text:
    python-docx's Paragraph.text and row.cells skip it, and the numbers came out blank, unmarked."""
    record = extract(_wrap_every_number(report, wrapper), "wrapped.docx")
    assert wrong(record, values) == {} and record.review_keys() == []
