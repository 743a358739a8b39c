"""The outline of a report: its six sections, the table regions, and its meta (extractor.meta:
the title, year, agency, template, and whether it is a statutory report at all)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .meta import Meta, read_meta

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
HEADING_PATTERNS = {n: re.compile(ENUM + r"\s*.{0,14}?(" + "|".join(map(re.escape, words)) + ")") for n, words in HEADINGS.items()}


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
    sections = _sections(lines, len(text))
    regions = _regions(text, lines, sections)
    return Outline(sections, regions, read_meta(text, lines, sections, regions))


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
