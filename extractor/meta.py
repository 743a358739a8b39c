"""What a report says about itself: its title, `meta.year`, `meta.agency`, `meta.template`, and
whether it is a statutory report at all.

- The title is found on one to three title-like lines (a large-font title wraps, a web page sets
  it in two paragraphs: `平潭综合实验区` / `2017年度政府信息公开工作年度报告`), never in a sentence,
  a citation of the format (`《中华人民共和国政府信息公开工作年度报告格式》`) or a page number.
- `meta.year`: the year the title names, else the statistics period (`统计期限为2024年1月1日至
  12月31日`), else the first year in the text (marked).
- `meta.agency`: the body the title names, else the signature above the report's date, else the
  body's fullest name in the text for a title that names no region (`财政局` → `高新区财政局`).
  The report's wording is kept; it is checked against the grammar of a body's name (a region, then
  the body: rules/meta.toml) and the divisions of China (extractor.gazetteer), and marked when it
  does not fit, with the gazetteer's reading as an alternative when a place name is one
  character off (`沐阳县人民政府` → `沭阳县人民政府`).
- `meta.template`: from the words only one template prints, counted where the tables stand (table
  lines, cells, a one-line dump's runs of cells), never in a sentence; else from the year.
- What is not a statutory report: a report for a year before the 2019 template (`predates`: a
  one-line reason, no template claimed, no table values), and what is not a report at all (a list
  page, a news item, a notice: `not_a_report`).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Generic, TypeVar

from . import gazetteer
from .cells import normalise
from .record import Field
from .spec import meta_rules
from .template import all_markers

YEAR = r"(?:19|20)\d{2}"
SECTION_ENUM = re.compile(
    r"^\s*(?:第?[一二三四五六七八九十]{1,2}\s*[、.．,，]|"
    r"[（(]\s*[一二三四五六七八九十]{1,2}\s*[）)])"
)
PAGE_NUMBER = re.compile(
    r"^[\s\-—–_·.]*(?:第\s*)?\d{1,4}(?:\s*页)?(?:\s*/\s*共?\s*\d{1,4}\s*页?)?[\s\-—–_·.]*$"
)
DATE_LINE = re.compile(
    r"^\s*"
    + YEAR
    + r"\s*(?:年\s*\d{1,2}\s*月\s*\d{1,2}\s*日|[-./]\s*\d{1,2}\s*[-./]\s*\d{1,2})\s*$"
)
LABEL = re.compile(r"^[^:：\s]{1,6}[:：]\s*")
YEAR_IN_TITLE = re.compile(r"(?:[（(]|(?<!\s))\s*+(" + YEAR + r")\s*+年度?\s*+[)）]?")  # linear
CJK_NAME = re.compile(r"^[\u4e00-\u9fff（）()]+$")
UNIT_AFTER_NUMBER = re.compile(
    r"(?<![\d.,])\d[\d.,]*+\s*+(?:条|件|个|项|次|家|人|万元|元|份|篇|期|场|天|%)"
)


V = TypeVar("V", int, str)  # a year, or an agency's name


@dataclass
class Reading(Generic[V]):
    """One meta value: where it stands, which rule read it, and (when marked) why."""

    value: V | None
    span: tuple[int, int] | None = None
    rule: str = ""
    reason: str = ""  # non-empty: marked for review
    alternatives: list[dict] = field(default_factory=list)


@dataclass
class Title:
    """A report title in the text: its words (lines joined), where it stands, what it names."""

    text: str
    start: int
    end: int
    year: Reading[int] | None
    agency: Reading[str] | None
    notice: bool  # a notice about the reports (关于报送…年度报告的通知), not a report's title


@dataclass
class Meta:
    title: Title | None
    year: Reading[int]
    agency: Reading[str]
    template: str | None
    template_scores: dict[str, int]
    template_rule: str
    template_reason: str
    predates: str | None = None  # the one-line reason a report predates the statutory tables
    not_a_report: str | None = None  # the one-line reason the text is not a report at all


# ---------------------------------------------------------------- the whole reading


def read_meta(text: str, lines: list[tuple[str, int]], sections: dict, regions: dict) -> Meta:
    """The meta of a report's text. `lines` are (line, offset) pairs, `sections` the section spans
    the outline found ({number: span with .start}), `regions` its table regions."""
    body_start = min((s.start for s in sections.values()), default=None)
    titles = find_titles(lines, body_start)
    title = _chosen(titles, body_start)
    year = _year(text, title)
    agency = _agency(text, lines, title, sections)
    scores = template_scores(text)
    # The statutory tables stand here: two of a template's marker words where tables stand, or two
    # of their header words (one alone may be a short heading of an older report: 政府集中采购).
    statutory = max(scores.values()) >= 2 or _table_words_count(text) >= 2
    template, rule, reason = _template(scores, year.value)
    meta = Meta(title, year, agency, template, scores, rule, reason)
    meta.not_a_report = _not_a_report(text, titles, title, len(sections), statutory)
    meta.predates = _predates(text, year, statutory)
    if meta.predates:
        meta.template, meta.template_rule, meta.template_reason = None, "meta.predates", ""
    elif (
        year.value is not None and year.value < _first_statutory() and statutory and not year.reason
    ):
        year.reason = (
            f"meta.year: a {year.value} report with the statutory tables, which start with the "
            f"reports for {_first_statutory()}"
        )
    return meta


def fields(meta: Meta, template: str | None) -> dict[str, Field]:
    """The record's meta.agency, meta.year and meta.template Fields (template: the one read)."""
    out = {}
    for key, reading in (("meta.year", meta.year), ("meta.agency", meta.agency)):
        start, end = reading.span or (None, None)
        raw = None if reading.value is None else str(reading.value)
        out[key] = Field(
            key,
            reading.value,
            raw,
            start,
            end,
            rule=reading.rule,
            review=bool(reading.reason),
            reason=reading.reason,
            alternatives=list(reading.alternatives),
        )
    out["meta.template"] = Field(
        "meta.template",
        template,
        None,
        rule=meta.template_rule,
        review=bool(meta.template_reason),
        reason=meta.template_reason,
    )
    return out


