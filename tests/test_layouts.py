"""Layout tests: crafted reports, one per layout trick, checked against known values.

Every report is assembled here from a dict of known values (see ``base_values``): a title,
the six section headings, and tables 2, 3 and 4 rendered by a layout function.  The numbers
are not all zeros and satisfy the template's arithmetic (row 总计 = sum of the six applicant
columns; （七）总计 = sum of the detail rows; 一 + 二 = （七）总计 + 四 per column; table 4:
总计 = 维持 + 纠正 + 其他 + 尚未审结).

The overriding rule, checked in every test on every key: a value is either exactly right or
marked for review.  Where a rule says a value must be read exactly, the test asserts it exactly.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest

from extractor.evaluate import same
from extractor.ingest import read_document
from extractor.pipeline import extract
from extractor.synth_values import t3_rows

# ---------------------------------------------------------------- canonical keys

FIELDS_TSV = Path(__file__).resolve().parent.parent / "rules" / "fields.tsv"


def _load_keys() -> dict[str, list[str]]:
    rows = [
        line.split("\t") for line in FIELDS_TSV.read_text(encoding="utf-8").splitlines()[1:] if line
    ]
    return {tpl: [r[0] for r in rows if r[2] in ("both", tpl)] for tpl in ("2019", "2021")}


KEYS = _load_keys()

AGENCY = "东湖区财政局"
COLS = ["natural", "commercial", "research", "social", "legal", "other_org", "total"]
APPLICANTS = COLS[:6]

# ---------------------------------------------------------------- table 3 model

# t3_rows(template): row key -> label cells (three label slots: 一级, 二级, 三级; trailing empty
# slots dropped), as the template prints them; the same rows the stress corpus draws.


# The six applicant columns of every detail row (（一）…（六）); 总计 columns are computed.
_DETAIL = {
    "granted": [12, 3, 0, 2, 0, 2],
    "partial": [3, 1, 0, 0, 0, 0],
    "denied.state_secret": [1, 0, 0, 0, 0, 0],
    "denied.law_forbidden": [0, 0, 0, 0, 0, 0],
    "denied.safety_stability": [2, 0, 0, 0, 0, 0],
    "denied.third_party": [1, 1, 0, 0, 0, 0],
    "denied.internal_affairs": [0, 0, 0, 0, 0, 0],
    "denied.process_info": [4, 0, 0, 1, 0, 0],
    "denied.enforcement_file": [0, 0, 0, 0, 0, 0],
    "denied.admin_query": [2, 0, 0, 0, 0, 0],
    "unable.not_held": [10, 2, 1, 0, 0, 1],
    "unable.needs_creation": [1, 0, 0, 0, 0, 0],
    "unable.unclear": [2, 0, 1, 0, 0, 0],
    "ignored.complaint": [3, 0, 0, 0, 0, 0],
    "ignored.repeated": [1, 0, 0, 0, 0, 0],
    "ignored.publication": [0, 0, 0, 0, 0, 0],
    "ignored.excessive": [1, 0, 0, 0, 0, 0],
    "ignored.confirmation": [0, 0, 0, 0, 0, 0],
}
_OTHER_2021 = {
    "other.no_correction": [2, 1, 0, 0, 0, 0],
    "other.no_fee": [0, 0, 0, 0, 0, 0],
    "other.other": [1, 0, 0, 0, 1, 0],
}
_OTHER_2019 = {"other": [3, 1, 0, 0, 1, 0]}  # the 2021 rows summed
_CARRIED_OVER = [4, 1, 0, 0, 0, 0]
_CARRIED_FORWARD = [3, 0, 0, 1, 0, 0]

# A small table 3 in which every cell is a single digit (for the run-together crawler text).
_SMALL_DETAIL = {k: [0] * 6 for k in _DETAIL}
_SMALL_DETAIL.update({"granted": [1, 0, 0, 0, 0, 0], "unable.not_held": [0, 1, 0, 0, 0, 0],
                      "ignored.complaint": [1, 0, 0, 0, 0, 0]})
_SMALL_CARRIED_OVER = [1, 1, 0, 0, 0, 0]
_SMALL_CARRIED_FORWARD = [0, 0, 0, 0, 0, 0]


def _t3_values(template: str, small: bool = False) -> dict:
    detail = dict(_SMALL_DETAIL if small else _DETAIL)
    other = _OTHER_2021 if template == "2021" else _OTHER_2019
    detail.update({k: ([0] * 6 if small else v) for k, v in other.items()})
    carried_over = _SMALL_CARRIED_OVER if small else _CARRIED_OVER
    forward = _SMALL_CARRIED_FORWARD if small else _CARRIED_FORWARD
    total = [sum(row[i] for row in detail.values()) for i in range(6)]
    new = [total[i] + forward[i] - carried_over[i] for i in range(6)]
    assert min(new) >= 0
    rows = dict(detail, total=total, new=new, carried_over=carried_over, carried_forward=forward)
    out = {}
    for row, six in rows.items():
        for col, v in zip(COLS, six + [sum(six)]):
            out[f"t3.{row}.{col}"] = v
    return out


# ---------------------------------------------------------------- table 2 model

T2_2021 = [
    ("section", "第二十条第（一）项"),
    ("header", ["信息内容", "本年制发件数", "本年废止件数", "现行有效件数"]),
    ("row", "规章", ["t2.rules.issued", "t2.rules.repealed", "t2.rules.in_force"]),
    ("row", "行政规范性文件",
     ["t2.normative.issued", "t2.normative.repealed", "t2.normative.in_force"]),
    ("section", "第二十条第（五）项"),
    ("header", ["信息内容", "本年处理决定数量"]),
    ("row", "行政许可", ["t2.license.decisions"]),
    ("section", "第二十条第（六）项"),
    ("header", ["信息内容", "本年处理决定数量"]),
    ("row", "行政处罚", ["t2.penalty.decisions"]),
    ("row", "行政强制", ["t2.coercion.decisions"]),
    ("section", "第二十条第（八）项"),
    ("header", ["信息内容", "本年收费金额（单位：万元）"]),
    ("row", "行政事业性收费", ["t2.fees.amount"]),
]
T2_2019 = [
    ("section", "第二十条第（一）项"),
    ("header", ["信息内容", "本年新制作数量", "本年新公开数量", "对外公开总数量"]),
    ("row", "规章", ["t2.rules.new_made", "t2.rules.new_published", "t2.rules.total_published"]),
    ("row", "规范性文件",
     ["t2.normative.new_made", "t2.normative.new_published", "t2.normative.total_published"]),
    ("section", "第二十条第（五）项"),
    ("header", ["信息内容", "上一年项目数量", "本年增/减", "处理决定数量"]),
    ("row", "行政许可", ["t2.license.prev_items", "t2.license.change", "t2.license.decisions"]),
    ("row", "其他对外管理服务事项",
     ["t2.other_services.prev_items", "t2.other_services.change", "t2.other_services.decisions"]),
    ("section", "第二十条第（六）项"),
    ("header", ["信息内容", "上一年项目数量", "本年增/减", "处理决定数量"]),
    ("row", "行政处罚", ["t2.penalty.prev_items", "t2.penalty.change", "t2.penalty.decisions"]),
    ("row", "行政强制", ["t2.coercion.prev_items", "t2.coercion.change", "t2.coercion.decisions"]),
    ("section", "第二十条第（八）项"),
    ("header", ["信息内容", "上一年项目数量", "本年增/减"]),
    ("row", "行政事业性收费", ["t2.fees.prev_items", "t2.fees.change"]),
    ("section", "第二十条第（九）项"),
    ("header", ["信息内容", "采购项目数量", "采购总金额"]),
    ("row", "政府集中采购", ["t2.procurement.items", "t2.procurement.amount"]),
]

T2_VALUES = {
    "2021": {
        "t2.rules.issued": 1, "t2.rules.repealed": 0, "t2.rules.in_force": 3,
        "t2.normative.issued": 5, "t2.normative.repealed": 2, "t2.normative.in_force": 17,
        "t2.license.decisions": 46, "t2.penalty.decisions": 8, "t2.coercion.decisions": 2,
        "t2.fees.amount": 12.5,
    },
    "2019": {
        "t2.rules.new_made": 1, "t2.rules.new_published": 1, "t2.rules.total_published": 4,
        "t2.normative.new_made": 6, "t2.normative.new_published": 6,
        "t2.normative.total_published": 31,
        "t2.license.prev_items": 23, "t2.license.change": -2, "t2.license.decisions": 158,
        "t2.other_services.prev_items": 9, "t2.other_services.change": 3,
        "t2.other_services.decisions": 40,
        "t2.penalty.prev_items": 120, "t2.penalty.change": -13, "t2.penalty.decisions": 37,
        "t2.coercion.prev_items": 15, "t2.coercion.change": 0, "t2.coercion.decisions": 4,
        "t2.fees.prev_items": 3, "t2.fees.change": -1,
        "t2.procurement.items": 12, "t2.procurement.amount": 356.8,
    },
}

# ---------------------------------------------------------------- table 4 model

T4_KEYS = [f"t4.{grp}.{res}" for grp in ("review", "suit_direct", "suit_after_review")
           for res in ("upheld", "corrected", "other", "pending", "total")]
T4_VALUES = dict(zip(T4_KEYS, [3, 1, 1, 2, 7, 2, 1, 0, 1, 4, 1, 2, 1, 0, 4]))
T4_HEADER = [
    ["行政复议", "", "", "", "", "行政诉讼"],
    ["结果维持", "结果纠正", "其他结果", "尚未审结", "总计", "未经复议直接起诉", "", "", "", "",
     "复议后起诉"],
    ["", "", "", "", "", "结果维持", "结果纠正", "其他结果", "尚未审结", "总计",
     "结果维持", "结果纠正", "其他结果", "尚未审结", "总计"],
]


def base_values(template: str = "2021", small_t3: bool = False) -> dict:
    year = 2023 if template == "2021" else 2020
    vals = {"meta.agency": AGENCY, "meta.year": year, "meta.template": template}
    vals.update(T2_VALUES[template])
    vals.update(_t3_values(template, small=small_t3))
    vals.update(T4_VALUES)
    assert set(vals) == set(KEYS[template]), set(vals) ^ set(KEYS[template])
    return vals


# ---------------------------------------------------------------- generic table rows


def fmt(v) -> str:
    if v is None:
        return ""
    return str(v)


def _row(labels, values, kind="data"):
    return {"labels": list(labels), "values": list(values), "kind": kind}


def t2_table(vals: dict, template: str, cells: dict | None = None):
    cells = cells or {}
    rows = []
    for item in T2_2021 if template == "2021" else T2_2019:
        if item[0] == "section":
            rows.append(_row([item[1]], [], "header"))
        elif item[0] == "header":
            rows.append(_row(item[1], [], "header"))
        else:
            _, label, keys = item
            rows.append(_row([label], [cells.get(k, fmt(vals[k])) for k in keys]))
    return {"rows": rows, "width": 4, "nlabels": 1}


def t3_table(vals: dict, template: str, cells: dict | None = None,
             rows_override: dict | None = None):
    """cells: key -> cell text; rows_override: row key -> full list of value cells."""
    cells = cells or {}
    rows_override = rows_override or {}
    rows = [
        _row(["（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）", "", "",
              "申请人情况"], [], "header"),
        _row(["", "", "", "自然人", "法人或其他组织", "", "", "", "", "总计"], [], "header"),
        _row(["", "", "", "", "商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他", ""],
             [], "header"),
    ]
    for rk, labels in t3_rows(template):
        if rk in rows_override:
            values = rows_override[rk]
        else:
            values = [cells.get(f"t3.{rk}.{c}", fmt(vals[f"t3.{rk}.{c}"])) for c in COLS]
        rows.append(_row(labels, values))
    return {"rows": rows, "width": 10, "nlabels": 3}


def t4_table(vals: dict, cells: dict | None = None):
    cells = cells or {}
    rows = [_row(h, [], "header") for h in T4_HEADER]
    rows.append(_row([], [cells.get(k, fmt(vals[k])) for k in T4_KEYS]))
    return {"rows": rows, "width": 15, "nlabels": 0}


def _strip_trailing(cells):
    cells = list(cells)
    while cells and cells[-1] == "":
        cells.pop()
    return cells


# ---------------------------------------------------------------- layouts


def layout_tsv(table) -> str:
    """Tab-separated cells, one row a line (like examples/000)."""
    lines = []
    for r in table["rows"]:
        if r["kind"] == "header":
            cells = r["labels"]
        else:
            cells = _strip_trailing(r["labels"]) + r["values"]
        cells = cells + [""] * (table["width"] - len(cells)) if table["width"] == 4 else cells
        lines.append("\t".join(cells))
    return "\n".join(lines)


def layout_spaces(table) -> str:
    """One line a row, cells separated by single or multiple spaces; blank cells vanish."""
    lines = []
    for i, r in enumerate(table["rows"]):
        cells = [c for c in (r["labels"] + r["values"]) if c != ""]
        sep = " " if i % 2 else "   "
        lines.append(sep.join(cells))
    return "\n".join(lines)


def layout_markdown(table) -> str:
    """Markdown pipe table: `| 规章 | 1 | 0 | 3 |` with a `|---|` separator line."""
    width = table["width"]
    lines = []
    for i, r in enumerate(table["rows"]):
        if r["kind"] == "header":
            cells = list(r["labels"])
        else:
            labels = r["labels"] + [""] * (table["nlabels"] - len(r["labels"]))
            cells = labels + r["values"]
        cells = cells + [""] * (width - len(cells))
        lines.append("| " + " | ".join(cells) + " |")
        if i == 0:
            lines.append("|" + "---|" * width)
    return "\n".join(lines)


def layout_cellline(table) -> str:
    """One cell a line, each starting with a tab; rows separated by blank lines (examples/003)."""
    blocks = []
    for r in table["rows"]:
        cells = r["labels"] if r["kind"] == "header" else _strip_trailing(r["labels"]) + r["values"]
        lines = []
        for j, c in enumerate(cells):
            if re.fullmatch(r"\d+", c):
                c = (" " + c) if j % 2 else (c + " ")  # stray spaces around numbers, as in 003
            lines.append("\t" + c)
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def layout_plain(table) -> str:
    """One cell a line, no tabs, no blank lines: a label line, then its numbers each on a line."""
    lines = []
    for r in table["rows"]:
        lines.extend(c for c in r["labels"] + r["values"] if c != "")
    return "\n".join(lines)


def layout_crawler(table) -> str:
    """Crawler text: every row on one line, cells run together with no separator at all."""
    return "\n".join("".join(r["labels"] + r["values"]) for r in table["rows"])


LAYOUTS = {
    "tsv": layout_tsv,
    "spaces": layout_spaces,
    "markdown": layout_markdown,
    "cellline": layout_cellline,
    "plain": layout_plain,
    "crawler": layout_crawler,
}

# ---------------------------------------------------------------- report assembly

HEADINGS = [
    "一、总体情况",
    "二、主动公开政府信息情况",
    "三、收到和处理政府信息公开申请情况",
    "四、政府信息公开行政复议、行政诉讼情况",
    "五、存在的主要问题及改进情况",
    "六、其他需要报告的事项",
]


def report_text(
    template: str = "2021",
    layout: str = "tsv",
    vals: dict | None = None,
    t2: str | None = None,
    t3: str | None = None,
    t4: str | None = None,
    title: str | None = None,
    agency_in_body: str = AGENCY,
) -> str:
    """A minimal report. t2/t3/t4 replace the rendered table text when given."""
    vals = vals or base_values(template)
    year = vals["meta.year"]
    render = LAYOUTS[layout]
    if t2 is None:
        t2 = render(t2_table(vals, template))
    if t3 is None:
        t3 = render(t3_table(vals, template))
    if t4 is None:
        t4 = render(t4_table(vals))
    title = title if title is not None else f"{AGENCY}{year}年政府信息公开工作年度报告"
    parts = [
        title,
        HEADINGS[0],
        f"{year}年，{agency_in_body}认真贯彻落实《中华人民共和国政府信息公开条例》，"
        f"全年通过政府门户网站主动公开政府信息156条，更新政府信息公开指南1次。",
        HEADINGS[1],
        t2,
        HEADINGS[2],
        t3,
        HEADINGS[3],
        t4,
        HEADINGS[4],
        f"{year}年，我局政府信息公开工作取得一定成效，但仍存在公开内容不够全面等问题。"
        f"{year + 1}年，我局将进一步加强政府信息公开工作。",
        HEADINGS[5],
        "本年度无其他需要报告的事项。",
        agency_in_body,
        f"{year + 1}年1月20日",
    ]
    return "\n\n".join(parts) + "\n"


def run(text: str, name: str = "report.txt", encoding: str = "utf-8"):
    data = text.encode(encoding)
    return extract(data, name), data, name


# ---------------------------------------------------------------- HTML (Word-pasted)

_TD_STYLE = "border:solid windowtext 1.0pt;padding:0cm 5.4pt 0cm 5.4pt"


def _spans(text: str) -> str:
    """Word splits runs of text across <span>s; do the same for labels longer than 3 chars."""
    if text == "":
        return "<span lang=EN-US>&nbsp;<o:p></o:p></span>"
    if len(text) <= 3:
        return f"<span style='font-family:宋体'>{text}</span>"
    a = len(text) // 2
    return (f"<span style='font-family:宋体'>{text[:a]}</span>"
            f"<span style='font-family:宋体;mso-bidi-font-family:宋体'>{text[a:]}</span>")


def _td(text: str, rs: int = 1, cs: int = 1) -> str:
    attrs = (f" rowspan={rs}" if rs > 1 else "") + (f" colspan={cs}" if cs > 1 else "")
    if re.fullmatch(r"-?[\d.]+", text):
        inner = f"<span lang=EN-US>{text}</span>"
    else:
        inner = _spans(text)
    return (
        f"<td{attrs} valign=center style='{_TD_STYLE}'>"
        f"<p class=MsoNormal align=center style='text-align:center'>{inner}<o:p></o:p></p></td>"
    )


def _tr(*tds: str) -> str:
    return "<tr style='height:20.0pt'>" + "".join(tds) + "</tr>"


def _html_table(rows: list[str]) -> str:
    return ("<table class=MsoNormalTable border=1 cellspacing=0 cellpadding=0>" + "".join(rows)
            + "</table>")


def html_t2(vals: dict, template: str, cells: dict) -> str:
    rows = []
    for item in T2_2021 if template == "2021" else T2_2019:
        if item[0] == "section":
            rows.append(_tr(_td(item[1], cs=4)))
        elif item[0] == "header":
            heads = item[1]
            tds = [_td(h) for h in heads[:-1]] + [_td(heads[-1], cs=4 - len(heads) + 1)]
            rows.append(_tr(*tds))
        else:
            _, label, keys = item
            texts = [cells.get(k, fmt(vals[k])) for k in keys]
            tds = [_td(label)] + [_td(t) for t in texts[:-1]] + [_td(texts[-1], cs=4 - len(keys))]
            rows.append(_tr(*tds))
    return _html_table(rows)


def html_t3(vals: dict, template: str, cells: dict) -> str:
    def nums(rk):
        return [_td(cells.get(f"t3.{rk}.{c}", fmt(vals[f"t3.{rk}.{c}"]))) for c in COLS]

    rows = [
        _tr(_td("（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）", rs=3, cs=3),
            _td("申请人情况", cs=7)),
        _tr(_td("自然人", rs=2), _td("法人或其他组织", cs=5), _td("总计", rs=2)),
        _tr(_td("商业企业"), _td("科研机构"), _td("社会公益组织"), _td("法律服务机构"),
            _td("其他")),
        _tr(_td("一、本年新收政府信息公开申请数量", cs=3), *nums("new")),
        _tr(_td("二、上年结转政府信息公开申请数量", cs=3), *nums("carried_over")),
    ]
    result_rows = [
        rk for rk, _ in t3_rows(template) if rk not in ("new", "carried_over", "carried_forward")
    ]
    groups = {"denied": "（三）不予公开", "unable": "（四）无法提供", "ignored": "（五）不予处理"}
    if template == "2021":
        groups["other"] = "（六）其他处理"
    labels = dict(t3_rows(template))
    seen = set()
    for i, rk in enumerate(result_rows):
        tds = []
        if i == 0:
            tds.append(_td("三、本年度办理结果", rs=len(result_rows)))
        grp = rk.split(".")[0]
        if grp in groups and "." in rk:
            if grp not in seen:
                seen.add(grp)
                n = sum(1 for r in result_rows if r.split(".")[0] == grp)
                tds.append(_td(groups[grp], rs=n))
            tds.append(_td(labels[rk][2]))
        else:
            tds.append(_td(labels[rk][1], cs=2))
        rows.append(_tr(*tds, *nums(rk)))
    rows.append(_tr(_td("四、结转下年度继续办理", cs=3), *nums("carried_forward")))
    return _html_table(rows)


def html_t4(vals: dict, cells: dict) -> str:
    heads = ["结果维持", "结果纠正", "其他结果", "尚未审结", "总计"]
    rows = [
        _tr(_td("行政复议", cs=5), _td("行政诉讼", cs=10)),
        _tr(*[_td(h, rs=2) for h in heads], _td("未经复议直接起诉", cs=5), _td("复议后起诉", cs=5)),
        _tr(*[_td(h) for h in heads * 2]),
        _tr(*[_td(cells.get(k, fmt(vals[k]))) for k in T4_KEYS]),
    ]
    return _html_table(rows)


def report_html(template: str = "2021", vals: dict | None = None, cells: dict | None = None,
                charset: str = "utf-8") -> str:
    vals = vals or base_values(template)
    cells = cells or {}
    year = vals["meta.year"]

    def p(text, bold=False):
        inner = f"<b>{_spans(text)}</b>" if bold else _spans(text)
        return f"<p class=MsoNormal style='text-indent:32.0pt'>{inner}<o:p></o:p></p>\n"

    body = [
        f"<p class=MsoNormal align=center><b><span style='font-size:22.0pt'>"
        f"{AGENCY}{year}年政府信息公开工作年度报告</span></b></p>\n",
        p(HEADINGS[0], True),
        p(f"{year}年，{AGENCY}认真贯彻落实《中华人民共和国政府信息公开条例》，"
          "全年主动公开政府信息156条。"),
        p(HEADINGS[1], True), html_t2(vals, template, cells), "\n",
        p(HEADINGS[2], True), html_t3(vals, template, cells), "\n",
        p(HEADINGS[3], True), html_t4(vals, cells), "\n",
        p(HEADINGS[4], True), p("我局政府信息公开工作仍存在公开内容不够全面等问题。"),
        p(HEADINGS[5], True), p("本年度无其他需要报告的事项。"),
        p(AGENCY), p(f"{year + 1}年1月20日"),
    ]
    return (
        "<html xmlns:o=\"urn:schemas-microsoft-com:office:office\">\n<head>\n"
        f"<meta charset=\"{charset}\">\n<meta name=Generator content=\"Microsoft Word 15\">\n"
        "<style>p.MsoNormal{margin:0cm;font-size:10.5pt;font-family:宋体}</style>\n</head>\n"
        "<body lang=ZH-CN style='tab-interval:21.0pt'>\n<div class=WordSection1>\n"
        + "".join(body) + "</div>\n</body>\n</html>\n"
    )


# ---------------------------------------------------------------- assertions



def describe(rec, keys) -> str:
    out = []
    for k in keys:
        f = rec.fields.get(k)
        if f is None:
            out.append(f"{k}: <missing key>")
        else:
            out.append(
                f"{k}: value={f.value!r} raw={f.raw!r} "
                f"review={f.review} rule={f.rule!r} reason={f.reason!r}"
            )
    return "\n".join(out)


def assert_exact(rec, expected: dict, keys=None):
    keys = list(expected) if keys is None else list(keys)
    wrong = [k for k in keys if k not in rec.fields or not same(rec.fields[k].value, expected[k])]
    assert not wrong, ("values not exact (expected " + repr({k: expected[k] for k in wrong})
                       + "):\n" + describe(rec, wrong))


def assert_marked(rec, keys):
    unmarked = [k for k in keys if k not in rec.fields or not rec.fields[k].review]
    assert not unmarked, "not marked for review:\n" + describe(rec, unmarked)
    if keys:
        assert rec.status == "flagged"


def assert_right_or_marked(rec, expected: dict, alternatives: dict | None = None):
    """The overriding rule: every key is exactly right, or marked for review."""
    alternatives = alternatives or {}
    assert set(rec.fields) == set(expected), set(rec.fields) ^ set(expected)
    bad = []
    for k, want in expected.items():
        f = rec.fields[k]
        ok = [want] + list(alternatives.get(k, []))
        if not f.review and not any(same(f.value, w) for w in ok):
            bad.append(k)
    assert not bad, "wrong values not marked for review (expected " + repr(
        {k: expected[k] for k in bad}) + "):\n" + describe(rec, bad)


def row_keys(row: str) -> list[str]:
    return [f"t3.{row}.{c}" for c in COLS]


# ================================================================ the fixtures themselves


def test_crafted_values_satisfy_the_template_arithmetic():
    for tpl in ("2019", "2021"):
        for small in (False, True):
            v = base_values(tpl, small_t3=small)
            rows = [rk for rk, _ in t3_rows(tpl)]
            detail = [
                r for r in rows if r not in ("new", "carried_over", "total", "carried_forward")
            ]
            for rk in rows:
                assert v[f"t3.{rk}.total"] == sum(v[f"t3.{rk}.{c}"] for c in APPLICANTS)
            for c in COLS:
                assert v[f"t3.total.{c}"] == sum(v[f"t3.{r}.{c}"] for r in detail)
                assert (
                    v[f"t3.new.{c}"] + v[f"t3.carried_over.{c}"]
                    == v[f"t3.total.{c}"] + v[f"t3.carried_forward.{c}"]
                )
            for grp in ("review", "suit_direct", "suit_after_review"):
                assert v[f"t4.{grp}.total"] == sum(
                    v[f"t4.{grp}.{r}"] for r in ("upheld", "corrected", "other", "pending")
                )
        assert any(v for k, v in base_values(tpl).items() if k.startswith("t3.") and v)


# ================================================================ 1-5: the basic layouts


def test_tsv_layout():
    expected = base_values("2021")
    rec, _, _ = run(report_text("2021", "tsv"))
    assert rec.template == "2021"
    assert_exact(rec, expected)


def test_space_separated_layout():
    expected = base_values("2021")
    rec, _, _ = run(report_text("2021", "spaces"))
    assert_exact(rec, expected)


def test_markdown_pipe_tables():
    expected = base_values("2021")
    text = report_text("2021", "markdown")
    assert "| 规章 | 1 | 0 | 3 |" in text and "|---|" in text
    rec, _, _ = run(text, "report.md")
    assert_exact(rec, expected)


def test_one_cell_per_line_with_tabs_and_blank_lines():
    expected = base_values("2021")
    rec, _, _ = run(report_text("2021", "cellline"))
    assert_exact(rec, expected)


def test_plain_one_cell_per_line_no_tabs_no_blank_lines():
    expected = base_values("2021")
    text = report_text("2021", "plain")
    rec, _, _ = run(text)
    assert_exact(rec, expected)


def _html_expected():
    expected = base_values("2021")
    expected["t2.coercion.decisions"] = None  # rendered as &nbsp;
    return expected


def test_html_word_pasted_table():
    expected = _html_expected()
    html = report_html("2021", cells={"t2.coercion.decisions": ""})
    assert "rowspan=" in html and "colspan=" in html and "&nbsp;" in html
    rec, _, _ = run(html, "report.html")
    assert_exact(rec, expected)


def test_html_gbk_encoded_page():
    expected = _html_expected()
    html = report_html("2021", cells={"t2.coercion.decisions": ""}, charset="gbk")
    rec, _, _ = run(html, "report.html", encoding="gbk")
    assert_exact(rec, expected)


def test_html_word_artefacts():
    """Numbers split across <span>s, <br> inside a label, `&nbsp;` padding, Word's ghost row."""
    expected = _html_expected()
    html = report_html("2021", cells={"t2.coercion.decisions": ""})
    # 12 -> <span>1</span><span>2</span>; 19 -> 1<span>9</span>
    html = html.replace(
        "<span lang=EN-US>12</span>", "<span lang=EN-US>1</span><span lang=EN-US>2</span>", 1
    )
    html = html.replace(
        "<span lang=EN-US>19</span>",
        "<span lang=EN-US>1<span style='mso-spacerun:yes'>9</span></span>",
        1,
    )
    # a <br> inside a label, and &nbsp; after another one
    assert html.count(">度办理结果</span>") == 1
    html = html.replace(">度办理结果</span>", ">度<br>办理结果</span>")
    license_label = ("<span style='font-family:宋体'>行政</span>"
                     "<span style='font-family:宋体;mso-bidi-font-family:宋体'>许可</span>")
    html = html.replace(license_label, license_label.replace("许可</span>", "许可&nbsp;</span>"))
    # Word's <![if !supportMisalignedColumns]> ghost row at the end of each table
    ghost = ("<![if !supportMisalignedColumns]><tr height=0>"
             + "<td width=57 style='border:none'></td>" * 10 + "</tr><![endif]>")
    html = html.replace("</table>", ghost + "</table>")
    rec, _, _ = run(html, "report.html")
    assert_exact(rec, expected)


