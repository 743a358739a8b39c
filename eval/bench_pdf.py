#!/usr/bin/env python3
"""Seconds per page of the PDF-geometry route on this machine.

    python eval/bench_pdf.py [PDF] [--repeat 5]

Reads the PDF (default: examples/huaian_2024.pdf, else ../shared/corpus/huaian_2024.pdf) with
the geometry route (pdfplumber's table finder on the ruling lines, cells read from their boxes,
text outside tables from the text layer) `--repeat` times, and prints the seconds per page of the
rendering alone and of the whole extraction (rendering, rules and checks): best and median.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from extractor.ingest_pdf import read_pdf  # noqa: E402
from extractor.pipeline import extract  # noqa: E402

DEFAULTS = [
    ROOT / "examples" / "huaian_2024.pdf",
    ROOT.parent / "shared" / "corpus" / "huaian_2024.pdf",
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pdf", nargs="?", type=Path)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    path = args.pdf or next((p for p in DEFAULTS if p.exists()), None)
    if path is None or not path.exists():
        print("no PDF: pass one, or put huaian_2024.pdf in examples/", file=sys.stderr)
        return 2
    data = path.read_bytes()
    pages = read_pdf(data).pages  # warm up (imports, font tables)
    render, whole = [], []
    for _ in range(args.repeat):
        t = time.perf_counter()
        read_pdf(data)
        render.append(time.perf_counter() - t)
        t = time.perf_counter()
        record = extract(data, str(path))
        whole.append(time.perf_counter() - t)
    routes = sorted({f.route for f in record.fields.values()})
    print(f"{path.name}: {pages} pages, {args.repeat} repetitions, routes {', '.join(routes)}")
    for name, times in (("pdf-geometry rendering", render), ("whole extraction", whole)):
        print(
            f"{name:24s} {min(times) / pages:.3f} s/page "
            f"best, {statistics.median(times) / pages:.3f} s/page median"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