# ---------------------------------------------------------------- titles


@lru_cache(maxsize=1)
def _title_pattern() -> re.Pattern:
    rules = meta_rules()["title"]
    subject = "|".join(map(re.escape, rules["subject"]))
    kind = "|".join(map(re.escape, rules["kind"]))
    return re.compile(f"(?:{subject})[^。，,；;：:]{{0,{rules['max_between']}}}?(?:{kind})")


def _title_like(line: str) -> bool:
    s = line.strip()
    return (
        0 < len(s) <= meta_rules()["title"]["max_chars"]
        and "。" not in s
        and not PAGE_NUMBER.match(s)
    )


# Markup around a title converted from PDF or a web page: `# 标题`, `**标题**`, `> 标题`,
# `=== 标题 ===`, `- 标题`.
MARKUP_CHARS = "#>*_=- \t"


def _pieces(lines: list[tuple[str, int]], limit: int, end: int | None) -> list[tuple[str, int]]:
    """Title-like pieces of the first lines (up to `end`): a line, or each cell of a table line."""
    out = []
    for line, offset in lines[:limit]:
        if end is not None and offset >= end:
            break
        pos = 0
        for cell in line.split("\t"):
            stripped = cell.strip().strip(MARKUP_CHARS)
            if _title_like(stripped):
                out.append((stripped, offset + pos + cell.find(stripped)))
            else:
                out.append(("", offset + pos))  # breaks a run of pieces
            pos += len(cell) + 1
    return out


