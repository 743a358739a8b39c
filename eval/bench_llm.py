#!/usr/bin/env python3
"""What the LLM route costs, against sending every whole report to the LLM. Offline.

    python eval/bench_llm.py [--variants 9] [--garbled 0.1] [--seed 1] [--mode TOOLS]

Corpus: the five seeds of examples/ and `--variants` copies per seed, garbled at random so that
a tenth of all tables (`--garbled`) need the LLM, counting the seeds' own unreadable tables
(seed 002's table 3, seed 001's illegible table 4): digits of neighbouring cells run together, a
cell replaced by junk (□, #, [illegible]) or a cell dropped, until the rules mark the table. The
variants are copies of the seeds whose tables the rules read fully (`--variants-of-all` copies
every seed, and with it the seeds' own unreadable tables: a corpus where more than a tenth of the
tables need the LLM).

Both sides go through the real client, instructor and the route's code on a fake endpoint (no
network): the route sends what `fill_with_llm` sends (only the tables the rules could not read);
the baseline sends each whole report once, with the three tables' instructions and schemas.
Tokens are counted from the request bodies as sent (CJK characters / 1.5, others / 4, as the
route's budget estimate does). The target: the route's tokens per document at most a tenth of
the baseline's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from fake_openai import FakeEndpoint, Reply  # noqa: E402
from pydantic import create_model  # noqa: E402

from extractor.llm import fill_with_llm, sections_needing_llm  # noqa: E402
from extractor.llm_config import instructor_mode, resolve_config  # noqa: E402
from extractor.llm_prompt import build_request, estimate_tokens  # noqa: E402
from extractor.llm_schema import SECTIONS, Grounds, row_specs  # noqa: E402
from extractor.pipeline import extract  # noqa: E402

NUMBER = re.compile(r"(?<![\d.])\d+(?:\.\d+)?(?![\d.])")
JUNK = ("□", "#", "[illegible]", "■")


def garble(text: str, region: tuple[int, int], rng: random.Random) -> str:
    """One table of the text garbled by one of three tricks; the rest untouched."""
    a, b = region
    body = text[a:b]
    numbers = list(NUMBER.finditer(body))
    if not numbers:
        return text
    trick = rng.choice(("run", "junk", "drop"))
    i = rng.randrange(len(numbers))
    m = numbers[i]
    if trick == "run" and i + 1 < len(numbers) and not body[m.end():numbers[i + 1].start()].strip():
        body = body[:m.end()] + body[numbers[i + 1].start():]  # 12 3 → 123
    elif trick == "drop":
        body = body[:m.start()] + body[m.end():]
    else:
        body = body[:m.start()] + rng.choice(JUNK) + body[m.end():]
    return text[:a] + body + text[b:]


def corpus(variants: int, share: float, seed: int, of_all: bool = False):
    """[(name, text, garbled tables)] and the number of tables: the seeds as they are, then the
    variants, garbled so that `share` of all tables need the LLM (the seeds' own unreadable
    tables included). Variants are made of the seeds whose tables the rules read fully: a copy of
    a seed with an unreadable table would add that table again with every copy (`of_all` does)."""
    rng = random.Random(seed)
    seeds = [
        (p.name, p.read_bytes().decode("utf-8")) for p in sorted((ROOT / "examples").glob("*.txt"))
    ]
    own = {
        name: set(sections_needing_llm(extract(text.encode("utf-8"), name))) for name, text in seeds
    }
    bases = seeds if of_all else [(name, text) for name, text in seeds if not own[name]]
    docs = [(name, text, set()) for name, text in seeds]
    n_docs = len(seeds) + variants * len(seeds)
    n_tables = 3 * n_docs
    natural = sum(len(own[name]) for name, _ in seeds) + variants * sum(
        len(own[name]) for name, _ in bases
    )
    slots = [
        (name, text, v, s)
        for name, text in bases
        for v in range(variants * len(seeds) // len(bases))
        for s in SECTIONS
        if s not in own[name]
    ]
    chosen = set(rng.sample(range(len(slots)), max(0, round(share * n_tables) - natural)))
    variants_of: dict[tuple, tuple] = {}
    for i, (name, text, v, s) in enumerate(slots):
        doc = variants_of.setdefault((name, v), (f"{name}#v{v}", text, set()))
        if i not in chosen:
            continue
        garbled = doc[1]
        region = extract(garbled.encode("utf-8"), name).regions[s]
        for _ in range(20):  # garble until the rules mark the table
            attempt = garble(garbled, region, rng)
            if s in sections_needing_llm(extract(attempt.encode("utf-8"), name)):
                break
        doc[2].add(s)
        variants_of[(name, v)] = (doc[0], attempt, doc[2])
    docs += list(variants_of.values())
    return docs, 3 * len(docs)


async def route_bodies(pairs, cfg):
    """The request bodies the route sends (the fake endpoint answers: no rows read)."""
    endpoint = FakeEndpoint(lambda body: Reply({"rows": []}, 0, 0))
    outcomes = await fill_with_llm(pairs, cfg, endpoint.client(cfg))
    return endpoint.requests, outcomes


async def baseline_bodies(records_and_texts, cfg):
    """One request per whole report: the three tables' instructions and schemas, the whole text."""
    import instructor

    endpoint = FakeEndpoint(lambda body: Reply({}, 0, 0))
    client = endpoint.client(cfg)
    for record, text in records_and_texts:
        whole = Grounds(text, (0, len(text)), {})
        reqs = [
            build_request(
                s,
                record.template,
                whole,
                tuple(r.id for r in row_specs(s, record.template)),
                cfg.model,
                cfg.mode,
            )
            for s in SECTIONS
        ]
        model = create_model("Report", **{r.section: (r.response_model | None, None) for r in reqs})
        system = "\n\n".join(r.messages[0]["content"] for r in reqs)
        context = {**reqs[0].context, "rows_table": None}
        messages = [
            {"role": "system", "content": system.replace("{{ rows_table }}", "{{ rows_%s }}")},
            dict(reqs[0].messages[1]),
        ]
        for r in reqs:  # each table's rows under its own name
            messages[0]["content"] = messages[0]["content"].replace(
                "{{ rows_%s }}", "{{ rows_" + r.section + " }}", 1
            )
            context["rows_" + r.section] = r.context["rows_table"]
        create = instructor.patch(create=client.chat.completions.create, mode=instructor_mode(cfg))
        await create(
            response_model=model,
            context=context,
            max_retries=0,
            strict=False,
            model=cfg.model,
            messages=messages,
        )
    await client.close()
    return endpoint.requests


