"""The LLM route: the fallback for the tables the rules could not read.

A table (t2, t3, t4) goes to the LLM only when the rules marked some of its values for review or
a check suspects a misreading in it (`sections_needing_llm`), and then only that table's region
is sent, asking for the rows in doubt alone (one table per call). A table without a region is not
sent: its values stay marked. Replies are validated against the document (llm_schema: the values
must be printed in each row's own text) with instructor's re-asks, cached and logged in SQLite
(llm_cache), and merged without overwriting what the rules read without doubt (llm_merge).
Failures never stop a run: the document gets a finding and stays flagged. After repeated
transport failures the route stops for the run (llm_transport.RunState) and says so once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Awaitable, Callable, Iterable

from pydantic import ValidationError

from .errors import EndpointError
from .llm_cache import cache_get, cache_put, log_call, open_llm_db
from .llm_config import LLMConfig, build_client, instructor_mode
from .llm_merge import merge
from .llm_prompt import PROMPTS, Request, build_request, request_tokens
from .llm_schema import SECTIONS, grounds_of, printed_numbers, row_specs, values_from_reply
from .llm_transport import RequestTimeout, RouteStopped, Transport, describe, scrub
from .record import Finding, Record

# instructor logs each failed attempt at ERROR; the outcome and the call log say it once, so keep
# them off a terminal whose logging is not configured (configured handlers still get them,
# scrubbed).
logging.getLogger("instructor").addHandler(logging.NullHandler())


class _Scrub(logging.Filter):
    """Takes the run's secrets out of instructor's log records (an endpoint's error may repeat
    the key)."""

    secrets: tuple[str, ...] = ()

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            record.msg, record.args = scrub(record.getMessage(), self.secrets), ()
        return True


_SCRUB = _Scrub()


def _guard_logs(secrets: tuple[str, ...]) -> None:
    """Every instructor logger gets the scrubbing filter (a logger's filters see only its own
    records)."""
    _SCRUB.secrets = secrets
    for name, logger in list(logging.Logger.manager.loggerDict.items()):
        if (
            name.startswith("instructor")
            and isinstance(logger, logging.Logger)
            and _SCRUB not in logger.filters
        ):
            logger.addFilter(_SCRUB)


MISREADING = "misreading_suspected"
FAILED, BUDGET, SKIPPED = "llm_failed", "llm_budget", "llm_skipped"


@dataclass
class SectionOutcome:
    section: str
    reason: str  # why it was sent
    status: str  # filled, cached, uncached, invalid, failed, stopped, budget, skipped, off
    changed: list[str] = field(default_factory=list)
    asked: list[str] = field(default_factory=list)  # the row ids asked for
    estimate: int = (
        0  # tokens, estimated from the request as built (instructions and schema included)
    )
    tokens_in: int = 0  # as the endpoint counted them
    tokens_out: int = 0
    first_in: int = 0  # the endpoint's counts for the first request alone (compare with `estimate`)
    first_out: int = 0
    attempts: int = 0  # HTTP requests (transport retries and re-asks included)
    seconds: float = 0.0  # in requests alone
    queued: float = 0.0  # waiting for a free slot (--llm-concurrency)
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
    """The tables to send, each with why: values marked for review, or a check that suspects a
    misreading."""
    need: dict[str, str] = {}
    for section in SECTIONS:
        marked = [f for k, f in record.fields.items() if k.startswith(section + ".") and f.review]
        if marked:
            need[section] = (
                f"{len(marked)} values marked for review ({marked[0].key}: "
                f"{marked[0].reason or 'no reason given'})"
            )
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
    suspected = [
        k
        for f in record.findings
        if f.kind == MISREADING
        for k in f.keys
        if k.startswith(section + ".")
    ]
    return list(dict.fromkeys(marked + suspected))


def known_values(record: Record, section: str) -> dict:
    """The table's values as the rules read them ({key: number}, blanks left out), marked ones
    included: a reply must keep the table's identities with them (and with its own values) when
    another reading of its rows would. A doubtful term can only make a right reply refused, and a
    refusal leaves the rules' values as they were, marked: it never lets a wrong value through.
    (The rules mark a run cut into digits until the table's arithmetic vouches for it: leaving
    those out left the identities that judge a reply with nothing to judge by.)"""
    return {
        k: f.value
        for k, f in record.fields.items()
        if k.startswith(section + ".")
        and isinstance(f.value, (int, float)) and not isinstance(f.value, bool)
    }


async def fill_with_llm(
    records_and_texts: Iterable[tuple[Record, str]],
    config: LLMConfig,
    client=None,
    db=None,
    refresh: bool = False,
    sleep: Callable[[float], Awaitable[None]] | None = None,
    cache_only: bool = False,
) -> list[LLMOutcome]:
    """Send the sections that need it, merge what validates, re-run the checks; records change in
    place. `db` (a sqlite_utils Database or a path) holds the call log and the cache; `refresh`
    skips cache reads. `client` is an AsyncOpenAI (built from `config` when None). One outcome per
    record, in order (a record that failed to read gets one with no sections). `cache_only` uses
    the cached replies and makes no call, with or without an endpoint: a table not in the cache
    stays as the rules read it (status `uncached`)."""
    pairs = [(r, t if t is not None else getattr(r, "text", None)) for r, t in records_and_texts]
    items = [(r, t) for r, t in pairs if r.error is None and r.fields]
    if not items or not (config.enabled or cache_only):
        off = {
            id(r): [
                SectionOutcome(s, why, "off", error=config.reason)
                for s, why in sections_needing_llm(r).items()
            ]
            for r, _ in items
        }
        return [LLMOutcome(r.sha256, r.name, off.get(id(r), [])) for r, _ in pairs]
    db = open_llm_db(db)
    plans = [
        _plan(record, text, config, db, refresh and not cache_only, cache_only)
        for record, text in items
    ]
    if cache_only:
        return _finish_all(plans, pairs, config)
    own_client = client is None
    client = client or build_client(config)
    if getattr(
        client, "max_retries", 0
    ):  # one retry layer only: the client's own retries would stack under it
        client = client.with_options(max_retries=0)
    semaphore = asyncio.Semaphore(config.concurrency)
    try:
        jobs = [
            (plan, req, out)
            for plan in plans
            for req, out in plan.requests
            if out.status == "pending"
        ]
        replies = await asyncio.gather(
            *(
                _send(req, out, plan.record, config, client, semaphore, db, sleep)
                for plan, req, out in jobs
            )
        )
    finally:
        if own_client:
            await client.close()
    for (plan, req, out), reply in zip(jobs, replies):
        plan.replies[req.section] = reply
    return _finish_all(plans, pairs, config)


def _finish_all(plans, pairs, config: LLMConfig) -> list[LLMOutcome]:
    done = {id(plan.record): _finish(plan, config) for plan in plans}
    return [done.get(id(r)) or LLMOutcome(r.sha256, r.name) for r, _ in pairs]


def fill_with_llm_sync(
    records_and_texts,
    config: LLMConfig,
    client=None,
    db=None,
    refresh: bool = False,
    sleep=None,
    cache_only: bool = False,
) -> list[LLMOutcome]:
    """`fill_with_llm` for synchronous callers (the CLI). Leave `client` None to have it built
    (and closed) inside this run's event loop."""
    return asyncio.run(
        fill_with_llm(records_and_texts, config, client, db, refresh, sleep, cache_only)
    )


