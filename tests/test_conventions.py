"""The command as users of sqlite-utils, llm and csvkit expect it (issue 16): -h, python -m, '-'
for standard input and output, exit codes, refusals of what does not exist, a foreign database
never written to, messages that list every supported input, skipped files counted by kind."""

from __future__ import annotations

import json
import shutil
import signal
import sqlite3
import subprocess
import sys
import time

import click
import pytest
from click.testing import CliRunner
from conftest import EXAMPLES, GOLDEN, ROOT
from fault_inputs import wait_for_documents

from extractor import formats
from extractor.cli import main

TEXT = EXAMPLES / "000_1e9d07bbaba7ae4f.txt"


def run(*args, input=None):
    return CliRunner().invoke(main, [str(a) for a in args], input=input)


def commands(group=main, prefix=()):
    """Every command's path: ('extract',), ('golden', 'load'), …"""
    for name, command in group.commands.items():
        yield (*prefix, name)
        if isinstance(command, click.Group):
            yield from commands(command, (*prefix, name))


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = tmp_path_factory.mktemp("db") / "reports.db"
    assert run("extract", EXAMPLES, "--db", path, "-q", "-w", "1").exit_code == 0
    with sqlite3.connect(path) as conn:  # the file whole, without its -wal (copied, piped)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


# ---------------------------------------------------------------- help


def test_every_command_takes_h_and_shows_examples():
    assert run("-h").exit_code == 0 and "Examples:" in run("-h").output
    for path in commands():
        result = run(*path, "-h")
        assert result.exit_code == 0, path
        assert "Examples:" in result.output and f"xxgk {' '.join(path)}" in result.output, path


