"""One table cell's text → what it states: nothing, a placeholder, a number (maybe OCR-confused),
or text."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import NamedTuple

EMPTY, PLACEHOLDER, NUMBER, OCR, ILLEGIBLE, TEXT = (
    "empty", "placeholder", "number", "ocr", "illegible", "text",
)

# What a report prints where it states nothing: the spec maps every one of these to null.
PLACEHOLDERS = {
    "/", "\\", "-", "--", "—", "——", "―", "─", "–", "无", "空", "暂无", "×", "x", "X", "、",
}
# Characters OCR puts where a digit stood; reading them as digits is a guess, always marked.
OCR_DIGITS = str.maketrans({
    "O": "0", "o": "0", "D": "0", "l": "1", "I": "1", "|": "1",
    "ε": "3", "З": "3", "S": "5", "B": "8",
})
OCR_CHARS = set("OoDlI|εЗSB")
UNIT_SUFFIX = re.compile(r"(万元|千元|元|万|件|项|个|条|次|家|宗)$")
# `1.25万`: in a money column 1.25 万元, in a column of counts 12,500 of them: read, but always
# marked.
MONEY_UNITS = {"元": "元", "千元": "千元", "万元": "万元", "万": "万"}
PLAIN_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")  # (named apart from the kind NUMBER)
# What OCR or a converter leaves where it could not read: the cell held something unknown.
ILLEGIBLE_MARK = re.compile(r"^\[?(illegible|unreadable|模糊|不清|无法识别)\]?$|[\ufffd□■]", re.I)
THOUSANDS = re.compile(r"(?<=\d)[,，](?=\d{3}(?!\d))")
# 本年增/减 written in words or with a dash for the minus: 减3, 增2, —3, –3.
SIGN_WORD = re.compile(r"^(减少?|增加?|—|–)(?=\d)")


class Cell(NamedTuple):
    """A cell's text as it stands in the document, with its character span.
    (Cells and readings are named tuples, not dataclasses: a report makes thousands, and a tuple is
    built faster.)"""

    text: str
    start: int
    end: int


class Reading(NamedTuple):
    kind: str  # EMPTY, PLACEHOLDER, NUMBER, OCR, ILLEGIBLE or TEXT
    value: int | float | None = None
    unit: str | None = None  # "元", "千元" or "万元" when the cell itself states a money unit

    @property
    def is_number(self) -> bool:
        """A number, read plainly or through an OCR confusion."""
        return self.kind in (NUMBER, OCR)

    @property
    def is_value(self) -> bool:
        """Could this cell stand in a value column (anything but label text)?"""
        return self.kind != TEXT


def normalise(text: str) -> str:
    """Fold full-width forms (NFKC), drop all white space and zero-width characters."""
    text = nfkc(text).replace("−", "-").replace("〇", "0")
    for invisible in ZERO_WIDTH:
        if invisible in text:
            text = text.replace(invisible, "")
    # str.split and the \s of re take the same characters for white space
    return "".join(text.split())


ZERO_WIDTH = ("\u200b", "\u200c", "\u200d", "\ufeff")
# The characters of reports that NFKC changes, nearly all of them: replaced first (fast), the
# text is then often NFKC already, which is much quicker to test than to normalise. Each maps
# to its own NFKC form, so the result is NFKC's exactly.
COMMON_COMPATIBILITY = (
    ("（", "("),
    ("）", ")"),
    ("，", ","), ("：", ":"), ("；", ";"), ("\xa0", " "), ("\u3000", " "), ("！", "!"), ("？", "?"),
    ("％", "%"), ("．", "."), ("／", "/"),
)


def nfkc(text: str) -> str:
    """unicodedata.normalize("NFKC", text), quicker on the text of reports."""
    for compatible, plain in COMMON_COMPATIBILITY:
        if compatible in text:
            text = text.replace(compatible, plain)
    return text if unicodedata.is_normalized("NFKC", text) else unicodedata.normalize("NFKC", text)


@lru_cache(maxsize=65536)
def read_cell(text: str) -> Reading:
    s = normalise(text)
    if not s:
        return Reading(EMPTY)
    if s in PLACEHOLDERS:
        return Reading(PLACEHOLDER)
    if ILLEGIBLE_MARK.search(s):
        return Reading(ILLEGIBLE)
    unit = None
    m = UNIT_SUFFIX.search(s)
    if m and m.start() > 0:
        unit = MONEY_UNITS.get(m.group(1))
        s = s[: m.start()]
    s = THOUSANDS.sub("", s)
    s = SIGN_WORD.sub(lambda m: "-" if m.group(1)[0] in "减—–" else "+", s)
    if PLAIN_NUMBER.match(s):
        return Reading(NUMBER, _number(s), unit)
    if any(c in OCR_CHARS for c in s):
        fixed = s.translate(OCR_DIGITS)
        # A lone confusable letter or one mixed with real digits, not a word.
        if PLAIN_NUMBER.match(fixed) and (any(c.isdigit() for c in s) or len(s) == 1):
            return Reading(OCR, _number(fixed), unit)
    return Reading(TEXT)


def _number(s: str) -> int | float:
    return float(s) if "." in s else int(s)
