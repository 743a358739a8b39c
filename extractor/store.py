"""SQLite storage through sqlite-utils: documents, values, findings, runs.

A document is keyed by the sha256 of its bytes and written in one transaction with its values
and findings, so a crash or Ctrl-C never leaves half of a document behind.
"""

from __future__ import annotations

import json
import sqlite3
import zlib
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import sqlite_utils

from . import __version__, spec
from .errors import StoreError
from .record import Field, Finding, Record

SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    id INTEGER PRIMARY KEY, sha256 TEXT NOT NULL UNIQUE, path TEXT, size INTEGER, encoding TEXT, kind TEXT,
    template TEXT, year INTEGER, agency TEXT, status TEXT, error TEXT,
    n_review INTEGER, run_id INTEGER, extracted_at TEXT, version TEXT, regions TEXT,
    mtime_ns INTEGER, geometry TEXT
);
CREATE INDEX IF NOT EXISTS documents_path ON documents(path);
CREATE TABLE IF NOT EXISTS texts (
    document_id INTEGER PRIMARY KEY REFERENCES documents(id), text BLOB  -- zlib-compressed UTF-8
);
CREATE TABLE IF NOT EXISTS "values" (
    document_id INTEGER NOT NULL REFERENCES documents(id), key TEXT NOT NULL, value,
    raw TEXT, start INTEGER, "end" INTEGER, rule TEXT, route TEXT, review INTEGER, reason TEXT,
    alternatives TEXT, page INTEGER, box TEXT, PRIMARY KEY (document_id, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS findings (
    id INTEGER PRIMARY KEY, document_id INTEGER NOT NULL REFERENCES documents(id), "check" TEXT,
    kind TEXT, message TEXT, keys TEXT, expected REAL, actual REAL
);
CREATE INDEX IF NOT EXISTS findings_document ON findings(document_id);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY, command TEXT, started TEXT, finished TEXT, version TEXT,
    documents INTEGER, ok INTEGER, flagged INTEGER, failed INTEGER
);
"""
# Values, findings and texts refer to their document by its integer id, not its sha256: a bulk
# run then appends to the values table instead of inserting all over it (2.5x faster to write,
# a quarter of the size: about 10 KB per report).


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
        db.execute("PRAGMA synchronous=NORMAL")  # with WAL: never corrupt; a power cut may undo the last batch
        db.execute("PRAGMA busy_timeout=30000")
        if db["documents"].exists() and "id" not in {c.name for c in db["documents"].columns}:
            raise StoreError(f"{path}: made by an earlier xxgk (before 0.2), whose tables this version cannot extend: "
                             f"extract into a new --db, or delete this one")
        db.conn.executescript(SCHEMA)
        if "geometry" not in {c.name for c in db["documents"].columns}:  # (made before 0.2's scans)
            db.execute("ALTER TABLE documents ADD COLUMN geometry TEXT")
    except sqlite3.DatabaseError as e:
        raise StoreError(f"{path}: cannot open as an xxgk database ({e})") from e
    return db


def start_run(db: sqlite_utils.Database, command: str) -> int:
    with db.atomic():
        return db["runs"].insert({"command": command, "started": now(), "version": __version__}).last_pk


def finish_run(db: sqlite_utils.Database, run_id: int, counts: dict) -> None:
    with db.atomic():
        db["runs"].update(run_id, {"finished": now(), **counts})


@dataclass
class Packed:
    """A record as the rows the database stores (store.pack). Workers send records packed: the
    writer binds the rows as they are, and the main process rebuilds a record only when it needs
    one (record()). Status and error are kept, as a Record has them."""

    name: str
    sha256: str
    status: str
    error: str | None
    document: dict  # the documents columns that come from the record
    values: list[tuple]  # VALUES_SQL's columns after document_id
    findings: list[tuple]  # FINDINGS_SQL's columns after document_id
    text: bytes | None  # zlib-compressed UTF-8; None: leave the stored text as it is

    def record(self) -> Record:
        doc = self.document
        fields = {row[0]: field_from_row(*row) for row in self.values}
        findings = [Finding(c, k, m, json.loads(keys or "[]"), e, a) for c, k, m, keys, e, a in self.findings]
        regions = {k: tuple(v) for k, v in json.loads(doc.get("regions") or "{}").items()}
        text = zlib.decompress(self.text).decode("utf-8") if self.text is not None else None
        geometry = json.loads(doc.get("geometry") or "{}")
        return Record(self.name, self.sha256, doc["size"], doc["encoding"], doc["kind"], doc["template"], fields, findings,
                      self.error, regions, text, geometry)


def pack(record: Record, text: str | None = None) -> Packed:
    """The rows that store a record (no I/O: workers pack what they read)."""
    meta = record.fields
    status = record.status
    document = {
        "sha256": record.sha256, "size": record.size, "encoding": record.encoding, "kind": record.kind,
        "template": record.template,
        "year": meta["meta.year"].value if "meta.year" in meta else None,
        "agency": meta["meta.agency"].value if "meta.agency" in meta else None,
        "status": status, "error": record.error, "n_review": len(record.review_keys()), "regions": json.dumps(record.regions),
        "geometry": json.dumps(record.geometry) if record.geometry else None,
    }
    values = [
        (f.key, f.value, f.raw, f.start, f.end, f.rule, f.route, int(f.review), f.reason,
         json.dumps(f.alternatives, ensure_ascii=False) if f.alternatives else None,
         f.page, json.dumps(list(f.box)) if f.box else None)
        for f in record.fields.values()
    ]
    findings = [
        (f.check, f.kind, f.message, json.dumps(f.keys, ensure_ascii=False), f.expected, f.actual)
        for f in record.findings
    ]
    blob = zlib.compress(text.encode("utf-8"), 1) if text is not None else None  # fast: texts are kept to check again, not archived
    return Packed(record.name, record.sha256, status, record.error, document, values, findings, blob)


def field_from_row(key, value, raw, start, end, rule, route, review, reason, alternatives, page, box) -> Field:
    """A Field from a stored values row (its columns after document_id)."""
    return Field(key, value, raw, start, end, rule or "", route or "rules", bool(review), reason or "",
                 json.loads(alternatives) if alternatives else [], page, tuple(json.loads(box)) if box else None)


def save(db: sqlite_utils.Database, record: Record | Packed, path: str, run_id: int | None = None, text: str | None = None,
         mtime_ns: int | None = None) -> None:
    """Write one document with its values, findings and text, all or nothing. A Packed record
    brings its own text; for a Record, `text` (None: the stored text is left as it is)."""
    packed = record if isinstance(record, Packed) else pack(record, text)
    doc = {**packed.document, "path": path, "run_id": run_id, "extracted_at": now(), "version": __version__, "mtime_ns": mtime_ns}
    try:
        with db.atomic():
            conn = db.conn  # plain sqlite3 calls: sqlite-utils wraps each statement in a savepoint of its own
            doc_id = conn.execute(DOCUMENT_SQL, [doc[c] for c in DOCUMENT_COLUMNS]).fetchone()[0]
            conn.execute('DELETE FROM "values" WHERE document_id = ?', [doc_id])
            conn.execute("DELETE FROM findings WHERE document_id = ?", [doc_id])
            # Plain executemany for the many rows: sqlite-utils' insert_all costs more than the parsing.
            if packed.values:
                conn.executemany(VALUES_SQL, [(doc_id, *row) for row in packed.values])
            if packed.findings:
                conn.executemany(FINDINGS_SQL, [(doc_id, *row) for row in packed.findings])
            if packed.text is not None:
                conn.execute("INSERT OR REPLACE INTO texts (document_id, text) VALUES (?, ?)", [doc_id, packed.text])
    except sqlite3.DatabaseError as e:
        raise StoreError(f"cannot write to the database ({e})") from e


DOCUMENT_COLUMNS = ("sha256", "path", "size", "encoding", "kind", "template", "year", "agency", "status", "error",
                    "n_review", "run_id", "extracted_at", "version", "regions", "mtime_ns",
                    "geometry")
# A document read again keeps its id (INSERT OR REPLACE would give it a new one).
DOCUMENT_SQL = (f"INSERT INTO documents ({', '.join(DOCUMENT_COLUMNS)}) VALUES ({', '.join('?' * len(DOCUMENT_COLUMNS))}) "
                f"ON CONFLICT(sha256) DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in DOCUMENT_COLUMNS[1:])} RETURNING id")
VALUE_COLUMNS = ("key", "value", "raw", "start", "end", "rule", "route", "review", "reason", "alternatives", "page", "box")
VALUES_SQL = ('INSERT INTO "values" (document_id, key, value, raw, start, "end", rule, route, review, reason, alternatives, page, box) '
              "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
FINDING_ROW = ("check", "kind", "message", "keys", "expected", "actual")
FINDINGS_SQL = 'INSERT INTO findings (document_id, "check", kind, message, keys, expected, actual) VALUES (?, ?, ?, ?, ?, ?, ?)'


def find_documents(db: sqlite_utils.Database, query: str) -> list[dict]:
    """Documents whose sha256 starts with, or whose agency or path contains, the query."""
    return list(db.query(
        "SELECT * FROM documents WHERE sha256 LIKE :prefix OR agency LIKE :part OR path LIKE :part ORDER BY path",
        {"prefix": query + "%", "part": f"%{query}%"},
    ))


ID_OF = "(SELECT id FROM documents WHERE sha256 = ?)"


def values_of(db: sqlite_utils.Database, sha256: str) -> dict[str, dict]:
    """A document's values by key, in the canonical order of fields.tsv."""
    order = _key_order()
    rows = db.query(f'SELECT * FROM "values" WHERE document_id = {ID_OF}', [sha256])
    return {row["key"]: row for row in sorted(rows, key=lambda row: order.get(row["key"], len(order)))}


def _key_order() -> dict[str, int]:
    return {f.key: i for i, f in enumerate(spec.fields())}


def findings_of(db: sqlite_utils.Database, sha256: str) -> list[dict]:
    return list(db.query(f"SELECT * FROM findings WHERE document_id = {ID_OF} ORDER BY id", [sha256]))


def text_of(db: sqlite_utils.Database, sha256: str) -> str | None:
    rows = list(db.query(f"SELECT text FROM texts WHERE document_id = {ID_OF}", [sha256]))
    return zlib.decompress(rows[0]["text"]).decode("utf-8") if rows else None


def load_record(db: sqlite_utils.Database, doc: dict) -> Record:
    """A stored document back as a Record (values, provenance, findings, regions)."""
    values = [tuple(row.get(c) for c in VALUE_COLUMNS) for row in values_of(db, doc["sha256"]).values()]
    findings = [tuple(r[c] for c in FINDING_ROW) for r in findings_of(db, doc["sha256"])]
    return Packed(doc["path"], doc["sha256"], doc["status"], doc["error"], doc, values, findings, None).record()


def documents(db: sqlite_utils.Database, where: str = "1", params=()) -> list[dict]:
    return list(db.query(f"SELECT * FROM documents WHERE {where} ORDER BY path", params))


FINDING_COLUMNS = ("path", "agency", "year", "template", "check", "kind", "message", "keys", "expected", "actual", "sha256")


def all_findings(db: sqlite_utils.Database, kind: str | None = None, check: str | None = None) -> list[dict]:
    where, params = ["1"], []
    if kind:
        where.append("f.kind = ?")
        params.append(kind)
    if check:
        where.append('f."check" = ?')
        params.append(check)
    sql = (f"SELECT d.path, d.agency, d.year, d.template, f.\"check\", f.kind, f.message, f.keys, f.expected, f.actual, d.sha256 "
           f"FROM findings f JOIN documents d ON d.id = f.document_id WHERE {' AND '.join(where)} ORDER BY d.path, f.id")
    return list(db.query(sql, params))


def flagged(db: sqlite_utils.Database) -> list[dict]:
    """Documents with values marked for review, failed, or with report defects or suspected misreadings."""
    out = []
    for doc in documents(db):
        reasons = []
        if doc["status"] == "failed":
            reasons.append(f"failed: {doc['error']}")
        marked = list(db.query('SELECT reason, count(*) AS n FROM "values" WHERE document_id = ? AND review = 1 GROUP BY reason ORDER BY n DESC', [doc["id"]]))
        reasons += [f"{r['n']} values marked: {r['reason']}" for r in marked]
        found = db.query("SELECT kind, message FROM findings WHERE document_id = ? AND kind IN ('report_defect', 'misreading_suspected') ORDER BY id", [doc["id"]])
        reasons += [f"{r['kind']}: {r['message']}" for r in found]
        if reasons:
            out.append({**doc, "reasons": reasons})
    return out


def already_read(db: sqlite_utils.Database, path: str, size: int, mtime_ns: int) -> dict | None:
    """The stored document for this path, if the file is unchanged and was read by this version."""
    rows = list(db.query("SELECT * FROM documents WHERE path = ? AND mtime_ns = ? AND version = ? AND (size = ? OR status = 'failed') LIMIT 1",
                         [path, mtime_ns, __version__, size]))
    return rows[0] if rows else None


class Writer:
    """The single writer of a run: commits documents in batches, each batch one transaction."""

    def __init__(self, db: sqlite_utils.Database, run_id: int | None, batch: int = 100):
        self.db, self.run_id, self.batch = db, run_id, batch
        self.pending: list[tuple[Record | Packed, str, int | None]] = []

    def add(self, record: Record | Packed, path: str, mtime_ns: int | None = None) -> None:
        self.pending.append((record, path, mtime_ns))
        if len(self.pending) >= self.batch:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        try:
            with self.db.atomic():
                for record, path, mtime_ns in self.pending:
                    text = record.text if isinstance(record, Record) else None  # a Packed record brings its own
                    save(self.db, record, path, self.run_id, text, mtime_ns)
        except sqlite3.DatabaseError as e:
            raise StoreError(f"cannot write to the database ({e})") from e
        self.pending = []


class Lock:
    """One `xxgk extract` at a time per database: a second one refuses clearly instead of interleaving."""

    def __init__(self, db_path: str | Path):
        self.path = Path(str(db_path) + ".lock")
        self.handle = None

    def __enter__(self):
        import fcntl
        import os

        try:
            self.handle = open(self.path, "a+")
            fcntl.flock(self.handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.handle.seek(0)
            holder = self.handle.read().strip() or "?"
            self.handle.close()
            raise StoreError(f"another xxgk extract (pid {holder}) is writing to {str(self.path)[:-5]}: wait for it to finish, or use another --db")
        except OSError as e:
            raise StoreError(f"cannot write next to {str(self.path)[:-5]} ({e.strerror})") from e
        self.handle.seek(0)
        self.handle.truncate()
        self.handle.write(str(os.getpid()))
        self.handle.flush()
        return self

    def __exit__(self, *exc):
        import fcntl

        if self.handle:
            fcntl.flock(self.handle, fcntl.LOCK_UN)
            self.handle.close()
