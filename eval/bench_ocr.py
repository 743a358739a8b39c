#!/usr/bin/env python3
"""Seconds per page of the OCR route on this machine, beside the OCR package's own time.

    python eval/bench_ocr.py [PDF] [--dpi 150] [--pages 1-6] [--repeat 3]

Renders the PDF's pages (default: examples/huaian_2024.pdf) to images at `--dpi` with pypdfium2
and builds an image-only PDF of them: a scan. Then, with the models loaded beforehand:

- the whole extraction of the scan (`extract`: pages rendered again at ingest_ocr.PDF_DPI, stood
  straight, text boxes found, grid, recognition, every number read twice, rules and checks),
  seconds per page, wall and CPU;
- where that time goes, stage by stage (ingest_ocr.read_page's timings, and the rendering);
- the floor: rapidocr's own reading of the same page images (`RapidOCR()(image)`, the package's
  defaults: detection, direction and recognition of every line), seconds per page.

Best of `--repeat` runs. The load average is printed beside: on a machine shared with other work
the figures are slower than on a quiet one.
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

from extractor import ingest_ocr, ocr_engine  # noqa: E402
from extractor.pipeline import extract  # noqa: E402

DEFAULTS = [
    ROOT / "examples" / "huaian_2024.pdf",
    ROOT.parent / "shared" / "corpus" / "huaian_2024.pdf",
]


def scan_of(data: bytes, dpi: int, pages: list[int] | None) -> tuple[bytes, int]:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(data)
    numbers = pages or list(range(1, len(pdf) + 1))
    images = [pdf[n - 1].render(scale=dpi / 72).to_pil().convert("RGB") for n in numbers]
    buf = io.BytesIO()
    images[0].save(buf, "PDF", save_all=True, append_images=images[1:], resolution=dpi)
    return buf.getvalue(), len(images)


def timed(fn, repeat: int) -> tuple[float, float]:
    """(best wall seconds, CPU seconds of that run)."""
    best = (float("inf"), 0.0)
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        fn()
        best = min(best, (time.perf_counter() - t, time.process_time() - c))
    return best


def stages(scan: bytes, n: int) -> dict[str, float]:
    """Seconds per page in each step of the route (one run)."""
    t = time.perf_counter()
    images = list(ingest_ocr.pdf_page_images(scan, list(range(1, n + 1))))
    total = {"rendering": time.perf_counter() - t}
    for number, image in images:
        for k, v in ingest_ocr.read_page(image, number, ingest_ocr.PDF_DPI / 72).timings.items():
            total[k] = total.get(k, 0.0) + v
    return {k: v / n for k, v in total.items()}


def floor(scan: bytes, n: int, repeat: int) -> float:
    """rapidocr's own seconds per page on the same page images, its defaults."""
    from rapidocr import RapidOCR

    images = [image for _, image in ingest_ocr.pdf_page_images(scan, list(range(1, n + 1)))]
    package = RapidOCR(params={"Global.log_level": "error"})
    package(images[0])  # its models loaded
    return timed(lambda: [package(image) for image in images], repeat)[0] / n


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pdf", nargs="?", type=Path)
    parser.add_argument("--dpi", type=int, default=150)
    parser.add_argument("--pages", help="e.g. 3-5")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    path = args.pdf or next((p for p in DEFAULTS if p.exists()), None)
    if path is None or not path.exists():
        print("no PDF: pass one, or put huaian_2024.pdf in examples/", file=sys.stderr)
        return 2
    if not ocr_engine.available():
        print(f"Error: {ocr_engine.MISSING}", file=sys.stderr)
        return 2
    pages = None
    if args.pages:
        a, _, b = args.pages.partition("-")
        pages = list(range(int(a), int(b or a) + 1))
    scan, n = scan_of(path.read_bytes(), args.dpi, pages)
    ocr_engine.warm()
    extract(scan, "scan.pdf")  # first run: imports and caches
    load = os.getloadavg()[0]
    wall, cpu = timed(lambda: extract(scan, "scan.pdf"), args.repeat)
    record = extract(scan, "scan.pdf")
    steps = stages(scan, n)
    package = floor(scan, n, args.repeat)
    print(
        f"{path.name}: {n} pages scanned at {args.dpi} dpi, read at {ingest_ocr.PDF_DPI} dpi; "
        f"{os.cpu_count()} cores, OCR threads {ocr_engine.threads()}; "
        f"load average {load:.2f} before, {os.getloadavg()[0]:.2f} after; "
        f"best of {args.repeat}; {len(record.review_keys())} values marked for review"
    )
    print(f"{'whole extraction':24s} {wall / n:.2f} s/page (CPU {cpu / n:.2f} s/page)")
    print(
        f"{'rapidocr alone (floor)':24s} {package:.2f} s/page (its defaults, the same page images)"
    )
    print("where the time goes, s/page: " + ", ".join(f"{k} {v:.2f}" for k, v in steps.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
