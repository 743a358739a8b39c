"""The library's public face (issue 16): the names `extractor` exports, held here so that a change
to them is a decision; one exception hierarchy in errors.py; the entry points the CLI wraps."""

from __future__ import annotations

import ast
import inspect
import json
import sqlite3
from pathlib import Path

import pytest
from conftest import EXAMPLES, ROOT

import extractor
from extractor import errors

PUBLIC = [
    "__version__",
    "read_file", "extract", "run", "open_db", "check", "check_ids", "findings", "flagged",
    "find_documents", "export_db", "score", "Score", "compare_runs", "llm_config", "reextract",
    "Record", "Field", "Finding",
    "Planned", "FileDone", "Notice", "RunSummary", "Estimate",
    "SUPPORTED",
    "XxgkError", "UsageError", "MissingExtra", "InputError", "NotAReportError", "LimitError",
    "NeedsOCR", "OutputError", "StoreError", "DatabaseDamaged", "DatabaseReadOnly",
    "DatabaseLocked", "NotXxgkDatabase", "GoldenError", "GoldenMismatch", "LLMConfigError",
    "Interrupted",
]


def test_the_public_names_are_these_and_each_resolves():
    assert sorted(extractor.__all__) == sorted(PUBLIC)
    for name in PUBLIC:
        assert getattr(extractor, name) is not None, name
    with pytest.raises(AttributeError):
        extractor.not_a_name  # noqa: B018


def test_public_functions_have_docstrings_that_name_their_errors():
    for name in ("read_file", "extract", "run", "check", "export_db", "score", "compare_runs"):
        doc = inspect.getdoc(getattr(extractor, name)) or ""
        assert len(doc) > 80, name
        assert "Raise" in doc or "Never raises" in doc, name


def test_every_error_is_in_errors_py_and_under_xxgk_error():
    for name, value in vars(errors).items():
        if (
            inspect.isclass(value)
            and issubclass(value, BaseException)
            and value.__module__ == errors.__name__
        ):
            assert issubclass(value, errors.XxgkError) or value is errors.Interrupted, name
            assert name in (errors.__doc__ or ""), f"{name} is not drawn in the tree"
    defined = []
    for path in sorted((ROOT / "extractor").glob("*.py")):
        if path.name == "errors.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and any(
                    getattr(b, "id", getattr(b, "attr", "")).endswith(("Error", "Exception"))
                    and getattr(getattr(b, "value", None), "id", "") != "click"  # the CLI's own
                    for b in node.bases):
                defined.append(f"{path.name}:{node.name}")
    assert defined == []


def test_read_file_extract_and_a_bulk_run_from_python(tmp_path):
    text = EXAMPLES / "000_1e9d07bbaba7ae4f.txt"
    record = extractor.read_file(text)
    assert record.status == "ok" and record.value("meta.agency") == "西工区财政局"
    assert extractor.read_file(tmp_path / "missing.txt").status == "failed"
    with pytest.raises(extractor.InputError):
        extractor.extract(b"", "empty.txt")
    events = []
    summary = extractor.run([text, EXAMPLES / "001_8ffd747d7fad1cf1.txt"], db=tmp_path / "r.db",
                            workers=1, on_event=events.append)
    assert (summary.read, summary.ok, summary.flagged) == (2, 1, 1) and summary.run_id == 1
    assert isinstance(events[0], extractor.Planned) and events[0].files == 2
    assert [type(e).__name__ for e in events[1:]] == ["FileDone", "FileDone"]
    with pytest.raises(extractor.UsageError):
        extractor.run([tmp_path / "nope"], db=tmp_path / "r.db")
    with pytest.raises(extractor.UsageError):
        extractor.findings(tmp_path / "r.db", check="T9")
    assert extractor.check(tmp_path / "r.db")["documents"] == 2


def test_datasette_metadata_and_its_canned_queries_run(tmp_path):
    from extractor.datasette import metadata

    db = tmp_path / "reports.db"
    extractor.run([EXAMPLES], db=db, workers=1)
    data = json.loads(json.dumps(metadata("reports"), ensure_ascii=False))
    queries = data["databases"]["reports"]["queries"]
    assert {"review_queue", "reports_by_failed_check"} <= set(queries)
    with sqlite3.connect(db) as conn:
        review = conn.execute(queries["review_queue"]["sql"]).fetchall()
        marked = conn.execute('select count(*) from "values" where review = 1').fetchone()[0]
        assert len(review) == marked > 0
        for check in ("", "T3-B"):
            conn.execute(queries["reports_by_failed_check"]["sql"], {"check": check}).fetchall()
        for table, meta in data["databases"]["reports"]["tables"].items():
            columns = {r[1] for r in conn.execute(f'pragma table_info("{table}")')}
            assert set(meta.get("facets", [])) <= columns, table


def test_a_wheel_carries_its_rules_and_prompts(tmp_path):
    """rules/ and prompts/ are package data (pyproject.toml maps them into extractor/): a built
    wheel holds them, one copy in the source tree."""
    import subprocess
    import sys
    import zipfile

    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                           str(tmp_path), str(ROOT)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    wheel = next(tmp_path.glob("xxgk-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for data in Path(ROOT / "rules").iterdir():
        assert f"extractor/rules/{data.name}" in names
    for data in Path(ROOT / "prompts").glob("*.md"):
        assert f"extractor/prompts/{data.name}" in names
    assert not (ROOT / "extractor" / "rules").exists()  # one copy: the top-level rules/
