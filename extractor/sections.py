"""The outline of a report: its six sections, the table regions, the template, year and agency."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache

from .cells import normalise
from .spec import templates

HEADINGS = {
    1: ("总体情况",),
    2: ("主动公开政府信息情况", "主动公开政府信息"),
    3: ("收到和处理政府信息公开申请", "收到和处理政府信息公开", "政府信息公开申请情况"),
    4: ("行政复议、行政诉讼", "行政复议和行政诉讼", "行政复议行政诉讼", "行政复议及行政诉讼", "复议、诉讼"),
    5: ("存在的主要问题", "主要问题及改进", "存在问题", "存在的问题", "存在的不足", "问题及改进", "问题和改进", "改进情况", "改进措施"),
    6: ("其他需要报告",),
}
ENUM = r"(?:第?[一二三四五六七八九十]{1,2}\s*[、.．,，]|[（(]\s*[一二三四五六七八九十]{1,2}\s*[）)]|\d{1,2}\s*[、.．])?"
MAX_HEADING = 40
# (\s*+ possessive, and no start inside a run of white space: the same matches, but such a run is
# not scanned again from each of its characters)
HEADING_PATTERNS = {n: re.compile(r"(?<!\s)" + ENUM + r"\s*+.{0,14}?("
                                  + "|".join(map(re.escape, words)) + ")")
                    for n, words in HEADINGS.items()}
REGION_CHARS = "省市区县州旗盟镇乡"
STOP_CHARS = set("的了是年由在为对和及与将把被向从自以按经")
ORG_SUFFIX = re.compile(r"(局|委|办|所|站|中心|院|厅|处|队|会|署)$")


@dataclass
class Span:
    start: int
    end: int


@dataclass
class Outline:
    sections: dict[int, Span]
    regions: dict[str, Span]  # "t2", "t3", "t4": where each table's text stands
    template: str | None
    template_scores: dict[str, int]
    year: int | None
    year_span: Span | None
    agency: str | None
    agency_span: Span | None
    notes: list[str] = field(default_factory=list)  # what was guessed, for review reasons


def outline(text: str) -> Outline:
    lines = _lines(text)
    sections = _sections(lines, len(text))
    regions = _regions(text, lines, sections)
    scores = template_scores(text)
    title = _title(lines, min((span.start for span in sections.values()), default=None))
    year, year_span, notes = _year(text, lines, title)
    template = _template(scores, year)
    agency, agency_span, agency_notes = _agency(text, lines, title)
    return Outline(sections, regions, template, scores, year, year_span, agency, agency_span, notes + agency_notes)


def template_scores(text: str) -> dict[str, int]:
    flat = normalise(text)
    return {name: sum(1 for m in markers if m in flat) for name, markers in _markers().items()}


@lru_cache(maxsize=1)
def _markers() -> dict[str, tuple[str, ...]]:
    return {name: tuple(normalise(m) for m in markers) for name, markers in templates()["markers"].items()}


def _template(scores: dict[str, int], year: int | None) -> str | None:
    if scores["2019"] != scores["2021"]:
        return max(scores, key=scores.get)
    if year is not None:
        return "2021" if year >= 2021 else "2019"
    return None


def _lines(text: str) -> list[tuple[str, int]]:
    out, pos = [], 0
    for line in text.split("\n"):
        out.append((line, pos))
        pos += len(line) + 1
    return out


def _sections(lines, size) -> dict[int, Span]:
    starts: dict[int, int] = {}
    floor = 0
    for number, words in HEADINGS.items():
        for line, offset in lines:
            if offset < floor:
                continue
            s = line.strip()
            if len(s) > MAX_HEADING:  # `五、存在的主要问题及改进情况：一是…`: the heading, then its text on the same line
                s = re.split(r"[：:]", s, maxsplit=1)[0] if re.search(r"[：:]", s[:MAX_HEADING + 1]) else s
            if 0 < len(s) <= MAX_HEADING and HEADING_PATTERNS[number].match(s):
                starts[number] = offset
                floor = offset + 1
                break
    ordered = sorted(starts.items(), key=lambda kv: kv[1])
    return {n: Span(s, ordered[i + 1][1] if i + 1 < len(ordered) else size) for i, (n, s) in enumerate(ordered)}


def _first_line_with(lines, words, start=0, end=None) -> int | None:
    for line, offset in lines:
        if offset >= start and (end is None or offset < end) and any(w in line for w in words):
            return offset
    return None


def _regions(text, lines, sections) -> dict[str, Span]:
    size = len(text)
    s2 = sections[2].start if 2 in sections else _first_line_with(lines, ("第二十条",))
    s3 = sections[3].start if 3 in sections else _first_line_with(lines, ("申请人情况", "本年新收", "新收政府信息公开申请"), s2 or 0)
    after3 = s3 if s3 is not None else (s2 or 0)
    t3_end = _first_line_with(lines, ("结转下年度",), after3) or after3
    s4 = sections[4].start if 4 in sections else _first_line_with(lines, ("行政复议", "[illegible]"), t3_end + 1)
    s5 = sections[5].start if 5 in sections else (sections[6].start if 6 in sections else None)
    if s5 is None:
        s5 = _first_line_with(lines, ("存在的主要问题", "存在问题", "改进情况"), s4 or after3) or size
    regions = {}
    bounds = [("t2", s2, s3), ("t3", s3, s4), ("t4", s4, s5)]
    for name, a, b in bounds:
        if a is None:
            continue
        ends = [x for x in (b, s5, size) if x is not None and x > a]
        regions[name] = Span(a, min(ends))
    return regions


FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
MARKUP = str.maketrans("#*>", "   ")


TITLE_LINE = re.compile(r"(?:信息公开|政务公开)[^。，,；;]{0,12}?(?:报告|年报)")


def _title(lines, body_start: int | None = None) -> tuple[str, int] | None:
    """The title line, its full-width digits folded and markdown's `#`, `*`, `>` blanked (same
    length, so offsets hold). On a web page the article's title is the last title-like line before
    the text's first section: lists of other years' reports and site names stand above it."""
    if body_start is not None:
        before = [(line.translate(FULL_WIDTH_DIGITS).translate(MARKUP), offset) for line, offset in lines if offset < body_start]
        titles = [(line, offset) for line, offset in before[:200]
                  if TITLE_LINE.search(line) and re.search(r"(19|20)\d{2}", line) and len(line.strip()) <= 80 and "。" not in line]
        if titles:
            return titles[-1]
    lines = [(line.translate(FULL_WIDTH_DIGITS).translate(MARKUP), offset) for line, offset in lines[:12]]
    for line, offset in lines:
        if "报告" in line and re.search(r"(19|20)\d{2}", line):
            return line, offset
    for line, offset in lines[:6]:
        if line.strip():
            return line, offset
    return None


def _year(text, lines, title):
    if title:
        m = re.search(r"((?:19|20)\d{2})\s*年", title[0])
        if m:
            return int(m.group(1)), Span(title[1] + m.start(1), title[1] + m.end(1)), []
    m = re.search(r"起止时间为?\s*((?:19|20)\d{2})\s*年", text) or re.search(r"((?:19|20)\d{2})\s*年度?", text)
    if m:
        return int(m.group(1)), Span(m.start(1), m.end(1)), ["meta.year: not in the title, taken from the body"]
    return None, None, ["meta.year: not found"]


def _agency(text, lines, title):
    name, span = None, None
    if title:
        line, offset = title
        head = re.split(r"政府信息公开|政务公开|信息公开", line)[0]
        year = re.search(r"[（(]?\s*(?:19|20)\d{2}\s*年度?\s*[)）]?", head)
        parts = [head[: year.start()], head[year.end() :]] if year else [head]
        parts = [re.sub(r"^(?:[^：:\s]{1,6}[：:]\s*)?(?:关于)?(?:印发|公布|发布|转发)?[《“\"]?|关于$|的$", "", p.strip()).strip() for p in parts]
        raw = next((p for p in parts if p), "")
        name = re.sub(r"\s+", "", raw) or None
        if name:
            pos = line.find(raw)
            span = Span(offset + pos, offset + pos + len(raw))
    if name and not _lacks_region(name):
        return name, span, []
    base = name or _signature(lines)
    if base:
        found = _with_region(text, base)
        if found:
            return found[0], found[1], []
        if name is None:
            return base, None, []
    return name, span, ["meta.agency: the title names no region and the body gives none"] if name else ["meta.agency: not found"]


def _lacks_region(name: str) -> bool:
    return not any(c in name for c in REGION_CHARS) and not name.startswith(("国家", "中国", "国务院", "全国")) and len(name) <= 5 and bool(ORG_SUFFIX.search(name))


def _with_region(text: str, base: str):
    """The body's fullest name for `base`: 高新区财政局 for 财政局."""
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
    return best, Span(*first[best])


def _signature(lines) -> str | None:
    for line, _ in reversed(lines[-15:]):
        s = line.strip()
        if 2 <= len(s) <= 30 and ORG_SUFFIX.search(s) or s.endswith(("政府", "办公室")):
            if re.fullmatch(r"[\u4e00-\u9fff（）()]+", s):
                return s
    return None
