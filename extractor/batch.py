"""Many files → records → database and JSON lines. The per-file work is pipeline.extract (pure)."""

from __future__ import annotations

import glob
import hashlib
import os
from pathlib import Path
from typing import Iterable

from .errors import InputError, XxgkError
from .pipeline import extract, failed_record
from .record import Record

SUFFIXES = {".txt", ".text", ".md", ".markdown", ".html", ".htm", ".xhtml", ".shtml", ".pdf", ".docx"}
MAX_BYTES = 50 * 1024 * 1024


def collect(paths: Iterable[str]) -> list[Path]:
    """Files named, files under folders (recursively, by suffix), and glob matches; sorted, unique."""
    found: dict[str, Path] = {}
    for arg in paths:
        p = Path(arg)
        if p.is_dir():
            for sub in sorted(p.rglob("*")):
                if sub.is_file() and sub.suffix.lower() in SUFFIXES:
                    found.setdefault(str(sub), sub)
        elif p.exists():
            found.setdefault(str(p), p)
        elif any(ch in arg for ch in "*?["):
            for match in sorted(glob.glob(arg, recursive=True)):
                if os.path.isfile(match):
                    found.setdefault(match, Path(match))
        else:
            found.setdefault(arg, p)  # reported as failed: no such file
    return list(found.values())


def file_sha256(path: Path) -> str | None:
    """The sha256 of a file's bytes, read in chunks (for files too big or too slow to parse)."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
    except OSError:
        return None
    return digest.hexdigest()


def read_file(path: Path, max_bytes: int = MAX_BYTES) -> Record:
    """Read and extract one file; never raises for a bad file: its record has status failed."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            return failed_record(None, str(path), InputError(f"file too large ({size:,} bytes; the limit is {max_bytes:,})"), file_sha256(path))
        data = path.read_bytes()
    except OSError as e:
        return failed_record(None, str(path), InputError(f"cannot read file: {e.strerror or e}"))
    try:
        return extract(data, str(path))
    except XxgkError as e:
        return failed_record(data, str(path), e)
    except Exception as e:  # a parser bug must not stop a bulk run: record it against the file
        return failed_record(data, str(path), RuntimeError(f"internal error while reading: {type(e).__name__}: {e}"))


def recheck(db) -> dict[str, int]:
    """Run the checks again over every stored document; returns counts of documents and findings by kind."""
    from . import store
    from .checks import run_checks

    counts = {"documents": 0, "without text": 0}
    # (a failed file and a report from before the statutory tables have no tables to check)
    for doc in store.documents(db, "status NOT IN ('failed', 'predates')"):
        text = store.text_of(db, doc["sha256"])
        if text is None:
            counts["without text"] += 1
            continue
        record = store.load_record(db, doc)
        record.findings = [f for f in record.findings if f.check.startswith("parse.")]
        record.findings += run_checks(record, text)
        store.save(db, record, doc["path"], doc["run_id"])
        counts["documents"] += 1
        for f in record.findings:
            counts[f.kind] = counts.get(f.kind, 0) + 1
    return counts
