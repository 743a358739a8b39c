"""Every case cut from a real report (../shared/cases, copied into tests/data/cases) is a test.

Each input `NAME.EXT` has beside it `NAME.EXT.expected.json`, what a person reads in the source:

    {"kind": "what the case stands for",
     "fields": {"key": value, ...},          # each must be read exactly (null is never 0)
     "right_or_marked": {"key": value, ...}, # each read exactly, or marked for review
     "marked": ["key", ...],                 # must be marked for review
     "unmarked": ["key", ...],               # must come out without a mark
     "status": "ok" | "flagged" | "failed" | ...,
     "error_contains": "text",               # the one-line reason of a failed file
     "template": "2019" | "2021" | null,
     "absent_checks": ["SECTION-5", ...],    # these checks do not fail (a blank that leaves one
                                             # not assessable is no failure)
     "check_kinds": {"T4": "misreading_suspected"},   # every finding of the check has this kind
     "no_table_values": true,                # no value of tables 2-4 is emitted (status predates)
     "text_contains": ["行政复议", ...],      # the text read holds these (after the fold at ingest)
     "sections": [1, 2, ...]}                # these sections' headings are found

Every part is optional. Whatever a file lists, a value that differs from `fields` must be marked:
a wrong value without a mark is the worst defect the tool can have.
"""

import json
from pathlib import Path

import pytest

from extractor.batch import read_file

CASES = Path(__file__).resolve().parent / "data" / "cases"
EXPECTED = sorted(CASES.rglob("*.expected.json"))


def _case_id(path: Path) -> str:
    return str(path.relative_to(CASES)).removesuffix(".expected.json")


@pytest.mark.parametrize("expected_path", EXPECTED, ids=_case_id)
def test_case(expected_path: Path):
    expected = json.loads(expected_path.read_text(encoding="utf-8"))
    record = read_file(expected_path.with_name(expected_path.name.removesuffix(".expected.json")))
    if "status" in expected:
        assert record.status == expected["status"], record.error
    if "error_contains" in expected:
        assert expected["error_contains"] in (record.error or "")
        assert "\n" not in record.error
    if "template" in expected:
        assert record.template == expected["template"]
    wrong = {k: (v, record.value(k)) for k, v in expected.get("fields", {}).items()
             if not _same(v, record.value(k))}
    loose = {k: (v, record.value(k)) for k, v in expected.get("right_or_marked", {}).items()
             if not _same(v, record.value(k))}
    silent = {k: got for k, got in {**wrong, **loose}.items() if not record.fields[k].review}
    assert silent == {}, f"wrong and unmarked (expected, read): {silent}"
    assert wrong == {}, f"wrong, marked (expected, read): {wrong}"
    for key in expected.get("marked", []):
        assert record.fields[key].review, f"{key} should be marked for review"
    for key in expected.get("unmarked", []):
        f = record.fields[key]
        assert not f.review, f"{key} should not be marked: {f.reason}"
    found = {
        f.check for f in record.findings if f.kind in ("report_defect", "misreading_suspected")
    }
    assert found.isdisjoint(expected.get("absent_checks", [])), record.findings
    for check, kind in expected.get("check_kinds", {}).items():
        kinds = {f.kind for f in record.findings if f.check == check}
        assert kinds <= {kind}, f"{check}: {kinds}"
    if expected.get("no_table_values"):
        emitted = [
            k for k, f in record.fields.items() if not k.startswith("meta.") and f.value is not None
        ]
        assert emitted == []
    for words in expected.get("text_contains", []):
        assert words in (record.text or ""), words
    for number in expected.get("sections", []):
        assert f"s{number}" in record.regions, f"section {number} not found"


def _same(truth, value) -> bool:
    from extractor.evaluate import same

    return same(truth, value) and (truth is None or type(truth) is type(value) or
                                   isinstance(truth, (int, float)) and isinstance(value, float))