# ------------------------------------------------------------ planning: what to send, within budget
@dataclass
class _Plan:
    record: Record
    text: str
    outcome: LLMOutcome
    requests: list[tuple[Request, SectionOutcome]] = field(default_factory=list)
    replies: dict = field(default_factory=dict)
    grounds: dict = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)


def rows_to_ask(record: Record, section: str, text: str) -> tuple[tuple[str, ...], list[str]]:
    """The rows of a table to ask for: those with a key in doubt (marked, or named by a check
    that suspects a misreading), with every row printed on the same text (table 4's groups in one
    line); a row is not asked when no reply about it could be grounded: the rules did not locate
    it (and it is not alone between two rows they did), its text prints no number, or in table 2
    it prints only one run of digits for several columns. Returns the ids in template order and
    the ids left out."""
    if record.template is None:  # a record without a template holds no table to ask about
        return (), []
    doubtful = set(section_keys(record, section))
    specs = row_specs(section, record.template)
    wanted = {s.id for s in specs if doubtful & set(s.keys)}
    spans = {s.id: record.regions.get(f"{section}.{s.id}") for s in specs}
    shared = {spans[i] for i in wanted if spans[i] is not None}
    wanted |= {i for i, span in spans.items() if span is not None and span in shared}
    candidates = [s for s in specs if s.id in wanted]
    grounds = grounds_of(text, section, record.template, record.regions, [s.id for s in candidates])
    asked, empty = [], []
    for s in candidates:
        span = grounds.rows.get(s.id)
        if span is None or not _readable(section, s, printed_numbers(text, *span)):
            empty.append(s.id)  # nothing a reply could be grounded in: left as the rules have it
        else:
            asked.append(s.id)
    return tuple(asked), empty


