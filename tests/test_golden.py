"""The rule path reproduces every golden annotation exactly; the key list is the spec's."""

import csv
import json
from pathlib import Path

import pytest
from conftest import GOLDEN, ROOT

from extractor import spec
from extractor.ingest import read_document
from extractor.pipeline import extract

SHARED_FIELDS = ROOT.parent / "shared" / "spec" / "fields.tsv"
GOLDEN_FILES = sorted(GOLDEN.glob("*.json"))


def test_there_are_golden_files():
    assert len(GOLDEN_FILES) >= 5


@pytest.mark.parametrize("golden_path", GOLDEN_FILES, ids=lambda p: p.stem)
def test_rule_path_matches_golden(golden_path: Path):
    gold = json.loads(golden_path.read_text(encoding="utf-8"))
    data = (ROOT / gold["report"]).read_bytes()
    record = extract(data, gold["report"])
    assert record.sha256 == gold["sha256"], (
        "the golden file annotates other bytes than the report's"
    )
    assert list(record.fields) == list(gold["fields"]), (
        "key set or order differs from the golden file"
    )
    wrong = {
        k: (v, record.value(k))
        for k, v in gold["fields"].items()
        if record.value(k) != v or type(record.value(k)) is not type(v)
    }
    assert wrong == {}, f"(golden, extracted) for keys that differ: {wrong}"


@pytest.mark.parametrize("golden_path", GOLDEN_FILES, ids=lambda p: p.stem)
def test_golden_values_are_unmarked_unless_blank(golden_path: Path):
    """A clean cell read from a clean grid is not marked: marks are for real doubt."""
    gold = json.loads(golden_path.read_text(encoding="utf-8"))
    record = extract((ROOT / gold["report"]).read_bytes(), gold["report"])
    marked_nonnull = [
        k
        for k in record.review_keys()
        if gold["fields"][k] is not None and record.fields[k].rule.endswith(".grid")
    ]
    assert marked_nonnull == []


def test_key_list_equals_shared_spec():
    if not SHARED_FIELDS.exists():
        pytest.skip("../shared/spec/fields.tsv is not beside this checkout")
    with open(SHARED_FIELDS, encoding="utf-8", newline="") as f:
        shared = [row["key"] for row in csv.DictReader(f, delimiter="\t")]
    assert [f.key for f in spec.fields()] == shared


@pytest.mark.parametrize("template,count", [("2019", 201), ("2021", 203)])
def test_template_key_counts(template, count):
    assert len(spec.keys_for(template)) == count


def test_illegible_table_is_null_and_marked():
    record = extract((ROOT / "examples/001_8ffd747d7fad1cf1.txt").read_bytes(), "001")
    t4 = [k for k in record.fields if k.startswith("t4.")]
    assert len(t4) == 15
    assert all(record.value(k) is None and record.fields[k].review for k in t4)
    assert record.status == "flagged"


def test_clean_seed_has_nothing_marked():
    record = extract((ROOT / "examples/000_1e9d07bbaba7ae4f.txt").read_bytes(), "000")
    assert record.review_keys() == []
    assert record.status == "ok"
    fees = record.fields["t2.fees.amount"]
    text = read_document((ROOT / "examples/000_1e9d07bbaba7ae4f.txt").read_bytes(), "000").text
    assert text[fees.start:fees.end] == "763.0137"  # the span points at the printed cell
