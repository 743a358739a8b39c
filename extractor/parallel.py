"""Read many files over worker processes, in order, each under a time limit and a memory limit.

Every file is a task of its own for a pool of worker processes (`--workers 1` included: one
worker), so the time limit is the file's, whatever else is running, and a file that passes it
has its worker killed and replaced, and is recorded as failed. A watchdog in this process
samples each worker's resident memory; a worker over the limit is killed and replaced, and its
file recorded as failed. A worker that dies takes only its own file with it. Records come back
in the order the files were given, so a run's database does not depend on timing; a few files
per worker are handed out ahead, never the whole list. Ctrl-C (or SIGTERM) during a run is taken
between files, never inside the pool's own locks (a KeyboardInterrupt raised while the main
thread held the pool's queue left the run waiting for that lock for ever, 1 run in 20 under
load).
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import threading
from collections import deque
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Iterable, Iterator

from pebble import ProcessPool
from pebble.common import ProcessExpired

from .batch import display_name, file_sha256, read_file
from .errors import InputError, LimitError
from .limits import FILE_TIMEOUT, WORKER_MEMORY_MB
from .pipeline import failed_record
from .record import Record
from .store import Packed, pack

DEFAULT_TIMEOUT = FILE_TIMEOUT
AHEAD = 8  # files handed out per worker before the first result is waited for
WATCH_INTERVAL = 0.05  # seconds between two samples of the workers' memory
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


def read_many(
    paths: Iterable[Path],
    workers: int | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
    packed: bool = False,
    memory_mb: int | None = WORKER_MEMORY_MB,
) -> Iterator[tuple[Path, Record | Packed]]:
    """Yield (path, record) for every path, in order, read by `workers` processes (default: one
    per core). `timeout`: seconds one file may take (None: no limit); `memory_mb`: resident
    memory a worker may reach (None: no limit). A file past either fails alone (LimitError's
    message), as does one whose worker crashed. `packed`: yield each record as the rows the
    database stores (store.Packed), built in the workers: a run that only stores its records then
    never rebuilds them in this process (a third of its work).
    """
    workers = workers or default_workers()
    read = _read_packed if packed else _read
    with bulk_gc(), deferred_interrupt() as stop, _pool(workers) as pool, \
            MemoryWatch(memory_mb) as watch:
        pending: deque[tuple[Path, Future]] = deque()
        for path in paths:
            stop.check()
            pending.append((path, pool.schedule(read, (path,), timeout=timeout)))
            if len(pending) >= workers * AHEAD:
                yield _result(*pending.popleft(), timeout, watch, packed, stop)
        while pending:
            yield _result(*pending.popleft(), timeout, watch, packed, stop)


POLL_SECONDS = 0.2  # how often a wait for a worker's result looks whether Ctrl-C was pressed


class Interrupt:
    """Whether Ctrl-C was pressed since the run began; `check` raises KeyboardInterrupt then."""

    def __init__(self) -> None:
        self.pressed = threading.Event()

    def check(self) -> None:
        """Raises KeyboardInterrupt when Ctrl-C was pressed."""
        if self.pressed.is_set():
            raise KeyboardInterrupt


@contextlib.contextmanager
def deferred_interrupt() -> Iterator[Interrupt]:
    """Ctrl-C (SIGINT) and a polite stop (SIGTERM, as `kill` and service managers send) only
    noted while the block runs, for Interrupt.check to raise KeyboardInterrupt at a point that
    holds no lock: the run then stores what it read and ends as a Ctrl-C does. A signal is left
    as it is outside the main thread, or when its handler is not the default one (ignored, or
    handled by the caller)."""
    stop = Interrupt()
    defaults = {signal.SIGINT: signal.default_int_handler, signal.SIGTERM: signal.SIG_DFL}
    mine = [] if threading.current_thread() is not threading.main_thread() else [
        sig for sig, default in defaults.items() if signal.getsignal(sig) is default]
    previous = {sig: signal.signal(sig, lambda signum, frame: stop.pressed.set())
                for sig in mine}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def _pool(workers: int):
    """A pool that, when the run stops early (Ctrl-C, an output error), kills its workers
    instead of waiting for the files handed out."""
    pool = ProcessPool(max_workers=workers, initializer=_worker_gc)
    try:
        yield pool
    except BaseException:
        # stop, then join: a close() after stop() set the pool CLOSED again, and its join then
        # waited for a task scheduler that had seen it stopped (Ctrl-C hung 1 run in 4 under load)
        pool.stop()
        pool.join()
        raise
    pool.close()
    pool.join()


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


class MemoryWatch:
    """A thread that samples the resident memory of this process's children every
    WATCH_INTERVAL seconds and kills any over `limit_mb` (the pool replaces it). `killed` maps
    the pid of each worker killed to the memory it had reached, in bytes. The sampling runs here,
    not in the worker, so a worker stuck in C code (a decoder, a regex) is seen all the same."""

    def __init__(self, limit_mb: int | None):
        self.limit = None if limit_mb is None else limit_mb * 1024 * 1024
        self.killed: dict[int, int] = {}
        self.peak = 0  # the highest resident memory sampled of any worker, in bytes
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="xxgk-memory-watch", daemon=True)

    def __enter__(self) -> "MemoryWatch":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        import psutil

        me = psutil.Process()
        while not self._stop.wait(WATCH_INTERVAL):
            for child in me.children(recursive=True):
                try:
                    rss = child.memory_info().rss
                except psutil.Error:
                    continue
                self.peak = max(self.peak, rss)
                if self.limit is not None and rss > self.limit:
                    self.killed[child.pid] = rss
                    with contextlib.suppress(psutil.Error):
                        child.kill()

    def explain(self, pid: int | None) -> str | None:
        """Why the worker `pid` died, if this watch killed it."""
        if pid not in self.killed or self.limit is None:
            return None  # (only a limit kills)
        return (
            f"over the memory limit of {self.limit >> 20} MB per worker "
            f"(reached {self.killed[pid] >> 20} MB): "
            f"the worker was replaced"
        )


def _waited(future, stop: Interrupt):
    """The future's result, waited for in short steps that look for Ctrl-C between them."""
    while True:
        stop.check()
        try:
            return future.result(timeout=POLL_SECONDS)
        except FutureTimeout:
            if future.done():  # done meanwhile: its result, or its own error (its time limit)
                return future.result()


def _result(
    path: Path, future, timeout: float | None, watch: MemoryWatch, packed: bool,
    stop: Interrupt,
) -> tuple[Path, Record | Packed]:
    error: InputError
    try:
        return path, _waited(future, stop)
    except FutureTimeout:
        error = LimitError(f"timed out after {timeout:g} s: the file is too big or too odd to read")
    except ProcessExpired as e:
        over = watch.explain(e.pid)
        error = (
            LimitError(over)
            if over
            else InputError(f"the reader crashed on this file (exit code {e.exitcode})")
        )
    except MemoryError:
        error = LimitError("ran out of memory reading this file: the worker was replaced")
    except Exception as e:  # anything else a worker raised: recorded against its file
        error = InputError(f"internal error: {type(e).__name__}: {e}")
    record = failed_record(None, display_name(path), error, file_sha256(path))
    return path, pack(record, record.text) if packed else record