def _readable(section: str, spec, tokens) -> bool:
    """Can a reply about this row be accepted at all? Its text must print a number, and in
    table 2 (no sum to settle a cut) not only one run of digits for several columns."""
    if not tokens:
        return False
    return not (section == "t2" and len(spec.keys) > 1 and len(tokens) == 1
                and len(tokens[0].digits) > 1)


def _plan(
    record: Record, text: str, config: LLMConfig, db, refresh: bool, cache_only: bool = False
) -> _Plan:
    plan = _Plan(record, text, LLMOutcome(record.sha256, record.name))
    planned = 0
    for section, why in sections_needing_llm(record).items():
        out = SectionOutcome(section, why, "pending")
        plan.outcome.sections.append(out)
        region = record.regions.get(section)
        readable = bool(region and text and printed_numbers(text, *region))
        asked, empty = rows_to_ask(record, section, text) if readable else ((), [])
        out.asked = list(asked)
        if not asked:
            out.status = "skipped"
            out.error = (
                "the table's region was not found: not sent"
                if not (region and text)
                else "no number printed in the table: not sent"
                if not readable
                else "no number printed in the rows to read: not sent"
            )
            keys = section_keys(record, section)
            plan.findings.append(
                Finding(f"llm.{section}", SKIPPED, f"{section}: {out.error}", keys)
            )
            _keep_marked(record, keys, f"LLM route: {out.error}")
            continue
        # asked is empty without a template (rows_to_ask): record.template is a format here
        assert record.template is not None
        grounds = grounds_of(
            text, section, record.template, record.regions, asked, known_values(record, section)
        )
        plan.grounds[section] = grounds
        req = build_request(section, record.template, grounds, asked, config.model, config.mode)
        out.estimate = req.estimate
        if _from_cache(plan, req, out, config, db, refresh):
            continue
        if cache_only:
            out.status, out.error = "uncached", "not in the cache, and no call is made (cache only)"
            continue
        if planned + req.estimate > config.token_budget:
            out.status = "budget"
            out.error = (
                f"about {req.estimate} tokens would pass the budget of {config.token_budget} "
                f"per document ({planned} already planned)"
            )
            plan.findings.append(
                Finding(
                    f"llm.{section}",
                    BUDGET,
                    f"{section} not sent to the LLM: {out.error}",
                    section_keys(record, section),
                )
            )
            _log(db, record, req, out, config)
            continue
        planned += req.estimate
        plan.requests.append((req, out))
    return plan


def _from_cache(
    plan: _Plan, req: Request, out: SectionOutcome, config: LLMConfig, db, refresh: bool
) -> bool:
    cached = None if refresh else cache_get(db, req.key)
    if cached is None or (reply := _revalidate(req, cached["reply"])) is None:
        return False
    out.status = "cached"
    plan.replies[req.section] = reply
    _log(db, plan.record, req, out, config, cache_hit=1)
    return True


def _revalidate(req: Request, reply_json: str):
    try:
        return req.response_model.model_validate_json(reply_json, context=req.context)
    except ValidationError:
        return None  # the validators changed since: ask again