# ================================================================ 6: broken header words


def _spaced(word: str) -> str:
    return " ".join(word)


def test_header_words_split_by_spaces():
    expected = base_values("2021")
    text = report_text("2021", "tsv")
    for w in ["自然人", "商业企业", "科研机构", "社会公益组织", "法律服务机构", "总计"]:
        text = text.replace("\t" + w, "\t" + _spaced(w))
    text = text.replace("\t其他\t\n", "\t其 他\t\n")
    for w in ["本年制发件数", "本年废止件数", "现行有效件数", "本年处理决定数量"]:
        text = text.replace(w, _spaced(w))
    assert "\t自 然 人\t" in text and "\t商 业 企 业\t" in text
    rec, _, _ = run(text)
    assert_exact(rec, expected)


def test_header_words_broken_into_single_characters_one_per_line():
    expected = base_values("2021")
    text = report_text("2021", "cellline")
    for w in ["自然人", "商业企业", "科研机构", "社会公益组织", "法律服务机构", "总计"]:
        text = text.replace("\t" + w + "\n", "\t" + "\n".join(w) + "\n")
    for w in ["结果维持", "结果纠正", "其他结果", "尚未审结"]:
        text = text.replace("\t" + w + "\n", "\t" + "\n".join(w) + "\n")
    assert "\t自\n然\n人\n" in text and "\t商\n业\n企\n业\n" in text
    rec, _, _ = run(text)
    assert_exact(rec, expected)


