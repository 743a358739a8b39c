"""Bulk runs: parallel reading with isolation, resume after a kill, one writer at a time, exports,
faults."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
import sqlite_utils
from click.testing import CliRunner
from conftest import EXAMPLES
from fault_inputs import wait_for_documents

from extractor import batch, parallel, store
from extractor.cli import main
from extractor.errors import StoreError

SEEDS = sorted(EXAMPLES.glob("*.txt"))


def many(tmp_path, n):
    """n distinct reports (the seeds with a different agency each), as files."""
    folder = tmp_path / "reports"
    folder.mkdir()
    for i in range(n):
        seed = SEEDS[i % len(SEEDS)]
        # (in Chinese numerals: a body's name with ASCII digits is marked)
        number = str(i).translate(str.maketrans("0123456789", "零一二三四五六七八九"))
        text = seed.read_text(encoding="utf-8").replace("财政局", f"第{number}财政局", 1)
        # distinct bytes, whichever seed (not every one names a 财政局)
        text += f"\n（第{number}份。）\n"
        (folder / f"{i:04d}.txt").write_text(text, encoding="utf-8")
    return folder


def table(db_path, sql):
    with sqlite3.connect(db_path) as conn:
        return conn.execute(sql).fetchall()


def content(db_path):
    """What a run leaves, less its timestamps and run ids."""
    return (
        table(
            db_path,
            "select sha256, path, status, template, agency, "
            "n_review from documents order by sha256",
        ),
        table(
            db_path,
            'select d.sha256, key, value, raw, start, "end", rule, review, reason from "values" v '
            "join documents d on d.id = v.document_id order by d.sha256, key",
        ),
        table(
            db_path,
            'select d.sha256, f."check", f.kind, f.message from findings f join '
            "documents d on d.id = f.document_id order by d.sha256, f.id",
        ),
    )


def test_parallel_matches_serial_and_keeps_order(tmp_path):
    files = sorted(many(tmp_path, 12).glob("*.txt"))
    serial = [(p, r.to_json()) for p, r in parallel.read_many(files, workers=1)]
    pooled = [(p, r.to_json()) for p, r in parallel.read_many(files, workers=2)]
    assert [p for p, _ in pooled] == files
    assert serial == pooled


def slow_or_crash(path, *args, **kwargs):
    name = Path(path).name
    if name == "0001.txt":
        time.sleep(30)
    if name == "0002.txt":
        os._exit(3)
    return ORIGINAL(path, *args, **kwargs)


ORIGINAL = batch.read_file


def test_a_packed_record_rebuilds_to_the_same_record(tmp_path):
    """Workers send records as the rows the database stores; rebuilt, they are the records read."""
    from extractor.record import astuple_field
    from extractor.synth import generate_samples

    for s in list(generate_samples(24, 4))[::3]:
        (tmp_path / s.name).write_bytes(s.data)
    files = sorted(tmp_path.iterdir()) + [EXAMPLES / "003_3a514eda3db1aa07.txt"]
    covered = set()
    for path in files:
        record = batch.read_file(path)
        covered |= {"findings"} if record.findings else set()
        covered |= {"marks"} if record.review_keys() else set()
        covered |= (
            {"alternatives"} if any(f.alternatives for f in record.fields.values()) else set()
        )
        packed = store.pack(record, record.text)
        assert packed.status == record.status and packed.error == record.error
        back = packed.record()
        assert [astuple_field(f) for f in back.fields.values()] == [
            astuple_field(f) for f in record.fields.values()
        ]
        assert (
            back.findings == record.findings
            and back.regions == record.regions
            and back.text == record.text
        )
        assert back.to_json() == record.to_json()
    # the round trip was tried on what a record can carry
    assert covered == {"findings", "marks", "alternatives"}


def cyclic_garbage(action) -> list[str]:
    """The kinds of objects that `action` leaves in reference cycles (what only the cyclic
    collector frees)."""
    import gc

    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        action()
        gc.collect()
        return sorted({type(o).__name__ for o in gc.garbage})
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()


def test_reading_text_and_web_pages_leaves_no_reference_cycles():
    """Bulk runs collect cycles rarely (parallel.GC_THRESHOLD): a reader that left them would keep
    its garbage (a page's whole lxml tree, once) alive until then, and memory would grow."""
    from extractor.pipeline import extract
    from extractor.synth import generate_samples

    samples = [(s.data, s.name) for s in generate_samples(60, 3)]
    samples += [
        (p.read_bytes(), p.name)
        for p in sorted(EXAMPLES.iterdir())
        if p.suffix in (".txt", ".md", ".html")
    ]

    def read_all():
        for data, name in samples:
            try:
                extract(data, name)
            except Exception:
                pass  # a sample that is not a report: still must leave no cycles behind

    # once first: one-time loads (modules, the gazetteer's tables) are no garbage per file
    read_all()
    assert cyclic_garbage(read_all) == []


def test_a_reference_cycle_would_be_seen():
    """The check above can fail: a closure that calls itself (as _table_rows had) is a cycle."""
    def closure_calling_itself():
        def scan(n):
            return scan(n - 1) if n else 0
        return scan(3)

    assert "function" in cyclic_garbage(closure_calling_itself)


def test_pdf_reading_is_followed_by_a_full_collection(monkeypatch):
    """pdfplumber leaves cycles, and bulk runs collect rarely: each PDF's are collected at once
    (without it, workers grew from 70 to 200 MB over 200 PDFs). Text files are left to the
    threshold."""
    import gc

    def allocated_since_collection(path) -> int:
        gc.disable()
        try:
            gc.collect()
            parallel._read(path)
            return gc.get_count()[0]
        finally:
            gc.enable()

    pdf = EXAMPLES / "huaian_2024.pdf"
    assert allocated_since_collection(pdf) < 50
    assert allocated_since_collection(EXAMPLES / "003_3a514eda3db1aa07.txt") > 200
    # the check tells a reader that does not collect
    monkeypatch.setattr(parallel, "CYCLIC_KINDS", ())
    assert allocated_since_collection(pdf) > 200


def test_a_hanging_or_crashing_file_fails_alone(tmp_path, monkeypatch):
    files = sorted(many(tmp_path, 5).glob("*.txt"))
    monkeypatch.setattr(parallel, "read_file", slow_or_crash)  # the forked workers inherit it
    results = dict(parallel.read_many(files, workers=2, timeout=2))
    assert "timed out after 2 s" in results[files[1]].error
    assert "crashed" in results[files[2]].error
    assert [results[f].status for f in (files[0], files[3])] == ["ok", "ok"]
    assert results[files[4]].error is None
    assert results[files[1]].sha256 == batch.file_sha256(files[1])


def test_too_large_file_fails_with_its_reason(tmp_path):
    big = tmp_path / "big.txt"
    big.write_bytes(b"x" * 2000)
    record = batch.read_file(big, max_bytes=1000)
    assert record.status == "failed" and record.error.startswith("file too large (2,000 bytes")


def run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "extractor.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_killed_run_resumes_to_the_same_database(tmp_path):
    folder = many(tmp_path, 150)
    whole = tmp_path / "whole.db"
    assert run_cli("extract", folder, "--db", whole, "-w", "1", "-q").returncode == 0
    resumed = tmp_path / "resumed.db"
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "extractor.cli", "extract", str(folder), "--db", str(resumed),
            "-w", "1", "-q",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_documents(resumed, 100, 120)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = table(resumed, "select count(*) from documents")[0][0]
    assert 0 < partial < 150, "the run was to be killed mid-way"
    assert (
        table(resumed, 'select count(*) from "values"')[0][0]
        == 203 * table(resumed, "select count(*) from documents where template = '2021'")[0][0]
        + 201 * table(resumed, "select count(*) from documents where template = '2019'")[0][0]
    )
    again = run_cli("extract", folder, "--db", resumed, "-w", "2")
    assert again.returncode == 0
    assert (
        f"{150 - partial} documents read" in again.stderr
        and f"({partial} unchanged, not read again)" in again.stderr
    )
    assert content(resumed) == content(whole)
    forced = run_cli("extract", folder, "--db", resumed, "--force", "-q")
    assert "150 documents read" in forced.stderr and content(resumed) == content(whole)


def test_second_writer_refuses_clearly(tmp_path):
    db_path = tmp_path / "r.db"
    with store.Lock(db_path):
        result = CliRunner().invoke(main, ["extract", str(EXAMPLES), "--db", str(db_path)])
    assert (
        result.exit_code != 0
        and "another xxgk extract" in result.output
        and "wait for it" in result.output
    )
    result = CliRunner().invoke(main, ["extract", str(EXAMPLES), "--db", str(db_path), "-q"])
    assert result.exit_code == 0


def test_corrupt_database_gives_a_clear_error(tmp_path):
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"SQLite format 2\x00" + b"\x13" * 4000)
    result = CliRunner().invoke(main, ["extract", str(EXAMPLES), "--db", str(bad)])
    assert (
        result.exit_code != 0
        and result.output.startswith("Error: ")
        and "cannot open as an xxgk database" in result.output
    )


