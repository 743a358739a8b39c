"""extractor.cells.normalise: its quick NFKC gives exactly what unicodedata gives, on report text
and on odd characters."""

import random
import re
import unicodedata

import pytest

from extractor import cells
from extractor.cells import COMMON_COMPATIBILITY, nfkc, normalise

# Characters of reports and characters that test NFKC's corners: full-width forms, Kangxi
# radicals, CJK compatibility ideographs, combining marks, Hangul jamo, odd white space.
POOL = [
    chr(c)
    for c in [
        *range(0x20, 0x7F), *range(0x3000, 0x3040), *range(0xFF00, 0xFF70), *range(0x2F00, 0x2F30),
        *range(0xF900, 0xF930), *range(0x4E00, 0x4E40), 0x301, 0x308, 0x3099, 0x309A, 0xA0, 0x2000,
        0x2028, 0x85, 0x1C, 0x200B, 0x200C, 0x200D, 0xFEFF, 0x2212, 0x3007, 0x2460, 0x2474, 0xAC00,
        0x1100, 0x1161, 0x11A8,
    ]
]


def plain_normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).replace("−", "-").replace("〇", "0")
    return re.sub(r"[\s\u200b\u200c\u200d\ufeff]+", "", text)


def test_each_quick_replacement_is_the_characters_nfkc():
    for compatible, plain in COMMON_COMPATIBILITY:
        assert unicodedata.normalize("NFKC", compatible) == plain


def test_normalise_is_nfkc_without_white_space_on_random_text():
    rng = random.Random(5)
    for _ in range(20000):
        text = "".join(rng.choice(POOL) for _ in range(rng.randint(0, 12)))
        assert nfkc(text) == unicodedata.normalize("NFKC", text)
        assert normalise(text) == plain_normalise(text), repr(text)


def test_normalise_folds_a_report_line():
    assert (
        normalise("（一）本年新收政府信息\u3000公开申请，数量：\u200b１２")
        == "(一)本年新收政府信息公开申请,数量:12"
    )


def test_a_wrong_quick_replacement_would_be_caught(monkeypatch):
    monkeypatch.setattr(cells, "COMMON_COMPATIBILITY", (("（", "["),))
    with pytest.raises(AssertionError):
        test_normalise_folds_a_report_line()