def _log(
    db,
    record: Record,
    req: Request,
    out: SectionOutcome,
    config: LLMConfig,
    cache_hit: int = 0,
    **extra,
) -> None:
    log_call(
        db,
        document=record.sha256,
        section=req.section,
        model=config.model,
        mode=config.mode,
        prompt=req.prompt,
        tokens_in=out.tokens_in,
        tokens_out=out.tokens_out,
        estimate=req.estimate,
        estimate_in=req.estimate_in,
        estimate_out=req.estimate_out,
        latency_ms=int(out.seconds * 1000),
        queue_ms=int(out.queued * 1000),
        attempts=out.attempts,
        cache_hit=cache_hit,
        status=out.status,
        error=out.error or None,
        rows=",".join(req.asked),
        max_tokens=req.max_tokens,
        **extra,
    )


# ---------------------------------------------------------------- one call
async def _send(
    req: Request,
    out: SectionOutcome,
    record: Record,
    config: LLMConfig,
    client,
    semaphore,
    db,
    sleep,
):
    waiting = time.monotonic()
    async with semaphore:
        out.queued = time.monotonic() - waiting
        if config.state.stopped:
            out.status, out.error = "stopped", config.state.stopped
            _log(db, record, req, out, config)
            return None
        transport = Transport(
            client,
            config.retries,
            sleep,
            timeout=config.timeout,
            state=config.state,
            breaker=config.breaker,
            secrets=_secrets(config),
            max_tokens=req.max_tokens,
            estimate=request_tokens,
        )
        reply = await _call(req, out, config, transport)
    out.attempts, out.seconds = transport.usage.requests, transport.usage.seconds
    out.tokens_in, out.tokens_out = transport.usage.tokens_in, transport.usage.tokens_out
    out.first_in, out.first_out = transport.usage.first or (0, 0)
    out.error = scrub(out.error, _secrets(config)) or ""
    _log(
        db,
        record,
        req,
        out,
        config,
        sent_estimate_in=transport.usage.estimate_in,
        finish=transport.usage.finish or None,
        first_tokens_in=out.first_in,
        first_tokens_out=out.first_out,
    )
    if reply is not None:
        cache_put(db, req.key, json.dumps({"rows": reply.rows}, ensure_ascii=False),
                  model=config.model, mode=config.mode, prompt=req.prompt, section=req.section,
                  tokens_in=out.tokens_in, tokens_out=out.tokens_out)
    return reply


async def _call(req: Request, out: SectionOutcome, config: LLMConfig, transport: Transport):
    """The request with instructor's re-asks, within the table's deadline; the outcome's status
    and error (in words) set. The validated reply, or None."""
    import instructor
    from instructor.core import IncompleteOutputException, InstructorRetryException

    create = instructor.patch(create=transport.create, mode=instructor_mode(config))
    _guard_logs(_secrets(config))
    try:
        async with asyncio.timeout(config.table_deadline):
            reply = await create(
                response_model=req.response_model,
                context=req.context,
                max_retries=config.reasks,
                strict=False,
                model=config.model,
                messages=[dict(m) for m in req.messages],
            )
        out.status = "filled"
        return reply
    except TimeoutError:
        out.status = "failed"
        out.error = (
            f"the table took longer than its deadline of {config.table_deadline:g} s (retries and "
            "re-asks "
            f"included): raise --llm-timeout or XXGK_LLM_DEADLINE, or use --llm-profile local"
        )
    except IncompleteOutputException:
        out.status = "invalid"
        out.error = (
            "the reply was cut at its max_tokens: the model did not stop (it repeats itself); "
            + (
                "a larger model keeps to the format"
                if config.mode == "JSON_SCHEMA"
                else "JSON_SCHEMA mode (decoding bound by the schema), or a larger model, keeps to "
                "the format"
            )
        )
    except InstructorRetryException as e:
        out.status, out.error = _retry_failure(e, config)
    except RouteStopped as e:
        out.status, out.error = "stopped", str(e)
    except (
        Exception
    ) as e:  # an API error outside instructor's wrapper, or a bug: never stop the run
        out.status, out.error = "failed", _failure_words(e, config)
    return None


