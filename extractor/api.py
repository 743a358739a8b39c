"""The library's entry points; the `xxgk` command only wraps them. `import extractor` gives each
(extractor/__init__.py lists them in `__all__`).

    record = extractor.read_file("report.pdf")          # one file → its Record
    summary = extractor.run(["reports/"], db="r.db")    # a bulk run into a database
    extractor.export_db("r.db", "r.xlsx")               # one row per report, findings, marks
    extractor.check("r.db")                             # the checks again over what is stored
    result = extractor.score("golden/", db="eval.db")   # accuracy against golden annotations

A `db` argument is the path of an xxgk database or a sqlite_utils.Database already open. Every
error raised on purpose is an errors.XxgkError subclass; UsageError is for an argument the library
cannot take (a path that does not exist, an unknown check or run id).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import sqlite_utils

from . import store
from .bulk import run
from .errors import UsageError
from .record import Record

# The checks' ids (README "Checks"): the template's identities, then the other families
CHECK_FAMILIES = ("NONNEG", "TEMPLATE-YEAR", "TEMPLATE-MIX", "TEXT-TABLE", "FEES", "SECTION-5")
KINDS = ("report_defect", "misreading_suspected", "not_assessable", "parse", "llm_failed",
         "llm_budget")


def read_file(path: str | Path) -> Record:
    """One report file read to its Record (every key of its template with value and provenance,
    the findings, status ok / flagged / failed / predates), in this process. Never raises for a bad
    file: its record has status `failed` and a one-line `error`."""
    from .batch import read_file as read

    return read(Path(path))


def extract(data: bytes, name: str) -> Record:
    """A report's bytes read to its Record; `name` is how it is shown (its kind may be told from
    the suffix). Raises InputError (NotAReportError, LimitError, NeedsOCR) for what is not a
    readable report, MissingExtra when its kind's packages are not installed."""
    from .pipeline import extract as extract_bytes

    return extract_bytes(data, name)


def open_db(db: str | Path | sqlite_utils.Database, write: bool = False) -> sqlite_utils.Database:
    """An xxgk database, read-only unless `write`; never created here. Raises StoreError
    (NotXxgkDatabase for another program's file: it is never written to), UsageError for a path
    that does not exist."""
    if isinstance(db, sqlite_utils.Database):
        return db
    if not Path(db).exists():
        raise UsageError(f"{db}: no such database (run `xxgk extract … --db {db}` first)")
    return store.open_db(db, create=False, write=write)


def check_ids(db: sqlite_utils.Database | None = None) -> list[str]:
    """Every check id a finding can carry: the template's identities (T3-A, T3-B, T3-C, T4), the
    other check families, and the ids of reading and of the LLM route the database holds."""
    from .spec import TEMPLATES
    from .template import template

    ids = list(dict.fromkeys(eq.check for t in TEMPLATES for eq in template(t).identities))
    ids += CHECK_FAMILIES
    if db is not None and db["findings"].exists():
        held = [r[0] for r in db.execute('SELECT DISTINCT "check" FROM findings ORDER BY 1')]
        ids += [c for c in held if c not in ids]
    return ids


def findings(db, kind: str | None = None, check: str | None = None) -> list[dict]:
    """The findings, each a dict of store.FINDING_COLUMNS (the file's path first), by path.
    Raises UsageError for a kind or check id that is not one (check_ids)."""
    database = open_db(db)
    if kind is not None and kind not in KINDS:
        raise UsageError(f"unknown kind {kind!r}: one of {', '.join(KINDS)}")
    if check is not None:
        known = check_ids(database)
        by_case = {k.casefold(): k for k in known}  # `t3-a` is T3-A
        if check.casefold() not in by_case:
            raise UsageError(f"unknown check {check!r}: the checks are {', '.join(known)}")
        check = by_case[check.casefold()]
    return store.all_findings(database, kind, check)


def flagged(db) -> list[dict]:
    """The documents to look at (marked values, report defects, suspected misreadings, failed,
    predating), each a documents row with `reasons`: one line each."""
    return store.flagged(open_db(db))


def find_documents(db, query: str) -> list[dict]:
    """Documents whose sha256 starts with, or whose agency or path contains, `query`."""
    return store.find_documents(open_db(db), query)


