#!/usr/bin/env python3
"""Score the rule path on the SYNTHETIC stress corpus (issue 5, item 3).

    python eval/stress.py --n 600 --seed 1 [--dump DIR] [--out DIR] [--no-golden]

Generates the corpus in memory (extractor.synth: random records and, by default, some golden
records rendered into the layouts met in the wild), extracts every file with the rule path,
compares value by value with the truth and prints, per layout and template: documents,
values, accuracy, wrong values marked for review, SILENT wrong values (wrong and not marked:
the worst defect) and the review rate. The layouts of text that lost its table structure
(one_line, pdftotext_*, detached_markdown, ambiguous_runs) also say which cells a careful reader
of the text cannot settle (digits run together that read several ways, blanks that vanished,
table 4 in a stream's order): for them it prints how many such open cells there were, how many
came out UNMARKED (right by luck or wrong, the tool claimed a certainty the text does not give),
and how many values were wrong where the text and the arithmetic settle the cell. These figures
are about generated files only: they never stand in for the scores on real, hand-annotated
reports (xxgk eval --golden).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from extractor.evaluate import same  # noqa: E402
from extractor.pipeline import extract  # noqa: E402
from extractor.synth import LAYOUTS, generate_samples, load_golden, truth_json  # noqa: E402


class Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise Timeout()


def score(sample, timeout: int = 0):
    """(rec or None, error, outcomes: list of (key, truth, value, review, rule, raw, right)).

    A document that takes longer than `timeout` seconds is stopped and counted as failed."""
    if timeout and hasattr(signal, "SIGALRM"):
        signal.signal(signal.SIGALRM, _alarm)
        signal.alarm(timeout)
    try:
        rec, error = extract(sample.data, sample.name), None
    except Timeout:
        rec, error = None, f"timeout: extraction took over {timeout}s"
    except Exception as e:  # a failed document says so: its values count as marked, never silent
        rec, error = None, f"{type(e).__name__}: {e}"
    finally:
        if timeout and hasattr(signal, "SIGALRM"):
            signal.alarm(0)
    outcomes = []
    tmpl_review = (
        True
        if rec is None
        else rec.fields.get("meta.template") and rec.fields["meta.template"].review
    )
    for key, want in sample.truth.items():
        f = None if rec is None else rec.fields.get(key)
        if f is None:  # failed, or the key is not in the template the tool chose
            got, review, rule, raw = (
                None,
                bool(tmpl_review),
                "failed" if rec is None else "other-template",
                None,
            )
        else:
            got, review, rule, raw = f.value, f.review, f.rule, f.raw
        outcomes.append((key, want, got, review, rule, raw, same(got, want)))
    return rec, error, outcomes


class Tally:
    def __init__(self):
        self.docs = self.values = self.right = self.marked_wrong = self.silent = self.marked = 0
        self.failed = self.silent_docs = 0
        self.open = self.open_unmarked = self.settled_wrong = 0

    def add(self, outcomes, error, must_mark=None):
        self.docs += 1
        must = set(must_mark or ())
        for key, _want, _got, review, _rule, _raw, right in outcomes:
            if key in must:
                self.open += 1
                self.open_unmarked += not review
            elif must_mark is not None and not right:
                self.settled_wrong += 1
        self.failed += error is not None
        silent = 0
        for _key, _want, _got, review, _rule, _raw, right in outcomes:
            self.values += 1
            self.right += right
            self.marked += bool(review)
            if not right:
                if review:
                    self.marked_wrong += 1
                else:
                    silent += 1
        self.silent += silent
        self.silent_docs += silent > 0

    def line(self, label: str, tpl: str) -> str:
        acc = self.right / self.values if self.values else float("nan")
        rate = self.marked / self.values if self.values else float("nan")
        return (f"{label:<17} {tpl:<5} {self.docs:>5} {self.failed:>6} {self.values:>7} {acc:>9.4f}"
                " "
                f"{self.marked_wrong:>7} {self.silent:>7} {self.silent_docs:>8} {rate:>8.1%} "
                f"{self.open:>6} {self.open_unmarked:>8} {self.settled_wrong:>8}")


HEADER = (f"{'layout':<17} {'tpl':<5} {'docs':>5} {'failed':>6} {'values':>7} {'accuracy':>9} "
          f"{'wrong:':>7} {'SILENT':>7} {'silent':>8} {'review':>8} {'open':>6} {'open:':>8}"
          f" {'wrong':>8}\n"
          f"{'':<17} {'':<5} {'':>5} {'':>6} {'':>7} {'':>9} {'marked':>7} {'wrong':>7} {'docs':>8}"
          f" {'rate':>8} {'cells':>6} {'UNMARKED':>8} {'settled':>8}")
RULE = 121


def _varied(pool: list) -> list:
    """Examples ordered so that the first ones differ: one per file and rule, then one per file."""
    shown, files, rules = [], set(), set()
    for ex in pool:
        if ex[0] not in files and ex[2][4] not in rules:
            files.add(ex[0]), rules.add(ex[2][4]), shown.append(ex)
    for ex in pool:
        if ex[0] not in files:
            files.add(ex[0]), shown.append(ex)
    return shown + [ex for ex in pool if ex not in shown]


def _dump(folder: Path, s, seed: int, rec, error, outcomes, must: set) -> None:
    """A failing document, its truth and what was read, with the wrong or open-and-unmarked keys."""
    stem = s.name.rsplit(".", 1)[0]
    (folder / s.name).write_bytes(s.data)
    truth = json.dumps(truth_json(s, seed), ensure_ascii=False, indent=1)
    (folder / f"{stem}.json").write_text(truth, encoding="utf-8")
    wrong = {k: {"truth": w, "extracted": g, "review": r, "rule": rule, "raw": raw}
             for k, w, g, r, rule, raw, ok in outcomes if not ok or (k in must and not r)}
    (folder / f"{stem}.extracted.json").write_text(json.dumps(
        {"error": error, "wrong": wrong, "record": rec.to_json() if rec else None},
        ensure_ascii=False, indent=1), encoding="utf-8")


def _print_open(open_examples: dict, layouts, n: int) -> None:
    print(f"\nExample open cells left unmarked (up to {n} per layout): "
          "file | key | truth | extracted | rule | raw")
    for layout in layouts:
        pool = open_examples.get(layout, [])
        if pool:
            print(f"[{layout}] {len(pool)} open cells unmarked")
        for name, _info, (key, want, got, _review, rule, raw, _ok) in _varied(pool)[:n]:
            print(f"  {name} | {key} | {want!r} | {got!r} | {rule} | raw={raw!r}")


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=600, help="documents to generate (default 600)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--golden", default=str(ROOT / "golden"),
                    help="golden JSON folder rendered alongside random records")
    ap.add_argument("--no-golden", action="store_true", help="random records only")
    ap.add_argument("--golden-share", type=float, default=0.1,
                    help="share of documents drawn from golden records")
    ap.add_argument("--layouts", help="comma-separated subset of: " + ",".join(LAYOUTS))
    ap.add_argument("--examples", type=int, default=3, help="silent errors shown per layout")
    ap.add_argument("--timeout", type=int, default=10,
                    help="seconds per document before it counts as failed (0: none)")
    ap.add_argument("--dump", metavar="DIR", help="write the failing files (silent errors or "
                    "failed), their truth and extraction")
    ap.add_argument("--out", metavar="DIR", help="write the whole corpus (files and truth JSON)")
    return ap


@dataclass
class Run:
    """What scoring the corpus gathered: tallies by (layout or TOTAL, template or all), silent
    errors and unmarked open cells by layout, failed documents, and the elapsed seconds."""

    tallies: dict[tuple[str, str], Tally] = field(default_factory=lambda: defaultdict(Tally))
    examples: dict[str, list] = field(default_factory=lambda: defaultdict(list))
    # cells the text leaves open, unmarked
    open_examples: dict[str, list] = field(default_factory=lambda: defaultdict(list))
    from_golden: int = 0
    failures: list = field(default_factory=list)
    elapsed: float = 0.0


def _score_corpus(args, layouts, golden, dump: Path | None, out: Path | None) -> Run:
    """Generate, read and score every sample; write the corpus (--out) and the failing files
    (--dump) on the way."""
    run = Run()
    t0 = time.time()
    for s in generate_samples(args.n, args.seed, golden, args.golden_share, layouts):
        run.from_golden += s.info["source"] != "random"
        rec, error, outcomes = score(s, args.timeout)
        if error:
            run.failures.append((s.name, s.info, error))
        for key in ((s.layout, s.template), (s.layout, "all"), ("TOTAL", s.template),
                    ("TOTAL", "all")):
            run.tallies[key].add(outcomes, error, s.info.get("must_mark"))
        silent = [o for o in outcomes if not o[6] and not o[3]]
        for o in silent:
            run.examples[s.layout].append((s.name, s.info, o))
        must = set(s.info.get("must_mark", ()))
        unsettled = [o for o in outcomes if o[0] in must and not o[3]]
        for o in unsettled:
            run.open_examples[s.layout].append((s.name, s.info, o))
        if out:
            (out / s.name).write_bytes(s.data)
            truth = json.dumps(truth_json(s, args.seed), ensure_ascii=False, indent=1)
            (out / (s.name.rsplit(".", 1)[0] + ".json")).write_text(truth, encoding="utf-8")
        if dump and (silent or error or unsettled):
            _dump(dump, s, args.seed, rec, error, outcomes, must)
    run.elapsed = time.time() - t0
    return run


def _print_table(run: Run, layouts, seed: int) -> None:
    total = run.tallies[("TOTAL", "all")]
    print("=" * RULE)
    print(f"SYNTHETIC STRESS CORPUS: {total.docs} generated documents (seed {seed}), rule path")
    print(f"generated files only ({run.from_golden} rendered from golden records, the rest "
          "random records);")
    print("these figures never stand in for scores on real annotated reports.")
    print("=" * RULE)
    print(HEADER)
    print("-" * RULE)
    for layout in layouts:
        for tpl in ("2019", "2021", "all"):
            if (layout, tpl) in run.tallies:
                print(run.tallies[(layout, tpl)].line(layout if tpl != "all" else "", tpl))
        print("-" * RULE)
    for tpl in ("2019", "2021", "all"):
        if ("TOTAL", tpl) in run.tallies:
            print(run.tallies[("TOTAL", tpl)].line("TOTAL", tpl))
    print("=" * RULE)
    print(f"{total.silent} silent wrong values in {total.silent_docs} documents; "
          f"{total.marked_wrong} wrong values marked; {total.failed} documents failed; "
          f"{run.elapsed:.1f}s")
    print(f"{total.open} cells the text leaves open (several readings, a vanished blank), "
          f"{total.open_unmarked} of them unmarked; {total.settled_wrong} wrong values where the "
          "text and the arithmetic settle the cell (layouts that say which cells are open)")


def _print_silent(examples: dict, layouts, n: int) -> None:
    print("\nExample silent errors (up to %d per layout): file | key | truth | extracted | rule "
          "| raw | render" % n)
    for layout in layouts:
        shown = _varied(examples.get(layout, []))
        if shown:
            print(f"[{layout}] {len(examples[layout])} silent")
        for name, info, (key, want, got, _review, rule, raw, _ok) in shown[:n]:
            detail = "; ".join(info["details"])
            print(f"  {name} | {key} | {want!r} | {got!r} | {rule} | raw={raw!r} "
                  f"| base={info['base']}"
                  + (f" ({detail})" if detail else "") + f" [{info['source']}]")


def main(argv=None) -> int:
    ap = _parser()
    args = ap.parse_args(argv)
    layouts = tuple(args.layouts.split(",")) if args.layouts else LAYOUTS
    unknown = set(layouts) - set(LAYOUTS)
    if unknown:
        ap.error(f"unknown layouts: {', '.join(sorted(unknown))}")
    golden = [] if args.no_golden or not Path(args.golden).is_dir() else load_golden(args.golden)
    dump = Path(args.dump) if args.dump else None
    out = Path(args.out) if args.out else None
    for d in (dump, out):
        if d:
            d.mkdir(parents=True, exist_ok=True)

    run = _score_corpus(args, layouts, golden, dump, out)
    _print_table(run, layouts, args.seed)
    if run.failures:
        print("\nFailed documents (their values count as marked, not silent):")
        for name, info, error in run.failures:
            print(f"  {name} | {error} | base={info['base']} [{info['source']}]")
    if any(run.examples.values()):
        _print_silent(run.examples, layouts, args.examples)
    if any(run.open_examples.values()):
        _print_open(run.open_examples, layouts, args.examples)
    if dump:
        print(f"\nfailing files written to {dump}/")
    return 0

if __name__ == "__main__":
    sys.exit(main())
