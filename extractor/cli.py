"""The `xxgk` command: a thin layer that parses arguments, calls the library and prints."""

from __future__ import annotations

import contextlib
import csv
import json
import sys

import click

from . import __version__, batch, store
from .errors import XxgkError
from .render import render


def fail(message: str) -> None:
    raise click.ClickException(message)


def llm_options(command):
    """The LLM route's flags; each falls back to the environment, then the default (see README)."""
    options = [
        click.option("--llm-base-url", help="OpenAI-compatible endpoint (env XXGK_LLM_BASE_URL, OPENAI_BASE_URL)."),
        click.option("--llm-api-key", help="API key (env XXGK_LLM_API_KEY, OPENAI_API_KEY)."),
        click.option("--llm-model", help="Model name (env XXGK_LLM_MODEL; default gpt-4o-mini)."),
        click.option("--llm-profile", help="Defaults for the endpoint's kind: hosted, or local (a model on a CPU: 1 call at a time, 240 s a request; env XXGK_LLM_PROFILE)."),
        click.option("--llm-mode", help="instructor mode: TOOLS, JSON, JSON_SCHEMA, MD_JSON … (env XXGK_LLM_MODE)."),
        click.option("--llm-concurrency", type=int, help="Calls at once (env XXGK_LLM_CONCURRENCY; default 4)."),
        click.option("--llm-timeout", type=float, help="Seconds for one request, whole (env XXGK_LLM_TIMEOUT; default 60, local 240)."),
        click.option("--llm-token-budget", type=int, help="Tokens per document at most (env XXGK_LLM_TOKEN_BUDGET; default 20000)."),
        click.option("--no-llm", is_flag=True, help="Rules only, whatever is configured."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def llm_config(kwargs: dict):
    """Resolve the LLM configuration from the command's flags (popped from kwargs)."""
    from .llm_config import resolve_config

    names = ("base_url", "api_key", "model", "profile", "mode", "concurrency", "timeout", "token_budget")
    overrides = {n: kwargs.pop("llm_" + n) for n in names}
    no_llm = kwargs.pop("no_llm")
    try:
        config = resolve_config(enabled=False if no_llm else None, **overrides)
    except XxgkError as e:
        fail(str(e))
    config.state.notify = lambda message: click.echo(message, err=True)  # the route's warnings, once a run
    return config


class _Group(click.Group):
    """Errors the library raises on purpose, and SQLite errors it did not foresee (a database
    damaged where no read had looked yet), end a command as one `Error: …` line."""

    def invoke(self, ctx):
        import sqlite3

        try:
            return super().invoke(ctx)
        except XxgkError as e:
            fail(str(e))
        except sqlite3.DatabaseError as e:
            fail(str(store.explain(ctx.meta.get("xxgk.db", "the database"), e)))


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="xxgk")
def main() -> None:
    """Read 政府信息公开工作年度报告 into exact, checked, traceable numbers."""


@main.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--db", "db_path", type=click.Path(dir_okay=False), help="SQLite database to write (created if missing).")
@click.option("--jsonl", "jsonl_path", type=click.Path(dir_okay=False, allow_dash=True), help="Write one JSON object per report to this file ('-' for stdout).")
@click.option("--workers", "-w", type=click.IntRange(1), help="Worker processes (default: one per core).")
@click.option("--force", is_flag=True, help="Read every file again, even those the database already holds unchanged.")
@click.option("--skip-failed", is_flag=True,
              help="Do not read again the files that failed before and are unchanged.")
@click.option("--timeout", type=click.FloatRange(1), default=60, show_default=True, help="Seconds one file may take before it is given up as failed.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar, no per-file lines; only the summary.")
@llm_options
def extract(paths, db_path, jsonl_path, workers, force, skip_failed, timeout, quiet, **llm_flags):
    """Extract reports: files, folders (recursive) or globs; text, markdown and HTML.

    Documents are keyed by the sha256 of their bytes. With --db, a run that was stopped (even
    killed) starts where it stopped: files already read, unchanged, are not read again.
    """
    if not db_path and not jsonl_path:
        fail("nothing to write to: give --db reports.db and/or --jsonl out.jsonl ('-' for stdout)")
    config = llm_config(llm_flags)
    click.get_current_context().meta["xxgk.db"] = db_path
    files = batch.collect(paths)
    if not files:
        shown = " ".join(map(batch.display_name, paths))
        fail(f"no report files found in {shown} (looked for .txt .md .html)")
    try:
        with contextlib.ExitStack() as stack:
            db = writer = None
            if db_path:
                stack.enter_context(store.Lock(db_path))
                db = store.open_db(db_path)
                command = "extract " + " ".join(map(batch.display_name, paths))
                writer = store.Writer(db, store.start_run(db, command))
            out = batch.JsonLines(jsonl_path) if jsonl_path else None
            if out is not None:
                stack.callback(out.close)
            if not quiet:
                click.echo(config.describe(), err=True)
            again = (force, skip_failed)
            counts = _extract(files, db, writer, out, workers, again, timeout, quiet, config)
    except XxgkError as e:
        fail(str(e))
    skipped = f" ({counts['skipped']} unchanged, not read again)" if counts["skipped"] else ""
    predates = f", {counts['predates']} predate the statutory tables" if counts["predates"] else ""
    click.echo(f"{counts['documents']} documents read: {counts['ok']} ok, {counts['flagged']} flagged, "
               f"{counts['failed']} failed{predates}{skipped}", err=True)


def _extract(files, db, writer, out, workers, again, timeout, quiet, config) -> dict:
    from . import parallel

    force, skip_failed = again
    counts = {"documents": 0, "ok": 0, "flagged": 0, "failed": 0, "predates": 0, "skipped": 0}
    todo, stats = [], {}
    for path in files:
        stat = _stat(path)
        stats[str(path)] = stat
        known = None
        if db is not None and stat and not force:
            known = store.already_read(db, batch.display_name(path), *stat, skip_failed)
        if known is not None:
            counts["skipped"] += 1
            if out is not None:
                out.write(store.load_record(db, known))
        else:
            todo.append(path)

    def finish(batch_records):
        """The LLM for the sections the rules could not read, then storage and output."""
        if config.enabled:
            from .llm import fill_with_llm_sync, sections_needing_llm

            needing = [(r, r.text) for _, r in batch_records if r.error is None and sections_needing_llm(r)]
            if needing:
                fill_with_llm_sync(needing, config, db=db)
        for path, record in batch_records:
            name = batch.display_name(path)
            if writer is not None:
                stat = stats.get(str(path))
                writer.add(record, name, *(stat[::-1] if stat else ()))
            if out is not None:
                out.write(record.record() if isinstance(record, store.Packed) else record)
            counts["documents"] += 1
            status = record.status
            counts[status] += 1
            if status == "failed" and not quiet:
                click.echo(f"Error: {name}: {record.error}", err=True)
            elif status == "predates" and not quiet:
                click.echo(f"{name}: {record.error}", err=True)

    pending = []
    try:
        with click.progressbar(length=len(files), label="extracting", file=sys.stderr, hidden=quiet or len(files) < 20) as bar:
            bar.update(counts["skipped"])
            # Without the LLM, records go from the workers to the database as rows (never rebuilt here).
            for path, record in parallel.read_many(todo, workers, timeout, packed=not config.enabled):
                pending.append((path, record))
                if len(pending) >= 50:
                    finish(pending)
                    pending = []
                bar.update(1)
            finish(pending)
            pending = []
    finally:
        if writer is not None:
            writer.flush()
            store.finish_run(writer.db, writer.run_id)  # counted from what the database holds
    return counts


def _stat(path):
    try:
        st = path.stat()
        return st.st_size, st.st_mtime_ns
    except OSError:
        return None


@main.command()
@click.argument("db_path", type=click.Path(dir_okay=False))
@click.argument("query")
def show(db_path, query):
    """Draw one report's record as its statutory tables.

    QUERY is part of the agency's name or of the file's path, or the start of its sha256.
    """
    db = _db(db_path)
    docs = store.find_documents(db, query)
    if not docs:
        fail(f"no document matches {query!r}: try part of the agency name, the file path, or a sha256 prefix")
    if len(docs) > 1:
        lines = [f"{len(docs)} documents match {query!r}; name one by its sha256 prefix:"]
        lines += [f"  {d['sha256'][:12]}  {d['agency'] or '?'}  {d['year'] or '?'}  {d['path']}" for d in docs]
        fail("\n".join(lines))
    doc = docs[0]
    click.echo(render(doc, store.values_of(db, doc["sha256"]), store.findings_of(db, doc["sha256"])))


def _db(db_path, write=False):
    click.get_current_context().meta["xxgk.db"] = db_path
    try:
        return store.open_db(db_path, create=False, write=write)
    except XxgkError as e:
        fail(str(e))


@main.command()
@click.argument("db_path", type=click.Path(dir_okay=False))
def check(db_path):
    """Run every check again over the documents in the database."""
    db = _db(db_path, write=True)
    counts = batch.recheck(db)
    kinds = ", ".join(f"{counts.get(k, 0)} {k}" for k in ("report_defect", "misreading_suspected", "not_assessable"))
    click.echo(f"{counts['documents']} documents checked: {kinds}")
    if counts["without text"]:
        click.echo(f"{counts['without text']} documents have no stored text: run `xxgk extract` on them again", err=True)


@main.command()
@click.argument("db_path", type=click.Path(dir_okay=False))
def flagged(db_path):
    """The documents to look at, each with its reasons."""
    db = _db(db_path)
    rows = store.flagged(db)
    for doc in rows:
        click.echo(f"{doc['path']}  {doc['agency'] or '?'} {doc['year'] or '?'}  [{doc['status']}]")
        for reason in doc["reasons"]:
            click.echo(f"  - {reason}")
    click.echo(f"{len(rows)} documents to look at", err=True)


@main.command()
@click.argument("db_path", type=click.Path(dir_okay=False))
@click.option("--kind", type=click.Choice(["report_defect", "misreading_suspected", "not_assessable", "parse"]), help="Only findings of this kind.")
@click.option("--check", "check_id", help="Only findings of this check (T3-A, T3-B, T3-C, T4, NONNEG, TEMPLATE-YEAR, TEMPLATE-MIX, TEXT-TABLE, FEES, SECTION-5).")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, allow_dash=True), help="Write the findings as CSV to this file ('-' for stdout).")
def findings(db_path, kind, check_id, csv_path):
    """List findings: what an assessor hands on."""
    db = _db(db_path)
    rows = store.all_findings(db, kind, check_id)
    if csv_path:
        out = sys.stdout if csv_path == "-" else open(csv_path, "w", encoding="utf-8-sig", newline="")
        writer = csv.DictWriter(out, fieldnames=list(store.FINDING_COLUMNS))
        writer.writeheader()
        writer.writerows(rows)
        if out is not sys.stdout:
            out.close()
    else:
        for r in rows:
            click.echo(f"{r['agency'] or '?'} {r['year'] or '?'}  [{r['kind']}] {r['check']}: {r['message']}")
    click.echo(f"{len(rows)} findings", err=True)


