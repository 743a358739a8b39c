"""The outline of a report: its six sections, the table regions, and its meta (extractor.meta:
the title, year, agency, template, and whether it is a statutory report at all)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz

from .meta import Meta, read_meta
from .template import sections as template_sections
from .template import template

ENUM = (
    r"(?:第?[一二三四五六七八九十]{1,2}\s*[、.．,，]|"
    r"[（(]\s*[一二三四五六七八九十]{1,2}\s*[）)]|\d{1,2}\s*[、.．])"
)
MAX_HEADING = 40
# Where a heading may stand inside a line (a one-line crawler dump): after white space, the end
# of a sentence or a table's last number (`…0103四、政府信息公开…`), and then only with its
# enumerator (`二、主动公开…`): prose mentions the same words.
# After a number (a crawler runs a heading into the table's last one), only a heading numbered in
# words (`0103四、`): `71.6` is no heading `1.`.
CN_ENUM = (
    r"(?:[一二三四五六七八九十]{1,2}\s*[、.．,，]|[（(]\s*[一二三四五六七八九十]{1,2}\s*[）)])"
)
MID_LINE_ENUM = r"(?:(?:(?<=[\s。；;：:！!？?）)])|^)" + ENUM + r"|(?<=\d)" + CN_ENUM + ")"


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
                               re.compile(MID_LINE_ENUM + r"\s*[^。；;\n]{0,14}?" + words, re.M))
    return out


@dataclass
class Span:
    start: int
    end: int


@dataclass
class Outline:
    sections: dict[int, Span]
    regions: dict[str, Span]  # "t2", "t3", "t4": where each table's text stands
    meta: Meta  # title, year, agency, template; `predates` / `not_a_report`: no statutory report

    @property
    def template(self) -> str | None:
        return self.meta.template


def outline(text: str) -> Outline:
    lines = _lines(text)
    sections = _sections(text, lines)
    regions = _regions(text, sections)
    return Outline(sections, regions, read_meta(text, lines, sections, regions))


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


NUMBERED = re.compile(MID_LINE_ENUM, re.M)
HEADING_TEXT = 24  # characters after a heading's enumerator that may hold its words
SIMILAR_HEADING = 85  # rapidfuzz partial_ratio of a section's words within them


def _misprinted_heading(text: str, number: int, floor: int) -> int | None:
    """A numbered heading whose words are a character off the template's (`四、政府信息公开行政法
    复议、行政诉讼情况`): the first enumerator after `floor` followed by words that closely
    match."""
    section_words = next(s.words for s in template_sections() if s.number == number)
    words = [w for w in section_words if len(w) >= 4]
    for m in NUMBERED.finditer(text, floor):
        piece = re.split(r"[。；;\n]", text[m.end() : m.end() + HEADING_TEXT], maxsplit=1)[0]
        if any(len(piece) >= len(w) and fuzz.partial_ratio(w, piece) >= SIMILAR_HEADING
               for w in words):
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
    stop = end if end is not None else len(text)
    hits = [i for i in (text.find(w, start, stop) for w in words) if i >= 0]
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
    labels = {w for name in ("2019", "2021") for row in template(name).tables["t2"].rows
              for w in row.words}
    words = "|".join(map(re.escape, sorted(labels, key=len, reverse=True)))
    return re.compile(r"^[ \t|]*(?:" + words + r")[ \t|]*[-\d]", re.M)


def _regions(text, sections) -> dict[str, Span]:
    size = len(text)
    s2 = sections[2].start if 2 in sections else _t2_start(text)
    s3 = (
        sections[3].start
        if 3 in sections
        else _first_with(text, ("申请人情况", "本年新收", "新收政府信息公开申请"), s2 or 0)
    )
    after3 = s3 if s3 is not None else (s2 or 0)
    t3_end = _first_with(text, ("结转下年度",), after3) or after3
    s4 = (
        sections[4].start
        if 4 in sections
        else _first_with(text, ("行政复议", "[illegible]"), t3_end + 1)
    )
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