def find_titles(lines: list[tuple[str, int]], body_start: int | None = None) -> list[Title]:
    """Every report title on one to three consecutive title-like pieces before the body (in the
    first 200 lines; in the first 40 when no section was found), in the order they end."""
    limit = 40 if body_start is None else 200
    pieces = _pieces(lines, limit, body_start)
    found: list[Title] = []
    for last in range(len(pieces)):
        for first in range(last, max(-1, last - meta_rules()["title"]["max_lines"]), -1):
            window = pieces[first : last + 1]
            if not window[0][0]:
                break
            words = "".join(p for p, _ in window)
            if "公开" not in words or not ("报告" in words or "年报" in words):
                continue  # (quick: no title can stand here)
            title = _title_in(window, pieces[last + 1][0] if last + 1 < len(pieces) else "")
            if title is not None:
                found.append(title)
    return found


def _title_in(window: list[tuple[str, int]], after: str) -> Title | None:
    """The title the window's pieces make, joined, when its match ends in the last piece."""
    joined, starts = "", []
    for piece, _ in window:
        starts.append(len(joined))
        joined += piece
    match = None
    for m in _title_pattern().finditer(joined):
        if m.end() <= starts[-1]:
            return None  # an earlier piece holds a title of its own: two titles (a list)
        if not _cited(joined[: m.start()], joined[m.end() :] + after):
            match = m
            break
    if match is None or (
        len(window) > 1 and match.start() < starts[1] and match.end() <= starts[1]
    ):
        return None
    head = joined[: match.start()]
    if re.search(r"[。，,；;]", head):
        return None
    start, end = _offset(window, starts, 0), _offset(window, starts, match.end())
    year = _title_year(joined, match, window, starts)
    agency = _title_agency(head, window, starts)
    return Title(joined, start, end, year, agency, _is_notice(joined, match))


def _offset(window, starts, pos: int) -> int:
    """The text offset of position `pos` of the joined window."""
    i = max(k for k, s in enumerate(starts) if s <= pos or k == 0)
    if pos - starts[i] > len(window[i][0]) and i + 1 < len(window):
        i += 1
    return window[i][1] + pos - starts[i]


def _cited(head: str, tail: str) -> bool:
    """Does the title phrase cite the format (《…年度报告格式》), not name this report?"""
    rules = meta_rules()["title"]
    opened = head.count("《") > head.count("》") and not any(
        v in head for v in rules["publish_verbs"]
    )
    return (
        tail.lstrip().startswith(tuple(rules["cited_after"]))
        or head.rstrip("《").endswith(tuple(rules["cited_before"]))
        or opened
        and "》" in tail[:6]
        and any(tail.lstrip().startswith(w) for w in rules["cited_after"])
    )


def _is_notice(joined: str, match: re.Match) -> bool:
    rules = meta_rules()["title"]
    tail = joined[match.end() :].strip()
    ends = tail.rstrip('》”" ').removeprefix("的")
    return ends.endswith(tuple(rules["notice_ends"])) and not any(
        v in joined[: match.start()] for v in rules["publish_verbs"]
    )


def _title_year(joined, match, window, starts) -> Reading[int] | None:
    m = None
    for found in YEAR_IN_TITLE.finditer(joined):
        if found.start() < match.start() or found.start() >= match.end():
            m = found
            break
    if m is None:
        return None
    start = _offset(window, starts, m.start(1))
    return Reading(int(m.group(1)), (start, start + 4), "meta.title")