def test_database_of_an_earlier_version_is_refused_clearly(tmp_path):
    old = tmp_path / "old.db"
    with sqlite3.connect(old) as conn:  # documents keyed by sha256 alone, as before 0.2
        conn.execute("CREATE TABLE documents (sha256 TEXT PRIMARY KEY, path TEXT)")
    result = CliRunner().invoke(main, ["extract", str(EXAMPLES), "--db", str(old)])
    assert (
        result.exit_code != 0
        and result.output.startswith("Error: ")
        and "made by an earlier xxgk" in result.output
    )
    current = tmp_path / "current.db"
    assert (
        CliRunner().invoke(main, ["extract", str(EXAMPLES), "--db", str(current), "-q"]).exit_code
        == 0
    )
    assert (
        CliRunner().invoke(main, ["extract", str(EXAMPLES), "--db", str(current), "-q"]).exit_code
        == 0
    )


def test_unwritable_location_gives_a_clear_error(tmp_path):
    result = CliRunner().invoke(
        main, ["extract", str(EXAMPLES), "--db", str(tmp_path / "no" / "such" / "dir" / "r.db")]
    )
    assert result.exit_code != 0 and result.output.startswith("Error: ")
    result = CliRunner().invoke(main, ["extract", str(EXAMPLES), "--jsonl", "/proc/xxgk.jsonl"])
    assert result.exit_code != 0 and "Error: cannot write /proc/xxgk.jsonl" in result.output