def check(db) -> dict[str, int]:
    """Run the checks again over every stored document (the findings of reading and of the LLM
    route are kept). Returns counts: documents checked, findings by kind, and "without text"
    (documents stored without their text: extract them again). Raises StoreError."""
    from .batch import recheck

    return recheck(open_db(db, write=True))


def export_db(db, output: str | Path, fmt: str | None = None, labels: str = "en",
              stdout: IO[bytes] | None = None) -> list[str]:
    """Write the export (export.export): `fmt` csv, xlsx or jsonl, taken from the output's suffix
    when None; `output` "-" writes the reports to `stdout` (default sys.stdout's bytes), csv when
    no format is given. Returns the files written ("-" for standard output). Raises UsageError
    for an unknown format or one that contradicts the suffix, OutputError when it cannot be
    written (nothing is left cut short)."""
    from .export import export

    return export(open_db(db), str(output), fmt, labels, stdout)


@dataclass
class Score:
    """An evaluation run: its id, the golden reports scored, and the outcomes (evaluate.Outcome,
    one per golden key) with `summary` (evaluate.summarise) over them."""

    run_id: int
    reports: int
    outcomes: list[Any]

    @property
    def summary(self) -> dict:
        from .evaluate import summarise

        return summarise(self.outcomes)

    def by(self, attr: str) -> dict[str, dict]:
        """The summary per `section` or per `layout`."""
        from .evaluate import by

        return by(self.outcomes, attr)


def score(golden: str | Path, *, db: str | Path = "eval.db", route: str = "rules", llm=None,
          reports: str | Path | None = None, cache_only: bool = False) -> Score:
    """Extract every report the golden folder annotates by `route` (rules, hybrid, llm), score it
    key by key, store the run and its outcomes in `db` (created if missing). `reports`: the folder
    the golden files' `report` paths are relative to (default: the golden folder's parent).
    Raises GoldenError (a golden file off the spec, a report not found: none is scored then),
    UsageError (an unknown route), StoreError, LLMConfigError."""
    from . import golden as golden_mod
    from . import harness

    if route not in harness.ROUTES:
        raise UsageError(f"unknown route {route!r}: one of {', '.join(harness.ROUTES)}")
    goldens = golden_mod.load_folder(Path(golden), Path(reports) if reports else None)
    golden_mod.check_reports(goldens)
    database = store.open_db(db)
    golden_mod.store(database, goldens)
    reader = harness.reader_for(route, llm, database, cache_only)
    model = prompts = None
    if route != "rules":
        from .llm_prompt import PROMPTS

        model, prompts = llm.model, ",".join(PROMPTS.values())
    run_id, outcomes = harness.run_eval(database, goldens, route, reader, model, prompts)
    return Score(run_id, len(goldens), outcomes)


def compare_runs(db, run_a: int, run_b: int) -> list[dict]:
    """The keys whose value, outcome or mark differs between two stored evaluation runs, values
    decoded from JSON. Raises UsageError naming a run id the database does not hold."""
    from . import harness

    return harness.compare_runs(open_db(db), run_a, run_b)


def llm_config(enabled: bool | None = None, **settings):
    """The LLM route's configuration (llm_config.resolve_config): each setting given here, else
    from the environment (XXGK_LLM_*, OPENAI_*), else its default. Raises LLMConfigError."""
    from .llm_config import resolve_config

    return resolve_config(enabled=enabled, **settings)


__all__ = ["read_file", "extract", "run", "open_db", "check_ids", "findings", "flagged",
           "find_documents", "check", "export_db", "Score", "score", "compare_runs", "llm_config"]


def reextract(db: str | Path, llm, *, flagged_only: bool = True, refresh: bool = False) -> list:
    """Read stored documents again (the flagged ones by default) with the LLM route on the tables
    that need it, save them as a run of their own, and return what changed per document
    (llm_reextract.Reextracted). Raises StoreError, MissingExtra (the LLM route's packages)."""
    from .bulk import _check_llm_installed

    _check_llm_installed()
    from .llm_reextract import reextract as reread

    database = open_db(db, write=True)
    with store.Lock(db):
        run_id = store.start_run(database, "reextract")
        results = reread(database, llm, flagged_only=flagged_only, refresh=refresh, run_id=run_id)
        store.finish_run(database, run_id, {"documents": len(results)})
    return results


__all__ += ["reextract"]
