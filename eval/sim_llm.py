#!/usr/bin/env python3
"""How many LLM errors the guardrails catch: a SIMULATION, not a real model. Offline.

    python eval/sim_llm.py [--n 200] [--seed 1] [--p 0.5] [--kinds wrong_digit,invented_zero] \
        [--no-validators]

Corpus: extractor.synth.generate_samples in layouts whose tables the rules mark (concatenated, ocr,
blank_totals, split_numbers). Each document is read by the rules, then the tables they marked go
through the real LLM route (fill_with_llm, the openai client, instructor, the validators, merge,
the checks re-run) to a simulated endpoint (eval/sim_endpoint.py) that answers from the truth and,
with probability --p, injects one error into a section's first reply (the kind drawn in turn):

- wrong_digit          one digit of one value changed
- invented_zero        a blank cell (null in the truth) given as 0
- column_shift         one row's values shifted one column (left or right)
- value_from_elsewhere a cell given a number printed elsewhere in the table (another row, a note)

Re-asks get the honest reply. Each injected error is judged on the keys it changed, in the merged
record against the truth:

- fixed:   rejected, re-asked, and the value is now right
- kept:    accepted, but the value is right anyway (the merge kept the rules' reading)
- marked:  the value is wrong or null but marked for review (or the route failed and left it marked)
- finding: wrong and unmarked, but a failed check names the key (report_defect or
           misreading_suspected)
- silent:  wrong, unmarked, and no finding names it

--no-validators bypasses the reply validators (check_reply and refuted find nothing): to show
what they catch.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "eval"))

from sim_endpoint import KINDS, Job, SimEndpoint  # noqa: E402

from extractor import llm_schema  # noqa: E402
from extractor.evaluate import same  # noqa: E402
from extractor.llm import fill_with_llm_sync, sections_needing_llm  # noqa: E402
from extractor.llm_config import resolve_config  # noqa: E402
from extractor.pipeline import extract  # noqa: E402
from extractor.synth import generate_samples  # noqa: E402

LAYOUTS = ("concatenated", "ocr", "blank_totals", "split_numbers")
OUTCOMES = ("fixed", "kept", "marked", "finding", "silent")



def judge(record, truth: dict, job: Job) -> tuple[str, list[str]]:
    """The outcome of one injected error, and the silent keys (with what they hold)."""
    inj = job.injection
    bad, marked, found = [], False, []
    # not_assessable flags nothing
    flagging = [f for f in record.findings if f.kind in ("report_defect", "misreading_suspected")]
    named = {k for f in flagging for k in f.keys}
    for k in inj.keys:
        f = record.fields.get(k)
        if f is None:
            continue
        wrong = not same(f.value, truth.get(k))
        if wrong and f.review:
            marked = True
        elif wrong and k in named:
            found.append(
                f"{k}={f.value!r} (truth {truth.get(k)!r}; a finding names "
                f"it: {', '.join(x.check for x in flagging if k in x.keys)})"
            )
        elif wrong:
            bad.append(f"{k}={f.value!r} (truth {truth.get(k)!r})")
    if bad:
        return "silent", bad + found
    if found:
        return "finding", found
    if marked:
        return "marked", []
    return ("fixed" if job.requests > 1 else "kept"), []


def simulate(
    n: int = 200,
    seed: int = 1,
    p: float = 0.5,
    kinds: tuple[str, ...] = KINDS,
    validators: bool = True,
    layouts: tuple[str, ...] = LAYOUTS,
) -> dict:
    rng = random.Random(f"sim-llm/{seed}")
    endpoint = SimEndpoint()
    pairs, docs, jobs = [], [], []
    turn = 0
    for i, s in enumerate(generate_samples(n, seed, layouts=layouts)):
        record = extract(s.data, s.name)
        text = record.text
        for section in sections_needing_llm(record):
            region = record.regions.get(section)
            if not region:
                continue
            kind = None
            if rng.random() < p:
                kind = kinds[turn % len(kinds)]
                turn += 1
            spans = {
                spec.id: record.regions.get(f"{section}.{spec.id}")
                for spec in llm_schema.row_specs(section, record.template)
            }
            job = Job(
                i,
                section,
                record.template,
                text[region[0] : region[1]],
                s.truth,
                {k for k, f in record.fields.items() if f.review},
                kind,
                random.Random(f"sim-llm/{seed}/{i}/{section}"),
                llm_schema.Grounds(text, region, spans),
            )
            endpoint.add(job)
            jobs.append(job)
        pairs.append((record, text))
        docs.append(s)
    config = resolve_config(
        env={}, base_url="http://sim.invalid/v1", api_key="sim", mode="JSON", concurrency=16
    )
    bypass = contextlib.ExitStack()
    if not validators:  # the grounding and the table's arithmetic alike
        bypass.enter_context(
            mock.patch.object(llm_schema, "check_reply", lambda *a, **k: ([], {}))
        )
        bypass.enter_context(mock.patch.object(llm_schema, "refuted", lambda *a, **k: []))
    with bypass:
        outcomes = fill_with_llm_sync(pairs, config, client=endpoint.client(config))
    status = {(i, s.section): s.status for i, o in enumerate(outcomes) for s in o.sections}

    table: dict[str, Counter] = defaultdict(Counter)
    silent: list[str] = []
    findings: list[str] = []
    baseline = Counter()
    baseline_silent: list[str] = []
    for job in jobs:
        record, truth = pairs[job.doc][0], docs[job.doc].truth
        if job.kind is None:
            baseline["sections"] += 1
            for k, f in record.fields.items():
                if (
                    k.startswith(job.section + ".")
                    and not f.review
                    and not same(f.value, truth.get(k))
                ):
                    baseline["silent"] += 1
                    baseline_silent.append(
                        f"{docs[job.doc].name} {k}={f.value!r} "
                        f"(truth {truth.get(k)!r}) route {f.route}"
                    )
            continue
        if job.injection is None:
            table[job.kind]["n/a"] += 1
            continue
        outcome, bad = judge(record, truth, job)
        table[job.kind]["injected"] += 1
        table[job.kind][outcome] += 1
        table[job.kind]["status:" + status.get((job.doc, job.section), "?")] += 1
        if bad:
            inj = job.injection
            (silent if outcome == "silent" else findings).append(
                f"{docs[job.doc].name} [{inj.kind}] {inj.section} row {inj.row}: {inj.detail}; "
                f"reply {'re-asked' if job.requests > 1 else 'accepted'} "
                f"({status.get((job.doc, job.section))}); now {'; '.join(bad)}"
            )
    return {
        "table": table, "silent": silent, "findings": findings, "baseline": baseline,
        "baseline_silent": baseline_silent, "jobs": len(jobs), "docs": len(docs),
        "unknown_requests": endpoint.unknown,
        "requests": sum(j.requests for j in jobs),
    }


def report(result: dict, args) -> str:
    lines = [
        "SIMULATION (not a real model): the LLM route against "
        "a simulated endpoint answering from the truth",
        f"corpus: {result['docs']} synthetic documents "
        f"(seed {args.seed}, layouts {', '.join(LAYOUTS)}); "
        f"{result['jobs']} sections sent; p = {args.p}; "
        f"validators {'ON' if not args.no_validators else 'BYPASSED'}; "
        f"{result['requests']} requests",
        "",
        f"{'error kind':<20}{'injected':>9}{'fixed':>7}{'kept':>6}"
        f"{'marked':>8}{'finding':>9}{'silent':>8}{'n/a':>6}   caught",
        "-" * 89,
    ]
    total = Counter()
    for kind in KINDS:
        c = result["table"].get(kind, Counter())
        total.update({k: c[k] for k in ("injected", "n/a", *OUTCOMES)})
        caught = c["injected"] - c["silent"]
        rate = f"{caught}/{c['injected']}" if c["injected"] else "-"
        lines.append(
            f"{kind:<20}{c['injected']:>9}{c['fixed']:>7}{c['kept']:>6}"
            f"{c['marked']:>8}{c['finding']:>9}{c['silent']:>8}{c['n/a']:>6}   {rate}"
        )
    lines.append("-" * 89)
    caught = total["injected"] - total["silent"]
    lines.append(
        f"{'all':<20}{total['injected']:>9}{total['fixed']:>7}"
        f"{total['kept']:>6}{total['marked']:>8}{total['finding']:>9}"
        f"{total['silent']:>8}{total['n/a']:>6}   {caught}/{total['injected']}"
    )
    lines += [
        "",
        "fixed: rejected, re-asked, right now · kept: accepted "
        "but the value is right (the rules' reading kept) ·",
        "marked: wrong/null but marked for review · finding: "
        "wrong, unmarked, a check's finding names it ·",
        "silent: wrong, unmarked, no finding · n/a: nothing "
        "to inject into · caught = injected - silent",
        "",
        "section status of the injected replies: "
        + ", ".join(
            f"{k[7:]} {v}"
            for k, v in sorted(
                sum((result["table"][k] for k in result["table"]), Counter()).items()
            )
            if k.startswith("status:")
        ),
    ]
    b = result["baseline"]
    lines.append(
        f"sections with no injected error: {b['sections']}; "
        f"wrong and unmarked values in them: {b['silent']}"
    )
    for s in result["baseline_silent"][:10]:
        lines.append(f"  baseline: {s}")
    if result["findings"]:
        lines += ["", f"wrong and unmarked but named by a finding ({len(result['findings'])}):"] + [
            f"  {s}" for s in result["findings"]
        ]
    if result["silent"]:
        lines += ["", f"silent errors ({len(result['silent'])}):"] + [
            f"  {s}" for s in result["silent"]
        ]
    if result["unknown_requests"]:
        lines.append(f"requests the simulation could not place: {result['unknown_requests']}")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--p", type=float, default=0.5)
    ap.add_argument(
        "--kinds", default=",".join(KINDS), help="comma-separated, of: " + ", ".join(KINDS)
    )
    ap.add_argument(
        "--no-validators",
        action="store_true",
        help="bypass the reply validators (to show what they catch)",
    )
    args = ap.parse_args(argv)
    kinds = tuple(k for k in args.kinds.split(",") if k)
    if unknown := [k for k in kinds if k not in KINDS]:
        ap.error(f"unknown kind(s) {', '.join(unknown)}")
    started = time.monotonic()
    result = simulate(args.n, args.seed, args.p, kinds, validators=not args.no_validators)
    print(report(result, args))
    print(f"\n{time.monotonic() - started:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
