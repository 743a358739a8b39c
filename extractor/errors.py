"""The library's own exceptions. The CLI turns them into one-line `Error: …` messages.

    XxgkError
    ├── InputError               a file cannot be read as a report (it fails, the run goes on)
    │   ├── NotAReportError      it decodes, but it is not a 政府信息公开工作年度报告
    │   └── LimitError           it is past a resource limit (extractor/limits.py)
    ├── OutputError              --jsonl cannot be written (disk full): its lines stay whole
    ├── StoreError               the SQLite database cannot be opened or written
    │   ├── DatabaseDamaged      damaged pages: recover it with sqlite3 .recover, or use a new --db
    │   ├── DatabaseReadOnly     the file or its folder is read-only: read commands still work
    │   ├── DatabaseLocked       another program holds its write lock past the wait
    │   └── NotXxgkDatabase      another program's file (or not SQLite at all): never written to
    └── LLMError                 the LLM route (a document's table, never the run)
        ├── LLMConfigError       a setting of the route cannot be used (said before the run starts)
        └── EndpointError        an answer that is no chat completion, or not in time
            ├── RequestTimeout   (llm_transport) one request took longer than --llm-timeout
            └── RouteStopped     (llm_transport) the circuit breaker stopped the route for the run

Each keeps its cause (`raise … from e`).
"""


class XxgkError(Exception):
    """Base class of every error xxgk raises on purpose."""


class InputError(XxgkError):
    """A file cannot be read as a report: binary, empty, undecodable, unsupported, too big."""


class NotAReportError(InputError):
    """The file decodes, but it is not a 政府信息公开工作年度报告."""


class LimitError(InputError):
    """The file is past one of the resource limits of extractor/limits.py."""


class OutputError(XxgkError):
    """An output file (JSON lines) cannot be written; what was written ends with a whole line."""


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


class LLMError(XxgkError):
    """The LLM route: a setting, or an endpoint that does not answer as one should."""


class LLMConfigError(LLMError):
    """A setting of the LLM route has a value that cannot be used."""


class EndpointError(LLMError):
    """The endpoint answered with something that is not a chat completion, or not in time."""
