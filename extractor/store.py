"""SQLite storage through sqlite-utils: documents, values, findings, runs.

A document is keyed by the sha256 of its bytes and written in one transaction with its values
and findings, so a crash or Ctrl-C never leaves half of a document behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import zlib
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import sqlite_utils

from . import __version__, spec
from .errors import DatabaseDamaged, DatabaseLocked, DatabaseReadOnly, NotXxgkDatabase, StoreError
from .formats import counted
from .limits import DB_BUSY_SECONDS
from .record import Field, Finding, Record

SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    id INTEGER PRIMARY KEY, sha256 TEXT NOT NULL UNIQUE, path TEXT, size INTEGER, encoding TEXT,
    kind TEXT, template TEXT, year INTEGER, agency TEXT, status TEXT, error TEXT,
    n_review INTEGER, run_id INTEGER, extracted_at TEXT, version TEXT, regions TEXT,
    mtime_ns INTEGER, geometry TEXT
);
CREATE INDEX IF NOT EXISTS documents_path ON documents(path);
CREATE TABLE IF NOT EXISTS texts (
    document_id INTEGER PRIMARY KEY REFERENCES documents(id), text TEXT  -- as read (older: zlib)
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
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY, document_id INTEGER NOT NULL REFERENCES documents(id), size INTEGER,
    mtime_ns INTEGER,
    run_id INTEGER
);
CREATE INDEX IF NOT EXISTS files_document ON files(document_id);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY, command TEXT, started TEXT, finished TEXT, version TEXT,
    documents INTEGER, ok INTEGER, flagged INTEGER, failed INTEGER, predates INTEGER
);
"""
# Values, findings and texts refer to their document by its integer id, not its sha256: a bulk
# run then appends to the values table instead of inserting all over it (2.5x faster to write,
# a quarter of the size: about 10 KB per report).
# `files` has one row per path read: the document its bytes are (two paths with the same bytes
# share one), with the size and mtime it had, so a run skips what it holds unchanged. A path read
# again moves to its new document, and a document no path refers to any more is deleted: one
# current row per path, never a failed row left beside the good one.
APPLICATION_ID = (
    0x78786B67  # "xxgk" in PRAGMA application_id: a file of another program is told apart
)


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def open_db(path: str | Path, create: bool = True, write: bool = True) -> sqlite_utils.Database:
    """Open an xxgk database; with `create`, make it if missing; with `write=False`, read-only
    (the read commands: a read-only file or folder is fine).

    Raises StoreError subclasses, each saying what to do: NotXxgkDatabase (another program's
    file, or not SQLite at all: it is never written to), DatabaseDamaged, DatabaseReadOnly,
    DatabaseLocked (after waiting limits.DB_BUSY_SECONDS for another program's write lock).
    """
    path = Path(path)
    if not path.exists():
        if not create:
            raise StoreError(f"{path}: no such database (run `xxgk extract … --db {path}` first)")
        if not path.parent.is_dir():
            raise StoreError(
                f"{path}: cannot create the database: there is no folder {path.parent}"
            )
        if (
            not os.access(path.parent if str(path.parent) else ".", os.W_OK)
            and path.parent.exists()
        ):
            raise DatabaseReadOnly(
                f"{path}: cannot create the database: its folder is read-only; give another --db"
            )
    elif not path.is_file():
        raise NotXxgkDatabase(f"{path}: not a file: give the path of a database file as --db")
    elif path.stat().st_size:
        with open(path, "rb") as f:
            head = f.read(16)
        if head != b"SQLite format 3\x00":
            raise NotXxgkDatabase(
                f"{path}: cannot open as an xxgk database: it is not an SQLite file; "
                f"it was not touched: give another --db"
            )
    try:
        conn = _connect(path, write)
        db = sqlite_utils.Database(conn)
        _check_ours(db, path)
        if write:
            _prepare(db)
    except sqlite3.Error as e:
        raise explain(path, e) from e
    return db


def _connect(path: Path, write: bool) -> sqlite3.Connection:
    if write:
        conn = sqlite3.connect(path, timeout=DB_BUSY_SECONDS)
    else:
        try:
            conn = sqlite3.connect(
                f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=DB_BUSY_SECONDS
            )
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except (
            sqlite3.OperationalError
        ):  # WAL in a read-only folder: no -shm can be made; nobody can write either
            conn = sqlite3.connect(f"{path.resolve().as_uri()}?immutable=1", uri=True)
    conn.execute(f"PRAGMA busy_timeout={int(DB_BUSY_SECONDS * 1000)}")
    return conn


