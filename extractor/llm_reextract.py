"""Re-reading stored documents: the rules again, then the LLM route on the tables that need it,
saved back, with what changed per key. What `xxgk reextract reports.db --flagged [--refresh]`
runs."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from . import store
from .errors import XxgkError
from .ingest import Document, read_document
from .llm import LLMOutcome, fill_with_llm
from .llm_config import LLMConfig
from .pipeline import extract_document
from .record import Record

FLAGGED = ("status = 'flagged' OR id IN (SELECT document_id FROM findings WHERE kind IN "
           "('misreading_suspected', 'llm_failed', 'llm_budget'))")


@dataclass
class Reextracted:
    sha256: str
    path: str
    status_before: str
    status_after: str | None = None
    # key -> ((value, review) before, (value, review) after)
    changes: dict[str, tuple] = field(default_factory=dict)
    outcome: LLMOutcome | None = None
    error: str | None = None  # why the document could not be re-read (it is left as it was)


def reextract(db, config: LLMConfig, client=None, *, flagged_only: bool = True,
              refresh: bool = False, run_id: int | None = None, sleep=None) -> list[Reextracted]:
    """Re-read the stored documents (only the flagged ones by default: marked values, suspected
    misreadings, or an LLM call that failed or was over budget), send what needs it to the LLM
    (`refresh` bypasses the cache), save, and return the changes. `db` is a path or a Database."""
    return asyncio.run(reextract_async(db, config, client, flagged_only=flagged_only,
                                       refresh=refresh, run_id=run_id, sleep=sleep))


async def reextract_async(db, config: LLMConfig, client=None, *, flagged_only: bool = True,
                          refresh: bool = False, run_id: int | None = None,
                          sleep=None) -> list[Reextracted]:
    if not hasattr(db, "execute"):
        db = store.open_db(db, create=False)
    docs = (
        store.documents(db, FLAGGED) if flagged_only else store.documents(db, "status != 'failed'")
    )
    results, pairs = [], []
    for doc in docs:
        result = Reextracted(doc["sha256"], doc["path"], doc["status"])
        results.append(result)
        try:
            record, text = _reread(db, doc)
        except XxgkError as e:
            result.error = str(e)
            continue
        before = store.values_of(db, doc["sha256"])
        pairs.append((doc, result, record, text, before))
    outcomes = await fill_with_llm(
        [(r, t) for _, _, r, t, _ in pairs], config, client, db, refresh, sleep
    )
    for (doc, result, record, text, before), outcome in zip(pairs, outcomes):
        result.outcome = outcome
        result.status_after = record.status
        result.changes = _changes(before, record)
        _save(db, record, doc, run_id, text)
    return results


def _reread(db, doc: dict) -> tuple[Record, str]:
    """The document's text again: from its path when the file is unchanged, else the stored text."""
    path = Path(doc["path"])
    data = None
    try:
        data = path.read_bytes()
    except OSError:
        pass
    if data is not None and hashlib.sha256(data).hexdigest() == doc["sha256"]:
        document = read_document(data, doc["path"])
    else:
        text = store.text_of(db, doc["sha256"])
        if text is None:
            why = "is gone" if data is None else "has changed since it was read"
            raise XxgkError(
                f"{doc['path']} {why}, and the database keeps no text of it: extract it again"
            )
        document = Document(
            doc["path"], doc["sha256"], doc["size"], doc["encoding"], doc["kind"], text
        )
    return extract_document(document), document.text


def _changes(before: dict[str, dict], record: Record) -> dict[str, tuple]:
    out = {}
    for key, f in record.fields.items():
        row = before.get(key)
        old = (row["value"], bool(row["review"])) if row else (None, None)
        new = (f.value, f.review)
        if old != new:
            out[key] = (old, new)
    return out


def _save(db, record: Record, doc: dict, run_id, text: str) -> None:
    """Back under the same path, keeping what the row knew of the file (text, mtime) where the
    store takes it."""
    run = run_id if run_id is not None else doc.get("run_id")
    store.save(db, record, doc["path"], run, text=text, mtime_ns=doc.get("mtime_ns"))


def report_lines(results: list[Reextracted]) -> list[str]:
    """What `xxgk reextract` prints: per document its status before → after and each change, old →
    new."""
    lines = []
    for r in results:
        if r.error:
            lines.append(f"{r.path}: not re-read: {r.error}")
            continue
        sent = [f"{s.section} {s.status}" for s in (r.outcome.sections if r.outcome else [])]
        lines.append(
            f"{r.path}: {r.status_before} → {r.status_after}"
            + (f" (LLM: {', '.join(sent)})" if sent else "")
        )
        for key, (old, new) in r.changes.items():
            lines.append(f"  {key}: {_show(old)} → {_show(new)}")
    changed = sum(1 for r in results if r.changes)
    lines.append(
        f"{len(results)} documents re-read, {changed} changed, "
        f"{sum(1 for r in results if r.error)} not re-read"
    )
    return lines


def _show(state: tuple) -> str:
    value, review = state
    text = "—" if value is None else f"{value:g}" if isinstance(value, float) else str(value)
    return text + ("?" if review else "")
