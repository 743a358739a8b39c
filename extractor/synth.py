"""The stress corpus: records (random, or golden) rendered as whole reports in the layouts met in
the wild, each with its truth: what a careful human reading the rendered file would record
(a blank cell, `&nbsp;` or a missing table is null; OCR confusions, split numbers and
run-together digits keep their true value; the tool must read them exactly or mark them).

    rng = random.Random(1)
    rec = random_record(rng, "2021")
    data, truth, info = render(rec, "html", rng)
    for name, data, truth, layout, template in generate(600, seed=1): ...

Seeded and repeatable: document i of `generate(n, seed)` depends only on (seed, i).
The values come from ``synth_values``; this module only lays them out.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import synth_text
from .spec import keys_for
from .synth_values import (  # noqa: F401
    COLS,
    T3_HEADER,
    T4_HEADER,
    T4_KEYS,
    TEMPLATES,
    ambiguous_record,
    blank_totals,
    cell_texts,
    identity_violations,
    label_spans,
    nbsp_zeros,
    ocr_confusions,
    random_record,
    split_numbers,
    t2_spec,
    t3_rows,
    template_of,
    vanish_blanks,
)

LAYOUTS = ("tsv", "spaces", "markdown", "cell_per_line", "html", "html_gbk", "concatenated",
           "split_header", "wrapped_labels", "missing_table", "ocr", "split_numbers",
           "blank_totals", "utf16", "gb18030", "one_line", "pdftotext_layout", "pdftotext_raw",
           "detached_markdown", "ambiguous_runs")
# Text that lost its table structure (synth_text): each renders the whole report itself and says
# which cells a careful reader of it cannot settle (they must come out marked).
_WHOLE = {"one_line": synth_text.crawler, "ambiguous_runs": synth_text.crawler,
          "pdftotext_layout": synth_text.pdftotext_layout,
          "pdftotext_raw": synth_text.pdftotext_raw,
          "detached_markdown": synth_text.detached_markdown}
# The plain layout each trick is drawn on (one picked per document).
_BASES = {
    "split_header": ("tsv", "spaces", "cell_per_line"),
    "wrapped_labels": ("tsv", "spaces", "cell_per_line"),
    "missing_table": ("tsv", "spaces", "markdown", "cell_per_line"),
    "ocr": ("tsv", "spaces", "markdown", "cell_per_line"),
    "split_numbers": ("tsv", "spaces"),
    "blank_totals": ("tsv", "spaces", "markdown", "cell_per_line"),
    "utf16": ("tsv",),
    "gb18030": ("tsv",),
    "html_gbk": ("html",),
}
HEADINGS = [
    "一、总体情况", "二、主动公开政府信息情况", "三、收到和处理政府信息公开申请情况",
    "四、政府信息公开行政复议、行政诉讼情况", "五、存在的主要问题及改进情况",
    "六、其他需要报告的事项",
]


# ---------------------------------------------------------------- tables as rows of cells
@dataclass
class Row:
    kind: str  # section, header, data
    labels: list[str]
    cells: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)  # the key of each cell (when each key prints one)
    wrap: int | None = None  # cut the last label here, the tail going onto the next line


def _tables(truth: dict, texts: dict, o: dict) -> dict[str, dict]:
    tpl = truth["meta.template"]
    flat = lambda keys: [c for k in keys for c in texts[k]]  # noqa: E731
    t2 = []
    for item in t2_spec(tpl, o["fee_unit"], o["proc_unit"]):
        if item[0] == "section":
            t2.append(Row("section", [item[1]]))
        elif item[0] == "header":
            t2.append(Row("header", list(item[1])))
        else:
            t2.append(Row("data", [item[1]], flat(item[2]), list(item[2])))
    t3 = [Row("header", list(h)) for h in T3_HEADER]
    t3 += [Row("data", list(labels), flat(keys), keys)
           for r, labels in t3_rows(tpl) for keys in [[f"t3.{r}.{c}" for c in COLS]]]
    t4 = [Row("header", list(h)) for h in T4_HEADER]
    t4.append(Row("data", [], flat(T4_KEYS), list(T4_KEYS)))
    return {
        "t2": {"rows": t2, "width": 4, "nlabels": 1},
        "t3": {"rows": t3, "width": 10, "nlabels": 3},
        "t4": {"rows": t4, "width": 15, "nlabels": 0},
    }


def _split_headers(tables, rng, sep_choices, info):
    n = 0
    for t in tables.values():
        for r in t["rows"]:
            if r.kind == "header":
                for i, w in enumerate(r.labels):
                    if 2 <= len(w) <= 8 and rng.random() < 0.8:
                        r.labels[i], n = rng.choice(sep_choices).join(w), n + 1
    info["details"].append(f"{n} header words split into characters")


def _wrap_labels(tables, rng, info):
    rows = [r for t in ("t2", "t3") for r in tables[t]["rows"]
            if r.kind == "data" and len(_strip(r.labels)[-1]) >= 9]
    for r in rng.sample(rows, min(len(rows), rng.randint(1, 3))):
        label = _strip(r.labels)[-1]
        r.wrap = rng.randint(max(3, len(label) // 3), len(label) - 2)
        info["details"].append(f"wrapped {label[:r.wrap]}|{label[r.wrap:]}")


def _strip(cells):
    cells = list(cells)
    while cells and cells[-1] == "":
        cells.pop()
    return cells


# ---------------------------------------------------------------- text layouts
def _tsv(t, o):
    lines = []
    for r in t["rows"]:
        labels = list(r.labels) + (
            [""] * (t["nlabels"] - len(r.labels)) if o["pad"] and r.kind == "data" else []
        )
        labels = labels if o["pad"] else _strip(labels)
        cells = labels + r.cells
        if o["pad"] or t["width"] == 4:
            cells += [""] * (t["width"] - len(cells))
        if r.wrap is None:
            lines.append("\t".join(cells))
            continue
        j = len(_strip(r.labels)) - 1
        head, tail = labels[j][: r.wrap], labels[j][r.wrap:]
        if o["wrap_before"]:  # the label's first line alone, its tail carrying the values
            lines += ["\t".join(labels[:j] + [head]), "\t" * j + tail + "\t" + "\t".join(r.cells)]
        else:  # the values stay on the first line, the tail below (examples/001)
            lines += ["\t".join(labels[:j] + [head] + cells[len(labels):])] + [""] * o["wrap_gap"]
            lines.append("\t" * j + tail + "\t" * len(r.cells))
    return "\n".join(lines)


def _spaces(t, o):
    lines = []
    for r in t["rows"]:
        labels = [c for c in r.labels if c]
        cells = [c for c in r.cells if c]
        sep = o["sep"]
        if r.wrap is None:
            lines.append(sep.join(labels + cells))
        elif o["wrap_before"]:
            lines += [
                sep.join(labels[:-1] + [labels[-1][: r.wrap]]),
                sep.join([labels[-1][r.wrap :]] + cells),
            ]
        else:
            lines += [sep.join(labels[:-1] + [labels[-1][: r.wrap]] + cells), labels[-1][r.wrap:]]
    return "\n".join(lines)


def _markdown(t, o):
    lines = []
    for i, r in enumerate(t["rows"]):
        cells = (list(r.labels) if r.kind != "data"
                 else list(r.labels) + [""] * (t["nlabels"] - len(r.labels))) + r.cells
        cells += [""] * (t["width"] - len(cells))
        lines.append("| " + " | ".join(cells) + " |")
        if i == 0:
            lines.append("|" + "---|" * len(cells))
    return "\n".join(lines)


def _cell_per_line(t, o):
    blocks = []
    for r in t["rows"]:
        labels = list(r.labels) if r.kind != "data" else _strip(r.labels)
        if r.wrap is not None:
            labels[-1] = labels[-1][: r.wrap] + "\n" + o["wrap_tab"] + labels[-1][r.wrap:]
        lines = []
        for j, c in enumerate(labels + r.cells):
            if o["stray"] and re.fullmatch(r"\d+", c):
                # stray spaces around numbers, as in examples/003
                c = (" " + c) if j % 2 else (c + " ")
            lines.append("\t" + c)
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _concatenated(t, o):
    return "\n".join("".join(r.labels + r.cells) for r in t["rows"])


_TEXT = {
    "tsv": _tsv,
    "spaces": _spaces,
    "markdown": _markdown,
    "cell_per_line": _cell_per_line,
    "concatenated": _concatenated,
}

# ---------------------------------------------------------------- HTML (Word-pasted)
_TD = "border:solid windowtext 1.0pt;padding:0cm 5.4pt 0cm 5.4pt"


def _spans(text: str) -> str:
    if len(text) <= 3:
        return f"<span style='font-family:宋体'>{text}</span>"
    a = len(text) // 2
    return (f"<span style='font-family:宋体'>{text[:a]}</span>"
            f"<span style='font-family:宋体;mso-bidi-font-family:宋体'>{text[a:]}</span>")


def _td(text: str, o: dict, rs: int = 1, cs: int = 1) -> str:
    attrs = (f" rowspan={rs}" if rs > 1 else "") + (f" colspan={cs}" if cs > 1 else "")
    if text == "":
        inner = "<span lang=EN-US>&nbsp;<o:p></o:p></span>"
    elif re.fullmatch(r"-?[\d.,]+", text):
        cut = len(text) // 2
        inner = (f"<span lang=EN-US>{text[:cut]}</span><span lang=EN-US>{text[cut:]}</span>"
                 if o["split_spans"] and len(text) > 1 else f"<span lang=EN-US>{text}</span>")
    else:
        inner = _spans(text)
    return (f"<td{attrs} valign=center style='{_TD}'><p class=MsoNormal align=center "
            f"style='text-align:center'>{inner}<o:p></o:p></p></td>")


def _table(rows: list[str], o: dict, width: int) -> str:
    ghost = ("<![if !supportMisalignedColumns]><tr height=0>"
             + "<td style='border:none'></td>" * width + "</tr><![endif]>") if o["ghost"] else ""
    return ("<table class=MsoNormalTable border=1 cellspacing=0 cellpadding=0>"
            + "".join(f"<tr style='height:20.0pt'>{r}</tr>" for r in rows) + ghost + "</table>")


def _html_t2(t, o):
    out = []
    for r in t["rows"]:
        cells = r.labels + r.cells
        out.append("".join(_td(c, o) for c in cells[:-1]) + _td(cells[-1], o, cs=5 - len(cells)))
    return _table(out, o, 4)


def _html_t3(t, o):
    data = [r for r in t["rows"] if r.kind == "data"]
    out = [_td(T3_HEADER[0][0], o, 3, 3) + _td("申请人情况", o, cs=7),
           _td("自然人", o, 2) + _td("法人或其他组织", o, cs=5) + _td("总计", o, 2),
           "".join(_td(w, o) for w in T3_HEADER[2][4:9])]
    tds = [""] * len(data)
    for i, _j, lab, rs, cs in label_spans([r.labels for r in data]):
        tds[i] += _td(lab, o, rs, cs)
    out += [tds[i] + "".join(_td(c, o) for c in r.cells) for i, r in enumerate(data)]
    return _table(out, o, 10)


def _html_t4(t, o):
    heads = ["结果维持", "结果纠正", "其他结果", "尚未审结", "总计"]
    out = [_td("行政复议", o, cs=5) + _td("行政诉讼", o, cs=10),
           "".join(_td(h, o, rs=2) for h in heads) + _td("未经复议直接起诉", o, cs=5)
           + _td("复议后起诉", o, cs=5),
           "".join(_td(h, o) for h in heads * 2), "".join(_td(c, o) for c in t["rows"][-1].cells)]
    return _table(out, o, 15)


def _html_page(parts: list[tuple[str, str]], charset: str, o: dict) -> str:
    body = []
    for kind, text in parts:
        if kind == "table":
            body.append(text + "\n")
        elif kind == "title":
            body.append("<p class=MsoNormal align=center><b>"
                        f"<span style='font-size:22.0pt'>{text}</span></b></p>\n")
        else:
            inner = _spans(text)
            shown = "<b>" + inner + "</b>" if kind == "heading" else inner
            body.append(f"<p class=MsoNormal style='text-indent:32.0pt'>{shown}<o:p></o:p></p>\n")
    content = "<div class=WordSection1>\n" + "".join(body) + "</div>\n"
    # a third of the pages sit in a CMS's layout table
    if zlib.crc32(content.encode("utf-8")) % 3 == 0:
        content = ("<table width=\"100%\" class=\"page\">"
                   "<tr><td class=\"crumbs\">首页 &gt; 政府信息公开 &gt; 年度报告</td></tr>\n"
                   f"<tr><td class=\"article\">{content}</td></tr>\n"
                   "<tr><td class=\"footer\">主办单位：本机关 版权所有</td></tr></table>\n")
    return ("<html xmlns:o=\"urn:schemas-microsoft-com:office:office\">\n<head>\n"
            f"<meta charset=\"{charset}\">\n<meta name=Generator content=\"Microsoft Word 15\">\n"
            "<style>p.MsoNormal{margin:0cm;font-size:10.5pt;font-family:宋体}</style>\n</head>\n"
            "<body lang=ZH-CN style='tab-interval:21.0pt'>\n" + content + "</body>\n</html>\n")


# ---------------------------------------------------------------- the report around the tables
def _prose(truth: dict, rng: random.Random) -> list[tuple[str, str]]:
    """(kind, text) parts: title, headings, narrative; ("t2"|"t3"|"t4", "") where a table goes."""
    agency, year = truth["meta.agency"] or "某区财政局", truth["meta.year"] or 2023
    title = rng.choice([f"{agency}{year}年政府信息公开工作年度报告",
                        f"{agency} {year} 年政府信息公开工作年度报告",
                        f"{agency}{year}年度政府信息公开工作年度报告",
                        f"{year}年{agency}政府信息公开工作年度报告"])
    n = rng.randint(5, 400)
    s1 = [f"{year}年，{agency}认真贯彻落实《中华人民共和国政府信息公开条例》，"
          "坚持以公开为常态、不公开为例外，"
          f"全年通过政府门户网站主动公开政府信息{n}条，更新政府信息公开指南{rng.randint(1, 2)}次。"]
    if rng.random() < 0.5:
        s1 += ["（一）主动公开情况",
               f"全年发布工作动态{rng.randint(3, 90)}条，政策解读{rng.randint(0, 12)}篇。",
               "（二）依申请公开情况", "严格按照法定时限答复申请，做到应公开尽公开。"]
    s5 = [f"{year}年，我单位政府信息公开工作取得一定成效，"
          "但仍存在公开内容不够全面、解读形式较为单一等问题。"
          f"{year + 1}年，我单位将进一步加强培训，提升公开质量。"]
    s6 = [rng.choice(["无。", "本年度无其他需要报告的事项。", "本单位未收取信息处理费。"])]
    parts = [("title", title), ("heading", HEADINGS[0])] + [("p", s) for s in s1]
    parts += [("heading", HEADINGS[1]), ("t2", ""), ("heading", HEADINGS[2]), ("t3", ""),
              ("heading", HEADINGS[3]), ("t4", "")]
    parts += ([("heading", HEADINGS[4])] + [("p", s) for s in s5] + [("heading", HEADINGS[5])]
              + [("p", s) for s in s6])
    return parts + [("p", agency), ("p", f"{year + 1}年1月{rng.randint(5, 28)}日")]


def _options(layout: str, base: str, template: str, rng: random.Random) -> dict:
    yuan = rng.random() < 0.1
    unit = (
        "（单位：元）"
        if yuan
        else rng.choice(["（单位：万元）"] * 6 + ["（万元）", "（单位：万元，保留4位小数）"])
    )
    return {
        "yuan": yuan, "fee_unit": unit, "proc_unit": unit if yuan or rng.random() < 0.9 else "",
        "thousands": base not in ("concatenated", "one_line", "ambiguous_runs")
        and layout != "split_numbers" and rng.random() < 0.25,
        "money_places": rng.random() < 0.3,
        "null": {"spaces": rng.choice(["—", "/", "-", "无"]), "concatenated": "/"}.get(base, ""),
        "pad": rng.random() < 0.5, "sep": rng.choice([" ", "  ", "   "]),
        "wrap_before": rng.random() < 0.5, "wrap_gap": rng.choice([0, 1]),
        "wrap_tab": rng.choice(["", "\t"]), "stray": rng.random() < 0.5,
        "split_spans": rng.random() < 0.2, "ghost": rng.random() < 0.3,
        "parsep": rng.choice(["\n\n", "\n"]),
    }


def _cell_tricks(layout: str, base: str, texts: dict, truth: dict, rng: random.Random, info: dict):
    """The tricks that change cells' texts (and the truth with them) before a layout draws them."""
    if base == "html":
        nbsp_zeros(texts, truth, rng, info)
    if layout == "one_line" and rng.random() < 0.2:  # the page's blank cells leave nothing
        vanish_blanks(texts, truth, rng, info)
    tricks = {"blank_totals": blank_totals, "ocr": ocr_confusions, "split_numbers": split_numbers}
    if layout in tricks:
        tricks[layout](texts, truth, rng, info)


