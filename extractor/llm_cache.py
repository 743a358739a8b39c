"""The LLM route's SQLite tables: `llm_calls` (one row per table sent, cached or not) and
`llm_cache` (validated replies keyed by what determines them, so a re-run is free).

`llm_calls` keeps the accounting side by side: `estimate` (tokens, planned from the request as
built: instructions and schema included; `estimate_in` / `estimate_out` its parts, and
`sent_estimate_in` the same estimate over the body instructor actually sent first) against
`tokens_in` / `tokens_out` (the endpoint's own counts, every request of the table: retries and
re-asks) and `first_tokens_in` / `first_tokens_out` (its counts for the first request);
`latency_ms` is the time in requests alone, `queue_ms` the wait for a free slot before them. Errors
are stored scrubbed of secrets."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path

import sqlite_utils

CALLS_COLUMNS = {
    "id": int,
    "document": str,
    "section": str,
    "model": str,
    "mode": str,
    "prompt": str,
    "tokens_in": int,
    "tokens_out": int,
    "estimate": int,
    "latency_ms": int,
    "attempts": int,
    "cache_hit": int,
    "status": str,
    "error": str,
    "at": str,
    "estimate_in": int,
    "estimate_out": int,
    "sent_estimate_in": int,
    "queue_ms": int,
    "rows": str,
    "max_tokens": int,
    "finish": str,
    "first_tokens_in": int,
    "first_tokens_out": int,
}
CACHE_COLUMNS = {
    "key": str,
    "model": str,
    "mode": str,
    "prompt": str,
    "section": str,
    "reply": str,
    "tokens_in": int,
    "tokens_out": int,
    "at": str,
}


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def open_llm_db(db) -> sqlite_utils.Database | None:
    """A Database (given, or opened from a path) with the two tables; None stays None (no log, no
    cache)."""
    if db is None:
        return None
    if not isinstance(db, sqlite_utils.Database):
        db = sqlite_utils.Database(Path(db))
    db["llm_calls"].create(CALLS_COLUMNS, pk="id", if_not_exists=True)
    db["llm_cache"].create(CACHE_COLUMNS, pk="key", if_not_exists=True)
    db["llm_calls"].create_index(["document"], if_not_exists=True)
    return db


def cache_key(
    model: str, mode: str, prompt: str, prompt_text: str, schema: dict, section_text: str
) -> str:
    """Hash of everything that determines a reply: model, mode, prompt version (and its text, so an
    edit without a new version cannot serve stale replies), the reply schema and the section
    text."""
    payload = json.dumps(
        [model, mode, prompt, prompt_text, schema, section_text], ensure_ascii=False, sort_keys=True
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def cache_get(db, key: str) -> dict | None:
    if db is None:
        return None
    rows = list(db.query("SELECT reply, tokens_in, tokens_out FROM llm_cache WHERE key = ?", [key]))
    return rows[0] if rows else None


def cache_put(
    db,
    key: str,
    reply: str,
    *,
    model: str,
    mode: str,
    prompt: str,
    section: str,
    tokens_in: int,
    tokens_out: int,
) -> None:
    if db is None:
        return
    with db.atomic():
        db["llm_cache"].upsert(
            {
                "key": key,
                "model": model,
                "mode": mode,
                "prompt": prompt,
                "section": section,
                "reply": reply,
                "tokens_in": tokens_in,
                "tokens_out": tokens_out,
                "at": now(),
            },
            pk="key",
        )


def log_call(db, **row) -> None:
    if db is None:
        return
    with db.atomic():
        db["llm_calls"].insert(
            {**row, "at": now()}, alter=True
        )  # a log made by an earlier version gains the new columns