def test_full_disk_gives_a_clear_error_and_keeps_whole_documents(tmp_path):
    db_path = tmp_path / "r.db"
    db = store.open_db(db_path)
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    db.execute(f"PRAGMA max_page_count = {pages + 30}")  # room for a few documents only
    writer = store.Writer(db, None, batch=1)
    with pytest.raises(StoreError, match="full"):
        for path in sorted(many(tmp_path, 40).glob("*.txt")):
            writer.add(batch.read_file(path), str(path))
    docs = table(db_path, "select count(*) from documents")[0][0]
    # the writes that fitted are whole documents (below); the rest were refused
    assert 0 < docs < 40
    assert table(
        db_path,
        "select count(*) from documents d where (select count(*) from "
        '"values" v where v.document_id = d.id) not in (201, 203)',
    ) == [(0,)]


def test_exports(tmp_path):
    db_path = tmp_path / "r.db"
    CliRunner().invoke(main, ["extract", str(EXAMPLES), "--db", str(db_path), "-q"])
    out = tmp_path / "r.csv"
    result = CliRunner().invoke(main, ["export", str(db_path), "--format", "csv", "-o", str(out)])
    assert result.exit_code == 0, result.output
    lines = out.read_text(encoding="utf-8-sig").splitlines()
    header = lines[0].split(",")
    assert header[:6] == ["path", "sha256", "status", "template", "error", "marked"]
    assert len(header) == 6 + len(set(header[6:])) == 6 + 229
    assert len(lines) == 8 and (tmp_path / "r.findings.csv").exists()
    assert (tmp_path / "r.review.csv").exists()
    zh = tmp_path / "zh.xlsx"
    result = CliRunner().invoke(
        main, ["export", str(db_path), "--format", "xlsx", "-o", str(zh), "--labels", "zh"]
    )
    assert result.exit_code == 0
    with zipfile.ZipFile(zh) as z:
        workbook = z.read("xl/workbook.xml").decode()
        strings = (
            z.read("xl/sharedStrings.xml").decode()
            if "xl/sharedStrings.xml" in z.namelist()
            else z.read("xl/worksheets/sheet1.xml").decode()
        )
    assert (
        'name="reports"' in workbook
        and 'name="findings"' in workbook
        and 'name="review"' in workbook
    )
    assert "发布机关（报告主体）" in strings
    jl = tmp_path / "r.jsonl"
    CliRunner().invoke(main, ["export", str(db_path), "--format", "jsonl", "-o", str(jl)])
    rows = [json.loads(line) for line in jl.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 7 and {r["status"] for r in rows} == {"ok", "flagged"}


def test_database_is_plain_sqlite(tmp_path):
    db_path = tmp_path / "r.db"
    CliRunner().invoke(main, ["extract", str(EXAMPLES), "--db", str(db_path), "-q"])
    tables = set(sqlite_utils.Database(db_path).table_names())
    assert {"documents", "values", "findings", "runs", "texts"} <= tables
