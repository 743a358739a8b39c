"""The text fold at ingest (extractor.fold): one character for one, every kind of input."""

import unicodedata
from pathlib import Path

import pytest

from extractor.fold import fold, fold_chars, radicals, table
from extractor.ingest import read_document
from extractor.pipeline import extract

CASES = Path(__file__).resolve().parent / "data" / "cases"
CHROMIUM = CASES / "rendered" / "agency_kangxi_radicals_chromium.pdf"


def test_full_width_forms_and_radicals_become_ordinary_characters():
    assert (
        fold("上海市⼈⺠政府办公厅（２０２４）：⾏政复议⼆⽆")
        == "上海市人民政府办公厅(2024):行政复议二无"
    )


def test_the_radicals_supplement_needs_the_data_nfkc_leaves_it():
    """⺠ U+2EA0: NFKC keeps it (so a plain NFKC would leave `上海市人⺠政府`); the data folds
    it."""
    assert unicodedata.normalize("NFKC", "⺠") == "⺠"
    assert fold("⺠") == "民"


def test_every_kangxi_radical_folds_to_one_unified_ideograph():
    for point in range(0x2F00, 0x2FD6):
        folded = fold(chr(point))
        assert len(folded) == 1 and unicodedata.name(folded).startswith("CJK UNIFIED IDEOGRAPH"), (
            hex(point)
        )


def test_every_radical_of_the_data_is_a_unified_ideograph():
    mapped = radicals()
    assert len(mapped) == 114  # U+2E81..U+2EF3 less U+2E9A (unassigned); U+2E80 has no equivalent
    assert 0x2E80 not in mapped and 0x2E9A not in mapped
    for point, ideograph in mapped.items():
        assert unicodedata.name(ideograph).startswith("CJK UNIFIED IDEOGRAPH"), hex(point)


@pytest.mark.parametrize("kept", ["①", "²", "⑴", "℃", "¹²³", "〇", "、", "。"])
def test_no_number_appears_from_an_enumerator_or_a_footnote_mark(kept):
    """Circled numbers and superscripts would become digits under NFKC (`①` → `1`): kept as they
    are, like every character whose NFKC form is longer than one."""
    assert fold(kept) == kept


def test_decimal_digits_of_any_width_become_ascii():
    assert fold("１２３４５６７８９０") == "1234567890"


def test_the_length_holds_for_every_character_the_fold_changes():
    changed = table()
    assert all(len(folded) == 1 for folded in changed.values())
    text = "".join(chr(point) for point in changed)
    assert len(fold(text)) == len(text)


def test_the_quick_path_gives_what_the_table_gives():
    text = "本机关（一）予以公开：８件，⺠ 政①²　ｋｍ"
    assert fold(text) == text.translate(table())
    plain = "本机关(一)予以公开:8件"
    assert fold(plain) is plain or fold(plain) == plain


def test_pdf_characters_are_folded_in_place():
    chars = [{"text": "⼈"}, {"text": "⺠"}, {"text": "ﬁ"}, {"text": ""}]
    assert [c["text"] for c in fold_chars(chars)] == [
        "人",
        "民",
        "ﬁ",
        "",
    ]  # a ligature's two letters: kept


@pytest.mark.parametrize(
    "name, data",
    [
        ("report.txt", "上海市⼈⺠政府（２０２４）".encode("utf-8")),
        ("report.md", "# 上海市⼈⺠政府（２０２４）\n".encode("utf-8")),
        (
            "report.html",
            "<html><body><p>上海市⼈⺠政府（２０２４）</p></body></html>".encode("utf-8"),
        ),
        ("report.txt", "上海市⼈⺠政府（２０２４）".encode("utf-16")),
    ],
)
def test_every_text_kind_is_folded_at_ingest(name, data):
    assert "上海市人民政府(2024)" in read_document(data, name).text


def test_a_chromium_pdf_reads_in_ordinary_characters_with_its_spans():
    """Chromium's text layer maps 人 → ⼈, 民 → ⺠, 行 → ⾏: the agency and the headings come out
    in ordinary characters, and the agency's span points at those characters in the text."""
    doc = read_document(CHROMIUM.read_bytes(), str(CHROMIUM))
    assert not any(0x2E80 <= ord(c) <= 0x2FDF for c in doc.text)
    assert "行政复议" in doc.text
    record = extract(CHROMIUM.read_bytes(), str(CHROMIUM))
    agency = record.fields["meta.agency"]
    assert agency.value == "上海市人民政府办公厅"
    assert doc.text[agency.start : agency.end] == agency.value
    assert agency.page == 1 and agency.box is not None