def render(record: dict, layout: str, rng: random.Random) -> tuple[bytes, dict, dict]:
    """One report of `record` (random or golden fields) in `layout` -> (bytes, truth, info)."""
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; one of {', '.join(LAYOUTS)}")
    template = template_of(record)
    truth = {k: record.get(k) for k in keys_for(template)}
    truth["meta.template"] = template
    base = rng.choice(_BASES.get(layout, (layout,)))
    o = _options(layout, base, template, rng)
    info: dict[str, Any] = {"layout": layout, "base": base, "template": template, "details": []}
    texts = cell_texts(truth, o, rng)
    _cell_tricks(layout, base, texts, truth, rng, info)
    tables = _tables(truth, texts, o)
    if layout in _WHOLE:
        return _render_whole(layout, truth, tables, o, rng, info)
    if layout == "split_header":
        _split_headers(
            tables, rng, ["\n"] if base == "cell_per_line" and rng.random() < 0.5 else [" "], info
        )
    if layout == "wrapped_labels":
        _wrap_labels(tables, rng, info)
    missing = rng.choice(["t2", "t3", "t4"]) if layout == "missing_table" else None
    if missing:
        how = rng.choice(["illegible", "dropped"])
        info["details"].append(f"{missing} {how}")
        for k in truth:
            if k.startswith(missing + "."):
                truth[k] = None
    parts = []
    # A third of the markdown comes as PDF converters (MinerU, marker) write it: `#` headings,
    # tables as raw HTML.
    converted = base == "markdown" and zlib.crc32(
        json.dumps(truth, sort_keys=True, ensure_ascii=False).encode("utf-8")) % 3 == 0
    if converted:
        info["details"].append("html tables in markdown")
    for kind, text in _prose(truth, rng):
        if kind in tables:
            if kind == missing:
                if how == "illegible":
                    parts.append(("p", "[illegible]"))
                continue
            if base == "html" or converted:
                table = {"t2": _html_t2, "t3": _html_t3, "t4": _html_t4}[kind](tables[kind], o)
                parts.append(("table", table.replace("\n", "") if converted else table))
            else:
                parts.append(("table", _TEXT[base](tables[kind], o)))
        elif converted and kind in ("title", "heading"):
            parts.append((kind, ("# " if kind == "title" else "## ") + text))
        else:
            parts.append((kind, text))
    if base == "html":
        charset = "gbk" if layout == "html_gbk" else "utf-8"
        data, ext = _html_page(parts, charset, o).encode(charset), ".html"
    else:
        text = ("\n\n" if rng.random() < 0.5 else "") + o["parsep"].join(t for _, t in parts) + "\n"
        charset = {
            "utf16": rng.choice(["utf-16", "utf-16-le", "utf-16-be"]),
            "gb18030": "gb18030",
        }.get(layout, "utf-8")
        data, ext = text.encode(charset), ".md" if base == "markdown" else ".txt"
    info.update(encoding=charset, ext=ext)
    return data, truth, info