def _check_ours(db: sqlite_utils.Database, path: Path) -> None:
    """Refuse (without writing) a database that is not xxgk's: tables of another program."""
    tables = set(db.table_names())
    if not tables:
        return
    app = db.execute("PRAGMA application_id").fetchone()[0]
    columns = {c.name for c in db["documents"].columns} if "documents" in tables else set()
    if "documents" in tables and "id" not in columns and "sha256" in columns:
        raise StoreError(
            f"{path}: made by an earlier xxgk (before 0.2), whose tables this version cannot "
            "extend: "
            f"extract into a new --db, or delete this one"
        )
    if app != APPLICATION_ID and not ({"id", "sha256", "status"} <= columns and "runs" in tables):
        listed = ", ".join(sorted(tables)[:5]) + (", …" if len(tables) > 5 else "")
        raise NotXxgkDatabase(
            f"{path}: not an xxgk database (an SQLite file of another program, with tables "
            f"{listed}); "
            f"it was not touched: give another --db"
        )


def _prepare(db: sqlite_utils.Database) -> None:
    """WAL, the schema, the application id; `files` filled from documents in a database made before
    it."""
    had_files = db["files"].exists()
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(
        "PRAGMA synchronous=NORMAL"
    )  # with WAL: never corrupt; a power cut may undo the last batch
    db.conn.executescript(SCHEMA)
    if "geometry" not in {c.name for c in db["documents"].columns}:  # (made before scans kept it)
        db.execute("ALTER TABLE documents ADD COLUMN geometry TEXT")
    if db.execute("PRAGMA application_id").fetchone()[0] != APPLICATION_ID:
        db.execute(f"PRAGMA application_id={APPLICATION_ID}")
    if not had_files:
        with writing(db):
            db.conn.execute(
                "INSERT OR IGNORE INTO files (path, document_id, size, mtime_ns, run_id) "
                "SELECT path, id, size, mtime_ns, run_id FROM documents WHERE path IS NOT NULL "
                "ORDER BY id DESC"
            )


def explain(path: str | Path, e: sqlite3.Error) -> StoreError:
    """An SQLite error as the StoreError that says what to do."""
    text = str(e)
    low = text.lower()
    if "malformed" in low or "disk image" in low or "not a database" in low:
        return DatabaseDamaged(
            f"{path} is damaged ({text}): recover what it holds with "
            f"`sqlite3 {path} .recover | sqlite3 recovered.db`, or extract again into a new --db"
        )
    if (
        "readonly" in low
        or "read-only" in low
        or ("unable to open" in low and not os.access(Path(path).parent, os.W_OK))
    ):
        return DatabaseReadOnly(
            f"{path} is read-only ({text}): show, flagged, findings and export still read it; "
            f"to write, make the file and its folder writable, or give another --db"
        )
    if "locked" in low or "busy" in low:
        holder = lock_holders(path)
        who = f" ({holder})" if holder else ""
        return DatabaseLocked(
            f"{path} is locked by another program{who}: waited {DB_BUSY_SECONDS:g} s for it; "
            f"let it finish (or close it) and run again, or give another --db"
        )
    if "full" in low:
        return StoreError(
            f"cannot write to the database: the disk is full ({text}); every document written "
            "is whole"
        )
    return StoreError(f"cannot write to the database {path} ({text})")


def db_path(db: sqlite_utils.Database) -> str:
    """The file a database was opened from (for messages)."""
    try:
        rows = db.execute("PRAGMA database_list").fetchall()
    except sqlite3.Error:
        rows = []
    return rows[0][2] if rows and rows[0][2] else "the database"


def lock_holders(path: str | Path) -> str:
    """Who holds a lock on the database (or its -shm file), from /proc/locks: "pid 123 sqlite3"; ""
    when unknown."""
    inodes = set()
    for p in (Path(path), Path(f"{path}-shm"), Path(f"{path}-wal")):
        try:
            st = p.stat()
            inodes.add(st.st_ino)
        except OSError:
            pass
    try:
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return ""
    pids = []
    for line in lines:
        parts = line.split()
        if len(parts) > 5 and parts[1] in ("POSIX", "OFDLCK", "FLOCK") and parts[4].isdigit():
            inode = parts[5].split(":")[-1]
            if inode.isdigit() and int(inode) in inodes and int(parts[4]) not in (os.getpid(), 0):
                pids.append(int(parts[4]))
    return ", ".join(f"pid {pid} {_command(pid)}".rstrip() for pid in sorted(set(pids)))


