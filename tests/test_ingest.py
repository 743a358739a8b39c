"""Tests for extractor.ingest: decoding, kind detection and HTML rendering."""

import hashlib

import pytest

from extractor.errors import InputError
from extractor.fold import fold
from extractor.ingest import Document, decode_bytes, html_to_text, read_document

SNIPPET = "一、总体情况\n2023年，本机关共收到政府信息公开申请15件，（一）予以公开8件。\n"
CJK_ONLY = "本机关年度报告收到申请"  # no UTF-16 code unit of this has a NUL byte


# ---------------------------------------------------------------- decoding


def test_utf8_without_bom():
    assert decode_bytes(SNIPPET.encode("utf-8")) == (SNIPPET, "utf-8")


def test_utf8_with_bom_is_stripped():
    text, encoding = decode_bytes(b"\xef\xbb\xbf" + SNIPPET.encode("utf-8"))
    assert encoding == "utf-8-sig"
    assert text == SNIPPET and not text.startswith("\ufeff")


@pytest.mark.parametrize("codec", ["gbk", "gb2312", "gb18030"])
def test_gb_family_decodes_as_gb18030(codec):
    assert decode_bytes(SNIPPET.encode(codec)) == (SNIPPET, "gb18030")


def test_gb18030_only_character():
    text = "报告中的生僻字\U00020000。"
    assert decode_bytes(text.encode("gb18030")) == (text, "gb18030")


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_with_bom(codec):
    bom = b"\xff\xfe" if codec.endswith("le") else b"\xfe\xff"
    assert decode_bytes(bom + SNIPPET.encode(codec)) == (SNIPPET, codec)


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
@pytest.mark.parametrize(
    "text", [SNIPPET, "Annual report 2023\nTotal: 15 requests\n", "一二三、上下"]
)
def test_utf16_without_bom(codec, text):
    assert decode_bytes(text.encode(codec)) == (text, codec)


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom_or_nul_bytes(codec):
    data = CJK_ONLY.encode(codec)
    assert b"\x00" not in data
    assert decode_bytes(data) == (CJK_ONLY, codec)


def test_line_endings_are_normalised():
    text, _ = decode_bytes("第一行\r\n第二行\r第三行\n".encode("utf-8"))
    assert text == "第一行\n第二行\n第三行\n"
    text, _ = decode_bytes("a\r\nb\r\n".encode("utf-16-le"))
    assert text == "a\nb\n"


@pytest.mark.parametrize(
    "data, words",
    [
        (b"", "empty file"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "PDF is not read"),
        (b"PK\x03\x04\x14\x00\x06\x00word/document.xml", "Word file (.docx) that cannot be opened"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "PNG"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(64), ".doc"),
        (bytes(range(256)) * 8, "binary"),
        (b"\x01\x02\x03\x04\x05\x06\x07\x08abcdefgh" * 10, "binary"),
    ],
)
def test_bad_input_raises_input_error(data, words):
    with pytest.raises(InputError) as caught:
        decode_bytes(data)
    message = str(caught.value)
    assert words in message and "\n" not in message


def test_bad_input_raises_from_read_document_too():
    with pytest.raises(InputError, match="PDF"):
        read_document(b"%PDF-1.4 ...", "report.pdf")


@pytest.mark.parametrize("name, promised", [("report.pdf", "(PDF, .pdf)"),
                                             ("report.docx", "(Word, .docx)"),
                                             ("scan.tiff", "(image, .tiff)")])
def test_random_bytes_named_as_a_binary_kind_say_they_are_not_that_kind(name, promised):
    noise = bytes((i * 7919 + 13) % 256 for i in range(3000))  # NUL bytes and no header
    with pytest.raises(InputError) as caught:
        read_document(noise, name)
    assert str(caught.value).startswith(f"not what its name says {promised}: binary file")
    with pytest.raises(InputError) as caught:
        read_document(noise, "report.txt")  # a text name promised nothing
    assert str(caught.value).startswith("binary file")


# ---------------------------------------------------------------- kind and documents


def test_read_document_fields_for_text():
    data = SNIPPET.encode("gbk")
    doc = read_document(data, "reports/2023.txt")
    assert doc == Document(
        name="reports/2023.txt",
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        encoding="gb18030",
        kind="text",
        text=fold(SNIPPET),  # full-width forms folded at ingest, one character for one
    )


MARKDOWN = "# 年度报告\n\n| 项目 | 数量 |\n|---|---:|\n| 新收申请 | 15 |\n"


def test_kind_markdown_by_name():
    assert read_document("普通文字".encode(), "report.MD").kind == "markdown"
    assert read_document("普通文字".encode(), "report.markdown").kind == "markdown"


def test_kind_markdown_by_content_is_kept_verbatim():
    doc = read_document(MARKDOWN.replace("\n", "\r\n").encode(), "report.txt")
    assert doc.kind == "markdown"
    assert doc.text == MARKDOWN


def test_pipes_without_separator_are_text():
    assert read_document("a | b\nc | d\n".encode(), "x.txt").kind == "text"