@main.group()
def golden():
    """Golden annotations."""


@golden.command("load")
@click.argument("folder", type=click.Path(file_okay=False, exists=True))
@click.option("--db", "db_path", default="eval.db", show_default=True, type=click.Path(dir_okay=False), help="Evaluation database.")
def golden_load(folder, db_path):
    """Validate the golden JSON files in FOLDER and load them into the database."""
    from pathlib import Path

    from . import golden as golden_mod

    try:
        goldens = golden_mod.load_folder(Path(folder))
        n = golden_mod.store(store.open_db(db_path), goldens)
    except XxgkError as e:
        fail(str(e))
    click.echo(f"{n} golden annotations loaded into {db_path}")


def _fmt(x) -> str:
    return "—" if x is None else f"{x:.4f}"


def _summary_line(name: str, s: dict) -> str:
    return (f"  {name:<14} values {s['values']:>6}  accuracy {_fmt(s['accuracy'])}  wrong marked {s['wrong_marked']:>4}  "
            f"silent {s['wrong_silent']:>4}  review rate {_fmt(s['review_rate'])}")


@main.command("eval")
@click.option("--golden", "golden_dir", type=click.Path(file_okay=False, exists=True), help="Folder of golden JSON files to score against.")
@click.option("--route", type=click.Choice(["rules", "llm", "hybrid"]), default="rules", show_default=True, help="Which route extracts the reports.")
@click.option("--db", "db_path", default="eval.db", show_default=True, type=click.Path(dir_okay=False), help="Evaluation database (runs and outcomes).")
@click.option("--compare", nargs=2, type=int, metavar="RUN_A RUN_B", help="Show what changed between two stored runs, key by key.")
@click.option("--cache-only", is_flag=True, help="llm/hybrid: re-score from the replies cached in --db; no call is made, no endpoint needed.")
@llm_options
def eval_cmd(golden_dir, route, db_path, compare, cache_only, **llm_flags):
    """Score a route against golden annotations: accuracy, silent errors, review rate, calibration."""
    from pathlib import Path

    from . import evaluate, golden as golden_mod, harness

    if compare:
        db = _db(db_path)
        rows = harness.compare_runs(db, *compare)
        for r in rows:
            click.echo(f"{r['document'][:12]}  {r['key']:<40} truth {r['truth']:>8}  {r['value_a']:>8} ({r['outcome_a']}) → {r['value_b']:>8} ({r['outcome_b']})")
        click.echo(f"{len(rows)} keys changed between run {compare[0]} and run {compare[1]}")
        return
    if not golden_dir:
        fail("give --golden FOLDER to run an evaluation, or --compare RUN_A RUN_B")
    config = llm_config(llm_flags)
    try:
        goldens = golden_mod.load_folder(Path(golden_dir))
        db = store.open_db(db_path)
        golden_mod.store(db, goldens)
        reader = harness.reader_for(route, config, db, cache_only)
        from .llm_prompt import PROMPTS

        llm = route != "rules"
        run_id, outcomes = harness.run_eval(db, goldens, route, reader, config.model if llm else None,
                                            ",".join(PROMPTS.values()) if llm else None)
    except XxgkError as e:
        fail(str(e))
    s = evaluate.summarise(outcomes)
    click.echo(f"eval run {run_id} · route {route} · {len(goldens)} golden reports · {s['values']} values")
    click.echo(_summary_line("all", s))
    click.echo(f"  calibration    right when unmarked {_fmt(s['right_when_unmarked'])}  ·  marked when wrong {_fmt(s['marked_when_wrong'])}")
    click.echo("by section:")
    for name, sub in evaluate.by(outcomes, "section").items():
        click.echo(_summary_line(name, sub))
    click.echo("by layout:")
    for name, sub in evaluate.by(outcomes, "layout").items():
        click.echo(_summary_line(name, sub))


