"""A SIMULATED LLM endpoint for eval/sim_llm.py: it answers the LLM route's requests from the
synthetic corpus' truth, and injects one error into a first reply with probability p.

Not a model: the "honest" reply gives, for each row asked (the ids listed in the request), the
truth of the row as the row's own text prints it; a value the text cannot ground (the route's
own check, `llm_schema.row_problem`) is given as null (as the prompt asks: null for what you
cannot read for certain). Re-asks (the second and later requests for a section) get the honest
reply.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from dataclasses import dataclass, field

from extractor.llm_schema import (
    Grounds,
    check_reply,
    number_text,
    printed_numbers,
    row_problem,
    row_specs,
)

KINDS = ("wrong_digit", "invented_zero", "column_shift", "value_from_elsewhere")
MARKER = re.compile(r"<<<SECTION ([0-9a-f]{12})")
ASKED = re.compile(r"^([a-z_.]+): ", re.M)


def marker_of(body: str) -> str:
    return hashlib.sha256(body.encode("utf-8")).hexdigest()[:12]


@dataclass
class Injection:
    kind: str
    section: str
    row: str
    keys: list[str]  # the keys whose value the error changed
    detail: str


@dataclass
class Job:
    """One table of one document the route will send, with what the simulation needs to answer."""

    doc: int
    section: str
    template: str
    body: str  # the table's text as sent
    truth: dict
    marked: set  # keys the rules marked
    kind: str | None  # the error to inject into the first reply (None: honest)
    rng: random.Random
    grounds: Grounds | None = None  # the document's text, the table's region, the rows' spans
    requests: int = 0
    injection: Injection | None = None
    not_applicable: bool = False  # the kind had nothing to act on in this reply
    asked: tuple = field(default_factory=tuple)


# ---------------------------------------------------------------- the honest reply
def _printed_values(spec, truth: dict, table: str):
    """The truth of a row as the table prints it: money in 元 when the text has no 万元."""
    values = [truth.get(k) for k in spec.keys]
    unit = None
    if spec.money:
        unit = "万元" if "万元" in table else "元"
        if unit == "元":
            values = [
                round(v * 10000, 4) if (v is not None and k in spec.money) else v
                for k, v in zip(spec.keys, values)
            ]
        if all(values[i] is None for i, k in enumerate(spec.keys) if k in spec.money):
            unit = None
    values = [
        int(v) if isinstance(v, float) and v.is_integer() and spec.keys[0][:2] != "t2" else v
        for v in values
    ]
    return values, unit


def _grounded(job: Job, spec, values: list, unit) -> list:
    """The values with what the row's text cannot ground set to null (all null when nothing
    holds)."""
    def ok(vs):
        return not row_problem(job.section, job.template, spec, vs, unit, job.grounds)[0]

    if ok(values):
        return values
    kept = [None] * len(values)
    for i, v in enumerate(values):
        trial = kept[:i] + [v] + kept[i + 1:]
        if v is not None and ok(trial):
            kept = trial
    return kept if ok(kept) else [None] * len(values)


def honest_rows(job: Job, asked: tuple[str, ...]) -> list[dict]:
    table = job.grounds.text[job.grounds.table[0]:job.grounds.table[1]]
    rows = []
    for spec in row_specs(job.section, job.template):
        if spec.id not in asked:
            continue
        values, unit = _printed_values(spec, job.truth, table)
        row = {"row": spec.id, "values": values}
        if job.section == "t2" and spec.money:
            row["unit"] = unit
        rows.append(row)
    if not check_reply(job.section, job.template, rows, job.grounds)[0]:
        return rows  # the truth as printed, every row (table 4's groups checked together)
    for row in rows:
        spec = next(s for s in row_specs(job.section, job.template) if s.id == row["row"])
        row["values"] = _grounded(job, spec, row["values"], row.get("unit"))
    return rows


# ---------------------------------------------------------------- the injected errors
def _keys(job: Job, row_id: str):
    return next(s for s in row_specs(job.section, job.template) if s.id == row_id).keys


def _prefer_marked(job: Job, candidates: list):
    """Candidates (row, index, …) on keys the rules marked first: the ones the LLM's value
    decides."""
    marked = [c for c in candidates if _keys(job, c[0]["row"])[c[1]] in job.marked]
    pool = marked or candidates
    return job.rng.choice(pool) if pool else None


def inject(job: Job, rows: list[dict]) -> Injection | None:
    rng, kind = job.rng, job.kind
    if kind == "wrong_digit":
        pick = _prefer_marked(
            job, [(r, i) for r in rows for i, v in enumerate(r["values"]) if v is not None]
        )
        if not pick:
            return None
        row, i = pick
        old = row["values"][i]
        digits = number_text(old)
        positions = [n for n, c in enumerate(digits) if c.isdigit()]
        n = rng.choice(positions)
        choices = [
            d
            for d in "0123456789"
            if d != digits[n] and not (n == 0 and d == "0" and len(digits) > 1)
        ]
        new_digits = digits[:n] + rng.choice(choices) + digits[n + 1:]
        new = float(new_digits) if "." in new_digits else int(new_digits)
        row["values"][i] = new
        return Injection(
            kind, job.section, row["row"], [_keys(job, row["row"])[i]], f"{old} -> {new}"
        )
    if kind == "invented_zero":
        cands = [(r, i) for r in rows for i, v in enumerate(r["values"])
                 if v is None and job.truth.get(_keys(job, r["row"])[i]) is None]
        pick = _prefer_marked(job, cands)
        if not pick:
            return None
        row, i = pick
        row["values"][i] = 0
        return Injection(kind, job.section, row["row"], [_keys(job, row["row"])[i]], "blank -> 0")
    if kind == "column_shift":
        cands = []
        for r in rows:
            v = r["values"]
            for shifted, how in (([None] + v[:-1], "right"), (v[1:] + [None], "left")):
                if shifted != v and any(x is not None for x in shifted):
                    cands.append((r, 0, shifted, how))
        marked_rows = [c for c in cands if any(k in job.marked for k in _keys(job, c[0]["row"]))]
        pool = marked_rows or cands
        if not pool:
            return None
        row, _, shifted, how = rng.choice(pool)
        keys = [k for k, a, b in zip(_keys(job, row["row"]), row["values"], shifted) if a != b]
        detail = f"{row['values']} -> {shifted} ({how})"
        row["values"] = shifted
        return Injection(kind, job.section, row["row"], keys, detail)
    if kind == "value_from_elsewhere":
        # a number printed in the table (another row, a note, the header) given for a cell of a row
        elsewhere = [t.digits for t in printed_numbers(job.grounds.text, *job.grounds.table)]
        cands = [(r, i) for r in rows for i, v in enumerate(r["values"])
                 if [d for d in elsewhere if d != (number_text(v) if v is not None else None)]]
        pick = _prefer_marked(job, cands)
        if not pick:
            return None
        row, i = pick
        old = row["values"][i]
        new_digits = rng.choice(
            [d for d in elsewhere if d != (number_text(old) if old is not None else None)]
        )
        row["values"][i] = float(new_digits) if "." in new_digits else int(new_digits)
        return Injection(
            kind,
            job.section,
            row["row"],
            [_keys(job, row["row"])[i]],
            f"{old} -> {row['values'][i]}",
        )
    raise ValueError(kind)


# ---------------------------------------------------------------- the endpoint
class SimEndpoint:
    """Answers each request from the truth of the section it names (by the marker in the user
    message); the first reply of a section carries its job's injected error, if any."""

    def __init__(self):
        self.jobs: dict[str, Job] = {}
        self.unknown = 0

    def add(self, job: Job) -> None:
        self.jobs[marker_of(job.body)] = job

    async def handle(self, request):
        from fake_openai import Reply, completion, http_module

        hx = http_module()
        body = json.loads(request.content)
        text = "\n".join(m.get("content") or "" for m in body["messages"] if m["role"] == "user")
        m = MARKER.search(text)
        job = self.jobs.get(m.group(1)) if m else None
        if job is None:
            self.unknown += 1
            return hx.Response(
                500, json={"error": {"message": "the simulation has no such section"}}
            )
        job.requests += 1
        system = body["messages"][0]["content"]
        listed = (
            system.split("Rows to read", 1)[1].split("\n\n", 1)[0]
            if "Rows to read" in system
            else ""
        )
        job.asked = tuple(ASKED.findall(listed))
        rows = honest_rows(job, job.asked)
        if job.requests == 1 and job.kind:
            job.injection = inject(job, rows)
            job.not_applicable = job.injection is None
        return hx.Response(200, json=completion(body, Reply({"rows": rows})))

    def client(self, config):
        from fake_openai import http_module

        from extractor.llm_config import build_client

        hx = http_module()
        return build_client(
            config, http_client=hx.AsyncClient(transport=hx.MockTransport(self.handle))
        )