@pytest.mark.parametrize(
    "html",
    [
        "<html><body><p>你好</p></body></html>",
        "\ufeff  <!DOCTYPE html>\n<html><p>你好</p></html>",
        '<?xml version="1.0"?>\n<!-- saved --><div>你好</div>',
        "<p class='x'>你好</p>",
        "<TABLE><tr><td>你好</td></tr></TABLE>",
    ],
)
def test_kind_html_by_content_with_txt_name(html):
    doc = read_document(html.encode("utf-8"), "report.txt")
    assert doc.kind == "html"
    assert doc.text == "你好"


def test_kind_html_by_name():
    assert read_document("你好 <b>世界</b>".encode(), "a.SHTML").kind == "html"


def test_html_in_gbk_with_meta_charset():
    html = (
        '<html><head><meta charset="gbk"><title>年度报告</title>'
        "</head><body><p>收到申请15件</p></body></html>"
    )
    doc = read_document(html.encode("gbk"), "report.html")
    assert doc.encoding == "gb18030"
    assert doc.text == "年度报告\n收到申请15件"


def test_meta_charset_wins_over_utf8_guess():
    # These bytes are valid UTF-8 ("中文"), but the page says it is GB2312: believe the page.
    body = "中文".encode("utf-8")
    html = (
        b'<html><head><meta http-equiv="Content-Type" '
        b'content="text/html; charset=gb2312"></head><body>' + body
    )
    doc = read_document(html + b"</body></html>", "page.htm")
    assert doc.encoding == "gb18030"
    assert doc.text == body.decode("gb18030")


def test_meta_charset_ignored_when_bytes_do_not_fit():
    html = '<meta charset="utf-8"><p>收到申请</p>'.encode("gbk")
    doc = read_document(html, "page.html")
    assert doc.encoding == "gb18030"
    assert doc.text == "收到申请"


# ---------------------------------------------------------------- HTML rendering

TABLE = """
<p>三、收到和处理政府信息公开申请情况</p>
<table border="1">
<tr><td colspan="3" rowspan="3">（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）</td>
    <td colspan="7">申请人情况</td></tr>
<tr><td rowspan="2">自然人</td><td colspan="5">法人或其他组织</td><td rowspan="2">总计</td></tr>
<tr><td><span>商业</span><br><span>企业</span></td><td>科研<br/>机构</td><td>社会公益组织</td>
    <td>法律服务机构</td><td>其他</td></tr>
<tr><td colspan="3">一、本年新收政府信息公开申请数量</td>
    <td>5</td><td>1</td><td>0</td><td>0</td><td>0</td><td>&nbsp;</td><td>6</td></tr>
<tr><td rowspan="3">三、本年度办理结果</td><td colspan="2">（一）予以公开</td>
    <td>3</td><td>1</td><td>0</td><td>0</td><td>0</td><td>0</td><td>4</td></tr>
<tr><td rowspan="2">（三）不予公开</td><td>1.属于国家秘密</td>
    <td>0</td><td>0</td><td>0</td><td>0</td><td>0</td><td>0</td><td>0</td></tr>
<tr><td>2.其他法律行政法规禁止公开</td>
    <td>1</td><td>0</td><td>0</td><td>0</td><td>0</td><td>0</td><td>1</td></tr>
</table>
<p>四、政府信息公开行政复议、行政诉讼情况</p>
"""  # noqa: E501 (a test input kept byte for byte: the cell text as reports print it)


def test_table_rowspan_colspan_grid():
    lines = html_to_text(TABLE).split("\n")
    assert lines == [
        "三、收到和处理政府信息公开申请情况",
        "",
        "（本列数据的勾稽关系为：第一项加第二项之和，"
        "等于第三项加第四项之和）\t\t\t申请人情况\t\t\t\t\t\t",
        "\t\t\t自然人\t法人或其他组织\t\t\t\t\t总计",
        "\t\t\t\t商业企业\t科研机构\t社会公益组织\t法律服务机构\t其他\t",
        "一、本年新收政府信息公开申请数量\t\t\t5\t1\t0\t0\t0\t\t6",
        "三、本年度办理结果\t（一）予以公开\t\t3\t1\t0\t0\t0\t0\t4",
        "\t（三）不予公开\t1.属于国家秘密\t0\t0\t0\t0\t0\t0\t0",
        "\t\t2.其他法律行政法规禁止公开\t1\t0\t0\t0\t0\t0\t1",
        "",
        "四、政府信息公开行政复议、行政诉讼情况",
    ]
    assert all(line.count("\t") == 9 for line in lines if "\t" in line)


def test_whitespace_only_cells_are_empty():
    html = (
        "<table><tr><td>&nbsp;</td><td>\u3000</td><td> "
        "<span>&nbsp;</span><br> </td><td>7</td></tr></table>"
    )
    assert html_to_text(html) == "\t\t\t7"


def test_cell_labels_split_across_tags_are_joined():
    html = (
        "<table><tr>"
        "<td><span>商业</span><span>企业</span></td>"
        "<td>结果<br>维持</td>"
        "<td>行政\n   复议</td>"
        "<td><p>纠错</p><p>其他</p></td>"
        "<td><span>1</span><span>2</span>件</td>"
        "<td>Total<br>count</td>"
        "<td>共 15 件</td>"
        "</tr></table>"
    )
    assert (
        html_to_text(html) == "商业企业\t结果维持\t行政复议\t纠错其他\t12件\tTotal count\t共 15 件"
    )


