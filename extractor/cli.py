"""The `xxgk` command: parses arguments, calls the library (extractor.api) and prints.

Exit codes: 0 done; 1 an error (one `Error: …` line says what to do); 2 a usage error (a wrong
option, a path that does not exist, an unknown check or run id); 3 a run that finished but some
files failed (each named on an `Error:` line); 130 interrupted by Ctrl-C (after saying what was
stored and that running the same command again resumes).
"""

from __future__ import annotations

import contextlib
import csv
import shutil
import sqlite3
import sys
import tempfile
from pathlib import Path

import click

from . import __version__, api, bulk, formats, store
from . import labels as words
from .errors import Interrupted, UsageError, XxgkError

EXIT_ERROR, EXIT_USAGE, EXIT_FILES_FAILED, EXIT_INTERRUPTED = 1, 2, 3, 130
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def fail(message: str) -> None:
    raise click.ClickException(message)


def examples(*lines: str) -> str:
    """An epilog of examples, kept as written by click (\\b)."""
    return "\b\nExamples:\n" + "\n".join(f"  {line}" for line in lines)


class _Usage(click.UsageError):
    """A usage error the library found: one `Error:` line, and where to read about the command."""

    def __init__(self, message: str, command: str | None):
        super().__init__(message)
        self.command = command

    def show(self, file=None) -> None:
        where = f"xxgk {self.command} -h" if self.command else "xxgk -h"
        click.echo(f"Error: {self.format_message()}\nTry '{where}' for help.", err=True)


