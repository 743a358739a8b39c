"""A SIMULATED LLM endpoint for eval/sim_llm.py: it answers the LLM route's requests from the
synthetic corpus' truth, and injects one error into a first reply with probability p.

Not a model: the "honest" reply is the truth of each row, quoted from the section text (the row's
text from its label to the next row's label, else the shortest run of lines that grounds the
values); a value the quote cannot ground is given as null (as the prompt asks: null for what you
cannot read for certain). Re-asks (the second and later requests for a section) get the honest reply.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from dataclasses import dataclass, field

from extractor.llm_schema import find_quote, number_text, row_problems, row_specs, short_label

KINDS = ("wrong_digit", "wrong_digit_quote", "invented_zero", "column_shift", "bad_quote")
MARKER = re.compile(r"<<<SECTION ([0-9a-f]{12})")
MAX_QUOTE = 300


def marker_of(body: str) -> str:
    return hashlib.sha256(body.encode("utf-8")).hexdigest()[:12]


@dataclass
class Injection:
    kind: str
    section: str
    row: str
    keys: list[str]  # the keys whose value the error changed (bad_quote: the row's non-null keys)
    detail: str
    quote: str = ""  # bad_quote: the invented quote


@dataclass
class Job:
    """One section of one document the route will send, with what the simulation needs to answer."""

    doc: int
    section: str
    template: str
    body: str  # the section text as sent
    truth: dict
    marked: set  # keys the rules marked
    kind: str | None  # the error to inject into the first reply (None: honest)
    rng: random.Random
    requests: int = 0
    injection: Injection | None = None
    not_applicable: bool = False  # the kind had nothing to act on in this reply


# ---------------------------------------------------------------- the honest reply
def _lines(body: str) -> list[tuple[int, int]]:
    out, i = [], 0
    for line in body.split("\n"):
        out.append((i, i + len(line)))
        i += len(line) + 1
    return out


def _trim(body: str, a: int, b: int) -> str:
    """body[a:b] stripped, cut at a line end to at most MAX_QUOTE characters."""
    chunk = body[a:b].strip()
    while len(chunk) > MAX_QUOTE and "\n" in chunk:
        chunk = chunk.rsplit("\n", 1)[0].rstrip()
    return chunk[:MAX_QUOTE].strip()


def _printed_values(spec, truth: dict, body: str):
    """The truth of a row as the section prints it: money in 元 when the text has no 万元."""
    values = [truth.get(k) for k in spec.keys]
    unit = None
    if spec.money:
        unit = "万元" if "万元" in body else "元"
        if unit == "元":
            values = [round(v * 10000, 4) if (v is not None and k in spec.money) else v for k, v in zip(spec.keys, values)]
        if all(values[i] is None for i, k in enumerate(spec.keys) if k in spec.money):
            unit = None
    values = [int(v) if isinstance(v, float) and v.is_integer() and spec.keys[0][:2] != "t2" else v for v in values]
    return values, unit


def _grounded(spec, quote: str, values: list, unit, body: str) -> list | None:
    """The values with what the quote cannot ground set to null; None when nothing is left."""
    values = list(values)
    if not row_problems(spec, quote, values, unit, body):
        return values
    for i in range(len(values)):
        if values[i] is None:
            continue
        trial = values[:i] + [None] + values[i + 1:]
        single = [None] * len(values)
        single[i] = values[i]
        if row_problems(spec, quote, single, unit, body):
            values = trial
    if any(v is not None for v in values) and not row_problems(spec, quote, values, unit, body):
        return values
    return None


def honest_rows(section: str, template: str, body: str, truth: dict) -> list[dict]:
    specs = row_specs(section, template)
    # where each row's label stands, in order
    pos, cursor = [], 0
    for s in specs:
        word = short_label(section, s).split(" ")[-1]
        i = body.find(word, cursor)
        pos.append(i)
        if i >= 0:
            cursor = i + len(word)
    found = [p for p in pos if p >= 0]
    lines = _lines(body)
    rows = []
    for s, p in zip(specs, pos):
        values, unit = _printed_values(s, truth, body)
        if all(v is None for v in values):
            continue  # a row of blanks: left out (nothing to read)
        quote = None
        if p >= 0:
            nxt = min([q for q in found if q > p], default=len(body))
            q = _trim(body, p, nxt)
            if not row_problems(s, q, values, unit, body):
                quote = q
        if quote is None:  # the shortest run of lines from the label on (or anywhere) that grounds the row
            start_line = next((n for n, (a, b) in enumerate(lines) if a <= max(p, 0) <= b), 0) if p >= 0 else 0
            quote = _window(s, values, unit, body, lines, start_line)
        if quote is None and p >= 0:
            nxt = min([q for q in found if q > p], default=len(body))
            q = _trim(body, p, nxt)
            kept = _grounded(s, q, values, unit, body)
            if kept is not None:
                rows.append(_row(section, s.id, q, kept, unit))
            continue
        if quote is not None:
            rows.append(_row(section, s.id, quote, values, unit))
    return rows


def _window(spec, values, unit, body, lines, start_line):
    for first in list(range(start_line, len(lines))) + list(range(0, start_line)):
        a = lines[first][0]
        for last in range(first, len(lines)):
            b = lines[last][1]
            q = body[a:b].strip()
            if len(q) > MAX_QUOTE:
                break
            if q and not row_problems(spec, q, values, unit, body):
                return q
    return None


def _row(section: str, row_id: str, quote: str, values: list, unit) -> dict:
    row = {"row": row_id, "quote": quote, "values": values}
    if section == "t2":
        row["unit"] = unit
    return row


# ---------------------------------------------------------------- the injected errors
def _keys(job: Job, row_id: str):
    return next(s for s in row_specs(job.section, job.template) if s.id == row_id).keys


def _prefer_marked(job: Job, candidates: list):
    """Candidates (row, index, …) on keys the rules marked first: the ones the LLM's value decides."""
    marked = [c for c in candidates if _keys(job, c[0]["row"])[c[1]] in job.marked]
    pool = marked or candidates
    return job.rng.choice(pool) if pool else None