@main.command("export")
@click.argument("db_path", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx", "jsonl"]), default="csv", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="File to write (default: the database's name with the format's suffix).")
@click.option("--labels", type=click.Choice(["en", "zh"]), default="en", show_default=True, help="Column headers: canonical keys, or the template's Chinese labels.")
def export_cmd(db_path, fmt, output, labels):
    """One row per report, one column per canonical key; the findings as a second sheet or file."""
    from pathlib import Path

    from .export import export

    db = _db(db_path)
    target = Path(output) if output else Path(db_path).with_suffix("." + fmt)
    try:
        written = export(db, fmt, target, labels)
    except OSError as e:
        fail(f"cannot write {target}: {e.strerror or e}")
    click.echo("wrote " + ", ".join(map(str, written)))


if __name__ == "__main__":
    main()


@main.command()
@click.argument("db_path", type=click.Path(dir_okay=False))
@click.option("--flagged/--all", "flagged_only", default=True, show_default=True, help="Only the flagged documents, or every document.")
@click.option("--refresh", is_flag=True, help="Ask the LLM again instead of using cached replies.")
@llm_options
def reextract(db_path, flagged_only, refresh, **llm_flags):
    """Read stored documents again (the flagged ones by default) with the LLM on the sections that need it; print what changed."""
    from .llm_reextract import reextract as run_reextract, report_lines

    config = llm_config(llm_flags)
    click.echo(config.describe(), err=True)
    db = _db(db_path, write=True)
    try:
        with store.Lock(db_path):
            run_id = store.start_run(db, "reextract")
            results = run_reextract(db, config, flagged_only=flagged_only, refresh=refresh, run_id=run_id)
            store.finish_run(db, run_id, {"documents": len(results)})
    except XxgkError as e:
        fail(str(e))
    for line in report_lines(results):
        click.echo(line)
