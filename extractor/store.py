"""SQLite storage through sqlite-utils: documents, values, findings, runs.

A document is keyed by the sha256 of its bytes and written in one transaction with its values
and findings, so a crash or Ctrl-C never leaves half of a document behind.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

import sqlite_utils

from . import __version__
from .errors import StoreError
from .record import Record

SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    sha256 TEXT PRIMARY KEY, path TEXT, size INTEGER, encoding TEXT, kind TEXT,
    template TEXT, year INTEGER, agency TEXT, status TEXT, error TEXT,
    n_review INTEGER, run_id INTEGER, extracted_at TEXT, version TEXT
);
CREATE TABLE IF NOT EXISTS "values" (
    document TEXT NOT NULL REFERENCES documents(sha256), key TEXT NOT NULL, value,
    raw TEXT, start INTEGER, "end" INTEGER, rule TEXT, route TEXT, review INTEGER, reason TEXT,
    alternatives TEXT, PRIMARY KEY (document, key)
);
CREATE TABLE IF NOT EXISTS findings (
    id INTEGER PRIMARY KEY, document TEXT NOT NULL REFERENCES documents(sha256), "check" TEXT,
    kind TEXT, message TEXT, keys TEXT, expected REAL, actual REAL
);
CREATE INDEX IF NOT EXISTS findings_document ON findings(document);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY, command TEXT, started TEXT, finished TEXT, version TEXT,
    documents INTEGER, ok INTEGER, flagged INTEGER, failed INTEGER
);
"""


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def open_db(path: str | Path, create: bool = True) -> sqlite_utils.Database:
    """Open (and if needed create) an xxgk database, with a clear error when it cannot be."""
    path = Path(path)
    if not create and not path.exists():
        raise StoreError(f"{path}: no such database (run `xxgk extract … --db {path}` first)")
    try:
        db = sqlite_utils.Database(path)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA busy_timeout=30000")
        db.conn.executescript(SCHEMA)
    except sqlite3.DatabaseError as e:
        raise StoreError(f"{path}: cannot open as an xxgk database ({e})") from e
    return db


def start_run(db: sqlite_utils.Database, command: str) -> int:
    with db.atomic():
        return db["runs"].insert({"command": command, "started": now(), "version": __version__}).last_pk


def finish_run(db: sqlite_utils.Database, run_id: int, counts: dict) -> None:
    with db.atomic():
        db["runs"].update(run_id, {"finished": now(), **counts})


def save(db: sqlite_utils.Database, record: Record, path: str, run_id: int | None = None) -> None:
    """Write one document with its values and findings, all or nothing."""
    meta = record.fields
    doc = {
        "sha256": record.sha256, "path": path, "size": record.size, "encoding": record.encoding,
        "kind": record.kind, "template": record.template,
        "year": meta["meta.year"].value if "meta.year" in meta else None,
        "agency": meta["meta.agency"].value if "meta.agency" in meta else None,
        "status": record.status, "error": record.error, "n_review": len(record.review_keys()),
        "run_id": run_id, "extracted_at": now(), "version": __version__,
    }
    values = [
        {"document": record.sha256, "key": f.key, "value": f.value, "raw": f.raw, "start": f.start, "end": f.end,
         "rule": f.rule, "route": f.route, "review": int(f.review), "reason": f.reason,
         "alternatives": json.dumps(f.alternatives, ensure_ascii=False) if f.alternatives else None}
        for f in record.fields.values()
    ]
    findings = [
        {"document": record.sha256, "check": f.check, "kind": f.kind, "message": f.message,
         "keys": json.dumps(f.keys, ensure_ascii=False), "expected": f.expected, "actual": f.actual}
        for f in record.findings
    ]
    try:
        with db.atomic():
            db.execute('DELETE FROM "values" WHERE document = ?', [record.sha256])
            db.execute("DELETE FROM findings WHERE document = ?", [record.sha256])
            db["documents"].upsert(doc, pk="sha256")
            if values:
                db["values"].insert_all(values)
            if findings:
                db["findings"].insert_all(findings)
    except sqlite3.DatabaseError as e:
        raise StoreError(f"cannot write to the database ({e})") from e


def find_documents(db: sqlite_utils.Database, query: str) -> list[dict]:
    """Documents whose sha256 starts with, or whose agency or path contains, the query."""
    return list(db.query(
        "SELECT * FROM documents WHERE sha256 LIKE :prefix OR agency LIKE :part OR path LIKE :part ORDER BY path",
        {"prefix": query + "%", "part": f"%{query}%"},
    ))


def values_of(db: sqlite_utils.Database, sha256: str) -> dict[str, dict]:
    return {row["key"]: row for row in db.query('SELECT * FROM "values" WHERE document = ?', [sha256])}


def findings_of(db: sqlite_utils.Database, sha256: str) -> list[dict]:
    return list(db.query("SELECT * FROM findings WHERE document = ? ORDER BY id", [sha256]))
