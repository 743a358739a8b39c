"""Evaluation runs: extract every golden report by a route, score it key by key, store the run."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Callable

from . import evaluate, store
from .batch import read_file
from .errors import GoldenMismatch, LLMConfigError, UsageError
from .golden import Golden
from .record import Record

Reader = Callable[[Path], Record]
ROUTES = ("rules", "hybrid", "llm")


def git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).resolve().parent,
        )
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def run_eval(
    db,
    goldens: list[Golden],
    route: str,
    reader: Reader = read_file,
    model: str | None = None,
    prompt_version: str | None = None,
):
    """Score every golden report; store the run and its outcomes; return (run id, outcomes)."""
    outcomes: list[evaluate.Outcome] = []
    for g in goldens:
        record = reader(g.report)
        if record.error is None and record.sha256 != g.sha256:
            raise GoldenMismatch(
                f"{g.path}: annotates other bytes than {g.report} (sha256 differs)"
            )
        outcomes += evaluate.compare(
            g.sha256, g.fields, record if record.error is None else None, g.layout or "unknown"
        )
    summary = evaluate.summarise(outcomes)
    with db.atomic():
        run_id = (
            db["eval_runs"]
            .insert(
                {
                    "started": store.now(), "commit": git_commit(), "route": route, "model": model,
                    "prompt_version": prompt_version, "reports": len(goldens),
                    **summary,
                }
            )
            .last_pk
        )
        db["eval_outcomes"].insert_all(
            (
                {
                    "run": run_id,
                    "document": o.document,
                    "key": o.key,
                    "truth": json.dumps(o.truth, ensure_ascii=False),
                    "value": json.dumps(o.value, ensure_ascii=False),
                    "review": int(o.review),
                    "outcome": o.kind,
                    "layout": o.layout,
                }
                for o in outcomes
            ),
            batch_size=1000,
        )
    return run_id, outcomes


def compare_runs(db, run_a: int, run_b: int) -> list[dict]:
    """Keys whose outcome, value or mark differs between two runs: document, key, truth, value_a,
    outcome_a, value_b, outcome_b (values decoded from their stored JSON). Raises UsageError for a
    run id the database does not hold."""
    held = (
        [r[0] for r in db.execute("SELECT rowid FROM eval_runs ORDER BY rowid")]
        if db["eval_runs"].exists()
        else []
    )
    unknown = [str(r) for r in (run_a, run_b) if r not in held]
    if unknown:
        runs = ", ".join(map(str, held[-10:])) if held else "none yet: run xxgk eval --golden DIR"
        raise UsageError(
            f"no evaluation run {' or '.join(unknown)} in {store.db_path(db)} (its runs: {runs})"
        )
    sql = """SELECT a.document, a.key, a.truth, a.value AS value_a, a.outcome AS outcome_a,
                    b.value AS value_b, b.outcome AS outcome_b
             FROM eval_outcomes a JOIN eval_outcomes b ON a.document = b.document AND a.key = b.key
             WHERE a.run = ? AND b.run = ?
               AND (a.value != b.value OR a.outcome != b.outcome OR a.review != b.review)
             ORDER BY a.document, a.key"""
    rows = list(db.query(sql, [run_a, run_b]))
    for row in rows:
        for name in ("truth", "value_a", "value_b"):
            row[name] = json.loads(row[name]) if row[name] is not None else None
    return rows


def reader_for(route: str, config=None, db=None, cache_only: bool = False) -> Reader:
    """rules: the rules alone; hybrid: the rules, then the LLM on the sections they could not read;
    llm: every table sent to the LLM (the rules' reading kept only where the LLM gives none).
    `cache_only`: the LLM's replies from the cache in `db` only, no call (no endpoint needed)."""
    if route == "rules":
        return read_file
    if config is None or not (config.enabled or cache_only):
        why = config.reason if config else "none configured"
        raise LLMConfigError(f"the {route} route needs an LLM endpoint: {why} (or --cache-only)")
    from .llm import fill_with_llm_sync

    def read(path: Path) -> Record:
        record = read_file(path)
        if record.error is None:
            if route == "llm":
                for key, f in record.fields.items():
                    if key.split(".")[0] in ("t2", "t3", "t4") and not f.review:
                        f.review, f.reason = True, "llm route: every table is read by the LLM"
            fill_with_llm_sync([(record, record.text)], config, db=db, cache_only=cache_only)
        return record

    return read