def _title_agency(head: str, window, starts) -> Reading[str] | None:
    """The body the words before the title's subject name (the year and 关于/印发/《 removed): of
    the words before and after the year, those that read as a body's name (`正文` / `2024 年上海市
    科委…`: 上海市科委, not the page's label)."""
    year = YEAR_IN_TITLE.search(head)
    parts = [(0, head[: year.start()]), (year.end(), head[year.end() :])] if year else [(0, head)]
    found = []
    for base, part in parts:
        cut = LABEL.match(part)
        lead = cut.end() if cut else 0
        m = re.match(
            r"^\s*(?:关于)?\s*(?:印发|公布|发布|转发)?\s*[《“\"]?\s*(.*?)\s*(?:关于|的)?\s*$",
            part[lead:],
        )
        name = re.sub(r"\s+", "", m.group(1)) if m else ""
        if m is not None and name:
            start = _offset(window, starts, base + lead + m.start(1))
            end = _offset(window, starts, base + lead + m.end(1) - 1) + 1
            found.append(Reading(name, (start, end), "meta.title"))
    return max(found, key=_name_rank, default=None)


def _name_rank(reading: Reading[str] | None) -> tuple[bool, bool]:
    """How well a reading reads as a body's name: (fits the grammar and gazetteer, plausible)."""
    if reading is None:
        return False, False
    name = str(reading.value)
    return plausible_name(name) and not check_agency(name)[0], plausible_name(name)


def _chosen(titles: list[Title], body_start: int | None) -> Title | None:
    """The report's own title: of the titles whose words before the subject read as a body's name
    (not a crawler's path: `本地目录: zwgk/…/80629_平潭综合实验区2022年度…`), the last before the
    body on a page with a body (a web page lists other years' reports and the site's name above
    its article), else the first. Of the titles ending on one line, the one whose body's name
    reads best as a name, then the longest."""
    if not titles:
        return None
    named = [t for t in titles if _name_rank(t.agency)[1]]  # a path or a URL names no body
    titles = named or titles
    ends = [t.end for t in titles]
    end = max(ends) if body_start is not None else min(ends)
    same = [t for t in titles if t.end == end]
    return max(same, key=lambda t: (*_name_rank(t.agency), len(t.text)))


# ---------------------------------------------------------------- year


def _year(text: str, title: Title | None) -> Reading[int]:
    period = _period_year(text)
    if title and title.year:
        year = title.year
        if period and period.value != year.value:
            year.reason = (
                f"meta.year: the title says {year.value}, the statistics period {period.value}"
            )
            year.alternatives = [{"value": period.value, "source": "meta.period"}]
        return year
    if period:
        return period
    m = re.search(r"起止时间为?\s*(" + YEAR + r")\s*年", text) or re.search(
        "(" + YEAR + r")\s*年度?", text
    )
    if m:
        return Reading(
            int(m.group(1)),
            (m.start(1), m.end(1)),
            "meta.body",
            "meta.year: not in the title or a statistics period, taken from the body",
        )
    return Reading(None, None, "meta.missing", "meta.year: not found")


@lru_cache(maxsize=1)
def _period_pattern() -> re.Pattern:
    words = "|".join(map(re.escape, meta_rules()["year"]["period_words"]))
    return re.compile(rf"(?:{words})[^。\d]{{0,16}}?({YEAR})\s*年\s*0?1\s*月\s*0?1\s*日")


def _period_year(text: str) -> Reading[int] | None:
    m = _period_pattern().search(text)
    return Reading(int(m.group(1)), (m.start(1), m.end(1)), "meta.period") if m else None


# ---------------------------------------------------------------- agency


def plausible_name(name: str) -> bool:
    """Could `name` be a body's name at all: Chinese characters only, not a sentence's words
    (为, 其他需要报告的事项…), not too long? (rules/meta.toml [agency])."""
    rules = meta_rules()["agency"]
    return (
        2 <= len(name) <= rules["max_chars"]
        and bool(CJK_NAME.match(name))
        and not name.startswith(tuple(rules["not_first"]))
        and not any(w in name for w in rules["not_inside"])
    )