def _command(pid: int) -> str:
    try:
        return (
            Path(f"/proc/{pid}/cmdline")
            .read_bytes()
            .replace(b"\0", b" ")
            .decode("utf-8", "replace")
            .strip()[:80]
        )
    except OSError:
        return ""


@contextlib.contextmanager
def writing(db: sqlite_utils.Database):
    """A write transaction that takes the write lock first (BEGIN IMMEDIATE), so that a write held
    by another program is waited for (busy_timeout): a deferred transaction that has read first
    gets `database is locked` at once when it comes to write. Nested: a savepoint."""
    conn = db.conn
    if conn.in_transaction:
        with db.atomic():
            yield db
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        conn.rollback()
        raise
    conn.commit()


def start_run(db: sqlite_utils.Database, command: str) -> int:
    """Record a run's start; its id."""
    with writing(db):
        runs = db.table("runs").insert({"command": command, "started": now(),
                                         "version": __version__})
    if runs.last_pk is None:  # SQLite gives every row inserted its rowid
        raise StoreError(f"{db_path(db)}: the run was not recorded")
    return runs.last_pk


def finish_run(db: sqlite_utils.Database, run_id: int, counts: dict | None = None) -> None:
    """Close a run. Without `counts`, the run's files are counted from the database by status:
    exactly what it stored, even when the run was interrupted mid-batch."""
    if counts is None:
        rows = db.execute(
            "SELECT d.status, count(*) FROM files f JOIN documents d ON d.id = f.document_id "
            "WHERE f.run_id = ? GROUP BY d.status",
            [run_id],
        ).fetchall()
        counts = {"ok": 0, "flagged": 0, "failed": 0, "predates": 0, **dict(rows)}
        counts["documents"] = sum(n for _, n in rows)
    with writing(db):
        # alter: a database made before the `predates` status gets its column
        db.table("runs").update(run_id, {"finished": now(), **counts}, alter=True)


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
    text: str | None  # the text read; None: leave the stored text as it is

    def record(self) -> Record:
        doc = self.document
        fields = {row[0]: field_from_row(*row) for row in self.values}
        findings = [
            Finding(c, k, m, json.loads(keys or "[]"), e, a)
            for c, k, m, keys, e, a in self.findings
        ]
        regions = {k: tuple(v) for k, v in json.loads(doc.get("regions") or "{}").items()}
        geometry = json.loads(doc.get("geometry") or "{}")
        return Record(
            self.name,
            self.sha256,
            doc["size"],
            doc["encoding"],
            doc["kind"],
            doc["template"],
            fields,
            findings,
            self.error,
            regions,
            self.text,
            self.status == "predates",
            geometry,
        )


def pack(record: Record, text: str | None = None) -> Packed:
    """The rows that store a record (no I/O: workers pack what they read)."""
    meta = record.fields
    status = record.status
    document = {
        "sha256": record.sha256,
        "size": record.size,
        "encoding": record.encoding,
        "kind": record.kind,
        "template": record.template,
        "year": meta["meta.year"].value if "meta.year" in meta else None,
        "agency": meta["meta.agency"].value if "meta.agency" in meta else None,
        "status": status,
        "error": record.error,
        "n_review": len(record.review_keys()),
        "regions": json.dumps(record.regions),
        "geometry": json.dumps(record.geometry) if record.geometry else None,
    }
    mark_unstorable(record)
    values = [
        (
            f.key,
            _storable(f.value),
            f.raw,
            f.start,
            f.end,
            f.rule,
            f.route,
            int(f.review),
            f.reason,
            json.dumps(f.alternatives, ensure_ascii=False) if f.alternatives else None,
            f.page,
            json.dumps(list(f.box)) if f.box else None,
        )
        for f in record.fields.values()
    ]
    findings = [
        (
            f.check,
            f.kind,
            f.message,
            json.dumps(f.keys, ensure_ascii=False),
            _real(f.expected),
            _real(f.actual),
        )
        for f in record.findings
    ]
    # The text as TEXT, not compressed: any SQLite client and Datasette show it, and a value's
    # span (start, end) can be followed in it (README "The database": the size this costs).
    return Packed(
        record.name, record.sha256, status, record.error, document, values, findings, text
    )