class _Group(click.Group):
    """Errors the library raises on purpose, and SQLite errors it did not foresee (a database
    damaged where no read had looked yet), end a command as one `Error: …` line (UsageError:
    exit 2); Ctrl-C outside a bulk run ends it with 130."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except UsageError as e:
            raise _Usage(str(e), ctx.invoked_subcommand) from e
        except XxgkError as e:
            fail(str(e))
        except sqlite3.DatabaseError as e:
            fail(str(store.explain(ctx.meta.get("xxgk.db", "the database"), e)))
        except Interrupted:
            raise
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            ctx.exit(EXIT_INTERRUPTED)


@click.group(cls=_Group, context_settings=CONTEXT, epilog=examples(
    "xxgk extract reports/ --db reports.db",
    "xxgk show reports.db 孟津区",
    "xxgk export reports.db -o reports.xlsx --labels zh",
    "xxgk COMMAND -h        (each command's options and examples)",
))
@click.version_option(__version__, "-V", "--version", prog_name="xxgk")
def main() -> None:
    """Read 政府信息公开工作年度报告 into exact, checked, traceable numbers.

    Exit codes: 0 done, 1 an error, 2 a usage error, 3 a run finished but some files failed,
    130 interrupted (Ctrl-C; a run with --db resumes when run again).
    """


# ---------------------------------------------------------------- the LLM route's options


def llm_options(command):
    """The LLM route's flags; each falls back to the environment, then the default (see README)."""
    options = [
        click.option("--llm-base-url", help="OpenAI-compatible endpoint (env XXGK_LLM_BASE_URL, "
                     "OPENAI_BASE_URL)."),
        click.option("--llm-api-key", help="API key (env XXGK_LLM_API_KEY, OPENAI_API_KEY)."),
        click.option("--llm-model", help="Model name (env XXGK_LLM_MODEL; default gpt-4o-mini)."),
        click.option("--llm-profile", help="Defaults for the endpoint's kind: hosted, or local (a "
                     "model on a CPU: 1 call at a time, 240 s a request; env XXGK_LLM_PROFILE)."),
        click.option("--llm-mode", help="instructor mode: TOOLS, JSON, JSON_SCHEMA, MD_JSON … "
                     "(env XXGK_LLM_MODE)."),
        click.option("--llm-concurrency", type=int, help="Calls at once (env "
                     "XXGK_LLM_CONCURRENCY; default 4)."),
        click.option("--llm-timeout", type=float, help="Seconds for one request, whole (env "
                     "XXGK_LLM_TIMEOUT; default 60, local 240)."),
        click.option("--llm-token-budget", type=int, help="Tokens per document at most (env "
                     "XXGK_LLM_TOKEN_BUDGET; default 20000)."),
        click.option("--no-llm", is_flag=True, help="Rules only, whatever is configured."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def llm_config(kwargs: dict):
    """Resolve the LLM configuration from the command's flags (popped from kwargs)."""
    names = ("base_url", "api_key", "model", "profile", "mode", "concurrency", "timeout",
             "token_budget")
    overrides = {n: kwargs.pop("llm_" + n) for n in names}
    no_llm = kwargs.pop("no_llm")
    config = api.llm_config(enabled=False if no_llm else None, **overrides)
    config.state.notify = lambda message: click.echo(message, err=True)  # once a run
    return config


# ---------------------------------------------------------------- extract


class Display:
    """The run's events on stderr: a progress bar on a terminal (files done / total, files a
    second, the time left from the bytes left: bulk.Estimate), `Error:` lines above it."""

    BAR = "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} files, {rate_fmt}{postfix}"

    def __init__(self, quiet: bool, stream=None, bar: bool | None = None):
        self.quiet, self.stream = quiet, stream or sys.stderr
        self.show_bar = (not quiet and self.stream.isatty()) if bar is None else bar
        self.bar = None
        self.estimate: bulk.Estimate | None = None

    def __call__(self, event) -> None:
        if isinstance(event, bulk.Notice):
            if not self.quiet:
                self.write(event.message)
        elif isinstance(event, bulk.Planned):
            self.estimate = bulk.Estimate(event.files, event.bytes)
            if self.show_bar and event.files > 1:
                from tqdm import tqdm

                self.bar = tqdm(total=event.files, desc="extracting", unit="file",
                                file=self.stream, bar_format=self.BAR, smoothing=0.1,
                                dynamic_ncols=True)
        elif isinstance(event, bulk.FileDone):
            self.file_done(event)

    def file_done(self, event: bulk.FileDone) -> None:
        if self.estimate is not None:
            self.estimate.done(event.size)
        if not self.quiet and event.status == "failed":
            self.write(f"Error: {event.name}: {event.error}")
        elif not self.quiet and event.status == "predates":
            self.write(f"{event.name}: {event.error}")
        if self.bar is not None and self.estimate is not None:
            eta = self.estimate.eta()
            self.bar.set_postfix_str(_left(eta) if eta is not None else "", refresh=False)
            self.bar.update(1)

    def write(self, line: str) -> None:
        if self.bar is not None:
            self.bar.write(line, file=self.stream)
        else:
            click.echo(line, err=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _left(seconds: float) -> str:
    """The time left, in words: `about 12 s left`, `about 3 min 05 s left`."""
    if seconds < 1:
        return "under a second left"
    whole = round(seconds)
    if whole < 60:
        return f"about {whole} s left"
    minutes, whole = divmod(whole, 60)
    if minutes < 60:
        return f"about {minutes} min {whole:02d} s left"
    return f"about {minutes // 60} h {minutes % 60:02d} min left"


@main.command(context_settings=CONTEXT, epilog=examples(
    "xxgk extract reports/ --db reports.db",
    "xxgk extract 'reports/**/*.pdf' --db reports.db --workers 2 --timeout 120",
    "xxgk extract report.html --jsonl -",
    "curl -s https://…/report.html | xxgk extract - --jsonl -",
    "xxgk extract reports/ --db reports.db --skip-failed     (after a stop: resumes)",
))
@click.argument("paths", nargs=-1, required=True)
@click.option("--db", "db_path", type=click.Path(dir_okay=False),
              help="SQLite database to write (created if missing).")
@click.option("--jsonl", "jsonl_path", type=click.Path(dir_okay=False, allow_dash=True),
              help="Write one JSON object per report to this file ('-' for stdout).")
@click.option("--workers", "-w", type=click.IntRange(1),
              help="Worker processes (default: one per core).")
@click.option("--force", is_flag=True,
              help="Read every file again, even those the database already holds unchanged.")
@click.option("--skip-failed", is_flag=True,
              help="Do not read again the files that failed before and are unchanged.")
@click.option("--timeout", type=click.FloatRange(1), default=60, show_default=True,
              help="Seconds one file may take before it is given up as failed.")
@click.option("--quiet", "-q", is_flag=True,
              help="No progress bar, no per-file lines; only the summary.")
@llm_options
def extract(paths, db_path, jsonl_path, workers, force, skip_failed, timeout, quiet, **llm_flags):
    """Extract reports from PATHS: files, folders (searched recursively), globs, or - (one report
    on standard input). xxgk reads {SUPPORTED}.

    Documents are keyed by the sha256 of their bytes. With --db, a run that was stopped (even
    killed) starts where it stopped: files already read, unchanged, are not read again.
    """
    config = llm_config(llm_flags)
    click.get_current_context().meta["xxgk.db"] = db_path
    display = Display(quiet)
    try:
        summary = api.run(paths, db=db_path, jsonl=jsonl_path, workers=workers, timeout=timeout,
                          force=force, skip_failed=skip_failed, llm=config, on_event=display)
    except Interrupted as stop:
        display.close()
        click.echo(_interrupted(stop.summary), err=True)
        sys.exit(EXIT_INTERRUPTED)
    finally:
        display.close()
    click.echo(summary.line(), err=True)
    if summary.failed:
        sys.exit(EXIT_FILES_FAILED)


extract.help = (extract.help or "").replace("{SUPPORTED}", formats.SUPPORTED)


def _interrupted(s: bulk.RunSummary) -> str:
    stored = []
    if s.db:
        stored.append(f"{s.read} files read and stored in {s.db}, each document whole")
    if s.jsonl:
        where = "standard output" if s.jsonl == "-" else s.jsonl
        stored.append(f"{s.jsonl_lines} whole lines written to {where}")
    again = ("run the same command again to resume: the files already stored are not read again"
             if s.db else "without --db, running again reads every file again")
    return f"Interrupted: {'; '.join(stored) or 'nothing stored'}. To finish, {again}."


# ---------------------------------------------------------------- reading the database


def _db(db_path: str, write: bool = False):
    """Open the command's database (`-`: read from standard input, for the read commands)."""
    ctx = click.get_current_context()
    ctx.meta["xxgk.db"] = db_path
    if db_path == "-":
        if write:
            raise UsageError("this command writes to the database: give its path, not '-'")
        db_path = _spooled_stdin(ctx)
    return api.open_db(db_path, write=write)


def _spooled_stdin(ctx: click.Context) -> str:
    folder = tempfile.mkdtemp(prefix="xxgk-db-")
    ctx.call_on_close(lambda: shutil.rmtree(folder, ignore_errors=True))
    path = Path(folder) / "stdin.db"
    with open(path, "wb") as f:
        shutil.copyfileobj(sys.stdin.buffer, f)
    return str(path)


DB_ARG = click.argument("db_path", metavar="DB", type=click.Path(dir_okay=False, allow_dash=True))


@main.command(context_settings=CONTEXT, epilog=examples(
    "xxgk show reports.db 孟津区",
    "xxgk show reports.db 554a2e04     (a sha256 prefix)",
    "xxgk show reports.db reports/2023/",
))
@DB_ARG
@click.argument("query")
def show(db_path, query):
    """Draw one report's record as its statutory tables.

    QUERY is part of the agency's name or of the file's path, or the start of its sha256.
    """
    db = _db(db_path)
    docs = store.find_documents(db, query)
    if not docs:
        fail(f"no document matches {query!r}: try part of the agency name, the file path, or a "
             "sha256 prefix")
    if len(docs) > 1:
        lines = [f"{len(docs)} documents match {query!r}; name one by its sha256 prefix:"]
        lines += [f"  {d['sha256'][:12]}  {d['agency'] or '?'}  {d['year'] or '?'}  {d['path']}"
                  for d in docs]
        fail("\n".join(lines))
    doc = docs[0]
    from .render import render

    values, found = store.values_of(db, doc["sha256"]), store.findings_of(db, doc["sha256"])
    click.echo(render(doc, values, found, db_path))


@main.command(context_settings=CONTEXT, epilog=examples("xxgk check reports.db"))
@DB_ARG
def check(db_path):
    """Run every check again over the documents in the database."""
    counts = api.check(_db(db_path, write=True))
    kinds = ", ".join(f"{counts.get(k, 0)} {k}"
                      for k in ("report_defect", "misreading_suspected", "not_assessable"))
    click.echo(f"{counts['documents']} documents checked: {kinds}")
    if counts["without text"]:
        click.echo(f"{counts['without text']} documents have no stored text: run `xxgk extract` "
                   "on them again", err=True)


@main.command(context_settings=CONTEXT, epilog=examples("xxgk flagged reports.db"))
@DB_ARG
def flagged(db_path):
    """The documents to look at, each with its reasons."""
    rows = api.flagged(_db(db_path))
    for doc in rows:
        click.echo(f"{doc['path']}  {doc['agency'] or '?'} {doc['year'] or '?'}  [{doc['status']}]")
        for reason in doc["reasons"]:
            click.echo(f"  - {reason}")
    click.echo(f"{len(rows)} documents to look at", err=True)


@main.command(context_settings=CONTEXT, epilog=examples(
    "xxgk findings reports.db --kind report_defect",
    "xxgk findings reports.db --check T3-B --csv t3b.csv",
    "xxgk findings reports.db --labels zh --csv - > 发现.csv",
))
@DB_ARG
@click.option("--kind", type=click.Choice(api.KINDS), help="Only findings of this kind.")
@click.option("--check", "check_id", help="Only findings of this check (T3-A, T3-B, T3-C, T4, "
              "NONNEG, TEMPLATE-YEAR, TEMPLATE-MIX, TEXT-TABLE, FEES, SECTION-5, or an id of "
              "reading the database holds, such as parse.t4_missing).")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, allow_dash=True),
              help="Write the findings as CSV to this file ('-' for stdout).")
@click.option("--labels", type=click.Choice(words.LANGUAGES), default="en", show_default=True,
              help="Checks, kinds and messages as written (en), or in Chinese (zh).")
def findings(db_path, kind, check_id, csv_path, labels):
    """List findings, each with its file: what an assessor hands on."""
    from .export import finding_rows, headers

    db = _db(db_path)
    rows = api.findings(db, kind, check_id)
    if csv_path:
        with _text_output(csv_path) as out:
            writer = csv.writer(out)
            writer.writerow(headers(labels)[1])
            writer.writerows(finding_rows(db, labels, rows))
    else:
        for r in rows:
            message = words.message(r["message"], labels)
            where = f"{r['path']}  {r['agency'] or '?'} {r['year'] or '?'}"
            click.echo(f"{where}  [{words.kind(r['kind'], labels)}] "
                       f"{words.check_name(r['check'], labels)}: {message}")
    click.echo(f"{len(rows)} findings", err=True)


@contextlib.contextmanager
def _text_output(path: str):
    """A CSV destination: standard output for '-', else the file (UTF-8 with BOM, for Excel)."""
    if path == "-":
        yield sys.stdout
        return
    try:
        f = open(path, "w", encoding="utf-8-sig", newline="")
    except OSError as e:
        fail(f"cannot write {path}: {e.strerror or e}")
    with f:
        yield f


# ---------------------------------------------------------------- golden and eval


@main.group(context_settings=CONTEXT, epilog=examples("xxgk golden load golden/ --db eval.db"))
def golden():
    """Golden annotations."""


@golden.command("load", context_settings=CONTEXT, epilog=examples(
    "xxgk golden load golden/",
    "xxgk golden load my-annotations/ --db eval.db",
))
@click.argument("folder", type=click.Path(file_okay=False, exists=True))
@click.option("--db", "db_path", default="eval.db", show_default=True,
              type=click.Path(dir_okay=False), help="Evaluation database.")
def golden_load(folder, db_path):
    """Validate the golden JSON files in FOLDER and load them into the database."""
    from . import golden as golden_mod

    click.get_current_context().meta["xxgk.db"] = db_path
    goldens = golden_mod.load_folder(Path(folder))
    n = golden_mod.store(store.open_db(db_path), goldens)
    click.echo(f"{n} golden annotations loaded into {db_path}")


def _fmt(x) -> str:
    return "—" if x is None else f"{x:.4f}"


def _summary_line(name: str, s: dict) -> str:
    return (f"  {name:<14} values {s['values']:>6}  accuracy {_fmt(s['accuracy'])}  "
            f"wrong marked {s['wrong_marked']:>4}  silent {s['wrong_silent']:>4}  "
            f"review rate {_fmt(s['review_rate'])}")


def _shown(value) -> str:
    return "—" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


@main.command("eval", context_settings=CONTEXT, epilog=examples(
    "xxgk eval --golden golden/",
    "xxgk eval --golden /tmp/golden --reports .      (a golden folder copied elsewhere)",
    "xxgk eval --golden golden/ --route hybrid --cache-only",
    "xxgk eval --compare 3 4",
))
@click.option("--golden", "golden_dir", type=click.Path(file_okay=False, exists=True),
              help="Folder of golden JSON files to score against.")
@click.option("--reports", "reports_dir", type=click.Path(file_okay=False, exists=True),
              help="The folder the golden files' report paths are relative to (default: the "
              "golden folder's parent).")
@click.option("--route", type=click.Choice(["rules", "llm", "hybrid"]), default="rules",
              show_default=True, help="Which route extracts the reports.")
@click.option("--db", "db_path", default="eval.db", show_default=True,
              type=click.Path(dir_okay=False), help="Evaluation database (runs and outcomes).")
@click.option("--compare", nargs=2, type=int, metavar="RUN_A RUN_B",
              help="Show what changed between two stored runs, key by key.")
@click.option("--cache-only", is_flag=True, help="llm/hybrid: re-score from the replies cached "
              "in --db; no call is made, no endpoint needed.")
@llm_options
def eval_cmd(golden_dir, reports_dir, route, db_path, compare, cache_only, **llm_flags):
    """Score a route against golden annotations: accuracy, silent errors, review rate,
    calibration."""
    click.get_current_context().meta["xxgk.db"] = db_path
    if compare:
        if not Path(db_path).exists():
            raise UsageError(f"no evaluation database {db_path}: run `xxgk eval --golden DIR "
                             f"--db {db_path}` first")
        rows = api.compare_runs(_db(db_path), *compare)
        for r in rows:
            click.echo(f"{r['document'][:12]}  {r['key']:<40} truth {_shown(r['truth']):>8}  "
                       f"{_shown(r['value_a']):>8} ({r['outcome_a']}) → "
                       f"{_shown(r['value_b']):>8} ({r['outcome_b']})")
        click.echo(f"{len(rows)} keys changed between run {compare[0]} and run {compare[1]}")
        return
    if not golden_dir:
        raise UsageError("give --golden FOLDER to run an evaluation, or --compare RUN_A RUN_B")
    config = llm_config(llm_flags)
    result = api.score(golden_dir, db=db_path, route=route, llm=config, reports=reports_dir,
                       cache_only=cache_only)
    s = result.summary
    click.echo(f"eval run {result.run_id} · route {route} · {result.reports} golden reports · "
               f"{s['values']} values")
    click.echo(_summary_line("all", s))
    click.echo(f"  calibration    right when unmarked {_fmt(s['right_when_unmarked'])}  ·  "
               f"marked when wrong {_fmt(s['marked_when_wrong'])}")
    for attr in ("section", "layout"):
        click.echo(f"by {attr}:")
        for name, sub in result.by(attr).items():
            click.echo(_summary_line(name, sub))


# ---------------------------------------------------------------- export and Datasette


@main.command("export", context_settings=CONTEXT, epilog=examples(
    "xxgk export reports.db -o reports.xlsx",
    "xxgk export reports.db -o reports.csv --labels zh",
    "xxgk export reports.db -o - --format jsonl | jq .status",
))
@DB_ARG
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx", "jsonl"]),
              help="csv, xlsx or jsonl (default: the output's suffix; csv for '-').")