# ================================================================ 7: wrapped row label


def _wrapped_row_keys() -> list[str]:
    """The keys of the wrapped row (3.补正后申请内容仍不明确) and of the rows either side of it."""
    return (row_keys("unable.unclear") + row_keys("unable.needs_creation")
            + row_keys("ignored.complaint"))


def test_row_label_wrapped_onto_next_line_tsv():
    """Like examples/001: the numbers stay on the first line, the label's tail on the next."""
    expected = base_values("2021")
    text = report_text("2021", "tsv")
    old = "\t\t3.补正后申请内容仍不明确\t2\t0\t1\t0\t0\t0\t3\n"
    assert old in text
    text = text.replace(
        old, "\t\t3.补正后申请内\t2\t0\t1\t0\t0\t0\t3\n\n\t\t容仍不明确\t\t\t\t\t\t\t\n"
    )
    rec, _, _ = run(text)
    keys = _wrapped_row_keys()
    assert_exact(rec, expected, keys)
    assert_exact(rec, expected)


def test_row_label_wrapped_before_its_numbers_spaces():
    """The label wraps and its numbers follow the tail of the label."""
    expected = base_values("2021")
    text = report_text("2021", "spaces")
    m = re.search(r"^3\.补正后申请内容仍不明确( +2 +0 +1 +0 +0 +0 +3)$", text, re.M)
    assert m
    text = text.replace(m.group(0), "3.补正后申请内\n容仍不明确" + m.group(1))
    rec, _, _ = run(text)
    keys = _wrapped_row_keys()
    assert_exact(rec, expected, keys)
    assert_right_or_marked(rec, expected)


