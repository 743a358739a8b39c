#!/usr/bin/env python3
"""Seconds per page of the OCR route on this machine.

    python eval/bench_ocr.py [PDF] [--dpi 150] [--pages 1-6] [--repeat 1]

Renders the PDF's pages (default: examples/huaian_2024.pdf) to images at `--dpi` with pypdfium2,
builds an image-only PDF of them, and reads it through the OCR route: the page rendered again at
ingest_ocr.PDF_DPI, ruling lines found, OCR (rapidocr-onnxruntime, models from the wheel) and every
numeric cell re-read on its crop. Prints seconds per page for the OCR rendering with and without the
crop re-reads, and for the whole extraction.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from extractor import ingest_ocr  # noqa: E402
from extractor.ingest_pdf import read_pdf  # noqa: E402
from extractor.pipeline import extract  # noqa: E402

DEFAULTS = [ROOT / "examples" / "huaian_2024.pdf", ROOT.parent / "shared" / "corpus" / "huaian_2024.pdf"]


def scan_of(data: bytes, dpi: int, pages: list[int] | None) -> tuple[bytes, int]:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(data)
    numbers = pages or list(range(1, len(pdf) + 1))
    images = [pdf[n - 1].render(scale=dpi / 72).to_pil().convert("RGB") for n in numbers]
    buf = io.BytesIO()
    images[0].save(buf, "PDF", save_all=True, append_images=images[1:], resolution=dpi)
    return buf.getvalue(), len(images)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pdf", nargs="?", type=Path)
    parser.add_argument("--dpi", type=int, default=150)
    parser.add_argument("--pages", help="e.g. 3-5")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    path = args.pdf or next((p for p in DEFAULTS if p.exists()), None)
    if path is None or not path.exists():
        print("no PDF: pass one, or put huaian_2024.pdf in examples/", file=sys.stderr)
        return 2
    if not ingest_ocr.available():
        print("rapidocr-onnxruntime is not installed", file=sys.stderr)
        return 2
    pages = None
    if args.pages:
        a, _, b = args.pages.partition("-")
        pages = list(range(int(a), int(b or a) + 1))
    scan, n = scan_of(path.read_bytes(), args.dpi, pages)
    ingest_ocr.engine()  # load the models once
    verified, quick, whole = [], [], []
    original = ingest_ocr.ocr_blocks
    for _ in range(args.repeat):
        t = time.perf_counter()
        read_pdf(scan)
        verified.append(time.perf_counter() - t)
        ingest_ocr.ocr_blocks = lambda image, number, scale, verify=True: original(image, number, scale, False)
        try:
            t = time.perf_counter()
            read_pdf(scan)
            quick.append(time.perf_counter() - t)
        finally:
            ingest_ocr.ocr_blocks = original
        t = time.perf_counter()
        record = extract(scan, "scan.pdf")
        whole.append(time.perf_counter() - t)
    print(f"{path.name}: {n} pages scanned at {args.dpi} dpi, OCR at {ingest_ocr.PDF_DPI} dpi, {os.cpu_count()} cores, "
          f"{args.repeat} repetitions, {len(record.review_keys())} values marked for review")
    for name, times in (("ocr rendering", verified), ("ocr without re-reads", quick), ("whole extraction", whole)):
        print(f"{name:24s} {min(times) / n:.2f} s/page best")
    return 0


if __name__ == "__main__":
    sys.exit(main())