@click.option("--output", "-o", type=click.Path(dir_okay=False, allow_dash=True),
              help="File to write, '-' for stdout (default: the database's name with the "
              "format's suffix).")
@click.option("--labels", type=click.Choice(words.LANGUAGES), default="en", show_default=True,
              help="Headers and words: canonical keys and English (en), or the template's "
              "Chinese labels and Chinese (zh).")
def export_cmd(db_path, fmt, output, labels):
    """One row per report, one column per canonical key (its unit in the header); the findings
    and the values marked for review as a second and third sheet or file."""
    db = _db(db_path)
    if output is None:
        base = "export" if db_path == "-" else Path(db_path).stem
        output = str(Path(db_path).with_name(base).with_suffix("." + (fmt or "csv")))
    written = api.export_db(db, output, fmt, labels)
    click.echo("wrote " + ", ".join("standard output" if w == "-" else w for w in written),
               err=True)


@main.command("datasette-metadata", context_settings=CONTEXT, epilog=examples(
    "xxgk datasette-metadata reports.db -o metadata.json && datasette reports.db -m "
    "metadata.json",
))
@DB_ARG
@click.option("--output", "-o", type=click.Path(dir_okay=False, allow_dash=True), default="-",
              show_default=True, help="File to write the metadata to ('-' for stdout).")
