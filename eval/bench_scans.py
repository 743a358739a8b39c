#!/usr/bin/env python3
"""The scan benchmark: the bundled reports scanned as they really come, read back, scored.

    python eval/bench_scans.py [--kinds straight,skew1,...] [--dpi 150,200,300] [--limit N]
                               [--reports huaian,001,...] [--seed 1] [--draw DIR] [--show 20]

Every golden report (golden/*.json: the examples/ and eval/reports/ files) is drawn as printed
A4 pages of its template with its true values (eval/scan_pages.py; needs a CJK font, Debian
fonts-arphic-uming); examples/huaian_2024.pdf is also taken as it is, its own pages rendered.
Each is then "scanned" at each --dpi as each kind:

    straight   noise and JPEG only        skew0.5 … skew3  turned that many degrees, either way
    rot90      fed in a quarter turned    rot180           upside down
    seal       a red 公章 over table 3's lower right corner
    photo      a phone photo: perspective, uneven light, a desk round the page

(every kind with sensor noise, specks and JPEG at quality 80), put into an image-only PDF and
read by `extract`. Scored on the table keys (t2., t3., t4.) against the golden values: accuracy,
wrong values left unmarked (the worst defect), review rate (and the share of keys marked though
read right), and seconds per page (wall and CPU; the machine's load is printed beside them).
A quick run: --kinds straight,skew1 --dpi 200 --limit 2.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from scan_pages import Scan, degrade, draw_report, find_font, image_pdf  # noqa: E402

from extractor import ocr_engine  # noqa: E402
from extractor.errors import InputError  # noqa: E402
from extractor.evaluate import same  # noqa: E402
from extractor.pipeline import extract  # noqa: E402
from extractor.spec import keys_for  # noqa: E402

KINDS = {
    "straight": Scan(),
    "skew0.5": Scan(skew=0.5),
    "skew1": Scan(skew=1.0),
    "skew2": Scan(skew=2.0),
    "skew3": Scan(skew=3.0),
    "rot90": Scan(rotation=90),
    "rot180": Scan(rotation=180),
    "seal": Scan(seal=True, skew=0.3),
    "photo": Scan(photo=True),
}
SEAL_RADIUS = 55.0  # points: a 公章 about 4 cm across
REAL_PDF = ROOT / "examples" / "huaian_2024.pdf"


def table_keys(template: str) -> list[str]:
    return [k for k in keys_for(template) if k.startswith(("t2.", "t3.", "t4."))]


def sources(names: list[str] | None, font: str | None) -> list[dict]:
    """The reports to scan: {"name", "fields", "draw" (font) or "pdf" (bytes)}."""
    out = []
    for path in sorted((ROOT / "golden").glob("*.json")):
        gold = json.loads(path.read_text(encoding="utf-8"))
        name = path.stem
        if names and not any(n in name for n in names):
            continue
        if font is not None:
            out.append({"name": f"{name} (drawn)", "fields": gold["fields"], "font": font})
        if (ROOT / gold["report"]).resolve() == REAL_PDF.resolve() and REAL_PDF.exists():
            out.append(
                {
                    "name": f"{name} (its PDF)",
                    "fields": gold["fields"],
                    "pdf": REAL_PDF.read_bytes(),
                }
            )
    return out


def pages_of(src: dict, dpi: int) -> tuple[list, tuple | None]:
    """The printed pages (PIL images) and where table 3's lower right corner stands:
    (page index, x, y) in pixels."""
    s = dpi / 72
    if "font" in src:
        pages, (i, x, y) = draw_report(src["fields"], dpi, src["font"])
        return pages, (i, x * s, y * s)
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(src["pdf"])
    pages = [pdf[i].render(scale=s).to_pil().convert("RGB") for i in range(len(pdf))]
    corner = src.get("corner")
    if corner is None:
        f = extract(src["pdf"], "real.pdf").fields["t3.carried_forward.total"]
        corner = src["corner"] = (f.page - 1, f.box[2], f.box[3])
    return pages, (corner[0], corner[1] * s, corner[2] * s)


def scan(src: dict, kind: str, dpi: int, rng: random.Random) -> tuple[bytes, int, list]:
    pages, corner = pages_of(src, dpi)
    spec = KINDS[kind]
    out = []
    for i, page in enumerate(pages):
        seal = (corner[1], corner[2], SEAL_RADIUS * dpi / 72) if corner and i == corner[0] else None
        out.append(degrade(page, spec, rng, seal))
    return image_pdf(out, dpi), len(out), out


def score(src: dict, record) -> dict:
    template = str(src["fields"].get("meta.template") or "2021")
    keys = table_keys(template)
    got = {
        "keys": len(keys),
        "right": 0,
        "marked": 0,
        "right_marked": 0,
        "wrong_marked": 0,
        "wrong_unmarked": 0,
        "silent": [],
        "doubts": [],
    }
    for key in keys:
        truth = src["fields"].get(key)
        f = record.fields.get(key) if record is not None else None
        value, review = (f.value, f.review) if f is not None else (None, record is None)
        got["marked"] += bool(review)
        if same(truth, value):
            got["right"] += 1
            got["right_marked"] += bool(review)
        elif review:
            got["wrong_marked"] += 1
            got["doubts"].append((key, truth, value, f.reason if f is not None else ""))
        else:
            got["wrong_unmarked"] += 1
            got["silent"].append((key, truth, value, f.raw if f is not None else None))
    return got


def draw_boxes(images: list, record, dpi: int, path: Path) -> None:
    """The scanned pages as they came, each value's box (taken back onto them) drawn on them:
    green, or red if marked."""
    from PIL import ImageDraw

    s = dpi / 72
    for i, img in enumerate(images, 1):
        img = img.copy()
        d = ImageDraw.Draw(img)
        for f in record.fields.values():
            if f.page == i and f.box and f.route == "ocr":
                d.rectangle(
                    [v * s for v in f.box],
                    outline=(220, 0, 0) if f.review else (0, 160, 0),
                    width=2,
                )
        img.save(path.with_name(f"{path.name}-p{i}.png"))


def run(args) -> dict:
    font = find_font()
    srcs = sources(args.reports, font)
    if font is None:
        print(
            "no CJK font found (Debian: apt-get install fonts-arphic-uming): "
            "only reports with their own PDF are scanned",
            file=sys.stderr,
        )
    if args.limit:
        srcs = srcs[: args.limit]
    ocr_engine.warm()  # models loaded before any timing
    rows: dict[tuple[str, int], dict] = defaultdict(lambda: defaultdict(float))
    silent: list[tuple] = []
    for kind in args.kinds:
        for dpi in args.dpi:
            for n, src in enumerate(srcs):
                rng = random.Random(f"{args.seed}/{kind}/{dpi}/{n}")
                data, pages, images = scan(src, kind, dpi, rng)
                t, c = time.perf_counter(), time.process_time()
                try:
                    record = extract(data, f"{src['name']}.pdf")
                except InputError as e:
                    record = None
                    print(f"  {kind} {dpi} {src['name']}: failed: {e}", file=sys.stderr)
                wall, cpu = time.perf_counter() - t, time.process_time() - c
                got = score(src, record)
                row = rows[(kind, dpi)]
                for k in (
                    "keys",
                    "right",
                    "marked",
                    "right_marked",
                    "wrong_marked",
                    "wrong_unmarked",
                ):
                    row[k] += got[k]
                row["pages"] += pages
                row["wall"] += wall
                row["cpu"] += cpu
                row["failed"] += record is None
                silent += [(kind, dpi, src["name"], *s) for s in got["silent"]]
                if args.marked:
                    for d in got["doubts"]:
                        print("   marked wrong:", kind, dpi, src["name"], *d)
                if args.draw and record is not None:
                    Path(args.draw).mkdir(parents=True, exist_ok=True)
                    draw_boxes(images, record, dpi, Path(args.draw) / f"{kind}-{dpi}-{n}")
            report_row(kind, dpi, rows[(kind, dpi)])
    return {"rows": rows, "silent": silent}


def report_row(kind: str, dpi: int, r: dict) -> None:
    keys = r["keys"] or 1
    print(
        f"{kind:9s} {dpi:4d}  {int(r['pages']):4d} pages  "
        f"accuracy {100 * r['right'] / keys:6.2f}%  "
        f"wrong unmarked {int(r['wrong_unmarked']):3d}  wrong marked {int(r['wrong_marked']):3d}  "
        f"review {100 * r['marked'] / keys:5.1f}% "
        f"(of right values {100 * r['right_marked'] / keys:4.1f}%)  "
        f"{r['wall'] / max(r['pages'], 1):.2f} s/page "
        f"(cpu {r['cpu'] / max(r['pages'], 1):.2f})"
        + (f"  failed {int(r['failed'])}" if r["failed"] else ""),
        flush=True,
    )


def summary(result: dict, show: int) -> None:
    by_kind: dict[str, dict] = defaultdict(lambda: defaultdict(float))
    for (kind, _), r in result["rows"].items():
        for k, v in r.items():
            by_kind[kind][k] += v
    print("\nper kind (all dpi):")
    for kind, r in by_kind.items():
        report_row(kind, 0, r)
    if result["silent"]:
        print(
            f"\nwrong and unmarked ({len(result['silent'])}; first {show}): "
            "kind dpi report key truth read raw"
        )
        for s in result["silent"][:show]:
            print("  ", *s)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--kinds", default=",".join(KINDS), help="comma-separated: " + ", ".join(KINDS)
    )
    parser.add_argument("--dpi", default="150,200,300")
    parser.add_argument("--limit", type=int, default=0, help="only the first N reports")
    parser.add_argument("--reports", help="comma-separated parts of golden names (e.g. huaian,001)")
    parser.add_argument("--seed", default="1")
    parser.add_argument(
        "--draw", help="a folder: save each scanned page with the values' boxes drawn back on it"
    )
    parser.add_argument("--show", type=int, default=30, help="wrong-unmarked values to list")
    parser.add_argument(
        "--marked", action="store_true", help="list the values read wrong and marked, with why"
    )
    args = parser.parse_args()
    args.kinds = [k for k in args.kinds.split(",") if k]
    unknown = [k for k in args.kinds if k not in KINDS]
    if unknown:
        parser.error(f"unknown kinds: {', '.join(unknown)}")
    args.dpi = [int(d) for d in args.dpi.split(",")]
    args.reports = args.reports.split(",") if args.reports else None
    if not ocr_engine.available():
        print(f"Error: {ocr_engine.MISSING}", file=sys.stderr)
        return 2
    load = os.getloadavg()[0]
    print(
        f"{os.cpu_count()} cores, load average {load:.2f} at the start; "
        f"OCR threads {ocr_engine.threads()}"
    )
    result = run(args)
    summary(result, args.show)
    print(f"load average {os.getloadavg()[0]:.2f} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
