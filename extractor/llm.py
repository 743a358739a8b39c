"""The LLM route: the fallback for the tables the rules could not read.

A table (t2, t3, t4) goes to the LLM only when the rules marked some of its values for review or
a check suspects a misreading in it (`sections_needing_llm`), and then only that table's text is
sent. Replies are validated against the text (llm_schema) with instructor's re-asks, cached and
logged in SQLite (llm_cache), and merged without overwriting what the rules read without doubt
(llm_merge). Failures never stop a run: the document gets a finding and stays flagged.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Awaitable, Callable, Iterable

from pydantic import ValidationError

from .llm_cache import cache_get, cache_put, log_call, open_llm_db
from .llm_config import LLMConfig, build_client, instructor_mode
from .llm_merge import merge
from .llm_prompt import PROMPTS, Request, build_request
from .llm_schema import SECTIONS, values_from_reply
from .llm_transport import Transport, describe
from .record import Finding, Record

# instructor logs each failed attempt at ERROR; the outcome and the call log say it once, so keep
# them off a terminal whose logging is not configured (configured handlers still get them).
logging.getLogger("instructor").addHandler(logging.NullHandler())

MISREADING = "misreading_suspected"
FAILED, BUDGET = "llm_failed", "llm_budget"
NUMBERS = set("0123456789０１２３４５６７８９零〇")


@dataclass
class SectionOutcome:
    section: str
    reason: str  # why it was sent
    status: str  # filled, cached, uncached, invalid, failed, budget, skipped, off
    changed: list[str] = field(default_factory=list)
    estimate: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    attempts: int = 0  # HTTP requests (transport retries and re-asks included)
    error: str = ""


@dataclass
class LLMOutcome:
    sha256: str
    name: str
    sections: list[SectionOutcome] = field(default_factory=list)

    @property
    def changed(self) -> list[str]:
        return [k for s in self.sections for k in s.changed]

    @property
    def tokens(self) -> int:
        return sum(s.tokens_in + s.tokens_out for s in self.sections)

    @property
    def calls(self) -> int:
        return sum(1 for s in self.sections if s.attempts)


def sections_needing_llm(record: Record) -> dict[str, str]:
    """The tables to send, each with why: values marked for review, or a check that suspects a misreading."""
    need: dict[str, str] = {}
    for section in SECTIONS:
        marked = [f for k, f in record.fields.items() if k.startswith(section + ".") and f.review]
        if marked:
            need[section] = f"{len(marked)} values marked for review ({marked[0].key}: {marked[0].reason or 'no reason given'})"
    for finding in record.findings:
        if finding.kind != MISREADING:
            continue
        for section in SECTIONS:
            if section not in need and any(k.startswith(section + ".") for k in finding.keys):
                need[section] = f"{finding.check} suspects a misreading: {finding.message[:120]}"
    return {s: need[s] for s in SECTIONS if s in need}


def section_keys(record: Record, section: str) -> list[str]:
    """The keys a failure leaves in doubt: the marked ones, or those a check suspects."""
    marked = [k for k, f in record.fields.items() if k.startswith(section + ".") and f.review]
    suspected = [k for f in record.findings if f.kind == MISREADING for k in f.keys if k.startswith(section + ".")]
    return list(dict.fromkeys(marked + suspected))


async def fill_with_llm(records_and_texts: Iterable[tuple[Record, str]], config: LLMConfig, client=None, db=None,
                        refresh: bool = False, sleep: Callable[[float], Awaitable[None]] | None = None,
                        cache_only: bool = False) -> list[LLMOutcome]:
    """Send the sections that need it, merge what validates, re-run the checks; records change in
    place. `db` (a sqlite_utils Database or a path) holds the call log and the cache; `refresh`
    skips cache reads. `client` is an AsyncOpenAI (built from `config` when None). One outcome per
    record, in order (a record that failed to read gets one with no sections). `cache_only` uses
    the cached replies and makes no call, with or without an endpoint: a table not in the cache
    stays as the rules read it (status `uncached`)."""
    pairs = [(r, t if t is not None else getattr(r, "text", None)) for r, t in records_and_texts]
    items = [(r, t) for r, t in pairs if r.error is None and r.fields]
    if not items or not (config.enabled or cache_only):
        off = {id(r): [SectionOutcome(s, why, "off", error=config.reason) for s, why in sections_needing_llm(r).items()] for r, _ in items}
        return [LLMOutcome(r.sha256, r.name, off.get(id(r), [])) for r, _ in pairs]
    db = open_llm_db(db)
    plans = [_plan(record, text, config, db, refresh and not cache_only, cache_only) for record, text in items]
    if cache_only:
        return _finish_all(plans, pairs, config)
    own_client = client is None
    client = client or build_client(config)
    if getattr(client, "max_retries", 0):  # one retry layer only: the client's own retries would stack under it
        client = client.with_options(max_retries=0)
    semaphore = asyncio.Semaphore(config.concurrency)
    try:
        jobs = [(plan, req, out) for plan in plans for req, out in plan.requests if out.status == "pending"]
        replies = await asyncio.gather(*(_send(req, out, plan.record, config, client, semaphore, db, sleep) for plan, req, out in jobs))
    finally:
        if own_client:
            await client.close()
    for (plan, req, out), reply in zip(jobs, replies):
        plan.replies[req.section] = reply
    return _finish_all(plans, pairs, config)


def _finish_all(plans, pairs, config: LLMConfig) -> list[LLMOutcome]:
    done = {id(plan.record): _finish(plan, config) for plan in plans}
    return [done.get(id(r)) or LLMOutcome(r.sha256, r.name) for r, _ in pairs]


def fill_with_llm_sync(records_and_texts, config: LLMConfig, client=None, db=None, refresh: bool = False, sleep=None,
                       cache_only: bool = False) -> list[LLMOutcome]:
    """`fill_with_llm` for synchronous callers (the CLI). Leave `client` None to have it built
    (and closed) inside this run's event loop."""
    return asyncio.run(fill_with_llm(records_and_texts, config, client, db, refresh, sleep, cache_only))


