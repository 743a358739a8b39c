"""Read many files over worker processes, in order, with bounded memory and a per-file time limit.

Files are handed out a few at a time (never the whole list at once) and their records come
back in the order the files were given, so a run's database does not depend on timing. A file
whose parsing hangs past the time limit has its worker killed and replaced, and is recorded as
failed; a worker that dies takes only its own file with it.
"""

from __future__ import annotations

import contextlib
import gc
import os
from collections import deque
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Iterable, Iterator

from pebble import ProcessPool
from pebble.common import ProcessExpired

from .batch import file_sha256, read_file
from .errors import InputError
from .pipeline import failed_record
from .record import Record
from .store import Packed, pack

DEFAULT_TIMEOUT = 60.0
# Reading a report makes tens of thousands of short-lived objects and no reference cycles (a test
# holds ingest to that): the cyclic collector, run every 700 allocations by default, spent 10-15%
# of a bulk run re-scanning the records waiting to be written. Collect every 50,000 instead, with
# what was loaded before the run set aside (gc.freeze). Were a reader to leave cycles, they would
# wait for a collection, and memory would grow by up to that much: a page's lxml tree kept alive
# by one took the workers from 50 to 130 MB.
GC_THRESHOLD = (50_000, 10, 10)
# pdfplumber, python-docx and OCR do leave cycles: after each such file a full collection (a few
# ms against the file's hundreds). Without it the workers grew from 70 to 200 MB over 200 PDFs.
CYCLIC_KINDS = ("pdf", "docx", "image")


def default_workers() -> int:
    return os.cpu_count() or 1


def read_many(paths: Iterable[Path], workers: int | None = None, timeout: float = DEFAULT_TIMEOUT,
              chunk: int = 16, packed: bool = False) -> Iterator[tuple[Path, Record | Packed]]:
    """Yield (path, record) for every path, in order. workers=1 reads in this process.

    Files go to the workers in chunks (fewer round trips); a chunk that times out or crashes is
    read again file by file, each with the time limit, so only the culprit fails. `packed`: yield
    each record as the rows the database stores (store.Packed), built in the workers: a run that
    only stores its records then never rebuilds them in this process (a third of its work).
    """
    workers = workers or default_workers()
    read = _read_packed if packed else _read
    with bulk_gc():
        if workers <= 1:
            for path in paths:
                yield path, read(path)
            return
        for path, record in _read_in_workers(paths, workers, timeout, chunk, read):
            yield path, pack(record, record.text) if packed and isinstance(record, Record) else record


def _read(path: Path) -> Record:
    record = read_file(path)
    if record.kind in CYCLIC_KINDS:
        gc.collect()
    return record


def _read_packed(path: Path) -> Packed:
    record = _read(path)
    return pack(record, record.text)


@contextlib.contextmanager
def bulk_gc():
    """GC_THRESHOLD for the length of a run, then the thresholds as they were."""
    before = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()


def _worker_gc() -> None:
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)


def _read_in_workers(paths: Iterable[Path], workers: int, timeout: float, chunk: int, read) -> Iterator[tuple[Path, Record | Packed]]:
    with ProcessPool(max_workers=workers, initializer=_worker_gc) as pool:
        pending: deque = deque()
        for group in _chunks(paths, chunk):
            pending.append((group, pool.schedule(_read_chunk, (group, read), timeout=timeout * len(group))))
            if len(pending) >= workers * 4:
                yield from _results(pool, *pending.popleft(), timeout, read)
        while pending:
            yield from _results(pool, *pending.popleft(), timeout, read)


def _chunks(paths: Iterable[Path], size: int) -> Iterator[list[Path]]:
    group: list[Path] = []
    for path in paths:
        group.append(path)
        if len(group) >= size:
            yield group
            group = []
    if group:
        yield group


def _read_chunk(paths: list[Path], read) -> list[Record | Packed]:
    return [read(p) for p in paths]


def _results(pool, group: list[Path], future, timeout: float, read) -> Iterator[tuple[Path, Record | Packed]]:
    try:
        yield from zip(group, future.result())
        return
    except Exception:
        if len(group) == 1:
            yield _result(group[0], future, timeout)
            return
    for path in group:  # find the culprit: each file on its own, with its own time limit
        yield _result(path, pool.schedule(read, (path,), timeout=timeout), timeout)


def _result(path: Path, future, timeout: float) -> tuple[Path, Record]:
    try:
        return path, future.result()
    except FutureTimeout:
        error = InputError(f"timed out after {timeout:g} s: the file is too big or too odd to read")
    except ProcessExpired as e:
        error = InputError(f"the reader crashed on this file (exit code {e.exitcode})")
    except Exception as e:  # anything else a worker raised: recorded against its file
        error = InputError(f"internal error: {type(e).__name__}: {e}")
    return path, failed_record(None, str(path), error, file_sha256(path))