def test_nested_table_is_flattened_into_its_cell():
    html = (
        "<table><tr><td>甲</td><td><table><tr><td>已公开</td><td>部分公开</td></tr>"
        "<tr><td>3</td></tr></table></td><td>乙</td></tr></table>"
    )
    assert html_to_text(html) == "甲\t已公开 部分公开 3\t乙"


def test_a_page_laid_out_in_a_table_keeps_its_report_tables_as_grids():
    """Government CMS pages often put the whole article in a layout table (navigation, the text,
    a footer in its cells): its cells are blocks of text, the tables inside stay tab-separated
    grids."""
    article = (
        "<p>一、总体情况</p><p>"
        + "本机关依法推进政务公开。" * 30
        + "</p><p>二、主动公开政府信息情况</p>"
        "<table><tr><td>信息内容</td><td>本年制发件数</td>"
        "<td>本年废止件数</td><td>现行有效件数</td></tr>"
        "<tr><td>规章</td><td>3</td><td>0</td><td>12</td></tr>"
        "</table><p>三、收到和处理政府信息公开申请情况</p>"
    )
    html = (
        "<table width='100%'><tr><td>首页 &gt; 年报</td></tr>"
        f"<tr><td><div id='zoom'>{article}</div></td></tr>"
        "<tr><td>版权所有</td></tr></table>"
    )
    lines = html_to_text(html).splitlines()
    assert (
        "规章\t3\t0\t12" in lines and "信息内容\t本年制发件数\t本年废止件数\t现行有效件数" in lines
    )
    assert "一、总体情况" in lines and "首页 > 年报" in lines and "版权所有" in lines
    # A table of figures with a small table in one of its cells is still a table of figures.
    assert (
        html_to_text(
            "<table><tr><td>甲</td><td><table><tr><td>1</td></tr>"
            "</table></td><td>乙</td><td>丙</td></tr></table>"
        )
        == "甲\t1\t乙\t丙"
    )


def test_markdown_from_pdf_converters_keeps_html_tables_as_grids():
    """MinerU and marker write tables as raw HTML among markdown lines: each becomes a grid in
    place."""
    md = (
        "# 东湖区财政局2023年政府信息公开工作年度报告\n\n## 二、主动公开政府信息情况\n\n"
        "<table><tr><td>信息内容</td><td>本年制发件数</td>"
        "<td>本年废止件数</td><td>现行有效件数</td></tr>"
        "<tr><td>规章</td><td>3</td><td>&nbsp;</td><td>12</td></tr>"
        "</table>\n\n## 三、收到和处理政府信息公开申请情况\n"
    )
    doc = read_document(md.encode("utf-8"), "report.md")
    assert doc.kind == "markdown"
    lines = doc.text.splitlines()
    assert (
        "规章\t3\t\t12" in lines
        and "## 二、主动公开政府信息情况" in lines
        and "<table>" not in doc.text
    )
    plain = "一、总体情况\n本年无 <b>表格</b>。\n"
    # no table: the text as decoded
    assert read_document(plain.encode("utf-8"), "plain.txt").text == plain


def test_a_page_with_one_broken_byte_is_read_not_refused():
    """Browsers show such pages: the broken byte becomes U+FFFD, the rest reads as it should."""
    page = (
        "<html><head><meta charset='gb2312'></head>"
        "<body><p>一、总体情况</p><p>本机关收到申请12件。</p></body></html>"
    )
    data = page.encode("gb18030")
    cut = data.index(b"</p>")
    broken = data[:cut] + b"\xd6" + data[cut:]  # a character cut off after its first byte
    doc = read_document(broken, "page.html")
    assert "本机关收到申请12件" in doc.text and "broken byte" in doc.encoding
    with pytest.raises(InputError):
        decode_bytes(bytes(range(128, 256)) * 40)  # mostly undecodable: still refused


def test_paragraphs_scripts_and_blank_lines():
    html = (
        "<html><head><style>p{color:red}</style><script>var x = '<p>no</p>';</script></head><body>"
        "<h1>某某区人民政府<span>2023年</span>政府信息公开工作年度报告</h1>"
        "<div><p>　　本报告根据\n《条例》编制。</p><br><br><br><p>一、总体情况</p></div>"
        "<p>&nbsp;</p><div>完</div></body></html>"
    )
    assert html_to_text(html) == (
        "某某区人民政府2023年政府信息公开工作年度报告\n本报告根据《条例》编制。\n\n一、总体情况\n完"
    )


def test_broken_markup_and_empty_html():
    assert html_to_text("") == ""
    assert html_to_text("<table><td>a<td>b<tr><td>c</table><p>尾") == "a\tb\nc\t\n\n尾"


def test_non_gb_legacy_encoding_falls_back_to_detection():
    text = "政府資訊公開年度報告，本機關共收到申請"
    assert decode_bytes(text.encode("big5")) == (text, "big5")
