"""PDF input: tables read from the page geometry, the text layer where there is none, the OCR seam.

The reports are drawn here with reportlab: ruled tables (cells merged across and down, the
label 三、本年度办理结果 set one character per line, header words wrapped inside narrow cells,
table 3 running over a page break with its header repeated, page numbers `- 1 -` in the
footer and inside a table's frame) and the same report without ruling lines. The values are
known, so every key is checked; huaian_2024.pdf (a real report) is read when it is beside
this checkout.
"""

from __future__ import annotations

import io
import re

import pytest
from conftest import ROOT, place_spans

from extractor.errors import InputError
from extractor.fold import fold
from extractor.ingest import read_document
from extractor.ingest_pdf import OCR_MISSING, NeedsOCR, read_pdf
from extractor.pipeline import extract
from extractor.spec import keys_for

pytest.importorskip("reportlab")
from reportlab.pdfbase import pdfmetrics  # noqa: E402
from reportlab.pdfbase.cidfonts import UnicodeCIDFont  # noqa: E402
from reportlab.pdfgen import canvas  # noqa: E402

HUAIAN = ROOT / "examples" / "huaian_2024.pdf"  # bundled copy of ../shared/corpus/huaian_2024.pdf
FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))
PAGE_W, PAGE_H = 595, 842
LEFT, TOP, BOTTOM = 45, 790, 70

# ---------------------------------------------------------------- known values

COLS = ["natural", "commercial", "research", "social", "legal", "other_org", "total"]
T3_ROWS = [  # (row key, group label, sub label, detail label)
    ("new", "一、本年新收政府信息公开申请数量", None, None),
    ("carried_over", "二、上年结转政府信息公开申请数量", None, None),
    ("granted", "三", "（一）予以公开", None),
    ("partial", "三", "（二）部分公开（区分处理的，只计这一情形，不计其他情形）", None),
    ("denied.state_secret", "三", "（三）不予公开", "1.属于国家秘密"),
    ("denied.law_forbidden", "三", "（三）不予公开", "2.其他法律行政法规禁止公开"),
    ("denied.safety_stability", "三", "（三）不予公开", "3.危及“三安全一稳定”"),
    ("denied.third_party", "三", "（三）不予公开", "4.保护第三方合法权益"),
    ("denied.internal_affairs", "三", "（三）不予公开", "5.属于三类内部事务信息"),
    ("denied.process_info", "三", "（三）不予公开", "6.属于四类过程性信息"),
    ("denied.enforcement_file", "三", "（三）不予公开", "7.属于行政执法案卷"),
    ("denied.admin_query", "三", "（三）不予公开", "8.属于行政查询事项"),
    ("unable.not_held", "三", "（四）无法提供", "1.本机关不掌握相关政府信息"),
    ("unable.needs_creation", "三", "（四）无法提供", "2.没有现成信息需要另行制作"),
    ("unable.unclear", "三", "（四）无法提供", "3.补正后申请内容仍不明确"),
    ("ignored.complaint", "三", "（五）不予处理", "1.信访举报投诉类申请"),
    ("ignored.repeated", "三", "（五）不予处理", "2.重复申请"),
    ("ignored.publication", "三", "（五）不予处理", "3.要求提供公开出版物"),
    ("ignored.excessive", "三", "（五）不予处理", "4.无正当理由大量反复申请"),
    ("ignored.confirmation", "三", "（五）不予处理", "5.要求行政机关确认或重新出具已获取信息"),
    (
        "other.no_correction",
        "三",
        "（六）其他处理",
        "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请",
    ),
    (
        "other.no_fee",
        "三",
        "（六）其他处理",
        "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请",
    ),
    ("other.other", "三", "（六）其他处理", "3.其他"),
    ("total", "三", "（七）总计", None),
    ("carried_forward", "四、结转下年度继续办理", None, None),
]
DETAIL = [r[0] for r in T3_ROWS[2:23]]