def test_row_label_wrapped_in_one_cell_per_line_layout():
    expected = base_values("2021")
    text = report_text("2021", "cellline")
    old = "\t3.补正后申请内容仍不明确\n"
    assert old in text
    text = text.replace(old, "\t3.补正后申请内\n容仍不明确\n")
    rec, _, _ = run(text)
    keys = _wrapped_row_keys()
    assert_exact(rec, expected, keys)
    assert_right_or_marked(rec, expected)


# ================================================================ 8: an extra cell


def test_extra_cell_where_all_readings_agree():
    """8 cells for 7 columns, all zeros: every reading gives the same values."""
    expected = base_values("2021")
    rows = {"denied.law_forbidden": ["0"] * 8}
    text = report_text("2021", "tsv", t3=layout_tsv(t3_table(expected, "2021", rows_override=rows)))
    assert "\t\t2.其他法律行政法规禁止公开\t0\t0\t0\t0\t0\t0\t0\t0\n" in text
    rec, _, _ = run(text)
    assert_exact(rec, expected, row_keys("denied.law_forbidden"))
    assert_right_or_marked(rec, expected)


@pytest.mark.parametrize("layout", ["tsv", "spaces"])
def test_extra_cell_where_readings_disagree_and_row_arithmetic_decides(layout):
    """A stray leading cell: `2 3 1 0 0 0 0 4`; only dropping the first gives 3+1+0+0+0+0 = 4."""
    expected = base_values("2021")
    assert [expected[k] for k in row_keys("partial")] == [3, 1, 0, 0, 0, 0, 4]
    rows = {"partial": ["2", "3", "1", "0", "0", "0", "0", "4"]}
    text = report_text(
        "2021", layout, t3=LAYOUTS[layout](t3_table(expected, "2021", rows_override=rows))
    )
    rec, _, _ = run(text)
    assert_exact(rec, expected, row_keys("partial"))
    assert_right_or_marked(rec, expected)


# ================================================================ 9: a missing cell


def test_missing_cell_in_space_separated_row_is_marked():
    """`12 3 2 0 2 19`: six cells for seven columns; nothing says which one is gone."""
    expected = base_values("2021")
    assert [expected[k] for k in row_keys("granted")] == [12, 3, 0, 2, 0, 2, 19]
    text = report_text("2021", "spaces")
    m = re.search(r"^三、本年度办理结果 +（一）予以公开( +)12 +3 +0 +2 +0 +2 +19$", text, re.M)
    assert m
    sep = m.group(1)
    text = text.replace(
        m.group(0), f"三、本年度办理结果{sep}（一）予以公开{sep}12{sep}3{sep}2{sep}0{sep}2{sep}19"
    )
    rec, _, _ = run(text)
    # the lost cell is either a blank (null) or the 0 it stood for; anything else must be marked
    assert_right_or_marked(rec, expected, alternatives={"t3.granted.research": [None]})
    misplaced = [k for k in row_keys("granted") if not same(rec.value(k), expected[k])
                 and not (k == "t3.granted.research" and rec.value(k) is None)]
    assert_marked(rec, misplaced)


def test_missing_cell_visible_as_blank_tsv_cell_is_null():
    expected = base_values("2021")
    expected["t3.granted.research"] = None
    text = report_text("2021", "tsv", t3=layout_tsv(t3_table(expected, "2021")))
    assert "（一）予以公开\t12\t3\t\t2\t0\t2\t19\n" in text
    rec, _, _ = run(text)
    assert_exact(rec, expected, row_keys("granted"))
    assert_right_or_marked(rec, expected)


# ================================================================ 10: table 4 as a bare run


def test_table4_bare_run_of_15_numbers():
    expected = base_values("2021")
    t4 = " ".join(fmt(expected[k]) for k in T4_KEYS)
    assert t4 == "3 1 1 2 7 2 1 0 1 4 1 2 1 0 4"
    rec, _, _ = run(report_text("2021", "tsv", t4=t4))
    assert_exact(rec, expected, T4_KEYS)
    assert_right_or_marked(rec, expected)


