"""A bulk run: many files read over worker processes into a database and/or JSON lines, with
events for a progress display. What `xxgk extract` runs; call `run` from Python the same way.

    summary = run(["reports/"], db="reports.db", on_event=print)

The files of a run are those named, those under folders (recursively, by suffix: formats.SUFFIXES)
and glob matches; `-` is one report read from standard input. A path that does not exist is
refused before anything is written (UsageError). With a database, a file it already holds
unchanged is not read again (unless `force`), nor one that failed before when `skip_failed`; each
file is read in a worker under a time and a memory limit (parallel.read_many) and fails alone.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Callable, Iterable, Iterator, Sequence

from . import formats, store
from .batch import JsonLines, display_name
from .errors import Interrupted, MissingExtra, UsageError
from .limits import FILE_TIMEOUT, MAX_FILE_BYTES
from .record import Record

STDIN = "-"  # the path that names standard input
STDIN_NAME = "<stdin>"  # how a report read from standard input is named in outputs
STATUSES = ("ok", "flagged", "failed", "predates")


# ---------------------------------------------------------------- events


@dataclass(frozen=True)
class Planned:
    """What the run will read: `files` to read (`bytes` in all), `unchanged` and
    `skipped_failed` files the database holds and that are not read again, `not_reports` the
    files of folders skipped by their suffix, counted by suffix."""

    files: int
    bytes: int
    unchanged: int
    skipped_failed: int
    not_reports: dict[str, int]


@dataclass(frozen=True)
class FileDone:
    """One file read and stored: its name as shown, status (ok, flagged, failed, predates), the
    one-line error of a failed file or the reason of a predating report, its size in bytes."""

    name: str
    status: str
    error: str | None
    size: int


@dataclass(frozen=True)
class Notice:
    """A line for the person running the command (the LLM route's state)."""

    message: str


Event = Planned | FileDone | Notice


class Estimate:
    """Files done, their rate and the time left, for a progress display fed with the events.

    The time left is the bytes left over the bytes read per second so far (wall time since the
    run started reading, all workers together): a PDF of 400 KB takes a hundred times as long as
    a text report of 6 KB, so a count of files alone would promise a mixed folder far too soon.
    No estimate before two files and one second (the first files are read together)."""

    def __init__(self, files: int, size: int, clock: Callable[[], float] = time.monotonic):
        self.files, self.size, self.clock = files, size, clock
        self.started = clock()
        self.files_done = self.bytes_done = 0

    def done(self, size: int) -> None:
        self.files_done += 1
        self.bytes_done += size

    def elapsed(self) -> float:
        return max(self.clock() - self.started, 1e-9)

    def rate(self) -> float:
        """Files per second so far."""
        return self.files_done / self.elapsed()

    def eta(self) -> float | None:
        """Seconds left, or None while there is too little to go by."""
        elapsed = self.elapsed()
        if self.files_done < 2 or elapsed < 1:
            return None
        if self.files_done >= self.files:
            return 0.0
        if self.bytes_done and self.size:
            return max(self.size - self.bytes_done, 0) * elapsed / self.bytes_done
        return (self.files - self.files_done) * elapsed / self.files_done


# ---------------------------------------------------------------- the summary


@dataclass
class RunSummary:
    """What a run did. Counts are of files: `read` = ok + flagged + failed + predates."""

    read: int = 0
    ok: int = 0
    flagged: int = 0
    failed: int = 0
    predates: int = 0
    unchanged: int = 0  # held unchanged by the database: not read again
    skipped_failed: int = 0  # failed before, unchanged, left alone (skip_failed)
    not_reports: dict[str, int] = field(default_factory=dict)  # suffix → files skipped
    db: str | None = None
    jsonl: str | None = None
    jsonl_lines: int = 0
    run_id: int | None = None

    def count(self, status: str) -> None:
        self.read += 1
        setattr(self, status, getattr(self, status) + 1)

    def line(self) -> str:
        """The one-line summary `xxgk extract` ends with."""
        text = (f"{formats.counted(self.read, 'document')} read: {self.ok} ok, "
                f"{self.flagged} flagged, {self.failed} failed")
        if self.predates:
            text += f", {self.predates} predate the statutory tables"
        held = []
        if self.unchanged:
            held.append(f"{self.unchanged} unchanged, not read again")
        if self.skipped_failed:
            held.append(f"{self.skipped_failed} failed before, left by --skip-failed")
        if held:
            text += f" ({'; '.join(held)})"
        if self.not_reports:
            kinds = ", ".join(
                f"{n} {s or 'without a suffix'}"
                for s, n in sorted(
                    self.not_reports.items(), key=lambda kv: (-kv[1], not kv[0], kv[0])
                )
            )
            total = sum(self.not_reports.values())
            text += (f"; {formats.counted(total, 'file')} in folders skipped, not a kind xxgk "
                     f"reads: {kinds}")
        return text


# ---------------------------------------------------------------- which files


@dataclass
class Collected:
    """The files of a run, sorted and unique; `stdin` when `-` was among the paths;
    `not_reports` the folder files skipped, by suffix."""

    files: list[Path]
    stdin: bool = False
    not_reports: Counter = field(default_factory=Counter)


def collect(paths: Iterable[str | Path]) -> Collected:
    """The files named, the files under folders (recursively, those with a suffix of
    formats.SUFFIXES; the others counted by suffix), glob matches, and `-` (standard input).
    Raises UsageError naming every path that does not exist and every glob that matches nothing,
    and when no file is left to read."""
    found: dict[str, Path] = {}
    out = Collected([])
    missing = []
    for arg in map(str, paths):
        if arg == STDIN:
            out.stdin = True
        elif os.path.isdir(arg):
            _folder(Path(arg), found, out.not_reports)
        elif os.path.lexists(arg):
            found.setdefault(arg, Path(arg))
        elif any(ch in arg for ch in "*?["):
            matches = [m for m in sorted(glob.glob(arg, recursive=True)) if os.path.isfile(m)]
            found.update((m, Path(m)) for m in matches if m not in found)
            if not matches:
                missing.append(f"{display_name(arg)} (a pattern that matches no file)")
        else:
            missing.append(display_name(arg))
    if missing:
        raise UsageError(f"no such file or folder: {', '.join(missing)}")
    out.files = list(found.values())
    if not out.files and not out.stdin:
        shown = " ".join(display_name(p) for p in paths)
        skipped = (
            f" ({sum(out.not_reports.values())} other files skipped)" if out.not_reports else ""
        )
        raise UsageError(f"no report files found in {shown}{skipped}: xxgk reads "
                         f"{formats.SUPPORTED}")
    return out


def _folder(folder: Path, found: dict[str, Path], skipped: Counter,
            seen: set[Path] | None = None) -> None:
    """A folder's files, recursively, through links to folders too (each real folder once: a
    link back up is no loop). An entry that is not a regular file but has a report's suffix (a
    named pipe, a link to a device or to nothing) is taken like a file named on the command line:
    it fails with its own one-line error rather than vanish without a word."""
    seen = set() if seen is None else seen
    real = folder.resolve()
    if real in seen:
        return
    seen.add(real)
    for sub in sorted(folder.iterdir()):
        if sub.is_dir():
            _folder(sub, found, skipped, seen)
        elif formats.reads(sub.name):
            found.setdefault(str(sub), sub)
        else:
            skipped[formats.suffix(sub.name)] += 1


# ---------------------------------------------------------------- the run


def run(
    paths: Sequence[str | Path],
    *,
    db: str | Path | None = None,
    jsonl: str | None = None,
    workers: int | None = None,
    timeout: float | None = FILE_TIMEOUT,
    force: bool = False,
    skip_failed: bool = False,
    llm=None,
    on_event: Callable[[Event], None] | None = None,
    stdin: IO[bytes] | None = None,
    command: str | None = None,
) -> RunSummary:
    """Read `paths` into the database `db` and/or the JSON lines file `jsonl` ("-": stdout).

    `workers`: processes (default one per core); `timeout`: seconds per file (None: no limit);
    `force`: read files the database holds unchanged; `skip_failed`: leave alone those that
    failed before; `llm`: an llm_config.LLMConfig (None: the rules alone); `on_event`: called
    with Planned once, then FileDone per file read, and Notice lines, in this process; `stdin`:
    the binary stream `-` reads (default sys.stdin's); `command`: stored in the run's row.

    Returns the RunSummary. Raises UsageError (nothing to write to, a missing path), StoreError
    (the database), OutputError (the JSON lines), MissingExtra (the LLM route's packages), and
    Interrupted on Ctrl-C, after storing every file read (its summary says what that is).
    """
    if db is None and jsonl is None:
        raise UsageError("nothing to write to: give a database (--db reports.db) and/or JSON "
                         "lines (--jsonl out.jsonl, '-' for standard output)")
    if db is not None and str(db) == STDIN:
        raise UsageError("a database is a file written in place: give a path, not '-'")
    collected = collect(paths)
    if llm is not None and llm.enabled:
        _check_llm_installed()
    summary = RunSummary(not_reports=dict(collected.not_reports),
                         db=None if db is None else str(db), jsonl=jsonl)
    emit = on_event or (lambda event: None)
    interrupted = False
    with contextlib.ExitStack() as stack:
        files, names = _files(collected, stack, stdin)
        writer = _open_db(db, stack, command or _command(paths)) if db is not None else None
        out = JsonLines(jsonl) if jsonl is not None else None
        if out is not None:
            stack.callback(out.close)
        if llm is not None:
            emit(Notice(llm.describe()))
        state = _Run(names, writer, out, llm, emit, summary)
        try:
            state.go(files, workers, timeout, force, skip_failed)
        except KeyboardInterrupt:
            interrupted = True
        finally:
            summary.jsonl_lines = out.lines if out is not None else 0
            if writer is not None and writer.run_id is not None:
                writer.flush()
                store.finish_run(writer.db, writer.run_id)  # counted from what it holds
                summary.run_id = writer.run_id
    if interrupted:
        raise Interrupted(summary)
    return summary


def _check_llm_installed() -> None:
    try:
        import instructor  # noqa: F401
        import openai  # noqa: F401
    except ModuleNotFoundError as e:
        raise MissingExtra(formats.missing_extra("LLM", e.name or "")) from e


def _command(paths: Sequence[str | Path]) -> str:
    return "extract " + " ".join(display_name(p) for p in paths)


def _open_db(db: str | Path, stack: contextlib.ExitStack, command: str) -> store.Writer:
    stack.enter_context(store.Lock(db))
    database = store.open_db(db)
    return store.Writer(database, store.start_run(database, command))


def _files(collected: Collected, stack: contextlib.ExitStack,
           stdin: IO[bytes] | None) -> tuple[list[Path], dict[str, str]]:
    """The paths to read, and the name each is shown and stored under."""
    files = list(collected.files)
    names = {str(p): display_name(p) for p in files}
    if collected.stdin:
        spooled = stack.enter_context(_spool(stdin))
        files.append(spooled)
        names[str(spooled)] = STDIN_NAME
    return files, names


@contextlib.contextmanager
def _spool(stream: IO[bytes] | None) -> Iterator[Path]:
    """Standard input written to a temporary file (so that a worker reads it under the limits
    of any file), removed at the end. Refuses a terminal: a report is piped in."""
    source = stream if stream is not None else sys.stdin.buffer
    if stream is None and sys.stdin.isatty():
        raise UsageError("'-' reads a report from standard input, which is a terminal: pipe "
                         "one in (xxgk extract - --jsonl - < report.html)")
    folder = tempfile.mkdtemp(prefix="xxgk-stdin-")
    path = Path(folder) / "stdin"
    try:
        with open(path, "wb") as f:
            shutil.copyfileobj(_limited(source, MAX_FILE_BYTES + 1), f)
        yield path
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _limited(stream: IO[bytes], limit: int):
    """A reader of at most `limit` bytes of `stream` (the file-size limit then refuses it)."""

    class Limited:
        left = limit

        def read(self, n: int = -1) -> bytes:
            n = self.left if n is None or n < 0 else min(n, self.left)
            data = stream.read(n) if n else b""
            self.left -= len(data)
            return data

    return Limited()


class _Run:
    """One run's state: which files to read, and what is done with each record read."""

    def __init__(self, names, writer, out, llm, emit, summary: RunSummary):
        self.names, self.writer, self.out = names, writer, out
        self.llm, self.emit, self.summary = llm, emit, summary
        self.stats: dict[str, tuple[int, int] | None] = {}

    def go(self, files: list[Path], workers, timeout, force: bool, skip_failed: bool) -> None:
        from . import parallel

        todo = self.plan(files, force, skip_failed)
        size = sum(s[0] for p in todo if (s := self.stats.get(str(p))))
        self.emit(Planned(len(todo), size, self.summary.unchanged, self.summary.skipped_failed,
                          dict(self.summary.not_reports)))
        llm_on = self.llm is not None and self.llm.enabled
        batch: list = []
        # Without the LLM, records go from the workers to the database as rows (never rebuilt
        # here), and each is stored as it comes (a Ctrl-C loses none that was read); with it,
        # they are filled in batches, for the calls to run concurrently.
        for path, record in parallel.read_many(todo, workers, timeout, packed=not llm_on):
            batch.append((path, record))
            if len(batch) >= (50 if llm_on else 1):
                self.finish(batch)
                batch = []
        self.finish(batch)

    def plan(self, files: list[Path], force: bool, skip_failed: bool) -> list[Path]:
        """The files to read; those the database holds unchanged go to the JSON lines as stored."""
        todo = []
        db = self.writer.db if self.writer is not None else None
        for path in files:
            name = self.names[str(path)]
            stat = self.stats[str(path)] = _stat(path, name)
            known = None
            if db is not None and stat is not None and not force:
                known = store.already_read(db, name, *stat, skip_failed)
            if db is None or known is None:
                todo.append(path)
                continue
            if known["status"] == "failed":
                self.summary.skipped_failed += 1
            else:
                self.summary.unchanged += 1
            if self.out is not None:
                self.out.write(store.load_record(db, known))
        return todo

    def finish(self, batch: list) -> None:
        """The LLM for the sections the rules could not read, then storage, output, events."""
        if not batch:
            return
        if self.llm is not None and self.llm.enabled:
            self._fill(batch)
        for path, record in batch:
            name = self.names[str(path)]
            record.name = name
            stat = self.stats.get(str(path))
            if self.writer is not None:
                self.writer.add(record, name, *(stat[::-1] if stat else ()))
            if self.out is not None:
                self.out.write(record.record() if isinstance(record, store.Packed) else record)
            self.summary.count(record.status)
            self.emit(FileDone(name, record.status, record.error, stat[0] if stat else 0))

    def _fill(self, batch: list) -> None:
        from .llm import fill_with_llm_sync, sections_needing_llm

        needing = [(r, r.text) for _, r in batch if r.error is None and sections_needing_llm(r)]
        if needing:
            db = self.writer.db if self.writer is not None else None
            fill_with_llm_sync(needing, self.llm, db=db)


def _stat(path: Path, name: str) -> tuple[int, int] | None:
    """(size, mtime_ns) of a file; standard input's mtime is now, so it is never 'unchanged'."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_size, (time.time_ns() if name == STDIN_NAME else st.st_mtime_ns)


def read(path: str | Path) -> Record:
    """One file read to its record, in this process (no worker, no time limit). Never raises for
    a bad file: its record has status failed and a one-line `error`."""
    from .batch import read_file

    return read_file(Path(path))