INT64 = (-(1 << 63), (1 << 63) - 1)
UNSTORABLE = "too large for an SQLite integer: stored as text, exactly"


def mark_unstorable(record: Record) -> None:
    """Mark every value past SQLite's 64-bit INTEGER (a 20-digit cell): it is kept exactly, as
    text in the database, and marked for review with UNSTORABLE. A value is never dropped, and
    its batch never fails for it."""
    for f in record.fields.values():
        if (
            isinstance(f.value, int)
            and not INT64[0] <= f.value <= INT64[1]
            and f.reason != UNSTORABLE
        ):
            f.review, f.reason = True, UNSTORABLE


def _storable(value):
    return str(value) if isinstance(value, int) and not INT64[0] <= value <= INT64[1] else value


def _real(x):
    return float(x) if isinstance(x, int) and not INT64[0] <= x <= INT64[1] else x


def field_from_row(
    key, value, raw, start, end, rule, route, review, reason, alternatives, page, box
) -> Field:
    """A Field from a stored values row (its columns after document_id)."""
    if reason == UNSTORABLE and isinstance(value, str):
        value = int(value)
    return Field(
        key,
        value,
        raw,
        start,
        end,
        rule or "",
        route or "rules",
        bool(review),
        reason or "",
        json.loads(alternatives) if alternatives else [],
        page,
        tuple(json.loads(box)) if box else None,
    )


def save(
    db: sqlite_utils.Database,
    record: Record | Packed,
    path: str,
    run_id: int | None = None,
    text: str | None = None,
    mtime_ns: int | None = None,
    size: int | None = None,
) -> None:
    """Write one document with its values, findings and text, all or nothing, and make it the
    current document of `path` (the one it replaces, if no other path refers to it, is deleted).
    A Packed record brings its own text; for a Record, `text` (None: the stored text is left as
    it is).
    Raises StoreError (explain()); OverflowError and the like for a value SQLite cannot bind."""
    packed = record if isinstance(record, Packed) else pack(record, text)
    doc = {
        **packed.document,
        "path": path,
        "run_id": run_id,
        "extracted_at": now(),
        "version": __version__,
        "mtime_ns": mtime_ns,
    }
    try:
        with writing(db):
            # plain sqlite3 calls: sqlite-utils wraps each statement in a savepoint of its own
            conn = db.conn
            doc_id = conn.execute(DOCUMENT_SQL, [doc[c] for c in DOCUMENT_COLUMNS]).fetchone()[0]
            conn.execute('DELETE FROM "values" WHERE document_id = ?', [doc_id])
            conn.execute("DELETE FROM findings WHERE document_id = ?", [doc_id])
            # Plain executemany for the many rows: sqlite-utils' insert_all costs more than the
            # parsing.
            if packed.values:
                conn.executemany(VALUES_SQL, [(doc_id, *row) for row in packed.values])
            if packed.findings:
                conn.executemany(FINDINGS_SQL, [(doc_id, *row) for row in packed.findings])
            if packed.text is not None:
                conn.execute(
                    "INSERT OR REPLACE INTO texts (document_id, text) VALUES (?, ?)",
                    [doc_id, packed.text],
                )
            _point(conn, path, doc_id, doc["size"] if size is None else size, mtime_ns, run_id)
    except UNBINDABLE:
        raise  # this document's data, not the database: the Writer fails the document alone
    except sqlite3.DatabaseError as e:
        raise explain(db_path(db), e) from e


def _point(
    conn: sqlite3.Connection,
    path: str,
    doc_id: int,
    size: int | None,
    mtime_ns: int | None,
    run_id: int | None,
) -> None:
    """`path` now reads as document `doc_id`; the document it read as before goes if nothing else
    refers to it."""
    row = conn.execute("SELECT document_id FROM files WHERE path = ?", [path]).fetchone()
    if mtime_ns is None and row is not None:
        return  # a stored document checked or re-read again: its path's file row stands as it was
    conn.execute(
        "INSERT INTO files (path, document_id, size, mtime_ns, run_id) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT(path) DO UPDATE SET document_id = excluded.document_id, size = excluded.size, "
        "mtime_ns = excluded.mtime_ns, run_id = excluded.run_id",
        [path, doc_id, size, mtime_ns, run_id],
    )
    old = row[0] if row else None
    if (
        old is not None
        and old != doc_id
        and not conn.execute("SELECT 1 FROM files WHERE document_id = ? LIMIT 1", [old]).fetchone()
    ):
        for table in ('"values"', "findings", "texts"):
            conn.execute(f"DELETE FROM {table} WHERE document_id = ?", [old])
        conn.execute("DELETE FROM documents WHERE id = ?", [old])