def inject(job: Job, rows: list[dict]) -> Injection | None:
    rng, kind = job.rng, job.kind
    if kind in ("wrong_digit", "wrong_digit_quote"):
        pick = _prefer_marked(job, [(r, i) for r in rows for i, v in enumerate(r["values"]) if v is not None])
        if not pick:
            return None
        row, i = pick
        old = row["values"][i]
        digits = number_text(old)
        positions = [n for n, c in enumerate(digits) if c.isdigit()]
        n = rng.choice(positions)
        choices = [d for d in "0123456789" if d != digits[n] and not (n == 0 and d == "0" and len(digits) > 1)]
        new_digits = digits[:n] + rng.choice(choices) + digits[n + 1:]
        new = float(new_digits) if "." in new_digits else int(new_digits)
        row["values"][i] = new
        detail = f"{old} -> {new}"
        if kind == "wrong_digit_quote":
            j = row["quote"].find(digits)
            if j >= 0:
                row["quote"] = row["quote"][:j] + new_digits + row["quote"][j + len(digits):]
                detail += " (quote changed too)"
        return Injection(kind, job.section, row["row"], [_keys(job, row["row"])[i]], detail)
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
    if kind == "bad_quote":
        cands = [(r, 0) for r in rows if any(v is not None for v in r["values"])]
        marked_rows = [c for c in cands if any(k in job.marked for k in _keys(job, c[0]["row"]))]
        pool = marked_rows or cands
        if not pool:
            return None
        row, _ = rng.choice(pool)
        quote = row["quote"]
        for attempt in range(5):  # a label word changed, or a word added: not in the text
            cjk = [n for n, c in enumerate(quote) if "\u4e00" <= c <= "\u9fff"]
            if cjk and attempt < 3:
                n = rng.choice(cjk)
                new = quote[:n] + ("表" if quote[n] != "表" else "项") + quote[n + 1:]
            else:
                new = "本表" + quote
            if find_quote(job.body, new) is None:
                row["quote"] = new
                keys = [k for k, v in zip(_keys(job, row["row"]), row["values"]) if v is not None]
                return Injection(kind, job.section, row["row"], keys, f"quote {quote[:20]!r}… -> {new[:20]!r}…", new)
        return None
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
        from fake_openai import completion, http_module, Reply

        hx = http_module()
        body = json.loads(request.content)
        text = "\n".join(m.get("content") or "" for m in body["messages"] if m["role"] == "user")
        m = MARKER.search(text)
        job = self.jobs.get(m.group(1)) if m else None
        if job is None:
            self.unknown += 1
            return hx.Response(500, json={"error": {"message": "the simulation has no such section"}})
        job.requests += 1
        rows = honest_rows(job.section, job.template, job.body, job.truth)
        if job.requests == 1 and job.kind:
            job.injection = inject(job, rows)
            job.not_applicable = job.injection is None
        return hx.Response(200, json=completion(body, Reply({"rows": rows})))

    def client(self, config):
        from fake_openai import http_module
        from extractor.llm_config import build_client

        hx = http_module()
        return build_client(config, http_client=hx.AsyncClient(transport=hx.MockTransport(self.handle)))