def test_table4_bare_run_with_multiple_spaces():
    expected = base_values("2021")
    t4 = "   ".join(fmt(expected[k]) for k in T4_KEYS)
    rec, _, _ = run(report_text("2021", "tsv", t4=t4))
    assert_exact(rec, expected, T4_KEYS)


# ================================================================ 11: crawler text run together


def test_crawler_run_together_one_digit_per_cell_is_read():
    expected = base_values("2021", small_t3=True)
    t3 = layout_crawler(t3_table(expected, "2021"))
    assert "一、本年新收政府信息公开申请数量1000001" in t3
    assert "二、上年结转政府信息公开申请数量1100002" in t3
    rec, _, _ = run(report_text("2021", "tsv", vals=expected, t3=t3))
    t3_keys = [k for k in expected if k.startswith("t3.")]
    assert_exact(rec, expected, t3_keys)
    assert_right_or_marked(rec, expected)


def test_crawler_run_together_ambiguous_run_is_null_and_marked():
    """`行政规范性文件77132470` for three columns: no arithmetic decides how to split it."""
    expected = base_values("2021")
    vals = dict(expected, **{"t2.normative.issued": 77, "t2.normative.repealed": 13,
                             "t2.normative.in_force": 2470})
    t2 = layout_crawler(t2_table(vals, "2021"))
    assert "行政规范性文件77132470" in t2
    rec, _, _ = run(report_text("2021", "tsv", t2=t2))
    normative = ["t2.normative.issued", "t2.normative.repealed", "t2.normative.in_force"]
    for k in normative:
        assert rec.value(k) is None, describe(rec, normative)
    assert_marked(rec, normative)
    # 行政许可46, 行政处罚8 … are one cell each: nothing to split
    assert_exact(rec, expected, ["t2.license.decisions", "t2.penalty.decisions",
                                 "t2.coercion.decisions", "t2.fees.amount"])
    expected.update({k: None for k in normative})
    assert_right_or_marked(rec, expected)


def test_crawler_run_together_table2_one_digit_per_cell_is_read():
    """`规章103` and `行政规范性文件527`: as many digits as cells, so each digit is one cell."""
    expected = base_values("2021")
    expected.update(
        {"t2.normative.issued": 5, "t2.normative.repealed": 2, "t2.normative.in_force": 7}
    )
    t2 = layout_crawler(t2_table(expected, "2021"))
    assert "\n规章103\n" in t2 and "\n行政规范性文件527\n" in t2
    rec, _, _ = run(report_text("2021", "tsv", vals=expected, t2=t2))
    assert_exact(rec, expected, list(T2_VALUES["2021"]))
    assert_right_or_marked(rec, expected)


def _arith_splits(run: str, n: int = 7) -> list[list[int]]:
    """All ways to cut a digit run into n cells whose first n-1 add up to the last."""
    from itertools import combinations
    out = []
    for cuts in combinations(range(1, len(run)), n - 1):
        parts = [int(run[a:b]) for a, b in zip((0,) + cuts, cuts + (len(run),))]
        if sum(parts[:-1]) == parts[-1]:
            out.append(parts)
    return out


def test_crawler_run_together_row_arithmetic_decides():
    """`（一）予以公开123020219`: nine digits, seven cells; only 12|3|0|2|0|2|19 adds up."""
    small = base_values("2021", small_t3=True)
    detail = dict(_SMALL_DETAIL, granted=[12, 3, 0, 2, 0, 2])
    detail.update({k: [0] * 6 for k in _OTHER_2021})
    total = [sum(r[i] for r in detail.values()) for i in range(6)]
    new = [total[i] + _SMALL_CARRIED_FORWARD[i] - _SMALL_CARRIED_OVER[i] for i in range(6)]
    expected = dict(small)
    for row, six in dict(detail, total=total, new=new).items():
        for col, v in zip(COLS, six + [sum(six)]):
            expected[f"t3.{row}.{col}"] = v
    t3 = layout_crawler(t3_table(expected, "2021"))
    assert "（一）予以公开123020219" in t3 and "（七）总计134020221" in t3
    for run_ in ("123020219", "134020221"):
        assert len(_arith_splits(run_)) == 1
    rec, _, _ = run(report_text("2021", "tsv", vals=expected, t3=t3))
    assert_exact(rec, expected, row_keys("granted") + row_keys("total") + row_keys("new"))
    assert_right_or_marked(rec, expected)


# ================================================================ 12: number split across cells


@pytest.mark.parametrize("layout", ["tsv", "spaces"])
def test_number_split_across_two_cells(layout):
    """`1 2 3 0 2 0 2 19`: only reading `1` `2` as 12 makes the row add up to 19."""
    expected = base_values("2021")
    assert [expected[k] for k in row_keys("granted")] == [12, 3, 0, 2, 0, 2, 19]
    rows = {"granted": ["1", "2", "3", "0", "2", "0", "2", "19"]}
    text = report_text(
        "2021", layout, t3=LAYOUTS[layout](t3_table(expected, "2021", rows_override=rows))
    )
    assert re.search(r"（一）予以公开\s+1\s+2\s+3\s+0\s+2\s+0\s+2\s+19\n", text)
    rec, _, _ = run(text)
    assert_exact(rec, expected, row_keys("granted"))
    assert_right_or_marked(rec, expected)


# ================================================================ 13: illegible / missing tables


def _table_keys(template, table):
    return [k for k in KEYS[template] if k.startswith(table + ".")]


@pytest.mark.parametrize("table", ["t2", "t3", "t4"])
def test_illegible_table_is_null_and_marked(table):
    expected = base_values("2021")
    rec, _, _ = run(report_text("2021", "tsv", **{table: "[illegible]"}))
    keys = _table_keys("2021", table)
    for k in keys:
        expected[k] = None
    assert_exact(rec, expected, keys)
    assert_marked(rec, keys)
    assert_right_or_marked(rec, expected)


@pytest.mark.parametrize("table", ["t2", "t3", "t4"])
def test_missing_table_is_null_and_marked(table):
    expected = base_values("2021")
    text = report_text("2021", "tsv", **{table: "（此处无表格）"})
    text = text.replace("\n\n（此处无表格）\n\n", "\n\n")
    rec, _, _ = run(text)
    keys = _table_keys("2021", table)
    for k in keys:
        expected[k] = None
    assert_exact(rec, expected, keys)
    assert_marked(rec, keys)
    assert_right_or_marked(rec, expected)


def test_illegible_row_is_null_and_marked():
    """`[illegible]` in place of one row's cells: that row is null and marked."""
    expected = base_values("2021")
    t3 = layout_tsv(t3_table(expected, "2021", rows_override={"ignored.repeated": ["[illegible]"]}))
    assert "\t\t2.重复申请\t[illegible]\n" in t3
    rec, _, _ = run(report_text("2021", "tsv", t3=t3))
    keys = row_keys("ignored.repeated")
    for k in keys:
        expected[k] = None
    assert_exact(rec, expected, keys)
    assert_marked(rec, keys)
    assert_right_or_marked(rec, expected)


def test_illegible_cell_is_marked():
    expected = base_values("2021")
    t3 = layout_tsv(t3_table(expected, "2021", cells={"t3.granted.natural": "[illegible]"}))
    rec, _, _ = run(report_text("2021", "tsv", t3=t3))
    assert_marked(rec, ["t3.granted.natural"])
    assert_right_or_marked(rec, expected)


# ======================================================= 14: number formats, units, placeholders

_FW = str.maketrans("0123456789", "０１２３４５６７８９")


def test_full_width_digits():
    expected = base_values("2021")
    cells = {k: fmt(expected[k]).translate(_FW) for k in row_keys("granted")}
    t2cells = {k: fmt(expected[k]).translate(_FW) for k in
               ["t2.normative.issued", "t2.normative.repealed", "t2.normative.in_force"]}
    t4cells = {k: fmt(expected[k]).translate(_FW) for k in T4_KEYS}
    text = report_text(
        "2021", "tsv",
        t2=layout_tsv(t2_table(expected, "2021", cells=t2cells)),
        t3=layout_tsv(t3_table(expected, "2021", cells=cells)),
        t4=layout_tsv(t4_table(expected, cells=t4cells)),
    )
    assert "（一）予以公开\t１２\t３\t０\t２\t０\t２\t１９" in text
    rec, _, _ = run(text)
    assert_exact(rec, expected, row_keys("granted") + list(t2cells) + T4_KEYS)
    assert_exact(rec, expected)


def test_thousands_separators():
    vals = base_values("2021")
    vals.update(
        {"t2.license.decisions": 1234, "t2.penalty.decisions": 2046, "t2.fees.amount": 1234.5678}
    )
    cells = {"t2.license.decisions": "1,234", "t2.penalty.decisions": "2,046",
             "t2.fees.amount": "1,234.5678"}
    text = report_text("2021", "tsv", vals=vals, t2=layout_tsv(t2_table(vals, "2021", cells=cells)))
    assert "行政许可\t1,234\t" in text
    rec, _, _ = run(text)
    assert_exact(rec, vals, list(cells))
    assert_exact(rec, vals)