def test_python_m_extractor_and_the_cli_module_both_run_every_command():
    for module in ("extractor", "extractor.cli"):
        done = subprocess.run([sys.executable, "-m", module, "reextract", "-h"],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0 and "Examples:" in done.stdout, done.stderr


def test_messages_list_every_supported_input(tmp_path):
    assert " ".join(formats.SUPPORTED.split()) in " ".join(run("extract", "-h").output.split())
    (tmp_path / "a.gif").write_bytes(b"GIF89a" + b"\0" * 20)
    result = run("extract", tmp_path, "--jsonl", tmp_path / "o.jsonl")
    assert result.exit_code == 2 and formats.SUPPORTED in result.output
    for name, data in (("x.gif", b"GIF89a" + b"\0" * 20), ("x.rtf", b"{\\rtf1 hello}")):
        (tmp_path / name).write_bytes(data)
        result = run("extract", tmp_path / name, "--jsonl", "-")
        error = json.loads(result.stdout.splitlines()[0])["error"]
        assert error.endswith(f"is not read (xxgk reads {formats.SUPPORTED})"), error


# ---------------------------------------------------------------- paths and standard input


def test_standard_input_is_read_as_one_report():
    result = run("extract", "-", "--jsonl", "-", "-q", input=TEXT.read_bytes())
    assert result.exit_code == 0, result.output
    line = json.loads(result.stdout.splitlines()[0])
    assert line["file"] == "<stdin>" and line["fields"]["meta.agency"] == "西工区财政局"


def test_a_folder_reads_images_and_doc_and_counts_what_it_skips(tmp_path):
    shutil.copy(TEXT, tmp_path / "a.txt")
    (tmp_path / "scan.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 50)
    (tmp_path / "old.doc").write_bytes(b"\xd0\xcf\x11\xe0" + b"\0" * 50)
    for name in ("t.xls", "u.xls", "v.gif", "README"):
        (tmp_path / name).write_bytes(b"x")
    out = tmp_path / "o.jsonl"
    result = run("extract", tmp_path, "--jsonl", out)
    files = {json.loads(line)["file"].rsplit("/", 1)[-1] for line in out.read_text().splitlines()}
    assert files == {"a.txt", "scan.png", "old.doc"}
    assert "4 files in folders skipped, not a kind xxgk reads: 2 .xls, 1 .gif, " \
           "1 without a suffix" in result.output


def test_exit_codes(tmp_path):
    assert run("extract", TEXT, "--jsonl", tmp_path / "a.jsonl").exit_code == 0
    (tmp_path / "empty.txt").write_bytes(b"")
    some = run("extract", TEXT, tmp_path / "empty.txt", "--jsonl", tmp_path / "b.jsonl")
    assert some.exit_code == 3 and "Error: " in some.output
    every = run("extract", tmp_path / "empty.txt", "--jsonl", tmp_path / "c.jsonl")
    assert every.exit_code == 3 and "0 ok, 0 flagged, 1 failed" in every.output
    assert run("extract", TEXT, "--jsonl", tmp_path / "d.jsonl", "--workers", "0").exit_code == 2
    assert run("extract", TEXT, "--db", "-").exit_code == 2  # a database is written in place
    assert run("show", tmp_path / "none.db", "x").exit_code == 2  # no such database
    (tmp_path / "damaged.db").write_bytes(b"SQLite format 3\x00" + b"\x5a" * 4000)
    assert run("show", tmp_path / "damaged.db", "x").exit_code == 1


def test_ctrl_c_says_what_was_stored_and_that_a_rerun_resumes(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    seed = TEXT.read_text(encoding="utf-8")
    for i in range(150):
        (folder / f"{i:03d}.txt").write_text(seed.replace("西工区", f"第{i}区"), encoding="utf-8")
    db = tmp_path / "r.db"
    proc = subprocess.Popen([sys.executable, "-m", "extractor", "extract", str(folder), "--db",
                             str(db), "-w", "1"], stderr=subprocess.PIPE, text=True)
    wait_for_documents(db, 20)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "Aborted" not in err
    line = next(ln for ln in err.splitlines() if ln.startswith("Interrupted: "))
    stored = int(line.split()[1])
    with sqlite3.connect(db) as conn:
        assert conn.execute("select count(*) from files").fetchone()[0] == stored
    assert "run the same command again to resume" in line
    again = run("extract", folder, "--db", db, "-w", "1", "-q")
    assert f"({stored} unchanged, not read again)" in again.output


# ---------------------------------------------------------------- databases


def test_a_foreign_database_is_never_written_by_any_command(tmp_path):
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE contacts (name TEXT)")
    before = other.read_bytes()
    for args in (["show", other, "x"], ["flagged", other], ["check", other], ["findings", other],
                 ["export", other, "-o", tmp_path / "o.csv"], ["datasette-metadata", other],
                 ["eval", "--compare", "1", "2", "--db", other], ["reextract", other],
                 ["golden", "load", GOLDEN, "--db", other]):
        result = run(*args)
        assert result.exit_code == 1 and "not an xxgk database" in result.output, args
    assert other.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.db"]


def test_unknown_check_kind_and_run_ids_are_refused(db, tmp_path):
    result = run("findings", db, "--check", "T9")
    assert result.exit_code == 2 and "unknown check 'T9'" in result.output
    assert "T3-B" in result.output
    assert run("findings", db, "--check", "parse.t4_missing").exit_code == 0  # held by the db
    exact, lower = (run("findings", db, "--check", c) for c in ("T3-B", "t3-b"))
    assert lower.exit_code == exact.exit_code == 0 and lower.output == exact.output  # any case
    eval_db = tmp_path / "eval.db"
    assert run("eval", "--golden", GOLDEN, "--db", eval_db).exit_code == 0
    result = run("eval", "--compare", "1", "99", "--db", eval_db)
    assert result.exit_code == 2 and "no evaluation run 99" in result.output


def test_findings_name_the_file_and_counts_are_whole(db):
    result = run("findings", db, "--kind", "parse")
    lines = result.stdout.splitlines()
    assert lines and all(line.startswith("examples/001_8ffd747d7fad1cf1.txt") or
                         line.startswith(str(EXAMPLES)) for line in lines)


def test_show_names_the_database_in_its_hints(db):
    result = run("show", db, "孟津区")
    assert f"xxgk findings {db} --kind not_assessable" in result.output
    assert "xxgk findings DB" not in result.output


def test_the_read_commands_take_a_database_on_standard_input(db):
    result = run("flagged", "-", input=db.read_bytes())
    assert result.exit_code == 0 and "documents to look at" in result.output
    assert run("check", "-", input=db.read_bytes()).exit_code == 2


def test_check_keeps_the_findings_of_the_llm_route(db, tmp_path):
    copy = tmp_path / "c.db"
    shutil.copy(db, copy)
    with sqlite3.connect(copy) as conn:
        conn.execute("INSERT INTO findings (document_id, \"check\", kind, message, keys) "
                     "SELECT id, 'llm.t3', 'llm_failed', 't3: no reply', '[]' FROM documents "
                     "LIMIT 1")
    assert run("check", copy).exit_code == 0
    with sqlite3.connect(copy) as conn:
        assert conn.execute("select count(*) from findings where kind = 'llm_failed'").fetchone() \
            == (1,)


def test_the_stored_text_is_plain_and_a_span_can_be_followed(db):
    with sqlite3.connect(db) as conn:
        kinds = {row[0] for row in conn.execute("select typeof(text) from texts")}
        spans = conn.execute(
            'select v.raw, substr(t.text, v.start + 1, v."end" - v.start) from "values" v '
            "join texts t on t.document_id = v.document_id where v.start is not null and "
            "v.raw glob '[0-9]*' limit 200").fetchall()
    assert kinds == {"text"}
    assert spans and all(raw.strip() in span or span in raw for raw, span in spans)


# ---------------------------------------------------------------- eval


def test_eval_on_a_copied_golden_folder_says_its_reports_are_missing(tmp_path):
    copied = tmp_path / "golden"
    shutil.copytree(GOLDEN, copied)
    result = run("eval", "--golden", copied, "--db", tmp_path / "e.db")
    assert result.exit_code == 1 and "reports the golden files name are not found" in result.output
    assert "--reports" in result.output
    result = run("eval", "--golden", copied, "--reports", ROOT, "--db", tmp_path / "e.db")
    assert result.exit_code == 0 and "accuracy 1.0000" in result.output, result.output


def test_eval_compare_prints_chinese_as_it_is(tmp_path):
    eval_db = tmp_path / "e.db"
    assert run("eval", "--golden", GOLDEN, "--db", eval_db).exit_code == 0
    assert run("eval", "--golden", GOLDEN, "--db", eval_db).exit_code == 0
    with sqlite3.connect(eval_db) as conn:
        conn.execute("""update eval_outcomes set value = '"某某局"', outcome = 'wrong_silent'
                        where run = 2 and key = 'meta.agency'""")
    result = run("eval", "--compare", "1", "2", "--db", eval_db)
    assert result.exit_code == 0 and "某某局" in result.output and "\\u" not in result.output


# ---------------------------------------------------------------- progress


def test_the_estimate_goes_by_bytes_and_waits_for_enough():
    clock = [0.0]
    estimate = __import__("extractor").Estimate(files=10, size=1000, clock=lambda: clock[0])
    estimate.done(10)
    clock[0] = 2.0
    assert estimate.eta() is None  # one file: nothing to go by
    estimate.done(90)  # 100 bytes in 2 s: 900 bytes left take 18 s
    assert estimate.eta() == pytest.approx(18.0) and estimate.rate() == pytest.approx(1.0)
    for _ in range(8):
        estimate.done(100)
    assert estimate.eta() == 0.0


def test_the_progress_bar_counts_files_and_keeps_errors_on_lines_of_their_own(tmp_path):
    import io

    from extractor import bulk
    from extractor.cli import Display

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    screen = Terminal()
    display = Display(quiet=False, stream=screen, bar=True)
    display(bulk.Planned(files=4, bytes=400, unchanged=0, skipped_failed=0, not_reports={}))
    for i in range(3):
        time.sleep(0.35)
        status = "failed" if i == 1 else "ok"
        display(bulk.FileDone(f"f{i}.txt", status, "empty file" if i == 1 else None, 100))
    display.close()
    shown = screen.getvalue().replace("\r", "\n").splitlines()
    assert "Error: f1.txt: empty file" in shown  # a line of its own, not over the bar
    assert any("3/4 files" in line and "left" in line for line in shown), shown


def test_a_core_install_reads_without_the_llm_extra(tmp_path):
    """The README's first command installs no LLM packages: extract must not need them (it did:
    the route's config imported tenacity)."""
    import subprocess
    import sys
    from pathlib import Path

    examples = Path(__file__).resolve().parent.parent / "examples"
    code = ("import sys\n"
            "for name in ('tenacity', 'openai', 'instructor'):\n"
            "    sys.modules[name] = None  # as if not installed\n"
            "from extractor.cli import main\n"
            "main()\n")
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            "extract",
            str(examples / "000_1e9d07bbaba7ae4f.txt"),
            "--jsonl",
            "-",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert '"status": "ok"' in done.stdout
