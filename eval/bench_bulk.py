"""Bulk-run benchmark (issue 7): rule-route throughput with 1 worker and all workers, peak memory
at two corpus sizes, and the rule route's time against the floor of merely reading and decoding.

    python eval/bench_bulk.py                 # 10,000 and 1,000 generated text reports
    python eval/bench_bulk.py --n 2000 --small 500 --repeat 1

The 1-worker and the all-workers runs take turns, --repeat times (default 2), and the fastest of
each is reported, all of them printed: the machines this runs on are shared, and their speed
changes by half within minutes (a plain Python loop took 1.3 s or 2.5 s on the same VM the same
afternoon).

Runs `xxgk extract` as a child process (as a user would) and reads its peak memory (max RSS of
the process and, separately, the largest of its workers) from the kernel's rusage.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from extractor.ingest import read_document  # noqa: E402
from extractor.synth import generate_samples  # noqa: E402


def make_corpus(folder: Path, n: int, seed: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for s in generate_samples(n, seed, layouts=("tsv", "spaces", "markdown", "cell_per_line")):
        (folder / s.name).write_bytes(s.data)


def run_extract(folder: Path, workers: int, db: Path) -> tuple[float, float, float]:
    """(seconds, peak RSS MiB of the main process, peak RSS MiB of the largest worker)."""
    if db.exists():
        db.unlink()
    code = (
        "import resource, sys; from extractor.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "
        "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)"
    )
    start = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable, "-c", code, "extract", str(folder), "--db", str(db), "-q", "-w",
            str(workers),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(proc.stderr)
    self_kb, children_kb = map(int, proc.stderr.strip().splitlines()[-1].split())
    return seconds, self_kb / 1024, children_kb / 1024


def floor_seconds(folder: Path) -> float:
    """Reading and decoding every file, nothing else."""
    start = time.perf_counter()
    for path in sorted(folder.iterdir()):
        read_document(path.read_bytes(), path.name)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10000)
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--repeat",
        type=int,
        default=2,
        help="runs of each configuration, taking turns; the fastest is reported",
    )
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    tmp = Path(tempfile.mkdtemp(prefix="xxgk-bench-"))
    try:
        big, small = tmp / "big", tmp / "small"
        make_corpus(big, args.n, args.seed)
        make_corpus(small, args.small, args.seed)
        print(
            f"corpus: {args.n} and {args.small} generated text reports "
            f"(tsv, spaces, markdown, cell per line); {cores} cores"
        )
        floor = floor_seconds(big)
        runs: dict[int, list] = {1: [], cores: []}
        for _ in range(max(1, args.repeat)):
            for workers in runs:
                runs[workers].append(run_extract(big, workers, tmp / f"w{workers}.db"))
        for workers, got in runs.items():
            print(
                f"{workers} worker(s), seconds of each run: {', '.join(f'{r[0]:.1f}' for r in got)}"
            )
        one, rss1, w1 = min(runs[1])
        rss1 = max(r[1] for r in runs[1])
        many, rss_n, w_n = min(runs[cores])
        # memory: the largest of any run
        rss_n, w_n = max(r[1] for r in runs[cores]), max(r[2] for r in runs[cores])
        s_small, rss_small, w_small = run_extract(small, cores, tmp / "small.db")
        print(
            f"{'workers':>8} {'reports':>8} {'seconds':>8} "
            f"{'reports/s':>10} {'per core':>9} {'peak MiB main':>14} {'worker':>7}"
        )
        print(
            f"{1:>8} {args.n:>8} {one:>8.1f} "
            f"{args.n / one:>10.0f} {args.n / one:>9.0f} {rss1:>14.0f} {w1:>7.0f}"
        )
        print(
            f"{cores:>8} {args.n:>8} {many:>8.1f} "
            f"{args.n / many:>10.0f} {args.n / many / cores:>9.0f} {rss_n:>14.0f} {w_n:>7.0f}"
        )
        print(
            f"{cores:>8} {args.small:>8} {s_small:>8.1f} "
            f"{args.small / s_small:>10.0f} "
            f"{args.small / s_small / cores:>9.0f} {rss_small:>14.0f} {w_small:>7.0f}"
        )
        ratio = (rss_n + w_n) / (rss_small + w_small)
        print(
            f"peak memory at {args.n} vs {args.small} reports: {ratio:.2f}x "
            f"(target at most 1.5x: {'met' if ratio <= 1.5 else 'NOT met'})"
        )
        for label, per_core in (
            ("1 worker", args.n / one),
            (f"{cores} workers", args.n / many / cores),
        ):
            print(
                f"rule route, {label}: {per_core:.0f} reports/s per core (target "
                f"at least 200: {'met' if per_core >= 200 else 'NOT met'})"
            )
        print(
            f"floor (read and decode only): {floor:.1f} s = {args.n / floor:.0f} "
            f"reports/s; the 1-worker run takes {one / floor:.1f}x the floor "
            f"(it also parses, checks and writes SQLite)"
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