def test_fees_in_yuan_are_converted_to_wan_yuan():
    expected = base_values("2021")
    expected["t2.fees.amount"] = 1.2345
    t2 = layout_tsv(t2_table(expected, "2021", cells={"t2.fees.amount": "12345"}))
    t2 = t2.replace("本年收费金额（单位：万元）", "本年收费金额（单位：元）")
    assert "本年收费金额（单位：元）" in t2 and "行政事业性收费\t12345\t" in t2
    rec, _, _ = run(report_text("2021", "tsv", t2=t2))
    assert_exact(rec, expected, ["t2.fees.amount"])
    assert_right_or_marked(rec, expected)


def test_fees_in_wan_yuan_are_kept():
    expected = base_values("2021")
    expected["t2.fees.amount"] = 12345.0
    t2 = layout_tsv(t2_table(expected, "2021", cells={"t2.fees.amount": "12345"}))
    assert "本年收费金额（单位：万元）" in t2
    rec, _, _ = run(report_text("2021", "tsv", t2=t2))
    assert_exact(rec, expected, ["t2.fees.amount"])


def test_2019_procurement_amount_in_yuan_is_converted():
    expected = base_values("2019")
    t2 = layout_tsv(t2_table(expected, "2019", cells={"t2.procurement.amount": "3568000"}))
    t2 = t2.replace("采购总金额", "采购总金额（单位：元）")
    rec, _, _ = run(report_text("2019", "tsv", t2=t2))
    assert_exact(rec, expected, ["t2.procurement.amount"])  # 3568000 元 = 356.8 万元
    assert_right_or_marked(rec, expected)


def test_2019_procurement_amount_without_a_unit_is_marked_unless_zero():
    """The 2019 template's 采购总金额 names no unit; reports print 元 as often as 万元: real
    doubt."""
    expected = base_values("2019")
    t2 = layout_tsv(t2_table(expected, "2019", cells={"t2.procurement.amount": "85000"}))
    assert "采购总金额\t" in t2 or "采购总金额\n" in t2
    field = run(report_text("2019", "tsv", t2=t2))[0].fields["t2.procurement.amount"]
    assert field.value == 85000.0 and field.review and "元" in field.reason
    stated = t2.replace("采购总金额", "采购总金额（单位：万元）")
    assert not run(report_text("2019", "tsv", t2=stated))[0].fields["t2.procurement.amount"].review
    zero = layout_tsv(t2_table(expected, "2019", cells={"t2.procurement.amount": "0"}))
    assert not run(report_text("2019", "tsv", t2=zero))[0].fields["t2.procurement.amount"].review


def test_2019_negative_changes():
    expected = base_values("2019")
    text = report_text("2019", "tsv")
    assert "行政处罚\t120\t-13\t37" in text and "行政许可\t23\t-2\t158" in text
    rec, _, _ = run(text)
    keys = ["t2.penalty.change", "t2.license.change", "t2.fees.change", "t2.other_services.change",
            "t2.coercion.change"]
    assert [expected[k] for k in keys] == [-13, -2, -1, 3, 0]
    assert_exact(rec, expected, keys)
    assert_exact(rec, expected)


@pytest.mark.parametrize("minus", ["-", "－", "−"])
def test_2019_negative_change_minus_signs(minus):
    """-13 printed with an ASCII hyphen-minus, a full-width minus or U+2212."""
    expected = base_values("2019")
    cells = {"t2.penalty.change": f"{minus}13", "t2.license.change": f"{minus}2"}
    t2 = layout_tsv(t2_table(expected, "2019", cells=cells))
    assert f"行政处罚\t120\t{minus}13\t37" in t2
    rec, _, _ = run(report_text("2019", "tsv", t2=t2))
    assert_exact(rec, expected, list(cells))
    assert_right_or_marked(rec, expected)


@pytest.mark.parametrize("layout", ["tsv", "spaces"])
def test_placeholders_are_null_not_zero_all_layouts(layout):
    """Every cell of some rows is a placeholder, so no cell goes missing in a space layout."""
    expected = base_values("2021")
    t2cells = {"t2.rules.issued": "/", "t2.rules.repealed": "/", "t2.rules.in_force": "/",
               "t2.license.decisions": "-", "t2.coercion.decisions": "无", "t2.fees.amount": "—"}
    t3cells = {}
    for row, ph in [("denied.law_forbidden", "/"), ("ignored.publication", "-"),
                    ("other.no_fee", "—"), ("denied.internal_affairs", "无")]:
        t3cells.update({k: ph for k in row_keys(row)})
    render = LAYOUTS[layout]
    text = report_text(
        "2021", layout,
        t2=render(t2_table(expected, "2021", cells=t2cells)),
        t3=render(t3_table(expected, "2021", cells=t3cells)),
    )
    rec, _, _ = run(text)
    nulls = list(t2cells) + list(t3cells)
    for k in nulls:
        expected[k] = None
    assert_exact(rec, expected, nulls)
    assert_right_or_marked(rec, expected)


def test_placeholders_are_null_not_zero():
    expected = base_values("2021")
    t2cells = {"t2.rules.issued": "/", "t2.rules.repealed": "/", "t2.rules.in_force": "/",
               "t2.license.decisions": "-", "t2.coercion.decisions": "无", "t2.fees.amount": "—"}
    t3cells = {}
    for row, ph in [("denied.law_forbidden", "/"), ("ignored.publication", "-"),
                    ("other.no_fee", "—"), ("denied.internal_affairs", "无")]:
        t3cells.update({k: ph for k in row_keys(row)})
    t4cells = {"t4.suit_direct.other": "-"}
    text = report_text(
        "2021", "tsv",
        t2=layout_tsv(t2_table(expected, "2021", cells=t2cells)),
        t3=layout_tsv(t3_table(expected, "2021", cells=t3cells)),
        t4=layout_tsv(t4_table(expected, cells=t4cells)),
    )
    assert "规章\t/\t/\t/" in text and "行政许可\t-\t" in text
    rec, _, _ = run(text)
    nulls = list(t2cells) + list(t3cells) + list(t4cells)
    for k in nulls:
        expected[k] = None
    assert_exact(rec, expected, nulls)
    assert_right_or_marked(rec, expected)


# ================================================================ 15: OCR confusions


def test_ocr_confusions_are_marked():
    """`1O` for 10 and `ε` for 3: the value may be read, but the key must be marked."""
    expected = base_values("2021")
    assert expected["t3.unable.not_held.natural"] == 10 and expected["t3.unable.unclear.total"] == 3
    cells = {"t3.unable.not_held.natural": "1O", "t3.unable.unclear.total": "ε"}
    text = report_text("2021", "tsv", t3=layout_tsv(t3_table(expected, "2021", cells=cells)))
    assert "1.本机关不掌握相关政府信息\t1O\t2\t" in text and "\t0\tε\n" in text
    rec, _, _ = run(text)
    assert_marked(rec, list(cells))
    assert_right_or_marked(rec, expected)


# ================================================================ 16: blank totals


def test_blank_totals_are_null():
    expected = base_values("2021")
    blanks = ["t3.granted.total", "t3.unable.not_held.total"] + row_keys("total") + [
        "t4.review.total", "t4.suit_direct.total", "t4.suit_after_review.total"]
    cells = {k: "" for k in blanks}
    text = report_text(
        "2021", "tsv",
        t3=layout_tsv(t3_table(expected, "2021", cells=cells)),
        t4=layout_tsv(t4_table(expected, cells=cells)),
    )
    assert "（一）予以公开\t12\t3\t0\t2\t0\t2\t\n" in text
    rec, _, _ = run(text)
    for k in blanks:
        expected[k] = None
    assert_exact(rec, expected, blanks)
    assert_right_or_marked(rec, expected)


# ================================================================ 17: templates


def test_2019_template():
    expected = base_values("2019")
    rec, _, _ = run(report_text("2019", "tsv"))
    assert rec.template == "2019"
    assert rec.value("meta.template") == "2019"
    assert len(rec.fields) == 201
    assert set(rec.fields) == set(KEYS["2019"])
    assert_exact(
        rec, expected, ["t2.procurement.items", "t2.procurement.amount"] + row_keys("other")
    )
    assert_exact(rec, expected)


def test_2021_template():
    expected = base_values("2021")
    rec, _, _ = run(report_text("2021", "tsv"))
    assert rec.template == "2021"
    assert rec.value("meta.template") == "2021"
    assert len(rec.fields) == 203
    assert set(rec.fields) == set(KEYS["2021"])
    keys = row_keys("other.no_correction") + row_keys("other.no_fee") + row_keys("other.other")
    assert_exact(rec, expected, keys)
    assert_exact(rec, expected)


@pytest.mark.parametrize("layout", ["spaces", "markdown", "cellline", "plain"])
def test_2019_template_in_other_layouts(layout):
    expected = base_values("2019")
    rec, _, _ = run(
        report_text("2019", layout), "report.md" if layout == "markdown" else "report.txt"
    )
    assert rec.template == "2019"
    assert len(rec.fields) == 201
    assert_exact(rec, expected)


# ================================================================ 18: year and agency


