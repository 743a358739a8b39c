"""The text fold every document goes through at ingest: one character for one character, so the
spans of values (offsets into Document.text) and a PDF's character boxes stay where they were.

- A character whose NFKC form is a single character becomes that character: full-width forms
  (`（`, `：`, `０`…), the CJK compatibility ideographs, and the Kangxi Radicals (U+2F00–U+2FD5:
  `⼈` → 人, `⾏` → 行) that Chromium and some other printers put in a PDF's text layer.
- The CJK Radicals Supplement (U+2E80–U+2EFF), which NFKC leaves alone, becomes the equivalent
  unified ideograph of Unicode's EquivalentUnifiedIdeograph data (`⺠` U+2EA0 → 民), read from
  rules/equivalent_unified_ideograph.txt (its provenance and licence are noted there).
- Left as they are: characters whose NFKC form is longer than one (`⑴` → `(1)`, `℃` → `°C`),
  and those that NFKC would turn into a digit without being a decimal digit themselves
  (superscripts `²`, circled numbers `①`): a footnote mark or an enumerator must not become part
  of a number. Full-width and other decimal digits (`５`) do become ASCII digits.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from .spec import open_rule

RADICALS_FILE = "equivalent_unified_ideograph.txt"
# Where NFKC changes single characters (the rest of the code space has no compatibility forms):
# the BMP, the SMP (mathematical letters and digits, enclosed forms) and the CJK Compatibility
# Ideographs Supplement.
_RANGES = ((0x0000, 0xD7FF), (0xE000, 0x1FFFF), (0x2F800, 0x2FA1F))


@lru_cache(maxsize=1)
def table() -> dict[int, str]:
    """The fold as a str.translate table: {code point: its one-character replacement}."""
    out: dict[int, str] = {}
    for low, high in _RANGES:
        for point in range(low, high + 1):
            ch = chr(point)
            folded = unicodedata.normalize("NFKC", ch)
            if folded != ch and len(folded) == 1 and _keeps_digits(ch, folded):
                out[point] = folded
    out.update(radicals())
    return out


def _keeps_digits(ch: str, folded: str) -> bool:
    """False for a character that would become a digit without being a decimal digit (`²`, `①`)."""
    return not folded.isdigit() or unicodedata.category(ch) == "Nd"


@lru_cache(maxsize=1)
def radicals() -> dict[int, str]:
    """{radical code point: unified ideograph} from the rules' EquivalentUnifiedIdeograph lines."""
    out: dict[int, str] = {}
    with open_rule(RADICALS_FILE) as f:
        text = f.read()
    for line in text.splitlines():
        data = line.split("#", 1)[0].strip()
        if not data:
            continue
        points, target = (part.strip() for part in data.split(";"))
        low, _, high = points.partition("..")
        for point in range(int(low, 16), int(high or low, 16) + 1):
            out[point] = chr(int(target, 16))
    return out


# The characters of reports that the fold changes, nearly all of them: replaced first (str.replace
# is quick), the text is then often NFKC already, which is much quicker to test than to translate.
COMMON = (
    ("（", "("),
    ("）", ")"),
    ("，", ","),
    ("：", ":"),
    ("；", ";"),
    ("\xa0", " "),
    ("\u3000", " "),
    ("！", "!"),
    ("？", "?"),
    ("％", "%"),
    ("．", "."),
    ("／", "/"),
)


def fold(text: str) -> str:
    """`text` folded (see the module's docstring); the same length, character for character.

    >>> fold("上海市⼈⺠政府（２０２４）")
    '上海市人民政府(2024)'
    """
    for compatible, plain in COMMON:
        if compatible in text:
            text = text.replace(compatible, plain)
    if unicodedata.is_normalized("NFKC", text) and not _has_radicals(text):
        return text
    return text.translate(table())


def _has_radicals(text: str) -> bool:
    """Might `text` hold a character of U+2E00–U+2EFF (the CJK Radicals Supplement's row)? The
    high bytes of its UTF-16 code units hold 0x2E then: a byte search, three times quicker than a
    regular expression's character class (a false yes only costs the slower path)."""
    return b"\x2e" in text.encode("utf-16-be", "surrogatepass")[0::2]


def fold_chars(chars: list[dict]) -> list[dict]:
    """pdfplumber's characters (dicts with a "text" key) folded in place, one by one; returned.

    A character's text of several characters (a ligature) is folded only where each of its
    characters has a one-character form, so its length holds too."""
    changed = table()
    for c in chars:
        text = c.get("text")
        if text and any(ord(ch) in changed for ch in text):
            c["text"] = text.translate(changed)
    return chars
