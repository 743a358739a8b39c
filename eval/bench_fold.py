"""What the text fold at ingest costs: read_document (and the whole extraction) on the examples,
with the fold and with it turned off (an identity in its place), interleaved in one process so
both see the same load.

    python eval/bench_fold.py [--reps N] [FILES…]

Prints, per file, the best time of N runs each way and the difference; the floor is the time
without the fold.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from extractor import ingest, ingest_pdf  # noqa: E402
from extractor.fold import fold, fold_chars  # noqa: E402
from extractor.pipeline import extract  # noqa: E402


def _set_fold(on: bool) -> None:
    ingest.fold = fold if on else (lambda text: text)
    ingest_pdf.fold_chars = fold_chars if on else (lambda chars: chars)


def _best(fn, reps: int) -> float:
    best = float("inf")
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _time(path: Path, reps: int) -> dict[str, float]:
    data = path.read_bytes()
    reps = reps if path.suffix.lower() != ".pdf" else max(2, reps // 50)
    out = {}
    for step, fn in (
        ("read", lambda: ingest.read_document(data, str(path))),
        ("extract", lambda: extract(data, str(path))),
    ):
        for on in (False, True):
            _set_fold(on)
            fn()  # warm: caches, the fold's table
        times = {False: float("inf"), True: float("inf")}
        for _ in range(5):  # interleaved rounds: a change of load hits both
            for on in (False, True):
                _set_fold(on)
                times[on] = min(times[on], _best(fn, max(1, reps // 5)))
        out[f"{step} off"], out[f"{step} on"] = times[False], times[True]
    _set_fold(True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--reps", type=int, default=200)
    args = parser.parse_args()
    files = args.files or sorted((ROOT / "examples").iterdir())
    totals = {"read off": 0.0, "read on": 0.0, "extract off": 0.0, "extract on": 0.0}
    print(f"{'file':34s} {'read_document: floor → folded':>34s}   {'extract: floor → folded':>30s}")
    for path in files:
        t = _time(path, args.reps)
        for k in totals:
            totals[k] += t[k]
        print(
            f"{path.name[:34]:34s} {_pair(t['read off'], t['read on']):>34s}   "
            f"{_pair(t['extract off'], t['extract on']):>30s}"
        )
    print(
        f"{'total':34s} {_pair(totals['read off'], totals['read on']):>34s}   "
        f"{_pair(totals['extract off'], totals['extract on']):>30s}"
    )


def _pair(off: float, on: float) -> str:
    return f"{off * 1e3:9.3f} → {on * 1e3:9.3f} ms ({(on - off) / off:+.1%})"


if __name__ == "__main__":
    main()
