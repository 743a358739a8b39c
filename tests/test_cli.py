"""The xxgk command as a user runs it: extract, show, jsonl, idempotent re-run, bad files."""

import csv
import json
import shutil

import sqlite_utils
from click.testing import CliRunner
from conftest import EXAMPLES

from extractor.cli import main


def run(*args):
    result = CliRunner().invoke(main, list(map(str, args)))
    return result


def examples_copy(tmp_path):
    folder = tmp_path / "reports"
    shutil.copytree(EXAMPLES, folder)
    return folder


def test_extract_to_db_and_summary(tmp_path):
    db_path = tmp_path / "r.db"
    result = run("extract", examples_copy(tmp_path), "--db", db_path)
    assert result.exit_code == 0, result.output
    assert "7 documents read: 4 ok, 3 flagged, 0 failed" in result.output
    db = sqlite_utils.Database(db_path)
    assert db["documents"].count == 7
    assert db["values"].count == 5 * 203 + 201 + 203
    row = next(db.query("select value from \"values\" v join documents d on d.id = v.document_id "
                        "where d.agency = '西工区财政局' and key = 't2.fees.amount'"))
    assert row["value"] == 763.0137


def test_rerun_is_idempotent(tmp_path):
    folder, db_path = examples_copy(tmp_path), tmp_path / "r.db"
    run("extract", folder, "--db", db_path)
    db = sqlite_utils.Database(db_path)
    before = (
        list(db.query('select * from "values" order by document_id, key')),
        list(db.query("select sha256, status from documents order by sha256")),
    )
    result = run("extract", folder, "--db", db_path)
    assert result.exit_code == 0
    after = (
        list(db.query('select * from "values" order by document_id, key')),
        list(db.query("select sha256, status from documents order by sha256")),
    )
    assert before == after
    assert db["runs"].count == 2


def test_jsonl_to_stdout(tmp_path):
    result = CliRunner().invoke(
        main, ["extract", str(EXAMPLES / "000_1e9d07bbaba7ae4f.txt"), "--jsonl", "-"]
    )
    assert result.exit_code == 0
    line = json.loads(result.stdout.splitlines()[0])
    assert set(line) >= {"file", "sha256", "status", "template", "fields", "review", "findings"}
    assert line["status"] == "ok" and line["template"] == "2021"
    assert len(line["fields"]) == 203 and line["fields"]["meta.agency"] == "西工区财政局"


def test_jsonl_flagged_lists_review_keys(tmp_path):
    out = tmp_path / "out.jsonl"
    run("extract", EXAMPLES / "001_8ffd747d7fad1cf1.txt", "--jsonl", out)
    line = json.loads(out.read_text(encoding="utf-8").splitlines()[0])
    assert line["status"] == "flagged"
    assert sorted(line["review"]) == sorted(k for k in line["fields"] if k.startswith("t4."))


def test_bad_files_fail_alone_and_the_run_goes_on(tmp_path):
    folder = examples_copy(tmp_path)
    (folder / "empty.txt").write_bytes(b"")
    (folder / "binary.txt").write_bytes(bytes(range(256)) * 10)
    (folder / "novel.txt").write_text("从前有座山，山上有座庙。" * 50, encoding="utf-8")
    (folder / "truncated.html").write_bytes(
        "<html><body><p>某局2023年政府信息公开工作年度报告</p><table><tr><td>规".encode("gbk")
    )
    db_path = tmp_path / "r.db"
    result = run("extract", folder, "--db", db_path)
    assert result.exit_code == 3  # the run finished, some files failed
    # The truncated page is a report whose tables are cut off: flagged, every table value null and
    # marked.
    assert "11 documents read: 4 ok, 4 flagged, 3 failed" in result.output
    errors = [ln for ln in result.output.splitlines() if ln.startswith("Error: ")]
    assert len(errors) == 3
    assert any("empty.txt" in ln and "empty" in ln for ln in errors)
    assert any("novel.txt" in ln and "not an annual report" in ln for ln in errors)
    db = sqlite_utils.Database(db_path)
    failed = list(db.query("select path, error from documents where status = 'failed'"))
    assert len(failed) == 3 and all(r["error"] for r in failed)
    truncated_row = next(db.query("select sha256 from documents where path like '%truncated.html'"))
    truncated = truncated_row["sha256"]
    t3 = list(
        db.query(
            'select value, review from "values" where document_id = '
            "(select id from documents where sha256 = ?) and key like 't3.%'",
            [truncated],
        )
    )
    assert len(t3) == 175 and all(r["value"] is None and r["review"] == 1 for r in t3)