def datasette_metadata(db_path, output):
    """Datasette metadata for the database: titles and labels of its tables and columns,
    facets, and canned queries (the review queue, reports by failed check)."""
    import json

    from .datasette import metadata

    _db(db_path)  # an xxgk database, or refused
    name = Path(db_path).stem if db_path != "-" else "stdin"
    text = json.dumps(metadata(name), ensure_ascii=False, indent=2) + "\n"
    if output == "-":
        click.echo(text, nl=False)
    else:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}: datasette {db_path} -m {output}", err=True)


# ---------------------------------------------------------------- reextract


@main.command(context_settings=CONTEXT, epilog=examples(
    "xxgk reextract reports.db",
    "xxgk reextract reports.db --all --refresh --llm-model deepseek-chat",
))
@DB_ARG
@click.option("--flagged/--all", "flagged_only", default=True, show_default=True,
              help="Only the flagged documents, or every document.")
@click.option("--refresh", is_flag=True, help="Ask the LLM again instead of using cached replies.")
@llm_options
def reextract(db_path, flagged_only, refresh, **llm_flags):
    """Read stored documents again (the flagged ones by default) with the LLM on the sections
    that need it; print what changed."""
    from .llm_reextract import report_lines

    config = llm_config(llm_flags)
    click.echo(config.describe(), err=True)
    if db_path == "-":
        raise UsageError("reextract writes to the database: give its path, not '-'")
    click.get_current_context().meta["xxgk.db"] = db_path
    results = api.reextract(db_path, config, flagged_only=flagged_only, refresh=refresh)
    for line in report_lines(results):
        click.echo(line)


if __name__ == "__main__":
    main()