def _agency(text, lines, title: Title | None, sections: dict) -> Reading[str]:
    named = (
        title.agency if title and title.agency and plausible_name(str(title.agency.value)) else None
    )
    if named is not None and not region_of(str(named.value)):
        fuller = _with_region(text, str(named.value))
        if fuller:
            named = fuller
    reading = (
        named
        or _signature(lines, sections)
        or _from_body(text, sections)
        or Reading(
            None,
            None,
            "meta.missing",
            "meta.agency: no title names a body, and no signature stands above the report's date",
        )
    )
    if reading.value is not None:
        reason, reading.alternatives = check_agency(str(reading.value), text)
        reading.reason = reason or reading.reason
    return reading


def check_agency(name: str, text: str = "") -> tuple[str, list[dict]]:
    """Does `name` read as a body's name: a region (a division of the gazetteer, a zone, or the
    central government's prefix), then the body (rules/meta.toml [agency])? Returns ("", []) when
    it does, else the reason to mark it and the gazetteer's readings of a place name one
    character off: [{"value": "沭阳县人民政府", "source": "gazetteer", "note": …}]. `text` (the
    report) helps tell which division a misread name stands for."""
    rules = meta_rules()["agency"]
    if not plausible_name(name):
        return f"meta.agency: {name!r} does not read as a body's name", []
    if not (name.endswith(tuple(rules["bodies"] + rules["zones"])) or _all_divisions(name)):
        return (
            f"meta.agency: {name!r} does not end as a body's name does (人民政府, 局, 委员会…)",
            [],
        )
    region = region_of(name)
    claimed = _claimed_division(name[len(region) :]) if region else _claimed_division(name)
    if region and (claimed is None or gazetteer.places(claimed) or _zone_at(claimed, 0)):
        return "", []  # (after its region, a name such as 江苏省沐阳县… still claims a county)
    if claimed is None:
        return (
            f"meta.agency: {name!r} names no region (no division of {gazetteer.source()}, no zone)",
            [],
        )
    options = gazetteer.nearest(claimed, text)
    alternatives = [
        {
            "value": name.replace(claimed, option, 1),
            "source": "gazetteer",
            "note": f"{claimed} is no division of {gazetteer.source()}; "
            f"{gazetteer.places(option)[0].path} is one character off",
        }
        for option in options
    ]
    hint = f": {options[0]}?" if options else ""
    return f"meta.agency: {claimed} is not a division of {gazetteer.source()}{hint}", alternatives


def region_of(name: str) -> str:
    """The region `name` opens with ("" for none): divisions of the gazetteer (a name it gives
    as historical, or whose stem it knows at another level, counts: 临安市 for 临安区), then a
    zone (平潭综合实验区, 高新区), or the central government's prefix (国家, 国务院) or a
    ministry."""
    rules = meta_rules()["agency"]
    chain = gazetteer.leading(name)
    pos = sum(len(n) for n, _ in chain)
    zone = _zone_at(name, pos)
    if zone:
        return name[: pos + zone]
    if chain:
        return name[:pos]
    if (
        name.startswith(tuple(rules["national"]))
        or name.endswith(tuple(rules["national_bodies"]))
        and len(name) <= 8
    ):
        return next((p for p in rules["national"] if name.startswith(p)), name)
    claimed = _claimed_division(name)
    return claimed if claimed and gazetteer.same_stem(claimed) else ""


def _zone_at(name: str, pos: int) -> int:
    """The length of a zone standing at `pos` (a place's short name may come first:
    江北新区), or 0."""
    for zone in meta_rules()["agency"]["zones"]:
        at = name.find(zone, pos, pos + 6 + len(zone))
        if at >= 0 and not any(c in name[pos:at] for c in "局委厅办部"):
            return at + len(zone) - pos
    return 0


def _claimed_division(name: str) -> str | None:
    """The words at the start of `name` that claim to be a division (2 to 8 characters before a
    level word: 沐阳县 of 沐阳县人民政府), or None."""
    m = re.match(r"^[\u4e00-\u9fff]{2,8}?(?:省|市|县|区|旗|盟|州)", name)
    return m.group(0) if m else None