def test_missing_path_is_refused_before_anything_is_written(tmp_path):
    """A path that does not exist was recorded as a failed document, and the database created."""
    result = run("extract", tmp_path / "nope.txt", tmp_path / "nodir/", "--db", tmp_path / "r.db")
    assert result.exit_code == 2 and not (tmp_path / "r.db").exists()
    assert "Error: no such file or folder: " in result.output and "nope.txt" in result.output
    assert "nodir" in result.output
    result = run("extract", str(tmp_path / "*.nothing"), "--db", tmp_path / "r.db")
    assert result.exit_code == 2 and "a pattern that matches no file" in result.output
    result = run("extract", EXAMPLES)
    assert result.exit_code == 2 and "Error: nothing to write" in result.output


def test_show_draws_the_tables(tmp_path):
    db_path = tmp_path / "r.db"
    run("extract", EXAMPLES, "--db", db_path)
    result = run("show", db_path, "西工区财政局")
    assert result.exit_code == 0, result.output
    assert "西工区财政局 · 2023 · template 2021 · ok" in result.output
    assert "763.0137" in result.output and "三、收到和处理政府信息公开申请情况" in result.output
    result = run("show", db_path, "财政局")
    assert result.exit_code != 0 and "5 documents match" in result.output
    result = run("show", db_path, "不存在")
    assert result.exit_code != 0 and "no document matches" in result.output


def test_show_on_missing_or_corrupt_db(tmp_path):
    result = run("show", tmp_path / "none.db", "x")
    assert result.exit_code != 0 and "no such database" in result.output
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    result = run("show", bad, "x")
    assert result.exit_code != 0 and "cannot open" in result.output


def test_check_flagged_and_findings(tmp_path):
    folder = examples_copy(tmp_path)
    seed = (folder / "000_1e9d07bbaba7ae4f.txt").read_text(encoding="utf-8")
    (folder / "000_1e9d07bbaba7ae4f.txt").unlink()
    defect = seed.replace(
        "\t(一) 予以公开\t0\t0\t0\t0\t0\t0\t0", "\t(一) 予以公开\t2\t1\t0\t0\t0\t0\t5"
    )
    (folder / "defect.txt").write_text(defect, encoding="utf-8")
    db_path = tmp_path / "r.db"
    run("extract", folder, "--db", db_path)
    result = run("check", db_path)
    assert result.exit_code == 0
    assert (
        "7 documents checked: 4 report_defect, 0 misreading_suspected, 12 not_assessable"
        in result.output
    )
    result = run("flagged", db_path)
    assert "defect.txt" in result.output and "report_defect: T3-B[granted]" in result.output
    assert (
        "001_8ffd747d7fad1cf1.txt" in result.output
        and "15 values marked: table 4 is illegible in the source" in result.output
    )
    assert "4 documents to look at" in result.output
    out = tmp_path / "defects.csv"
    result = run("findings", db_path, "--kind", "report_defect", "--csv", out)
    assert result.exit_code == 0 and "4 findings" in result.output
    rows = list(csv.DictReader(out.open(encoding="utf-8-sig")))
    assert {r["check"] for r in rows} == {"T3-B", "T3-C"} and all(
        r["kind"] == "report_defect" for r in rows
    )
    granted = next(r for r in rows if r["check"] == "T3-B")
    assert (
        json.loads(granted["keys"])[0] == "t3.granted.total"
        and float(granted["expected"]) == 3
        and float(granted["actual"]) == 5
    )
    # the printed values are kept
    db = sqlite_utils.Database(db_path)
    granted_5 = "select value from \"values\" where key = 't3.granted.total' and value = 5"
    assert next(db.query(granted_5))["value"] == 5


def test_llm_route_off_is_said_once_and_rules_still_run(tmp_path):
    result = run("extract", EXAMPLES, "--db", tmp_path / "r.db")
    assert result.output.count("LLM route off: no API key or endpoint configured") == 1
    assert "7 documents read" in result.output


def test_llm_endpoint_down_flags_the_document_and_the_run_completes(tmp_path, monkeypatch):
    monkeypatch.setenv("XXGK_LLM_BASE_URL", "http://127.0.0.1:9/v1")  # nothing listens there
    monkeypatch.setenv("XXGK_LLM_RETRIES", "0")
    monkeypatch.setenv("XXGK_LLM_TIMEOUT", "2")
    out = tmp_path / "o.jsonl"
    result = run(
        "extract",
        EXAMPLES / "002_8f53831139afa8fc.txt",
        EXAMPLES / "000_1e9d07bbaba7ae4f.txt",
        "--jsonl",
        out,
        "-w",
        "1",
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert [x["status"] for x in lines] == ["flagged", "ok"]
    assert any(f["check"].startswith("llm") for f in lines[0]["findings"])
    assert lines[0]["fields"]["t3.denied.state_secret.total"] == 0  # the rules' reading is kept
