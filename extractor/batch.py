"""Many files → records → database and JSON lines. The per-file work is pipeline.extract (pure)."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import stat
import sys
from pathlib import Path
from typing import Iterable

from .errors import InputError, LimitError, OutputError, XxgkError
from .limits import MAX_FILE_BYTES
from .pipeline import extract, failed_record
from .record import Record

MAX_BYTES = MAX_FILE_BYTES


def collect(paths: Iterable[str]) -> list[Path]:
    """The files a run reads from `paths` (bulk.collect: folders by suffix, globs), as a list.
    Raises UsageError for a path that does not exist."""
    from .bulk import collect as files_of

    return files_of(paths).files


_ESCAPES = {
    **{c: f"\\x{c:02x}" for c in range(0x20)},
    0x7F: "\\x7f",
    ord("\n"): "\\n",
    ord("\t"): "\\t",
    ord("\r"): "\\r",
}


def display_name(path: Path | str) -> str:
    """A path as xxgk shows and stores it: bytes that are not UTF-8 as `\\xff`, control characters
    (a newline in a name) as `\\n` or `\\x1b`, so every name is one printable line and valid text
    for the database and JSON. Names that are plain UTF-8 are unchanged."""
    text = os.fsencode(path).decode("utf-8", "backslashreplace")
    return text.translate(_ESCAPES)


def file_sha256(path: Path) -> str | None:
    """The sha256 of a regular file's bytes, read in chunks; None for what cannot be read, and
    for pipes and devices (never opened: a pipe would block, /dev/zero never ends)."""
    digest = hashlib.sha256()
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return None
        with open(os.open(path, os.O_RDONLY | os.O_NONBLOCK), "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
    except OSError:
        return None
    return digest.hexdigest()


_SPECIAL = [
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISDIR, "a folder"),
]


def _special(mode: int) -> str | None:
    return (
        next((what for test, what in _SPECIAL if test(mode)), "not a regular file")
        if not stat.S_ISREG(mode)
        else None
    )


def read_bytes(path: Path, max_bytes: int = MAX_BYTES) -> bytes:
    """A regular file's bytes, at most `max_bytes`. Raises InputError for a pipe, a device or a
    socket (refused before it is opened) and LimitError for a file over the limit (the size on
    disk is checked first, and the read stops past the limit whatever stat said)."""
    try:
        st = os.stat(path)
        special = _special(st.st_mode)
        if special:
            raise InputError(f"{special}, not a file: not read")
        if st.st_size > max_bytes:
            raise LimitError(f"file too large ({st.st_size:,} bytes; the limit is {max_bytes:,})")
        with open(os.open(path, os.O_RDONLY | os.O_NONBLOCK), "rb") as f:
            data = f.read(max_bytes + 1)
    except OSError as e:
        raise InputError(f"cannot read file: {e.strerror or e}") from e
    if len(data) > max_bytes:
        raise LimitError(
            f"file too large (more than {max_bytes:,} bytes; the limit is {max_bytes:,})"
        )
    return data


def read_file(path: Path, max_bytes: int = MAX_BYTES) -> Record:
    """Read and extract one file; never raises for a bad file: its record has status failed,
    named by display_name(path). MemoryError is let through (a worker over its memory is replaced).
    """
    name = display_name(path)
    try:
        data = read_bytes(path, max_bytes)
    except LimitError as e:
        return failed_record(None, name, e, file_sha256(path))
    except InputError as e:
        return failed_record(None, name, e)
    try:
        record = extract(data, name)
    except XxgkError as e:
        return failed_record(data, name, e)
    except MemoryError:
        raise
    except Exception as e:  # a parser bug must not stop a bulk run: record it against the file
        return failed_record(
            data, name, RuntimeError(f"internal error while reading: {type(e).__name__}: {e}")
        )
    from .store import mark_unstorable

    mark_unstorable(record)
    return record


class JsonLines:
    """The --jsonl output: one JSON object per report, each line written whole or not at all.

    `target` is a path or "-" (stdout). A write that fails (a full disk) is cut back to the end of
    the last whole line and raises OutputError saying how many lines the file holds. `raw` (tests):
    an unbuffered binary file object to write to instead of opening `target`.
    """

    def __init__(self, target: str, raw=None):
        self.target, self.lines, self.size, self.size_whole = target, 0, 0, 0
        self.stdout = target == "-" and raw is None
        try:
            self.raw = raw if raw is not None or self.stdout else open(target, "wb", buffering=0)
        except OSError as e:
            raise OutputError(f"cannot write {target}: {e.strerror or e}") from e

    def write(self, record: Record) -> None:
        line = json.dumps(record.to_json(), ensure_ascii=False) + "\n"
        try:
            if self.stdout:
                sys.stdout.write(line)
                sys.stdout.flush()
            else:
                self._write_all(line.encode("utf-8", "backslashreplace"))
        except OSError as e:
            self._cut()
            raise OutputError(self._failure(e)) from e
        self.lines += 1

    def _write_all(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            n = self.raw.write(view)
            self.size += n
            view = view[n:]
        self.size_whole = self.size

    def _cut(self) -> None:
        """Drop the part of a line a failed write left (nothing to do on stdout or a device)."""
        if self.stdout:
            return
        whole = self.size_whole
        try:
            os.ftruncate(self.raw.fileno(), whole)
            self.raw.seek(whole)
        except (OSError, ValueError):
            pass
        self.size = whole

    def _failure(self, e: OSError) -> str:
        what = (
            "the disk is full"
            if e.errno in (errno.ENOSPC, errno.EDQUOT)
            else (e.strerror or str(e))
        )
        where = "stdout" if self.stdout else self.target
        return (
            f"cannot write {where}: {what}; it holds {self.lines} whole lines (no partial line), "
            "and the run stopped there"
        )

    def close(self) -> None:
        if not self.stdout and self.raw is not None:
            self.raw.close()


def recheck(db) -> dict[str, int]:
    """Run the checks again over every stored document (pipeline.recheck: the findings of reading
    and of the LLM route are kept); returns counts of documents and findings by kind, and of the
    documents without a stored text ("without text")."""
    from . import store
    from .pipeline import recheck as recheck_record

    counts = {"documents": 0, "without text": 0}
    # (a failed file and a report from before the statutory tables have no tables to check)
    for doc in store.documents(db, "status NOT IN ('failed', 'predates')"):
        text = store.text_of(db, doc["sha256"])
        if text is None:
            counts["without text"] += 1
            continue
        record = store.load_record(db, doc)
        recheck_record(record, text)
        store.save(db, record, doc["path"], doc["run_id"])
        counts["documents"] += 1
        for f in record.findings:
            counts[f.kind] = counts.get(f.kind, 0) + 1
    return counts