DOCUMENT_COLUMNS = (
    "sha256", "path", "size", "encoding", "kind", "template", "year", "agency", "status", "error",
    "n_review", "run_id", "extracted_at", "version", "regions", "mtime_ns", "geometry",
)
# A document read again keeps its id (INSERT OR REPLACE would give it a new one).
DOCUMENT_SQL = (
    f"INSERT INTO documents ({', '.join(DOCUMENT_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(DOCUMENT_COLUMNS))}) "
    "ON CONFLICT(sha256) DO UPDATE "
    f"SET {', '.join(f'{c} = excluded.{c}' for c in DOCUMENT_COLUMNS[1:])} RETURNING id"
)
VALUE_COLUMNS = (
    "key", "value", "raw", "start", "end", "rule", "route", "review", "reason", "alternatives",
    "page", "box",
)
VALUES_SQL = (
    'INSERT INTO "values" (document_id, key, value, raw, start, '
    '"end", rule, route, review, reason, alternatives, page, box) '
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
FINDING_ROW = ("check", "kind", "message", "keys", "expected", "actual")
FINDINGS_SQL = (
    'INSERT INTO findings (document_id, "check", kind, message, '
    "keys, expected, actual) VALUES (?, ?, ?, ?, ?, ?, ?)"
)


def find_documents(db: sqlite_utils.Database, query: str) -> list[dict]:
    """Documents whose sha256 starts with, or whose agency or path contains, the query."""
    return list(
        db.query(
            "SELECT * FROM documents WHERE sha256 LIKE :prefix OR "
            "agency LIKE :part OR path LIKE :part ORDER BY path",
            {"prefix": query + "%", "part": f"%{query}%"},
        )
    )


ID_OF = "(SELECT id FROM documents WHERE sha256 = ?)"


def values_of(db: sqlite_utils.Database, sha256: str) -> dict[str, dict]:
    """A document's values by key, in the canonical order of fields.tsv."""
    order = _key_order()
    rows = db.query(f'SELECT * FROM "values" WHERE document_id = {ID_OF}', [sha256])
    return {
        row["key"]: row for row in sorted(rows, key=lambda row: order.get(row["key"], len(order)))
    }


def _key_order() -> dict[str, int]:
    return {f.key: i for i, f in enumerate(spec.fields())}


def findings_of(db: sqlite_utils.Database, sha256: str) -> list[dict]:
    return list(
        db.query(f"SELECT * FROM findings WHERE document_id = {ID_OF} ORDER BY id", [sha256])
    )


def text_of(db: sqlite_utils.Database, sha256: str) -> str | None:
    """The text a document was read as (stored as TEXT; zlib-compressed by earlier versions)."""
    rows = list(db.query(f"SELECT text FROM texts WHERE document_id = {ID_OF}", [sha256]))
    if not rows:
        return None
    text = rows[0]["text"]
    return zlib.decompress(text).decode("utf-8") if isinstance(text, bytes) else text


def load_record(db: sqlite_utils.Database, doc: dict) -> Record:
    """A stored document back as a Record (values, provenance, findings, regions)."""
    values = [
        tuple(row.get(c) for c in VALUE_COLUMNS) for row in values_of(db, doc["sha256"]).values()
    ]
    findings = [tuple(r[c] for c in FINDING_ROW) for r in findings_of(db, doc["sha256"])]
    return Packed(
        doc["path"], doc["sha256"], doc["status"], doc["error"], doc, values, findings, None
    ).record()


def documents(db: sqlite_utils.Database, where: str = "1", params=()) -> list[dict]:
    return list(db.query(f"SELECT * FROM documents WHERE {where} ORDER BY path", params))


FINDING_COLUMNS = (
    "path", "agency", "year", "template", "check", "kind", "message", "keys", "expected", "actual",
    "sha256",
)


def all_findings(
    db: sqlite_utils.Database, kind: str | None = None, check: str | None = None
) -> list[dict]:
    where, params = ["1"], []
    if kind:
        where.append("f.kind = ?")
        params.append(kind)
    if check:
        where.append('f."check" = ?')
        params.append(check)
    sql = (
        'SELECT d.path, d.agency, d.year, d.template, f."check", '
        'f.kind, f.message, f.keys, f.expected, f.actual, d.sha256 '
        "FROM findings f JOIN documents d ON d.id = f.document_id "
        f"WHERE {' AND '.join(where)} ORDER BY d.path, f.id"
    )
    return list(db.query(sql, params))


def flagged(db: sqlite_utils.Database) -> list[dict]:
    """Documents with values marked for review, failed, predating the statutory tables, or with
    report defects or suspected misreadings."""
    out = []
    for doc in documents(db):
        reasons = []
        if doc["status"] in ("failed", "predates"):
            reasons.append(f"{doc['status']}: {doc['error']}")
        marked = list(
            db.query(
                'SELECT reason, count(*) AS n FROM "values" '
                "WHERE document_id = ? AND review = 1 GROUP BY reason ORDER BY n DESC",
                [doc["id"]],
            )
        )
        reasons += [f"{counted(r['n'], 'value')} marked: {r['reason']}" for r in marked]
        found = db.query(
            "SELECT kind, message FROM findings WHERE document_id = ? AND "
            "kind IN ('report_defect', 'misreading_suspected') ORDER BY id",
            [doc["id"]],
        )
        reasons += [f"{r['kind']}: {r['message']}" for r in found]
        if reasons:
            out.append({**doc, "reasons": reasons})
    return out


def already_read(
    db: sqlite_utils.Database, path: str, size: int, mtime_ns: int, skip_failed: bool = False
) -> dict | None:
    """The stored document for this path, if the file is unchanged and was read by this version.
    A file that failed is read again (its failure may have passed) unless `skip_failed`."""
    failed = "" if skip_failed else "AND d.status != 'failed'"
    rows = list(
        db.query(
            "SELECT d.* FROM files f JOIN documents d ON d.id = f.document_id "
            "WHERE f.path = ? AND f.mtime_ns = ? "
            f"AND f.size = ? AND d.version = ? {failed} LIMIT 1",
            [path, mtime_ns, size, __version__],
        )
    )
    return rows[0] if rows else None


class Writer:
    """The single writer of a run: commits documents in batches, each batch one transaction.

    A document whose values SQLite cannot take fails alone: the batch is written again document by
    document, and that one is stored as failed with the reason. Database faults raise StoreError."""

    def __init__(self, db: sqlite_utils.Database, run_id: int | None, batch: int = 100):
        self.db, self.run_id, self.batch = db, run_id, batch
        self.pending: list[tuple[Record | Packed, str, int | None, int | None]] = []

    def add(
        self,
        record: Record | Packed,
        path: str,
        mtime_ns: int | None = None,
        size: int | None = None,
    ) -> None:
        self.pending.append((record, path, mtime_ns, size))
        if len(self.pending) >= self.batch:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        try:
            with writing(self.db):
                for item in self.pending:
                    self._save(*item)
        except UNBINDABLE:
            for item in self.pending:
                self._save_alone(*item)
        except sqlite3.DatabaseError as e:
            raise explain(db_path(self.db), e) from e
        self.pending = []

    def _save(self, record, path, mtime_ns, size) -> None:
        text = record.text if isinstance(record, Record) else None  # a Packed record brings its own
        save(self.db, record, path, self.run_id, text, mtime_ns, size)

    def _save_alone(self, record, path, mtime_ns, size) -> None:
        try:
            self._save(record, path, mtime_ns, size)
        except UNBINDABLE as e:
            from .pipeline import failed_record

            reason = StoreError(f"cannot store its values ({type(e).__name__}: {e})")
            failed = failed_record(None, record.name, reason, record.sha256)
            save(self.db, failed, path, self.run_id, None, mtime_ns, size)


# What one document's data can raise when bound (the batch is then written document by document).
UNBINDABLE = (
    OverflowError,
    ValueError,
    TypeError,
    UnicodeError,
    sqlite3.InterfaceError,
    sqlite3.ProgrammingError,
)


class Lock:
    """One `xxgk extract` at a time per database: a second one refuses clearly instead of
    interleaving."""

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
            raise StoreError(
                f"another xxgk extract (pid {holder}) is writing to {str(self.path)[:-5]}: "
                "wait for it to finish, or use another --db"
            )
        except OSError as e:
            raise DatabaseReadOnly(
                f"{str(self.path)[:-5]} is read-only: its lock file cannot be written beside it "
                f"({e.strerror}): show, flagged, findings and export still read it; to write, make "
                f"the file and its folder writable, or give another --db"
            ) from e
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
