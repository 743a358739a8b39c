"""The scorer, the golden store and `xxgk eval`: figures that agree with a hand count."""

import json
import shutil

import pytest
import sqlite_utils
from click.testing import CliRunner
from conftest import GOLDEN

from extractor import evaluate
from extractor.cli import main
from extractor.golden import GoldenError, load_file
from extractor.record import Field, Record


def record(**fields):
    return Record(
        "x",
        "0" * 64,
        0,
        "utf-8",
        "text",
        "2021",
        {
            k.replace("__", "."): Field(k.replace("__", "."), v[0], review=v[1])
            for k, v in fields.items()
        },
    )


def test_scorer_on_a_hand_made_case():
    truth = {
        "t3.new.natural": 3, "t3.new.commercial": 0, "t3.new.research": None, "t3.new.social": 5,
        "t3.new.legal": 0, "t3.new.other_org": 2,
    }
    got = record(t3__new__natural=(3, False),  # right
                 t3__new__commercial=(None, False),  # 0 read as blank: wrong, silent
                 t3__new__research=(0, True),  # blank read as 0: wrong, marked
                 t3__new__social=(6, False),  # wrong, silent
                 t3__new__legal=(0, True))  # right, but marked
    # t3.new.other_org is missing from the record: null, unmarked → wrong, silent
    outcomes = evaluate.compare("doc", truth, got, "tsv")
    assert [o.kind for o in outcomes] == [
        "right", "wrong_silent", "wrong_marked", "wrong_silent", "right", "wrong_silent",
    ]
    s = evaluate.summarise(outcomes)
    # by hand: 2 right of 6; 1 wrong marked, 3 silent; 2 marked of 6; unmarked 4, of which 1 right;
    # 4 wrong, 1 marked
    assert (s["right"], s["wrong_marked"], s["wrong_silent"]) == (2, 1, 3)
    assert s["accuracy"] == pytest.approx(2 / 6)
    assert s["review_rate"] == pytest.approx(2 / 6)
    assert s["right_when_unmarked"] == pytest.approx(1 / 4)
    assert s["marked_when_wrong"] == pytest.approx(1 / 4)


def test_null_is_never_zero_and_numbers_compare_by_value():
    assert not evaluate.same(0, None) and not evaluate.same(None, 0)
    assert (
        evaluate.same(None, None)
        and evaluate.same(6076, 6076.0)
        and evaluate.same(763.0137, 763.0137)
    )
    assert not evaluate.same(763.0137, 763.0138) and not evaluate.same("西工区财政局", "西工区")


def test_golden_validation_rejects_bad_files(tmp_path):
    good = json.loads((GOLDEN / "000_1e9d07bbaba7ae4f.json").read_text(encoding="utf-8"))
    cases = {
        "unknown key": (
            {"t3.bogus.natural": 1},
            None,
            "keys not in the 2021 template: t3.bogus.natural",
        ),
        "wrong type": ({"t3.new.natural": "3"}, None, "t3.new.natural must be int or null"),
        "missing key": (
            {},
            "t4.review.total",
            "keys of the 2021 template missing: t4.review.total",
        ),
        "bad template": ({"meta.template": "2020"}, None, "meta.template must be"),
    }
    for name, (extra, drop, message) in cases.items():
        data = json.loads(json.dumps(good))
        data["fields"].update(extra)
        if drop:
            del data["fields"][drop]
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        with pytest.raises(GoldenError, match=message):
            load_file(path)
    assert load_file(GOLDEN / "000_1e9d07bbaba7ae4f.json").template == "2021"


def test_eval_on_the_seeds_prints_accuracy_one_and_no_silent_error(tmp_path):
    db = tmp_path / "eval.db"
    result = CliRunner().invoke(main, ["eval", "--golden", str(GOLDEN), "--db", str(db)])
    assert result.exit_code == 0, result.output
    first = result.output.splitlines()[1]
    assert "accuracy 1.0000" in first and "silent    0" in first
    for section in ("meta", "t2", "t3", "t4"):
        assert any(line.strip().startswith(section) for line in result.output.splitlines())
    again = CliRunner().invoke(main, ["eval", "--golden", str(GOLDEN), "--db", str(db)])
    assert "eval run 2" in again.output
    compared = CliRunner().invoke(main, ["eval", "--compare", "1", "2", "--db", str(db)])
    assert "0 keys changed between run 1 and run 2" in compared.output


def test_llm_routes_need_an_endpoint_unless_they_rescore_from_the_cache(tmp_path):
    db = tmp_path / "eval.db"
    refused = CliRunner().invoke(
        main, ["eval", "--golden", str(GOLDEN), "--route", "hybrid", "--db", str(db)]
    )
    assert (
        refused.exit_code != 0 and "Error: the hybrid route needs an LLM endpoint" in refused.output
    )
    cached = CliRunner().invoke(
        main,
        ["eval", "--golden", str(GOLDEN), "--route", "hybrid", "--cache-only", "--db", str(db)],
    )
    assert cached.exit_code == 0, cached.output
    assert "route hybrid" in cached.output and "silent    0" in cached.output.splitlines()[1]
    assert sqlite_utils.Database(db)["llm_calls"].count == 0 or all(
        r["status"] == "cached" for r in sqlite_utils.Database(db)["llm_calls"].rows)


def test_eval_reports_a_wrong_golden_value_as_silent(tmp_path):
    folder = tmp_path / "golden"
    folder.mkdir()
    data = json.loads((GOLDEN / "000_1e9d07bbaba7ae4f.json").read_text(encoding="utf-8"))
    data["report"] = str((GOLDEN.parent / data["report"]).resolve())
    # the report prints 9: the tool's 9 now counts as wrong
    data["fields"]["t2.license.decisions"] = 8
    (folder / "000.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    result = CliRunner().invoke(
        main, ["eval", "--golden", str(folder), "--db", str(tmp_path / "e.db")]
    )
    assert (
        "values    203  accuracy 0.9951  wrong marked    0  silent    1"
        in result.output.splitlines()[1]
    )


def test_golden_load_command(tmp_path):
    result = CliRunner().invoke(
        main, ["golden", "load", str(GOLDEN), "--db", str(tmp_path / "e.db")]
    )
    assert result.exit_code == 0 and "golden annotations loaded" in result.output
    bad = tmp_path / "bad"
    shutil.copytree(GOLDEN, bad)
    (bad / "broken.json").write_text("{", encoding="utf-8")
    result = CliRunner().invoke(main, ["golden", "load", str(bad), "--db", str(tmp_path / "e.db")])
    assert result.exit_code != 0 and "broken.json: not readable JSON" in result.output