def _all_divisions(name: str) -> bool:
    chain = gazetteer.leading(name)
    return bool(chain) and sum(len(n) for n, _ in chain) == len(name)


def _signature(lines, sections: dict) -> Reading[str] | None:
    """The body's name on a line of its own just above the report's date at its end."""
    rules = meta_rules()["agency"]
    last = max((s.start for s in sections.values()), default=0)
    tail = [(line.strip(), offset, line) for line, offset in lines if offset >= last][-30:]
    for i in range(len(tail) - 1, -1, -1):
        if not DATE_LINE.match(tail[i][0]):
            continue
        above = [t for t in tail[max(0, i - 2 * rules["signature_gap"]) : i] if t[0]][
            -rules["signature_gap"] :
        ]
        for name, offset, line in reversed(above):
            if plausible_name(name) and (
                name.endswith(tuple(rules["bodies"] + rules["zones"])) or _all_divisions(name)
            ):
                start = offset + line.find(name)
                return Reading(name, (start, start + len(name)), "meta.signature")
    return None


FROM_PROSE = "meta.agency: no title or signature names a body: read from the text"


def _from_body(text: str, sections: dict) -> Reading[str] | None:
    """The first body's name in the report's first section (`2023年，西工区财政局坚持…`), marked:
    a guess from prose. Only the first section is read: a page's footer (主办单位：…) and links
    stand after the last one."""
    if not sections:
        return None
    first = min(sections.values(), key=lambda span: span.start)
    part = text[first.start : first.end]
    for m in _body_word().finditer(part):
        name = _named_before(part, m.start(), m.end())
        if name:
            span = (first.start + m.end() - len(name), first.start + m.end())
            return Reading(name, span, "meta.body", FROM_PROSE)
    return None


@lru_cache(maxsize=1)
def _body_word() -> re.Pattern:
    return re.compile("|".join(map(re.escape, meta_rules()["agency"]["bodies"])))


def _named_before(part: str, start: int, end: int) -> str | None:
    """The longest name ending with the body word at start:end that opens with a division."""
    for begin in range(max(0, start - 15), start):
        name = part[begin:end]
        if plausible_name(name) and gazetteer.leading(name) and not check_agency(name)[0]:
            return name
    return None


REGION_CHARS = "省市区县州旗盟镇乡"
STOP_CHARS = set("的了是年由在为对和及与将把被向从自以按经")


def _with_region(text: str, base: str) -> Reading[str] | None:
    """The body's fullest name for `base` in the text: 高新区财政局 for 财政局."""
    counts: Counter = Counter()
    first: dict[str, tuple[int, int]] = {}
    for m in re.finditer(r"([\u4e00-\u9fff]{1,12})" + re.escape(base), text):
        run = m.group(1)
        cut = max((i for i, c in enumerate(run) if c in STOP_CHARS), default=-1)
        prefix = run[cut + 1 :]
        while prefix and prefix[-1] not in REGION_CHARS:
            prefix = prefix[:-1]
        if len(prefix) >= 2:
            full = prefix + base
            counts[full] += 1
            first.setdefault(full, (m.end() - len(full), m.end()))
    if not counts:
        return None
    best = counts.most_common(1)[0][0]
    return Reading(best, first[best], "meta.body")


# ---------------------------------------------------------------- template


@lru_cache(maxsize=1)
def _markers() -> dict[str, tuple[re.Pattern, ...]]:
    """Each template's marker words as patterns that let white space stand between characters."""
    return {
        name: tuple(_spaced(normalise(m)) for m in markers)
        for name, markers in all_markers().items()
    }


def _spaced(word: str) -> re.Pattern:
    return re.compile(r"\s*".join(map(re.escape, word)))


@lru_cache(maxsize=1)
def _table_words() -> tuple[str, ...]:
    words = list(meta_rules()["statutory"]["table_words"])
    words += [normalise(m) for markers in all_markers().values() for m in markers]
    return tuple(sorted(set(words), key=len, reverse=True))