def _render_whole(layout: str, truth: dict, tables: dict, o: dict, rng: random.Random, info: dict):
    """A layout of synth_text: the whole report drawn by it; info["must_mark"] lists the keys a
    careful reader of the text cannot settle."""
    o.update(label_space=rng.choice([0.1, 0.5, 0.9]), piece_space=rng.choice([0.6, 0.8, 1.0]))
    extra = {"one_line": rng.random() < 0.6} if layout == "ambiguous_runs" else {}
    text, must = _WHOLE[layout](_prose(truth, rng), tables, truth, o, rng, info, **extra)
    ext = ".md" if layout == "detached_markdown" else ".txt"
    info.update(must_mark=sorted(must), encoding="utf-8", ext=ext)
    return text.encode("utf-8"), truth, info


# ---------------------------------------------------------------- the corpus
@dataclass
class Sample:
    name: str
    data: bytes
    truth: dict
    layout: str
    template: str
    info: dict


def _record_for(rng: random.Random, template: str, layout: str) -> dict:
    if layout == "ambiguous_runs":
        return ambiguous_record(rng, template)
    for _ in range(40):  # split_numbers needs a number of two digits or more to split
        rec = random_record(rng, template)
        if layout != "split_numbers" or any(
            isinstance(v, int) and v >= 10 for k, v in rec.items() if k[:2] in ("t2", "t3", "t4")
        ):
            return rec
    return rec