def body_tokens(body: dict) -> int:
    """Tokens of what a request sends: the messages, and the schema when it goes as a tool or
    format."""
    sent = [m.get("content") or "" for m in body["messages"]]
    for extra in ("tools", "response_format"):
        if body.get(extra) and body[extra] != {"type": "json_object"}:
            sent.append(json.dumps(body[extra], ensure_ascii=False, separators=(",", ":")))
    return sum(estimate_tokens(s) for s in sent)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--variants",
        type=int,
        default=9,
        help="garbled variants of each seed (default 9: 50 documents)",
    )
    ap.add_argument(
        "--garbled", type=float, default=0.1, help="share of all tables garbled (default 0.1)"
    )
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument(
        "--mode", default="TOOLS", help="instructor mode the requests are built for (default TOOLS)"
    )
    ap.add_argument(
        "--variants-of-all",
        action="store_true",
        help="make variants of every seed, also those with unreadable tables of their own",
    )
    args = ap.parse_args(argv)
    # no re-ask: the fake endpoint reads nothing, and what is measured is what one table costs to
    # send
    cfg = resolve_config(
        env={},
        base_url="http://fake.test/v1",
        api_key="offline",
        mode=args.mode,
        token_budget=10**9,
        reasks=0,
    )

    docs, n_tables = corpus(args.variants, args.garbled, args.seed, args.variants_of_all)
    pairs = [(extract(text.encode("utf-8"), name), text) for name, text, _ in docs]
    garbled = sum(len(g) for _, _, g in docs)
    marked = sum(
        1 for (_, _, g), (r, _) in zip(docs, pairs) for s in g if s in sections_needing_llm(r)
    )
    needing = sum(len(sections_needing_llm(r)) for r, _ in pairs)
    own = needing - marked

    bodies, outcomes = asyncio.run(route_bodies(pairs, cfg))
    skipped = sum(1 for o in outcomes for s in o.sections if s.status == "skipped")
    base = asyncio.run(baseline_bodies(pairs, cfg))
    n = len(docs)
    route_tokens, base_tokens = sum(map(body_tokens, bodies)), sum(map(body_tokens, base))
    per_doc, base_per_doc = route_tokens / n, base_tokens / n
    ratio = per_doc / base_per_doc

    print(
        f"corpus: {n} documents (5 seeds, {n - 5} variants), {n_tables} "
        f"tables; {needing} need the LLM ({needing / n_tables:.1%}):"
        f" {garbled} garbled here ({marked} of them marked "
        f"by the rules), {own} unreadable as printed;"
        f" {skipped} of these have no numbers to read (not sent)"
    )
    print(
        f"mode {cfg.mode}; tokens counted from the request "
        "bodies (extractor.llm_prompt.estimate_tokens)"
    )
    print(f"{'':24}{'calls/doc':>10}{'tokens/doc':>12}{'calls':>8}{'tokens':>10}")
    print(
        f"{'LLM route (tables)':24}{len(bodies) / n:>10.2f}"
        f"{per_doc:>12.0f}{len(bodies):>8}{route_tokens:>10}"
    )
    print(
        f"{'whole-report baseline':24}{len(base) / n:>10.2f}"
        f"{base_per_doc:>12.0f}{len(base):>8}{base_tokens:>10}"
    )
    verdict = "met" if ratio <= 0.1 else "NOT met"
    print(f"ratio of tokens per document: {ratio:.3f} (target at most 0.100: {verdict})")
    return 0 if ratio <= 0.1 else 1


if __name__ == "__main__":
    sys.exit(main())