def _retry_failure(error: Exception, config: LLMConfig) -> tuple[str, str]:
    cause = error.__cause__
    if isinstance(cause, RouteStopped):
        return "stopped", str(cause)
    if cause is not None and (_api_error(cause)
                              or isinstance(cause, (RequestTimeout, EndpointError))):
        return "failed", _failure_words(cause, config)
    return "invalid", _validation_summary(error, config)


def _failure_words(error: BaseException, config: LLMConfig) -> str:
    text = describe(error)
    if isinstance(error, RequestTimeout) or "Timeout" in type(error).__name__:
        advice = (
            f"a request took longer than --llm-timeout {config.timeout:g} s (XXGK_LLM_TIMEOUT): a "
            "model on a "
            "CPU needs more; raise it, or use --llm-profile local"
        )
        config.state.say_once("timeout", advice)
        text += f" ({advice})"
    return text


def _secrets(config: LLMConfig) -> tuple[str, ...]:
    return (config.api_key,) if config.api_key else ()


def _api_error(error) -> bool:
    import openai

    return isinstance(error, openai.APIError)


def _validation_summary(error: Exception, config: LLMConfig) -> str:
    """Why the last reply was refused, in the validators' words (or instructor's, plainly)."""
    cause = error.__cause__ or error
    if isinstance(cause, ValidationError):
        words = [e.get("msg", "").removeprefix("Value error, ") for e in cause.errors()]
        return "; ".join(w.replace("\n", "; ") for w in words)[:600]
    text = str(cause).splitlines()[0] if str(cause) else type(cause).__name__
    if config.mode == "TOOLS" and any(
        w in text for w in ("tool call", "tool_calls", "NoneType", "has no attribute")
    ):
        return (
            "the model answered in text instead of calling the tool: this endpoint or model does "
            "not do tool "
            "calls; use --llm-mode JSON_SCHEMA (or JSON)"
        )
    if "NoneType" in text or "not subscriptable" in text or "has no attribute" in text:
        return f"the reply is not the JSON asked for ({type(cause).__name__})"
    return scrub(text[:300], _secrets(config)) or ""


# ---------------------------------------------------------------- merging and the findings
def _finish(plan: _Plan, config: LLMConfig) -> LLMOutcome:
    record, source = plan.record, f"llm:{config.model}"
    merged = False
    for out in plan.outcome.sections:
        reply = plan.replies.get(out.section)
        if out.status in ("invalid", "failed", "stopped"):
            keys = section_keys(record, out.section)
            what = {
                "invalid": f"the reply was refused after {config.reasks} re-ask(s)",
                "failed": f"the call failed after {out.attempts} request(s)",
                "stopped": "not sent",
            }[out.status]
            plan.findings.append(
                Finding(f"llm.{out.section}", FAILED, f"{out.section}: {what}: {out.error}", keys)
            )
            _keep_marked(record, keys, f"LLM route failed ({out.status})")
        if reply is None:
            continue
        values = values_from_reply(reply, plan.grounds[out.section])
        for v in values.values():
            v.source, v.prompt = source, PROMPTS[out.section]
        out.changed = merge(record, out.section, values)
        merged = merged or bool(out.changed)
    used = plan.outcome.tokens
    if used > config.token_budget:
        plan.findings.append(
            Finding(
                "llm",
                BUDGET,
                f"the LLM calls used {used} tokens, over the budget of {config.token_budget} per "
                "document (re-asks)",
                [],
                config.token_budget,
                used,
            )
        )
    if merged:
        _recheck(record, plan.text)
    record.findings += plan.findings
    return plan.outcome


def _keep_marked(record: Record, keys: list[str], reason: str) -> None:
    """A table the route could not settle leaves the document flagged: every key it was to settle
    stays marked."""
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

    return json.dumps(
        [{**asdict(o), "changed": o.changed, "tokens": o.tokens} for o in outcomes],
        ensure_ascii=False,
    )