# ---------------------------------------------------------------- planning: what to send, within budget
@dataclass
class _Plan:
    record: Record
    text: str
    outcome: LLMOutcome
    requests: list[tuple[Request, SectionOutcome]] = field(default_factory=list)
    replies: dict = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)


def _plan(record: Record, text: str, config: LLMConfig, db, refresh: bool, cache_only: bool = False) -> _Plan:
    plan = _Plan(record, text, LLMOutcome(record.sha256, record.name))
    planned = 0
    for section, why in sections_needing_llm(record).items():
        out = SectionOutcome(section, why, "pending")
        plan.outcome.sections.append(out)
        region = record.regions.get(section)
        body = text[region[0]:region[1]] if region and text else ""
        if not NUMBERS & set(body):
            out.status, out.error = "skipped", "no table text to read" if not region else "no numbers in the table text"
            continue
        req = build_request(section, record.template, body, region[0], config.model, config.mode)
        out.estimate = req.estimate
        cached = None if refresh else cache_get(db, req.key)
        if cached is not None and (reply := _revalidate(req, cached["reply"])) is not None:
            out.status = "cached"
            plan.replies[section] = reply
            log_call(db, document=record.sha256, section=section, model=config.model, mode=config.mode, prompt=req.prompt, tokens_in=0,
                     tokens_out=0, estimate=req.estimate, latency_ms=0, attempts=0, cache_hit=1, status="cached", error=None)
            continue
        if cache_only:
            out.status, out.error = "uncached", "not in the cache, and no call is made (cache only)"
            continue
        if planned + req.estimate > config.token_budget:
            out.status = "budget"
            out.error = f"about {req.estimate} tokens would pass the budget of {config.token_budget} per document ({planned} already planned)"
            plan.findings.append(Finding(f"llm.{section}", BUDGET, f"{section} not sent to the LLM: {out.error}", section_keys(record, section)))
            log_call(db, document=record.sha256, section=section, model=config.model, mode=config.mode, prompt=req.prompt, tokens_in=0,
                     tokens_out=0, estimate=req.estimate, latency_ms=0, attempts=0, cache_hit=0, status="budget", error=out.error)
            continue
        planned += req.estimate
        plan.requests.append((req, out))
    return plan


def _revalidate(req: Request, reply_json: str):
    try:
        return req.response_model.model_validate_json(reply_json, context=req.context)
    except ValidationError:
        return None  # the validators changed since: ask again