def known_values() -> dict:
    """A 2021 record whose numbers keep the template's arithmetic."""
    v: dict = {
        "meta.agency": "清河区财政局", "meta.year": 2023, "meta.template": "2021",
        "t2.rules.issued": 1, "t2.rules.repealed": 0, "t2.rules.in_force": 11,
        "t2.normative.issued": 8, "t2.normative.repealed": 26, "t2.normative.in_force": 66,
        "t2.license.decisions": 447228, "t2.penalty.decisions": 3985, "t2.coercion.decisions": 0,
        "t2.fees.amount": 12.5,
    }
    rows = {}
    for i, row in enumerate(DETAIL):
        rows[row] = [(i * 7) % 13, i % 3, 0, 1 if i == 4 else 0, (i * 5) % 4, 0]
    rows["total"] = [sum(rows[r][c] for r in DETAIL) for c in range(6)]
    rows["carried_over"] = [2, 1, 0, 0, 0, 0]
    rows["carried_forward"] = [3, 0, 0, 0, 1, 0]
    rows["new"] = [
        rows["total"][c] + rows["carried_forward"][c] - rows["carried_over"][c] for c in range(6)
    ]
    for row, cells in rows.items():
        for col, value in zip(COLS, cells + [sum(cells)]):
            v[f"t3.{row}.{col}"] = value
    t4 = [5, 2, 1, 1, 9, 3, 0, 0, 1, 4, 0, 1, 0, 0, 1]
    for i, g in enumerate(["review", "suit_direct", "suit_after_review"]):
        for j, c in enumerate(["upheld", "corrected", "other", "pending", "total"]):
            v[f"t4.{g}.{c}"] = t4[i * 5 + j]
    return v


def cell(text, colspan=1, rowspan=1, vertical=False):
    return {"text": str(text), "colspan": colspan, "rowspan": rowspan, "vertical": vertical}


def t2_rows(v) -> list[list[dict]]:
    return [
        [cell("第二十条第（一）项", 4)],
        [cell("信息内容"), cell("本年制发件数"), cell("本年废止件数"), cell("现行有效件数")],
        [cell("规章")] + [cell(v[f"t2.rules.{c}"]) for c in ("issued", "repealed", "in_force")],
        [cell("行政规范性文件")]
        + [cell(v[f"t2.normative.{c}"]) for c in ("issued", "repealed", "in_force")],
        [cell("第二十条第（五）项", 4)],
        [cell("信息内容"), cell("本年处理决定数量", 3)],
        [cell("行政许可"), cell(v["t2.license.decisions"], 3)],
        [cell("第二十条第（六）项", 4)],
        [cell("信息内容"), cell("本年处理决定数量", 3)],
        [cell("行政处罚"), cell(v["t2.penalty.decisions"], 3)],
        [cell("行政强制"), cell(v["t2.coercion.decisions"], 3)],
        [cell("第二十条第（八）项", 4)],
        [cell("信息内容"), cell("本年收费金额（单位：万元）", 3)],
        [cell("行政事业性收费"), cell(v["t2.fees.amount"], 3)],
    ]


T3_HEADER = 3


def t3_rows(v) -> list[list[dict]]:
    rows = [
        [
            cell("（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）", 3, 3),
            cell("申请人情况", 7),
        ],
        [cell("自然人", 1, 2), cell("法人或其他组织", 5), cell("总计", 1, 2)],
        [
            cell("商业企业"),
            cell("科研机构"),
            cell("社会公益组织"),
            cell("法律服务机构"),
            cell("其他"),
        ],
    ]
    groups = {}
    for key, group, sub, detail in T3_ROWS:
        if sub is not None:
            groups[sub] = groups.get(sub, 0) + 1
    seen = set()
    for i, (key, group, sub, detail) in enumerate(T3_ROWS):
        row = []
        if sub is None:
            row.append(cell(group, 3))
        else:
            if "三" not in seen:
                seen.add("三")
                row.append(cell("三、本年度办理结果", 1, 22, vertical=True))
            if detail is None:
                row.append(cell(sub, 2))
            elif sub not in seen:
                seen.add(sub)
                row.append(cell(sub, 1, groups[sub]))
            if detail is not None:
                row.append(cell(detail))
        row += [cell(v[f"t3.{key}.{c}"]) for c in COLS]
        rows.append(row)
    return rows


def t4_rows(v) -> list[list[dict]]:
    heads = ["结果维持", "结果纠正", "其他结果", "尚未审结", "总计"]
    return [
        [cell("行政复议", 5), cell("行政诉讼", 10)],
        [cell(h, 1, 2) for h in heads] + [cell("未经复议直接起诉", 5), cell("复议后起诉", 5)],
        [cell(h) for h in heads * 2],
        [
            cell(v[f"t4.{g}.{c}"])
            for g in ("review", "suit_direct", "suit_after_review")
            for c in ("upheld", "corrected", "other", "pending", "total")
        ],
    ]