def template_scores(text: str) -> dict[str, int]:
    """For each template, how many of its marker words stand where a table stands (a table
    line, a cell, a one-line dump's run of cells); a marker in a sentence does not count
    (`政府集中采购项目类信息55条` in a 2018 report's prose)."""
    return {
        name: sum(
            1
            for p in patterns
            if any(_in_table(text, m.start(), m.end()) for m in p.finditer(text))
        )
        for name, patterns in _markers().items()
    }


def _in_table(text: str, start: int, end: int) -> bool:
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line = text[line_start : line_end if line_end >= 0 else len(text)]
    if "\t" in line or "|" in line:
        return True
    stripped = line.strip()
    if len(stripped) <= 40 and not re.search(r"[。，,；;]", stripped):
        return True  # a label or header on its own line
    after = text[end : end + 16].lstrip(" ")
    if not after or after[0] == "\n" or after.startswith(_table_words()):
        return True
    return bool(re.match(r"\d", after)) and not UNIT_AFTER_NUMBER.match(after)


def _table_words_count(text: str) -> int:
    return sum(
        1
        for w in meta_rules()["statutory"]["table_words"]
        if any(_in_table(text, m.start(), m.end()) for m in _spaced(w).finditer(text))
    )


def _template(scores: dict[str, int], year: int | None) -> tuple[str | None, str, str]:
    if scores["2019"] != scores["2021"]:
        return max(scores, key=scores.__getitem__), "meta.markers", ""
    if year is not None:
        return (
            ("2021" if year >= 2021 else "2019"),
            "meta.year",
            "no template markers decide: taken from the year",
        )
    return None, "meta.default", "no template markers and no year: assumed 2021"


# ---------------------------------------------------------------- what is not a statutory report


def _first_statutory() -> int:
    return meta_rules()["year"]["first_statutory"]


def _old_table(text: str) -> bool:
    """The header of the statistics table printed before the statutory tables:
    指标名称 | 计量单位."""
    first, second = meta_rules()["statutory"]["old_table_header"]
    return bool(re.search(re.escape(first) + r"[ \t|]*\n?[ \t|]*" + re.escape(second), text))


def _predates(text: str, year: Reading[int], statutory: bool) -> str | None:
    if statutory:
        return None
    first = _first_statutory()
    if year.value is not None and year.value < first and year.rule in ("meta.title", "meta.period"):
        return (
            f"a report for {year.value}, before the statutory tables (they start with the reports "
            f"for {first}): no template claimed, no table values read"
        )
    if _old_table(text):
        return (
            "its table is the 指标名称 / 计量单位 list of the reports before the statutory tables: "
            "no template claimed, no table values read"
        )
    return None


def _not_a_report(
    text: str, titles: list[Title], title: Title | None, n_sections: int, statutory: bool
) -> str | None:
    rules = meta_rules()
    if not any(w in text for w in rules["title"]["subject"]):
        return (
            "not an annual report on government information disclosure: "
            "政府信息公开 is never mentioned"
        )
    if statutory or n_sections >= rules["not_a_report"]["min_sections"]:
        return None
    if title is not None and title.notice:
        return (
            f"not an annual report: a notice about the annual reports ({title.text[:60]}), "
            "with no report sections or tables"
        )
    # a title however many windows hold it (a title's year is always read: _title_year)
    listed = {t.end: t.year.value for t in titles if t.year and t.year.value is not None}
    if len(listed) >= rules["not_a_report"]["list_titles"]:
        years = ", ".join(str(y) for y in sorted(set(listed.values()), reverse=True))
        return (
            f"not an annual report: a page listing {len(listed)} annual reports ({years}), "
            "with no report sections or tables"
        )
    if title is None:
        return (
            "not an annual report: no report title, sections or statutory tables "
            "(a news item or notice about 政府信息公开?)"
        )
    return None
