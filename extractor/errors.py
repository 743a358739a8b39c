"""The library's own exceptions, all in this module. The CLI turns each into one `Error: …` line
that says what to do next (UsageError into exit code 2, the others into 1).

    XxgkError
    ├── UsageError               an argument the library cannot take: a path that does not exist,
    │                            an unknown check, eval run, format or template
    ├── MissingExtra             an optional part is not installed (pip install 'xxgk[pdf]' …)
    ├── InputError               a file cannot be read as a report (it fails, the run goes on)
    │   ├── NotAReportError      it decodes, but it is not a 政府信息公开工作年度报告
    │   ├── LimitError           it is past a resource limit (extractor/limits.py)
    │   └── NeedsOCR             it is an image of text, and OCR is not installed
    ├── OutputError              an output (--jsonl, an export) cannot be written: what is written
    │                            stays whole
    ├── StoreError               the SQLite database cannot be opened or written
    │   ├── DatabaseDamaged      damaged pages: recover it with sqlite3 .recover, or use a new --db
    │   ├── DatabaseReadOnly     the file or its folder is read-only: read commands still work
    │   ├── DatabaseLocked       another program holds its write lock past the wait
    │   └── NotXxgkDatabase      another program's file (or not SQLite at all): never written to
    ├── GoldenError              a golden annotation that does not follow the spec, or whose
    │   │                        report cannot be found
    │   └── GoldenMismatch       its sha256 is not that of the report it names
    └── LLMError                 the LLM route (a document's table, never the run)
        ├── LLMConfigError       a setting of the route cannot be used (said before the run starts)
        └── EndpointError        an answer that is no chat completion, or not in time
            ├── RequestTimeout   one request took longer than --llm-timeout, as a whole
            └── RouteStopped     the circuit breaker stopped the route for the run

    Interrupted (a KeyboardInterrupt, not an error): Ctrl-C stopped a bulk run; `summary` holds
    what was stored before it stopped.

Each keeps its cause (`raise … from e`).
"""

from __future__ import annotations

from typing import Any


class XxgkError(Exception):
    """Base class of every error xxgk raises on purpose."""


class UsageError(XxgkError, ValueError):
    """An argument the library cannot take: a missing path, an unknown check, run id, format or
    template. A ValueError too, as such arguments are."""


class MissingExtra(XxgkError):
    """An optional part of xxgk is not installed; the message names the extra to install."""


class InputError(XxgkError):
    """A file cannot be read as a report: binary, empty, undecodable, unsupported, too big."""


class NotAReportError(InputError):
    """The file decodes, but it is not a 政府信息公开工作年度报告."""


class LimitError(InputError):
    """The file is past one of the resource limits of extractor/limits.py."""


class NeedsOCR(InputError):
    """The file (or some of its pages) is an image of text: only the OCR route can read it.

    `pages` are the 1-based numbers of the pages without a text layer (empty for an image file).
    """

    def __init__(self, message: str, pages: tuple[int, ...] = ()):
        super().__init__(message)
        self.pages = pages


class OutputError(XxgkError):
    """An output file (JSON lines, an export) cannot be written; what was written stays whole."""


class StoreError(XxgkError):
    """The SQLite database cannot be opened or written."""


class DatabaseDamaged(StoreError):
    """The database file has damaged pages."""


class DatabaseReadOnly(StoreError):
    """The database file, or the folder that must hold its journal, cannot be written."""


class DatabaseLocked(StoreError):
    """Another program holds the database's write lock for longer than xxgk waits."""


class NotXxgkDatabase(StoreError):
    """The file is not an xxgk database: another program's SQLite file, or not SQLite at all."""


class GoldenError(XxgkError):
    """A golden file that does not follow the spec, or whose report cannot be found."""


class GoldenMismatch(GoldenError):
    """A golden file whose sha256 is not that of the report it names."""


class LLMError(XxgkError):
    """The LLM route: a setting, or an endpoint that does not answer as one should."""


class LLMConfigError(LLMError):
    """A setting of the LLM route has a value that cannot be used."""


class EndpointError(LLMError):
    """The endpoint answered with something that is not a chat completion, or not in time."""


class RequestTimeout(EndpointError):
    """One request took longer than the timeout, as a whole."""


class RouteStopped(EndpointError):
    """The circuit breaker is open: the route makes no more calls in this run."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C stopped a bulk run after it stored what it had read; `summary` (a
    bulk.RunSummary) says what that is. A KeyboardInterrupt, so code that does not know it
    stops as on any Ctrl-C."""

    def __init__(self, summary: Any):
        super().__init__()
        self.summary = summary