def test_year_and_agency_from_title():
    """The title names 2023; the body also talks of 2024 and the report is signed in 2024."""
    expected = base_values("2021")
    rec, _, _ = run(report_text("2021", "tsv"))
    assert rec.value("meta.year") == 2023
    assert rec.value("meta.agency") == AGENCY
    assert_exact(rec, expected, ["meta.year", "meta.agency"])


def test_agency_when_title_lacks_the_region():
    expected = base_values("2021")
    expected.update({"meta.year": 2024, "meta.agency": "高新区财政局"})
    text = report_text("2021", "tsv", vals=expected, title="财政局2024年政府信息公开工作年度报告",
                       agency_in_body="高新区财政局")
    assert "高新区财政局" not in text.splitlines()[0]
    rec, _, _ = run(text)
    assert rec.value("meta.agency") == "高新区财政局"
    assert rec.value("meta.year") == 2024
    assert_exact(rec, expected)


def test_agency_when_title_lacks_the_region_and_only_the_signature_names_it():
    expected = base_values("2021")
    expected.update({"meta.year": 2024, "meta.agency": "高新区财政局"})
    text = report_text("2021", "tsv", vals=expected, title="财政局2024年政府信息公开工作年度报告",
                       agency_in_body="我局")
    text = text.replace("\n\n我局\n\n2025年1月20日", "\n\n高新区财政局\n\n2025年1月20日")
    assert text.count("高新区财政局") == 1
    rec, _, _ = run(text)
    assert rec.value("meta.agency") == "高新区财政局", describe(rec, ["meta.agency"])
    assert rec.value("meta.year") == 2024


def test_year_from_title_with_nian_du_and_spaces():
    """`2023 年度` in the title; the body compares with 2022 and the report is signed in 2024."""
    text = report_text("2021", "tsv", title=f"{AGENCY} 2023 年度政府信息公开工作年度报告")
    text = text.replace("全年通过", "与2022年相比，全年通过")
    rec, _, _ = run(text)
    assert rec.value("meta.year") == 2023, describe(rec, ["meta.year"])
    assert rec.value("meta.agency") == AGENCY, describe(rec, ["meta.agency"])




@pytest.mark.parametrize("title", [
    pytest.param("东湖区财政局2023年度政府信息公开工作年度报告", id="year-nian-du"),
    pytest.param("2023年度东湖区财政局政府信息公开工作年度报告", id="year-first-nian-du"),
    pytest.param("2023年东湖区财政局政府信息公开工作年度报告", id="year-first"),
    pytest.param("东湖区财政局关于2023年度政府信息公开工作年度报告", id="guanyu"),
    pytest.param("东湖区财政局２０２３年政府信息公开工作年度报告", id="full-width-year"),
    pytest.param("东湖区财政局\n2023年政府信息公开工作年度报告", id="title-on-two-lines"),
    pytest.param("东湖区财政局2023年政府信息公开工作年度报告（全文）", id="quanwen-suffix"),
    pytest.param("东湖区财政局政府信息公开工作年度报告（2023年度）",
                 id="year-in-full-width-parens"),
    pytest.param("东湖区财政局政府信息公开工作年度报告(2023年)", id="year-in-ascii-parens"),
    pytest.param("东湖区财政局政府信息公开工作2023年度报告", id="year-before-niandu-baogao"),
    pytest.param("关于印发《东湖区财政局2023年度政府信息公开工作年度报告》的通知",
                 id="guanyu-yinfa-notice"),
    pytest.param("《东湖区财政局2023年政府信息公开工作年度报告》", id="book-title-marks"),
    pytest.param("关于2023年度东湖区财政局政府信息公开工作年度报告", id="guanyu-year-first"),
    pytest.param("# 东湖区财政局2023年政府信息公开工作年度报告", id="markdown-heading"),
    pytest.param("**东湖区财政局2023年政府信息公开工作年度报告**", id="markdown-bold"),
])
def test_year_and_agency_from_title_forms(title):
    text = report_text("2021", "tsv", title=title)
    rec, _, _ = run(text)
    fields = ["meta.year", "meta.agency"]
    assert rec.value("meta.year") == 2023, describe(rec, fields)
    agency = rec.fields["meta.agency"]
    assert agency.value == AGENCY or agency.review, describe(rec, fields)
    assert agency.value == AGENCY, describe(rec, fields)


# ================================================================ 19: spans


def _digits(s: str) -> str:
    return "".join(str(unicodedata.digit(c)) for c in s if c.isdigit())


def _check_spans(rec, text: str):
    checked = 0
    problems = []
    for k, f in rec.fields.items():
        if k.startswith("meta.") or f.value is None:
            continue
        checked += 1
        if f.raw is None or f.start is None or f.end is None:
            problems.append(f"{k}: no raw/span: {f}")
            continue
        span = text[f.start:f.end]
        if not _digits(f.raw) or _digits(span) != _digits(f.raw):
            problems.append(f"{k}: raw={f.raw!r} span={span!r} [{f.start}:{f.end}]")
    assert checked
    assert not problems, "\n".join(problems[:20])


@pytest.mark.parametrize("layout", ["tsv", "spaces", "markdown", "cellline", "plain"])
def test_value_spans_point_at_their_raw_digits(layout):
    text = report_text("2021", layout)
    name = "report.md" if layout == "markdown" else "report.txt"
    data = text.encode("utf-8")
    rec = extract(data, name)
    doc = read_document(data, name)
    _check_spans(rec, doc.text)


def test_value_spans_in_html_point_at_their_raw_digits():
    html = report_html("2021")
    data = html.encode("utf-8")
    rec = extract(data, "report.html")
    doc = read_document(data, "report.html")
    _check_spans(rec, doc.text)


def test_value_spans_for_tricky_cells():
    """Spans of a full-width cell, a thousands-separated cell and a 元 cell."""
    vals = base_values("2021")
    cells = {"t2.license.decisions": "1,234", "t2.penalty.decisions": "８",
             "t2.fees.amount": "12345"}
    t2 = layout_tsv(t2_table(vals, "2021", cells=cells)).replace("（单位：万元）", "（单位：元）")
    data = report_text("2021", "tsv", t2=t2).encode("utf-8")
    rec = extract(data, "report.txt")
    doc = read_document(data, "report.txt")
    _check_spans(rec, doc.text)


# ------------------------------------------------------ a grid's columns decide a row's placement

_GRID_T3 = """三、收到和处理政府信息公开申请情况
\t\t\t申请人情况\t\t\t\t\t\t
\t\t\t自然人\t法人或其他组织\t\t\t\t\t总计
\t\t\t\t商业企业\t科研机构\t社会公益组织\t法律服务机构\t其他\t
一、本年新收政府信息公开申请数量\t\t\t821\t35\t\t\t2\t1\t859
二、上年结转政府信息公开申请数量\t\t\t18\t\t\t\t\t\t18
三、本年度办理结果\t（一）予以公开\t\t258\t12\t\t\t1\t1\t
\t（二）部分公开（区分处理的，只计这一情形，不计其他情形）\t\t3\t\t\t\t\t\t
\t（三）不予公开\t1.属于国家秘密\t14\t\t\t\t\t\t
\t（七）总计\t\t767\t35\t\t\t2\t1\t805
四、结转下年度继续办理\t\t\t72\t\t\t\t\t\t72
四、政府信息公开行政复议、行政诉讼情况
"""


def _grid_report(t3: str) -> bytes:
    return (
        "2019年上海市人民政府办公厅政府信息公开工作年度报告\n"
        "一、总体情况\n本年度本机关依法做好政府信息公开工作。\n"
        "二、主动公开政府信息情况\n第二十条第（一）项\n"
        "信息内容\t本年新制作数量\t本年新公开数量\t对外公开总数量\n规章\t13\t13\t524\n"
        + t3
        + "五、存在的主要问题及改进情况\n无。\n六、其他需要报告的事项\n无。\n"
    ).encode("utf-8")


def test_a_full_grid_row_is_placed_by_its_columns():
    """HTML and Word tables keep every cell: a row whose total is blank and whose merged label
    leaves an empty cell has one cell too many for a count to place it, but its columns say where it
    stands."""
    record = extract(_grid_report(_GRID_T3), "grid.txt")
    granted = [record.fields[f"t3.granted.{c}"] for c in COLS]
    assert [f.value for f in granted] == [258, 12, None, None, 1, 1, None]
    assert not any(f.review for f in granted)
    assert all(f.rule.endswith("+grid-columns") for f in granted)
    partial = [record.value(f"t3.partial.{c}") for c in COLS]
    assert partial == [3, None, None, None, None, None, None]
    assert not record.fields["t3.partial.natural"].review


def test_a_grid_that_lost_its_trailing_blanks_and_its_header_still_places_its_rows():
    """Text that drops trailing empty cells keeps the others in place: the columns are found from
    the rows whose first and last values are printed and add up (一, 二, 总计, 四 here)."""
    kept = [line.rstrip("\t") for line in _GRID_T3.splitlines()
            if "自然人" not in line and "商业企业" not in line]
    ragged = "\n".join(kept) + "\n"
    record = extract(_grid_report(ragged), "ragged.txt")
    granted = [record.fields[f"t3.granted.{c}"] for c in COLS]
    assert [f.value for f in granted] == [258, 12, None, None, 1, 1, None]
    assert not any(f.review for f in granted)