# ---------------------------------------------------------------- drawing


class Page:
    """A reportlab canvas that knows where the next line goes and starts new pages (with their
    footers)."""

    def __init__(self, footer_in_table: bool = False):
        self.buf = io.BytesIO()
        self.c = canvas.Canvas(self.buf, pagesize=(PAGE_W, PAGE_H))
        self.y = TOP
        self.number = 1
        self.footer_in_table = footer_in_table

    def footer(self):
        self.c.setFont(FONT, 9)
        self.c.drawCentredString(PAGE_W / 2, 30, f"- {self.number} -")

    def new_page(self):
        self.footer()
        self.c.showPage()
        self.number += 1
        self.y = TOP

    def text(self, line: str, size: float = 10.5, indent: float = 0):
        if self.y - size - 6 < BOTTOM:
            self.new_page()
        self.c.setFont(FONT, size)
        self.y -= size + 6
        self.c.drawString(LEFT + indent, self.y, line)

    def paragraph(self, text: str, size: float = 10.5):
        """Wrapped at the right margin like a word processor: the first line indented two
        characters."""
        width = PAGE_W - 2 * LEFT
        first = True
        while text:
            room = int((width - (2 * size if first else 0)) // size)
            self.text(text[:room], size, 2 * size if first else 0)
            text, first = text[room:], False

    def pdf(self) -> bytes:
        self.footer()
        self.c.save()
        return self.buf.getvalue()


def wrap(text: str, width: float, size: float) -> list[str]:
    per_line = max(1, int((width - 4) // size))
    return [text[i : i + per_line] for i in range(0, len(text), per_line)] or [""]


def _row_heights(placed, xs: list[float], n_rows: int, size: float) -> list[float]:
    """Each row's height: the most wrapped lines of a cell that spans it alone."""
    heights = [size + 8] * n_rows
    for r, col, spec in placed:
        if spec["rowspan"] == 1 and not spec["vertical"]:
            lines = wrap(spec["text"], xs[col + spec["colspan"]] - xs[col], size)
            heights[r] = max(heights[r], len(lines) * (size + 2) + 6)
    return heights


def _paginate(page: Page, heights: list[float], header_rows: int):
    """(page and top of every row, (page, y) where a header copy starts, the last page, the y
    below the table): the header rows again at the top of a new page."""
    where: dict[int, tuple[int, float]] = {}
    repeats: list[tuple[int, float]] = []
    y, pg = page.y - 4, page.number
    for r in range(len(heights)):
        if y - heights[r] < BOTTOM:
            pg += 1
            y = TOP
            if header_rows and r >= header_rows:
                repeats.append((pg, y))
                y -= sum(heights[:header_rows])
        where[r] = (pg, y)
        y -= heights[r]
    return where, repeats, pg, y


def _draw_cell(c, x0, x1, top, bottom, spec, size: float, ruled: bool, with_text=True):
    if ruled:
        c.setLineWidth(0.5)
        c.rect(x0, bottom, x1 - x0, top - bottom)
    if not with_text:
        return
    c.setFont(FONT, size)
    if spec["vertical"]:
        for i, ch in enumerate(spec["text"]):
            c.drawString(x0 + 2, top - (i + 1) * (size + 3), ch)
        return
    for i, line in enumerate(wrap(spec["text"], x1 - x0, size)):
        c.drawString(x0 + 2, top - 3 - (i + 1) * (size + 2) + 2, line)


def _draw_header_copy(c, placed, xs, heights, header_rows: int, y: float, size, ruled) -> None:
    for r in range(header_rows):
        for rr, col, spec in placed:
            if rr == r:
                bottom = y - sum(heights[r : r + spec["rowspan"]])
                _draw_cell(c, xs[col], xs[col + spec["colspan"]], y, bottom, spec, size, ruled)
        y -= heights[r]


def draw_table(page: Page, widths: list[float], rows: list[list[dict]], size: float = 7,
               header_rows: int = 0, ruled: bool = True):
    """Lay the rows out on a grid (HTML-style spans), break pages between rows, repeat the header
    rows."""
    placed, _ = place_spans(rows)  # (row, col, cell)
    xs = [LEFT]
    for w in widths:
        xs.append(xs[-1] + w)
    heights = _row_heights(placed, xs, len(rows), size)
    where, repeats, pg, y = _paginate(page, heights, header_rows)
    start_page = page.number
    for p in range(start_page, pg + 1):
        c = page.c
        for r, col, spec in placed:
            span = [rr for rr in range(r, r + spec["rowspan"]) if where[rr][0] == p]
            if not span:
                continue
            top = where[span[0]][1]
            bottom = where[span[-1]][1] - heights[span[-1]]
            _draw_cell(c, xs[col], xs[col + spec["colspan"]], top, bottom, spec, size, ruled,
                       with_text=span[0] == r)
        for rp, ry in repeats:
            if rp == p:
                _draw_header_copy(c, placed, xs, heights, header_rows, ry, size, ruled)
        if page.footer_in_table and p == start_page and p < pg:
            # a page number printed inside the table's frame, in the label cell of the last row
            # on the page
            last = max(rr for rr in where if where[rr][0] == p)
            c.setFont(FONT, 6)
            c.drawString(xs[0] + 2, where[last][1] - heights[last] + 2, f"- {p} -")
        if p < pg:
            page.new_page()
    page.y = y - 10


def build_report(
    v: dict, ruled: bool = True, footer_in_table: bool = False, repeat_header: bool = True
) -> bytes:
    page = Page(footer_in_table)
    page.text(f"{v['meta.agency']}{v['meta.year']}年政府信息公开", 16, 120)
    page.text("工作年度报告", 16, 180)
    page.text("一、总体情况", 12)
    page.paragraph(
        f"{v['meta.year']}年，本局认真贯彻落实《中华人民共和国政府信息公开条例》，"
        "扎实推进政务公开各项工作，坚持以公开为常态、不公开为例外，"
        "全面推进决策、执行、管理、服务、结果公开，不断提高政务公开质量。"
    )
    page.text("二、主动公开政府信息情况", 12)
    draw_table(page, [130, 130, 130, 116], t2_rows(v), size=8, ruled=ruled)
    page.text("三、收到和处理政府信息公开申请情况", 12)
    widths = [14, 56, 150] + [40] * 7 if ruled else [14, 120, 200] + [30] * 7
    draw_table(
        page, widths, t3_rows(v), size=7, header_rows=T3_HEADER if repeat_header else 0, ruled=ruled
    )
    page.text("四、政府信息公开行政复议、行政诉讼情况", 12)
    draw_table(page, [33.7] * 15, t4_rows(v), size=7, ruled=ruled)
    page.text("五、存在的主要问题及改进情况", 12)
    page.paragraph("信息公开的及时性还需提高。下一步将加强培训，完善制度。")
    page.text("六、其他需要报告的事项", 12)
    page.paragraph("本年度未收取信息处理费。")
    return page.pdf()


# ---------------------------------------------------------------- helpers


def wrong_or_unmarked(record, values) -> dict:
    """Keys whose value differs from the known one and is not marked for review."""
    out = {}
    for key, want in values.items():
        f = record.fields[key]
        if (f.value != want or type(f.value) is not type(want)) and not f.review:
            out[key] = (want, f.value)
    return out


def wrong(record, values) -> dict:
    return {
        k: (w, record.value(k))
        for k, w in values.items()
        if record.value(k) != w or type(record.value(k)) is not type(w)
    }


@pytest.fixture(scope="module")
def values():
    return known_values()


@pytest.fixture(scope="module")
def ruled_pdf(values):
    return build_report(values)


# ---------------------------------------------------------------- geometry route


def test_ruled_report_is_read_exactly(ruled_pdf, values):
    record = extract(ruled_pdf, "ruled.pdf")
    assert record.kind == "pdf"
    assert list(record.fields) == list(keys_for("2021"))
    assert wrong(record, values) == {}
    assert record.review_keys() == []


def test_table_runs_over_a_page_break(ruled_pdf, values):
    doc = read_document(ruled_pdf, "ruled.pdf")
    pages = {s[2] for s in doc.spans}
    assert len(pages) >= 2, "the fixture is meant to run table 3 over a page break"
    # the repeated header is dropped: the header words stand once, and table 3 is one grid
    assert doc.text.count("申请人情况") == 1
    assert doc.text.count("法人或其他组织") == 1
    t3 = doc.text[doc.text.index("申请人情况"): doc.text.index("四、政府信息公开行政复议")]
    assert "\n\n" not in t3.strip("\n")
    record = extract(ruled_pdf, "ruled.pdf")
    last, first = record.fields["t3.carried_forward.total"], record.fields["t3.new.total"]
    assert last.page > first.page


def test_no_page_numbers_in_the_text(ruled_pdf):
    text = read_document(ruled_pdf, "ruled.pdf").text
    assert not re.search(r"-\s*\d+\s*-", text)


def test_merged_cells_leave_copies_empty(ruled_pdf):
    text = read_document(ruled_pdf, "ruled.pdf").text
    lines = text.split("\n")
    # (the text is folded at ingest: （） as ())
    header = next(ln for ln in lines if ln.startswith(fold("第二十条第（五）项")))
    assert header.split("\t") == [fold("第二十条第（五）项"), "", "", ""]
    license_row = next(ln for ln in lines if ln.startswith("行政许可"))
    assert license_row.split("\t") == ["行政许可", "447228", "", ""]
    # columns aligned: every data row of table 3 has the same number of cells
    t3_start = lines.index("三、收到和处理政府信息公开申请情况") + 2
    t3 = lines[t3_start : lines.index("四、政府信息公开行政复议、行政诉讼情况") - 1]
    assert len(t3) == 3 + 25 and {ln.count("\t") for ln in t3} == {9}
    second = next(ln for ln in t3 if "2.其他法律行政法规禁止公开" in ln)
    assert second.split("\t")[:2] == ["", ""]  # under 三、本年度办理结果 and （三）不予公开


def test_vertical_label_and_wrapped_header_words_are_joined(ruled_pdf):
    text = read_document(ruled_pdf, "ruled.pdf").text
    assert fold("三、本年度办理结果\t（一）予以公开") in text
    assert "社会公益组织" in text and "法律服务机构" in text  # wrapped in their narrow cells
    assert "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请" in text


def test_wrapped_title_and_paragraphs_are_one_line(ruled_pdf):
    text = read_document(ruled_pdf, "ruled.pdf").text
    assert text.split("\n")[0] == "清河区财政局2023年政府信息公开工作年度报告"
    assert any(ln.startswith(fold("2023年，本局认真贯彻")) and ln.endswith("不断提高政务公开质量。")
               for ln in text.split("\n"))


def test_provenance_of_pdf_values(ruled_pdf):
    record = extract(ruled_pdf, "ruled.pdf")
    doc = read_document(ruled_pdf, "ruled.pdf")
    f = record.fields["t2.license.decisions"]
    assert (f.route, f.page) == ("pdf-geometry", 1)
    x0, top, x1, bottom = f.box
    assert 0 <= x0 < x1 <= PAGE_W and 0 <= top < bottom <= PAGE_H
    assert doc.text[f.start:f.end] == "447228"
    year = record.fields["meta.year"]
    assert (year.route, year.page) == ("pdf-text", 1)
    assert all(f.route in ("pdf-geometry", "pdf-text") for f in record.fields.values())
    assert list(doc.spans) == sorted(doc.spans, key=lambda s: s[0])


def test_page_and_box_are_stored(ruled_pdf, tmp_path):
    from extractor import store

    record = extract(ruled_pdf, "ruled.pdf")
    db = store.open_db(tmp_path / "r.db")
    store.save(db, record, "ruled.pdf")
    row = store.values_of(db, record.sha256)["t3.total.total"]
    assert row["route"] == "pdf-geometry" and row["page"] == record.fields["t3.total.total"].page
    back = store.load_record(db, store.documents(db)[0])
    assert back.fields["t3.total.total"].box == record.fields["t3.total.total"].box


def test_header_not_repeated_reads_the_same(values):
    record = extract(build_report(values, repeat_header=False), "plain-break.pdf")
    assert wrong(record, values) == {}


def test_page_number_inside_a_table_is_dropped(values):
    data = build_report(values, footer_in_table=True)
    doc = read_document(data, "footer.pdf")
    assert not re.search(r"-\s*\d+\s*-", doc.text)
    assert wrong(extract(data, "footer.pdf"), values) == {}


# ---------------------------------------------------------------- text-layer fallback


def test_text_layer_fallback_without_ruling_lines(values):
    data = build_report(values, ruled=False)
    record = extract(data, "unruled.pdf")
    assert {
        f.route
        for f in record.fields.values()
        if f.value is not None and not f.key.startswith("meta.")
    } == {"pdf-text"}
    # without cell boxes a value is right or marked, never silently wrong
    assert wrong_or_unmarked(record, values) == {}
    t2 = {k: v for k, v in values.items() if k.startswith("t2.")}
    assert wrong(record, t2) == {}
    f = record.fields["t2.license.decisions"]
    assert f.page == 1 and f.box is not None


# ---------------------------------------------------------------- routing and the OCR seam


def test_kind_comes_from_the_bytes_not_the_name(ruled_pdf, values):
    record = extract(ruled_pdf, "report.txt")
    assert record.kind == "pdf" and wrong(record, values) == {}
    junk = b"\r\n" + ruled_pdf  # a few bytes before the header, as some servers send
    assert read_document(junk, "download").kind == "pdf"


def _image_pdf() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(PAGE_W, PAGE_H))
    img = Image.new("RGB", (60, 80), "white")
    from reportlab.lib.utils import ImageReader

    c.drawImage(ImageReader(img), 0, 0, PAGE_W, PAGE_H)
    c.showPage()
    c.save()
    return buf.getvalue()


@pytest.fixture
def no_ocr(monkeypatch):
    """As if the OCR extra were not installed: importing its package fails."""
    import sys

    monkeypatch.setitem(sys.modules, "rapidocr", None)


def test_scanned_pdf_needs_ocr(no_ocr):
    with pytest.raises(NeedsOCR) as caught:
        read_document(_image_pdf(), "scan.pdf")
    message = str(caught.value)
    assert OCR_MISSING in message and "\n" not in message
    assert "pip install 'xxgk[ocr]'" in message
    assert caught.value.pages == (1,)
    assert isinstance(caught.value, InputError)


@pytest.mark.parametrize(
    "magic",
    [b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", b"\xff\xd8\xff\xe0\x00\x10JFIF", b"II*\x00\x08\x00"],
)
def test_images_need_ocr(magic, no_ocr):
    with pytest.raises(NeedsOCR, match=re.escape(OCR_MISSING)):
        read_document(magic + bytes(64), "photo.bin")


def test_broken_pdf_is_one_line_error():
    with pytest.raises(InputError) as caught:
        read_document(b"%PDF-1.4\n1 0 obj garbage", "broken.pdf")
    assert "PDF" in str(caught.value) and "\n" not in str(caught.value)


def test_batch_reads_pdf_files(ruled_pdf, tmp_path, no_ocr):
    from extractor.batch import collect, read_file

    (tmp_path / "a.pdf").write_bytes(ruled_pdf)
    (tmp_path / "scan.pdf").write_bytes(_image_pdf())
    found = collect([str(tmp_path)])
    assert sorted(p.name for p in found) == ["a.pdf", "scan.pdf"]
    records = {p.name: read_file(p) for p in found}
    assert records["a.pdf"].status == "ok"
    assert records["scan.pdf"].status == "failed" and OCR_MISSING in records["scan.pdf"].error


# ---------------------------------------------------------------- the real example


def test_huaian_reads_cleanly():
    record = extract(HUAIAN.read_bytes(), str(HUAIAN))
    assert record.template == "2021"
    assert record.value("meta.agency") == "淮安市人民政府" and record.value("meta.year") == 2024
    assert record.review_keys() == []
    assert [f for f in record.findings if f.kind in ("report_defect", "misreading_suspected")] == []
    assert record.value("t2.license.decisions") == 447228
    assert record.value("t3.unable.needs_creation.total") == 11  # the row after a page break
    assert record.value("t4.suit_after_review.total") == 20
    rendered = read_pdf(HUAIAN.read_bytes())
    assert rendered.pages == 6
    assert fold("三、本年度办理结果\t（一）予以公开") in rendered.text


def test_a_number_wrapped_in_a_narrow_cell_is_joined_whole():
    """`12,` / `571` or `1234.` / `5678` on two lines of one cell are one number; words are
    spaced."""
    from extractor.ingest_pdf import _join_text

    assert [
        _join_text(a, b)
        for a, b in [("12,", "571"), ("1234.", "5678"), ("12", ",571"), ("104", "4")]
    ] == ["", "", "", ""]
    assert (
        _join_text("Total", "count") == " "
        and _join_text("收费", "金额") == ""
        and _join_text("共计", "12") == " "
    )