# ---------------------------------------------------------------- one call
async def _send(req: Request, out: SectionOutcome, record: Record, config: LLMConfig, client, semaphore, db, sleep):
    import instructor

    try:
        from instructor.core import InstructorRetryException
    except ImportError:  # instructor before 1.9
        from instructor.exceptions import InstructorRetryException

    transport = Transport(client, config.retries, sleep)
    create = instructor.patch(create=transport.create, mode=instructor_mode(config))
    started = time.monotonic()
    reply = None
    async with semaphore:
        try:
            reply = await create(response_model=req.response_model, context=req.context, max_retries=config.reasks, strict=False,
                                 model=config.model, messages=[dict(m) for m in req.messages])
            out.status = "filled"
        except InstructorRetryException as e:
            invalid = bool(getattr(e, "failed_attempts", None)) and not _api_error(e.__cause__)
            out.status, out.error = ("invalid", _validation_summary(e)) if invalid else ("failed", describe(e))
        except Exception as e:  # an API error outside instructor's wrapper, or a bug: never stop the run
            out.status, out.error = "failed", describe(e)
    out.attempts = transport.usage.requests
    out.tokens_in, out.tokens_out = transport.usage.tokens_in, transport.usage.tokens_out
    log_call(db, document=record.sha256, section=req.section, model=config.model, mode=config.mode, prompt=req.prompt,
             tokens_in=out.tokens_in, tokens_out=out.tokens_out, estimate=req.estimate, latency_ms=int((time.monotonic() - started) * 1000),
             attempts=out.attempts, cache_hit=0, status=out.status, error=out.error or None)
    if reply is not None:
        cache_put(db, req.key, reply.model_dump_json(), model=config.model, mode=config.mode, prompt=req.prompt, section=req.section,
                  tokens_in=out.tokens_in, tokens_out=out.tokens_out)
    return reply


def _api_error(error) -> bool:
    import openai

    return isinstance(error, openai.APIError)


def _validation_summary(error: Exception) -> str:
    cause = error.__cause__ or error
    if isinstance(cause, ValidationError):
        first = cause.errors()[0]
        return f"{len(cause.errors())} validation errors, first: {first.get('msg', '')[:300]}"
    return str(cause).splitlines()[0][:300]


# ---------------------------------------------------------------- merging and the findings
def _finish(plan: _Plan, config: LLMConfig) -> LLMOutcome:
    record, source = plan.record, f"llm:{config.model}"
    merged = False
    for out in plan.outcome.sections:
        reply = plan.replies.get(out.section)
        if out.status in ("invalid", "failed"):
            keys = section_keys(record, out.section)
            what = f"the reply did not pass validation after {config.reasks} re-ask(s)" if out.status == "invalid" else f"the call failed after {out.attempts} request(s)"
            plan.findings.append(Finding(f"llm.{out.section}", FAILED, f"{out.section}: {what}: {out.error}", keys))
            _keep_marked(record, keys, f"LLM route failed ({out.status})")
        if reply is None:
            continue
        region = record.regions[out.section]
        values = values_from_reply(reply, out.section, record.template, plan.text[region[0]:region[1]], region[0])
        for v in values.values():
            v.source, v.prompt = source, PROMPTS[out.section]
        out.changed = merge(record, out.section, values)
        merged = merged or bool(out.changed)
    used = plan.outcome.tokens
    if used > config.token_budget:
        plan.findings.append(Finding("llm", BUDGET, f"the LLM calls used {used} tokens, over the budget of {config.token_budget} per document (re-asks)", [], config.token_budget, used))
    if merged:
        _recheck(record, plan.text)
    record.findings += plan.findings
    return plan.outcome


def _keep_marked(record: Record, keys: list[str], reason: str) -> None:
    """A failed call leaves the document flagged: every key it was to settle stays marked."""
    for k in keys:
        f = record.fields.get(k)
        if f is not None and not f.review:
            f.review, f.reason = True, reason


def _recheck(record: Record, text: str) -> None:
    """The checks again, over the merged values (parse and LLM findings are kept)."""
    from .pipeline import recheck

    recheck(record, text)


def outcomes_json(outcomes: list[LLMOutcome]) -> str:
    """The outcomes as JSON, for logs and `--jsonl` consumers."""
    from dataclasses import asdict

    return json.dumps([{**asdict(o), "changed": o.changed, "tokens": o.tokens} for o in outcomes], ensure_ascii=False)