def test_when_the_grid_contradicts_itself_the_row_that_could_stand_two_ways_is_marked():
    """One row a column to the left of the others: no single grid, so positions are not trusted and
    the row whose blank total leaves two placements is marked for review, never guessed."""
    shifted = _GRID_T3.replace(
        "二、上年结转政府信息公开申请数量\t\t\t18\t\t\t\t\t\t18",
        "二、上年结转政府信息公开申请数量\t\t18\t\t\t\t\t\t18\t",
    )
    assert shifted != _GRID_T3
    record = extract(_grid_report(shifted), "shifted.txt")
    granted = [record.fields[f"t3.granted.{c}"] for c in COLS]
    assert not any(f.rule.endswith("+grid-columns") for f in granted)
    # every cell the two placements read otherwise is null and marked; a cell both read alike
    # is read
    readings = {tuple(a["value"] for a in f.alternatives) for f in granted}
    assert granted[0].alternatives and len(readings) > 1
    for f, truth in zip(granted, [258, 12, None, None, 1, 1, None]):
        differs = len({a["value"] for a in f.alternatives}) > 1
        assert (f.review and f.value is None) if differs else (not f.review and f.value == truth)


def test_space_separated_text_is_not_taken_for_a_grid():
    """Blank cells vanish between spaces: positions mean nothing there, so no row is placed by
    them."""
    from extractor.rows import physical_rows
    from extractor.tables import grid_columns
    from extractor.template import row_identity

    row_sum = row_identity("2021", "t3")
    text = _GRID_T3.replace("\t", " ")
    assert grid_columns(physical_rows(text, 0, len(text)), 7, row_sum) == {}
    start_and_width = {None: (3, 10)}  # start, cells a row
    assert grid_columns(physical_rows(_GRID_T3, 0, len(_GRID_T3)), 7, row_sum) == start_and_width


def test_crawler_text_with_pipes_after_each_cell():
    """A web page flattened to `cell | cell |` (no leading pipe; a lone pipe after a heading cell):
    the pipes separate cells, and a lone `|` is never an OCR'd 1. The layout of a real 龙岗区 2024
    page; the rows past the part quoted are filled in to add up."""
    data = (Path(__file__).parent / "data" / "pipes_trailing_2024.txt").read_bytes()
    record = extract(data, "pipes.txt")
    assert record.template == "2021" and record.value("meta.year") == 2024
    normative = [record.value(f"t2.normative.{c}") for c in ("issued", "repealed", "in_force")]
    assert normative == [5, 1, 25]
    assert [record.value(f"t3.new.{c}") for c in COLS] == [58, 7, 0, 0, 1, 0, 66]
    assert [record.value(f"t3.partial.{c}") for c in COLS] == [16, 1, 0, 0, 0, 0, 17]
    assert record.value("t4.review.upheld") == 1 and record.value("t4.review.total") == 1
    assert record.review_keys() == []
    suspicious = [f for f in record.findings if f.check == "parse.unknown_row"
                  or f.kind in ("report_defect", "misreading_suspected")]
    assert suspicious == []



# --------------------------------------------------------- table 2 placed by its header's columns

_RULES_ROW = "<tr><td>规章</td><td>1</td><td colspan=2>0</td><td>5</td></tr>"


def _t2_page(rows: str) -> bytes:
    return ("<html><head><meta charset='utf-8'></head><body>"
            "<p>青山区财政局2021年政府信息公开工作年度报告</p>"
            "<p>一、总体情况</p><p>本局坚持以公开为常态。</p>"
            "<p>二、主动公开政府信息情况</p><table border=1>"
            "<tr><td colspan=5>第二十条第（一）项</td></tr>"
            "<tr><td>信息内容</td><td>本年制发件数</td><td colspan=2>本年废止件数</td>"
            "<td>现行有效件数</td></tr>"
            + rows + "</table><p>三、收到和处理政府信息公开申请情况</p>"
            "<p>五、存在的主要问题及改进情况</p><p>宣传不够。</p>"
            "<p>六、其他需要报告的事项</p><p>无。</p></body></html>").encode("utf-8")


def test_table_2_rows_are_placed_by_the_columns_of_their_header():
    """A middle column two cells wide and a blank first cell: four cells for three columns, which a
    count places two ways; the header above says which is which."""
    rows = ("<tr><td>规章</td><td>&nbsp;</td><td colspan=2>0</td><td>5</td></tr>"
            "<tr><td>行政规范性文件</td><td>3</td><td colspan=2>&nbsp;</td><td>12</td></tr>")
    record = extract(_t2_page(rows), "t2.html")
    cols = ("issued", "repealed", "in_force")
    assert [record.value(f"t2.rules.{c}") for c in cols] == [None, 0, 5]
    assert [record.value(f"t2.normative.{c}") for c in cols] == [3, None, 12]
    assert not any(record.fields[f"t2.rules.{c}"].review for c in cols)


def test_a_word_among_table_2_numbers_leaves_the_row_marked_not_cut():
    """`123 | 不适用 | 456`: the word parts the row; its numbers are never cut into digits
    unmarked."""
    page = _t2_page("<tr><td>规章</td><td>123</td><td colspan=2>不适用</td><td>456</td></tr>")
    record = extract(page, "t2.html")
    fields = [record.fields[f"t2.rules.{c}"] for c in ("issued", "repealed", "in_force")]
    assert all(f.review or f.value == v for f, v in zip(fields, [123, None, 456]))
    assert any(f.review for f in fields)


@pytest.mark.parametrize("printed, value", [("减3", -3), ("增2", 2), ("—3", -3), ("–3", -3),
                                            ("减少5", -5), ("−3", -3)])
def test_a_change_written_with_words_or_a_dash(printed, value):
    from extractor.cells import read_cell

    assert read_cell(printed).value == value and read_cell(printed).kind == "number"



def test_the_article_title_is_found_among_a_web_pages_other_report_titles():
    """A site's name as the page title, a list of other years' reports and an info box above the
    article: the title is the last title-like line before the text's first section."""
    chrome = ("<div>青山区人民政府门户网站</div>"
              "<ul><li>青山区财政局2020年政府信息公开工作年度报告</li>"
              "<li>青山区财政局2019年政府信息公开工作年度报告</li></ul>"
              "<table><tr><td>名称：</td><td>青山区财政局2021年政府信息公开工作年度报告</td></tr>"
              "</table>")
    page = _t2_page(_RULES_ROW).decode("utf-8")
    page = page.replace("<body><p>青山区财政局2021年政府信息公开工作年度报告</p>",
                        "<body>" + chrome)
    record = extract(page.encode("utf-8"), "chrome.html")
    assert (record.value("meta.year"), record.value("meta.agency")) == (2021, "青山区财政局")
    assert not record.fields["meta.year"].review and not record.fields["meta.agency"].review



def _fee_page(header: str, cell: str) -> bytes:
    rows = ("<tr><td colspan=5>第二十条第（八）项</td></tr>"
            f"<tr><td>信息内容</td><td colspan=4>本年收费金额{header}</td></tr>"
            f"<tr><td>行政事业性收费</td><td colspan=4>{cell}</td></tr>")
    return _t2_page(_RULES_ROW + rows)


@pytest.mark.parametrize("header, cell, value, marked", [
    ("（单位：千元）", "12.5", 1.25, False),   # 千元 is a tenth of 万元, not a ten-thousandth
    ("（单位：元）", "12500", 1.25, False),
    ("（单位：万元）", "1.25", 1.25, False),
    # read, but marked: 万 after a count would mean ×10000
    ("", "1.25万", 1.25, True),
    # words where the amount stands: never a silent blank
    ("（单位：万元）", "不适用", None, True),
])
def test_fee_units(header, cell, value, marked):
    field = extract(_fee_page(header, cell), "fee.html").fields["t2.fees.amount"]
    assert (field.value, field.review) == (value, marked), field.reason



def test_a_table_continued_with_a_column_fewer_is_placed_by_each_parts_own_grid():
    """Table 3 over a page break: the second page's rows have a column fewer (a merged label
    column gone). The whole table has no single grid, but each width does."""
    page2 = ("\t（七）总计\t767\t35\t\t\t2\t1\t805\n"
             "四、结转下年度继续办理\t72\t\t\t\t\t\t72\n")
    text = _GRID_T3.replace(
        "\t（七）总计\t\t767\t35\t\t\t2\t1\t805\n四、结转下年度继续办理\t\t\t72\t\t\t\t\t\t72\n",
        page2,
    )
    assert text != _GRID_T3
    record = extract(_grid_report(text), "continued.txt")
    granted = [record.fields[f"t3.granted.{c}"] for c in COLS]
    assert [f.value for f in granted] == [258, 12, None, None, 1, 1, None]
    assert not any(f.review for f in granted)
    forward = [record.fields[f"t3.carried_forward.{c}"] for c in COLS]  # a row of the shorter grid
    assert [f.value for f in forward] == [72, None, None, None, None, None, 72]
    assert not any(f.review for f in forward)
