"""The OCR route: scans of examples/huaian_2024.pdf (its pages rendered to images at 150 dpi) against its text route.

Every value the scan gives either equals the text route's or is marked for review: a misreading
is never silent. OCR of the six pages takes some 30 s on two cores: the scan is read once per module.
"""

from __future__ import annotations

import io
import os
import socket

import pytest

from extractor.errors import InputError
from extractor.ingest import read_document
from extractor.pipeline import extract

from conftest import EXAMPLES, ROOT

pytest.importorskip("rapidocr_onnxruntime")
pdfium = pytest.importorskip("pypdfium2")

HUAIAN = next((p for p in (EXAMPLES / "huaian_2024.pdf", ROOT.parent / "shared" / "corpus" / "huaian_2024.pdf") if p.exists()), None)
pytestmark = pytest.mark.skipif(HUAIAN is None, reason="huaian_2024.pdf is not in examples/")
DPI = 150


def page_images(pages=None):
    pdf = pdfium.PdfDocument(HUAIAN.read_bytes())
    numbers = pages or range(1, len(pdf) + 1)
    return [pdf[n - 1].render(scale=DPI / 72).to_pil().convert("RGB") for n in numbers]


def image_pdf(images) -> bytes:
    """An image-only PDF: one scanned image a page, no text layer."""
    buf = io.BytesIO()
    images[0].save(buf, "PDF", save_all=True, append_images=images[1:], resolution=DPI)
    return buf.getvalue()


@pytest.fixture(scope="module")
def text_record():
    return extract(HUAIAN.read_bytes(), str(HUAIAN))


@pytest.fixture(scope="module")
def scan_record():
    return extract(image_pdf(page_images()), "huaian_scan.pdf")


@pytest.fixture
def offline(monkeypatch):
    """No network: any socket raises."""
    def refuse(*a, **k):
        raise OSError("network used during OCR")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def compare(scan, text) -> tuple[list, list, list]:
    matched, marked, silent = [], [], []
    for key, want in text.fields.items():
        got = scan.fields[key]
        if got.value == want.value and type(got.value) is type(want.value):
            matched.append(key)
        elif got.review:
            marked.append(key)
        else:
            silent.append((key, want.value, got.value, got.raw))
    return matched, marked, silent


def test_scan_matches_the_text_route_or_is_marked(scan_record, text_record):
    assert scan_record.kind == "pdf" and scan_record.template == text_record.template == "2021"
    matched, marked, silent = compare(scan_record, text_record)
    assert silent == []
    assert len(matched) >= 0.9 * len(text_record.fields)  # the route reads, not only marks
    for key in ("t2.license.decisions", "t3.total.total", "t4.suit_after_review.total", "meta.year"):
        assert scan_record.value(key) == text_record.value(key), key


def test_scan_provenance_is_ocr_with_page_and_box(scan_record, text_record):
    assert {f.route for f in scan_record.fields.values()} == {"ocr"}
    for key in ("t2.license.decisions", "t3.total.total"):
        got, want = scan_record.fields[key], text_record.fields[key]
        assert got.page == want.page, key
        x0, top, x1, bottom = got.box
        wx0, wtop, wx1, wbottom = want.box  # the same cell, within a few points
        assert abs(x0 - wx0) < 6 and abs(top - wtop) < 6 and abs(x1 - wx1) < 6 and abs(bottom - wbottom) < 6, key
        assert all(isinstance(v, float) for v in got.box)


def test_doubtful_numbers_are_marked_never_corrected(scan_record):
    from extractor.cells import read_cell

    doubts = scan_record.review_keys()
    assert doubts
    for key in doubts:
        f = scan_record.fields[key]
        assert f.reason, key
        if f.raw is not None and f.value is not None:
            assert read_cell(f.raw).value == f.value, key  # the value is what the cell says, not a fix


def test_png_goes_through_ocr_offline(offline, tmp_path):
    from extractor.ingest_ocr import model_paths

    import rapidocr_onnxruntime

    package = os.path.dirname(rapidocr_onnxruntime.__file__)
    assert model_paths() and all(p.startswith(package) and os.path.getsize(p) > 100_000 for p in model_paths())
    image = page_images([3])[0]  # the page holding table 2 (主动公开政府信息情况)
    buf = io.BytesIO()
    image.save(buf, "PNG")
    doc = read_document(buf.getvalue(), "page3.png")
    assert doc.kind == "image"
    assert {s[4] for s in doc.spans} == {"ocr"}
    assert "447228" in doc.text and "\t" in doc.text
    record = extract(buf.getvalue(), "page3.png")
    f = record.fields["t2.license.decisions"]
    assert (f.value, f.route, f.page) == (447228, "ocr", 1)
    assert f.box is not None


def test_scan_without_text_is_a_one_line_error():
    from PIL import Image

    blank = Image.new("RGB", (600, 800), "white")
    with pytest.raises(InputError) as caught:
        read_document(image_pdf([blank]), "blank.pdf")
    assert "OCR" in str(caught.value) and "\n" not in str(caught.value)
