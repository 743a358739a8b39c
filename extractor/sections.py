"""The outline of a report: its six sections, the table regions, the template, year and agency."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache

from rapidfuzz import fuzz

from .cells import normalise
from .template import all_markers, template
from .template import sections as template_sections

ENUM = r"(?:第?[一二三四五六七八九十]{1,2}\s*[、.．,，]|[（(]\s*[一二三四五六七八九十]{1,2}\s*[）)]|\d{1,2}\s*[、.．])"
MAX_HEADING = 40
# Where a heading may stand inside a line (a one-line crawler dump): after white space or the end
# of a sentence, and then only with its enumerator (`二、主动公开…`): prose mentions the same words.
MID_LINE = r"(?:(?<=[\s。；;：:！!？?）)])|^)"


@lru_cache(maxsize=1)
def _heading_patterns() -> dict[int, tuple[re.Pattern, re.Pattern]]:
    """For each section: (a pattern for a heading that opens its line, enumerator optional; a
    pattern for one inside a line, enumerator required), from the template's section words."""
    out = {}
    for section in template_sections():
        words = "(" + "|".join(map(re.escape, section.words)) + ")"
        # (\s*+ possessive, and no start inside a run of white space: the same matches, but such
        # a run is not scanned again from each of its characters)
        out[section.number] = (re.compile(r"(?<!\s)" + ENUM + r"?\s*+.{0,14}?" + words),
                               re.compile(MID_LINE + ENUM + r"\s*[^。；;\n]{0,14}?" + words, re.M))
    return out


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
    sections = _sections(text, lines)
    regions = _regions(text, sections)
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
    return {name: tuple(normalise(m) for m in markers) for name, markers in all_markers().items()}


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


def _sections(text: str, lines) -> dict[int, Span]:
    """Where each of the six sections starts (in order; a missing one is left out) and ends."""
    starts: dict[int, int] = {}
    floor = 0
    for number, (own_line, mid_line) in _heading_patterns().items():
        found = _heading_on_own_line(lines, own_line, floor)
        inline = mid_line.search(text, floor)
        if inline is not None and (found is None or inline.start() < found):
            found = inline.start()
        if found is None:
            found = _misprinted_heading(text, number, floor)
        if found is not None:
            starts[number] = found
            floor = found + 1
    ordered = sorted(starts.items(), key=lambda kv: kv[1])
    ends = [s for _, s in ordered[1:]] + [len(text)]
    return {n: Span(s, end) for (n, s), end in zip(ordered, ends)}


NUMBERED = re.compile(MID_LINE + ENUM, re.M)
HEADING_TEXT = 24  # characters after a heading's enumerator that may hold its words
SIMILAR_HEADING = 85  # rapidfuzz partial_ratio of a section's words within them


def _misprinted_heading(text: str, number: int, floor: int) -> int | None:
    """A numbered heading whose words are a character off the template's (`四、政府信息公开行政法
    复议、行政诉讼情况`): the first enumerator after `floor` followed by words that closely match."""
    words = [w for w in next(s.words for s in template_sections() if s.number == number) if len(w) >= 4]
    for m in NUMBERED.finditer(text, floor):
        piece = re.split(r"[。；;\n]", text[m.end() : m.end() + HEADING_TEXT], maxsplit=1)[0]
        if any(len(piece) >= len(w) and fuzz.partial_ratio(w, piece) >= SIMILAR_HEADING for w in words):
            return m.start()
    return None


def _heading_on_own_line(lines, pattern: re.Pattern, floor: int) -> int | None:
    """The first line at or after `floor` that is a heading: short, or its heading before a colon
    (`五、存在的主要问题及改进情况：一是…`)."""
    for line, offset in lines:
        if offset < floor:
            continue
        s = line.strip()
        if len(s) > MAX_HEADING and re.search(r"[：:]", s[: MAX_HEADING + 1]):
            s = re.split(r"[：:]", s, maxsplit=1)[0]
        if 0 < len(s) <= MAX_HEADING and pattern.match(s):
            return offset + line.index(s[0])
    return None


def _first_with(text: str, words, start: int = 0, end: int | None = None) -> int | None:
    """Where the first of `words` stands in text[start:end] (the start of its line, when the line
    is short enough to be a heading or a row; else the word itself)."""
    hits = [i for i in (text.find(w, start, end if end is not None else len(text)) for w in words) if i >= 0]
    if not hits:
        return None
    i = min(hits)
    line_start = text.rfind("\n", 0, i) + 1
    return line_start if line_start >= start and i - line_start <= MAX_HEADING else i


def _t2_start(text: str) -> int | None:
    """Where table 2 starts when section 二's heading is missing (a fragment of a report): its
    first block heading (第二十条…), or an earlier line that opens with one of its rows' labels
    and a number (`行政处罚 3985758`), whichever comes first."""
    block = _first_with(text, ("第二十条",))
    row = _t2_row_line().search(text, 0, block if block is not None else len(text))
    return row.start() if row is not None else block


@lru_cache(maxsize=1)
def _t2_row_line() -> re.Pattern:
    labels = {w for name in ("2019", "2021") for row in template(name).tables["t2"].rows for w in row.words}
    words = "|".join(map(re.escape, sorted(labels, key=len, reverse=True)))
    return re.compile(r"^[ \t|]*(?:" + words + r")[ \t|]*[-\d]", re.M)


def _regions(text, sections) -> dict[str, Span]:
    size = len(text)
    s2 = sections[2].start if 2 in sections else _t2_start(text)
    s3 = sections[3].start if 3 in sections else _first_with(text, ("申请人情况", "本年新收", "新收政府信息公开申请"), s2 or 0)
    after3 = s3 if s3 is not None else (s2 or 0)
    t3_end = _first_with(text, ("结转下年度",), after3) or after3
    s4 = sections[4].start if 4 in sections else _first_with(text, ("行政复议", "[illegible]"), t3_end + 1)
    s5 = sections[5].start if 5 in sections else (sections[6].start if 6 in sections else None)
    if s5 is None:
        s5 = _first_with(text, ("存在的主要问题", "存在问题", "改进情况"), s4 or after3) or size
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