def generate_samples(n: int, seed: int, golden: Sequence[tuple[str, dict]] = (),
                     golden_share: float = 0.1, layouts: tuple[str, ...] = LAYOUTS):
    """Sample objects (with `info`); document i depends only on (seed, i). Layouts cycle, then
    templates."""
    for i in range(n):
        rng = random.Random(f"xxgk-synth/{seed}/{i}")
        layout = layouts[i % len(layouts)]
        template = TEMPLATES[(i // len(layouts)) % 2]
        source = "random"
        if golden and rng.random() < golden_share:
            source, record = golden[rng.randrange(len(golden))]
            template = template_of(record)
            source = f"golden:{source}"
        else:
            record = _record_for(rng, template, layout)
        data, truth, info = render(record, layout, rng)
        info["source"] = source
        name = f"synth-{seed}-{i:04d}-{layout}-{template}{info['ext']}"
        yield Sample(name, data, truth, layout, template, info)


def generate(n: int, seed: int, out_dir: str | Path | None = None,
             golden: Sequence[tuple[str, dict]] = (), golden_share: float = 0.1):
    """Yield (name, bytes, truth, layout, template); with out_dir, write each file and its truth
    JSON (golden format plus "synthetic": true) as the generator is consumed."""
    out = Path(out_dir) if out_dir is not None else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    for s in generate_samples(n, seed, golden, golden_share):
        if out is not None:
            (out / s.name).write_bytes(s.data)
            (out / (s.name.rsplit(".", 1)[0] + ".json")).write_text(
                json.dumps(truth_json(s, seed), ensure_ascii=False, indent=1), encoding="utf-8"
            )
        yield s.name, s.data, s.truth, s.layout, s.template


def truth_json(s: Sample, seed: int) -> dict:
    i = s.info
    note = (f"synthetic stress corpus (seed {seed}): {i['source']} record in layout {s.layout} "
            f"(drawn on {i['base']}, {i['encoding']})"
            + (": " + "; ".join(i["details"]) if i["details"] else ""))
    return {"report": s.name, "sha256": hashlib.sha256(s.data).hexdigest(), "version": 1,
            "annotator": "xxgk synth", "note": note, "layout": s.layout, "synthetic": True,
            "fields": s.truth, **({"must_mark": i["must_mark"]} if i.get("must_mark") else {})}


def load_golden(directory: str | Path) -> list[tuple[str, dict]]:
    """(file name, fields) of every golden JSON in a folder, to render in the stress layouts."""
    return [
        (p.name, json.loads(p.read_text(encoding="utf-8"))["fields"])
        for p in sorted(Path(directory).glob("*.json"))
    ]
