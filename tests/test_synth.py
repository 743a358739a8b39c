"""The stress-corpus generator (extractor.synth): repeatable, records that hold the template's
identities, every layout rendered with a truth of exactly the template's keys, and a plain
tab-separated rendering that the rule path reads exactly."""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from extractor.evaluate import same
from extractor.pipeline import extract
from extractor.spec import keys_for
from extractor.synth import LAYOUTS, generate, generate_samples, load_golden, render
from extractor.synth_readings import INT, MONEY, SIGNED, open_keys, row_readings, splits
from extractor.synth_values import (
    COLS,
    MONEY_KEYS,
    T4_KEYS,
    TEMPLATES,
    ambiguous_record,
    identity_violations,
    random_record,
    t3_rows,
)

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "golden"



# ---------------------------------------------------------------- repeatable


def test_generator_is_deterministic_for_a_seed():
    a = list(generate(2 * len(LAYOUTS), seed=7))
    b = list(generate(2 * len(LAYOUTS), seed=7))
    assert a == b
    c = list(generate(2 * len(LAYOUTS), seed=8))
    assert [x[1] for x in a] != [x[1] for x in c]


def test_generator_does_not_depend_on_the_hash_seed():
    """The same seed gives the same corpus in every process (a set's order changes with
    PYTHONHASHSEED)."""
    code = ("import hashlib, json; from extractor.synth import generate_samples; "
            "print(hashlib.sha256(b''.join(s.data + json.dumps(s.info.get('must_mark')).encode() "
            "for s in generate_samples(200, 5))).hexdigest())")
    digests = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              check=True, cwd=ROOT,
                              env={**os.environ, "PYTHONHASHSEED": seed}).stdout
               for seed in ("1", "2")}
    assert len(digests) == 1 and len(digests.pop()) == 65


def test_document_depends_only_on_seed_and_index():
    first = list(generate(5, seed=3))
    longer = list(generate(20, seed=3))
    assert longer[:5] == first


def test_random_record_is_deterministic():
    for tpl in TEMPLATES:
        assert random_record(random.Random(5), tpl) == random_record(random.Random(5), tpl)


def test_layouts_and_templates_are_balanced():
    samples = list(generate_samples(2 * len(LAYOUTS), seed=1))
    pairs = {(s.layout, s.template) for s in samples}
    assert pairs == {(lay, tpl) for lay in LAYOUTS for tpl in TEMPLATES}


# ---------------------------------------------------------------- random records


@pytest.mark.parametrize("template", TEMPLATES)
def test_random_records_satisfy_the_identities(template):
    for seed in range(300):
        rec = random_record(random.Random(seed), template)
        assert list(rec) == list(keys_for(template))
        assert identity_violations(rec, template) == [], seed


@pytest.mark.parametrize("template", TEMPLATES)
def test_random_records_have_realistic_values(template):
    lo, hi = {"2019": (2019, 2020), "2021": (2021, 2024)}[template]
    nonzero = zeros = 0
    for seed in range(200):
        rec = random_record(random.Random(seed), template)
        assert rec["meta.template"] == template and lo <= rec["meta.year"] <= hi
        assert isinstance(rec["meta.agency"], str) and rec["meta.agency"].endswith(("局", "委员会"))
        for k, v in rec.items():
            if k.startswith("meta."):
                continue
            if k in MONEY_KEYS:
                assert isinstance(v, float) and v >= 0 and round(v, 4) == v, (k, v)
            elif k.endswith(".change"):
                assert isinstance(v, int)
            else:
                assert isinstance(v, int) and v >= 0, (k, v)
            if k.startswith("t3."):
                zeros += v == 0
                nonzero += v != 0
    assert zeros > 5 * nonzero > 0  # mostly zeros, but not only


def test_a_broken_record_fails_the_identity_helper():
    rec = random_record(random.Random(1), "2021")
    rec["t3.granted.natural"] += 1
    bad = identity_violations(rec)
    assert any(b.startswith("T3-B[granted]") for b in bad)
    assert any(b.startswith("T3-C[natural]") for b in bad)
    rec = random_record(random.Random(1), "2019")
    rec["t4.review.total"] += 2
    assert any(b.startswith("T4[review]") for b in identity_violations(rec))
    rec = random_record(random.Random(1), "2019")
    rec["t3.carried_over.legal"] += 1
    rec["t3.carried_over.total"] += 1  # the row still adds up; 一 + 二 = 总计 + 四 does not
    bad = identity_violations(rec)
    assert bad and all(b.startswith("T3-A[") and "一 + 二" in b for b in bad)


def test_identity_checks_with_a_null_are_skipped():
    rec = random_record(random.Random(2), "2021")
    rec["t3.granted.natural"] = None
    rec["t3.granted.total"] = 10 ** 6
    bad = identity_violations(rec)
    assert not any(b.startswith("T3-B[granted]") for b in bad)


# ---------------------------------------------------------------- rendering


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("template", TEMPLATES)
def test_every_layout_renders_with_exactly_the_template_keys(layout, template):
    for seed in range(3):
        rng = random.Random(f"{layout}/{template}/{seed}")
        rec = random_record(rng, template)
        data, truth, info = render(rec, layout, rng)
        assert set(truth) == set(keys_for(template))
        assert truth["meta.template"] == template
        assert info["layout"] == layout and info["template"] == template
        text = data.decode(info["encoding"])
        assert "政府信息公开" in text
        for k, v in truth.items():  # the truth only ever blanks a value, never changes it
            assert v is None or same(v, rec[k]), k


def test_html_zeros_as_nbsp_are_null_in_the_truth():
    seen = False
    for seed in range(40):
        rng = random.Random(seed)
        rec = random_record(rng, "2021")
        data, truth, info = render(rec, "html", rng)
        if "all zeros &nbsp;" in info["details"]:
            seen = True
            assert b"&nbsp;" in data and b"rowspan" in data and b"colspan" in data
            assert not any(v == 0 for k, v in truth.items() if not k.startswith("meta."))
    assert seen


def test_html_gbk_declares_and_uses_gbk():
    rng = random.Random(4)
    data, truth, info = render(random_record(rng, "2019"), "html_gbk", rng)
    assert b'<meta charset="gbk">' in data and info["encoding"] == "gbk"
    data.decode("gbk")


def test_missing_table_nulls_its_keys():
    for seed in range(10):
        rng = random.Random(seed)
        data, truth, info = render(random_record(rng, "2021"), "missing_table", rng)
        table = info["details"][-1].split()[0]
        assert all(v is None for k, v in truth.items() if k.startswith(table + "."))
        assert any(
            v is not None for k, v in truth.items() if not k.startswith((table + ".", "meta."))
        )


def test_tricks_keep_the_truth():
    rng = random.Random(9)
    rec = random_record(rng, "2021")
    for layout in ("ocr", "concatenated", "split_header", "wrapped_labels", "utf16", "gb18030"):
        _, truth, _ = render(rec, layout, random.Random(layout))
        assert truth == rec


def test_concatenated_runs_cells_together():
    rng = random.Random(3)
    rec = random_record(rng, "2021")
    data, _, _ = render(rec, "concatenated", rng)
    run = "".join(str(rec[f"t3.new.{c}"]) for c in
                  ("natural", "commercial", "research", "social", "legal", "other_org", "total"))
    assert "一、本年新收政府信息公开申请数量" + run in data.decode()


def test_golden_records_render_in_every_layout():
    golden = load_golden(GOLDEN)
    assert golden
    for name, fields in golden:
        for layout in LAYOUTS:
            data, truth, info = render(fields, layout, random.Random(name + layout))
            assert set(truth) == set(keys_for(fields["meta.template"]))
            assert all(truth[k] is None or same(truth[k], fields[k]) for k in truth)


def test_generate_writes_files_and_golden_style_truth(tmp_path):
    out = list(generate(4, seed=2, out_dir=tmp_path))
    for name, data, truth, layout, template in out:
        assert (tmp_path / name).read_bytes() == data
        j = json.loads((tmp_path / (name.rsplit(".", 1)[0] + ".json")).read_text(encoding="utf-8"))
        assert j["synthetic"] is True and j["layout"] == layout and j["report"] == name
        assert {"report", "sha256", "version", "annotator", "note", "layout", "fields"} <= set(j)
        assert j["fields"] == truth and j["fields"]["meta.template"] == template


# ------------------------------------------------------- the rule path on a plain rendering


@pytest.mark.parametrize("template", TEMPLATES)
def test_tsv_rendering_of_a_random_record_is_extracted_exactly(template):
    for seed in range(8):
        rng = random.Random(f"tsv-exact/{seed}")
        rec = random_record(rng, template)
        data, truth, info = render(rec, "tsv", rng)
        got = extract(data, "report" + info["ext"])
        wrong = {k: (v, got.value(k)) for k, v in truth.items() if not same(got.value(k), v)}
        assert not wrong, (seed, info, wrong)



# ------------------------------------------------------- text that lost its table structure
# Issue 12, item 6: one-line crawler dumps, pdftotext renderings, detached-label markdown and
# the solver's ambiguous cases, each drawn like a real case in ../shared/cases.

TEXT_LAYOUTS = ("one_line", "pdftotext_layout", "pdftotext_raw", "detached_markdown",
                "ambiguous_runs")
CASES = ROOT / "tests" / "data" / "cases"
T3_LABEL = {tpl: {row: labels[-1] for row, labels in t3_rows(tpl)} for tpl in TEMPLATES}


def _text(layout: str, template: str, seed, record: dict | None = None):
    rng = random.Random(f"{layout}/{template}/{seed}")
    if record is None:
        draw = ambiguous_record if layout == "ambiguous_runs" else random_record
        record = draw(rng, template)
    data, truth, info = render(record, layout, rng)
    return record, data.decode(info["encoding"]), truth, info


def _rows(template: str):
    return [(row, [f"t3.{row}.{c}" for c in COLS]) for row, _ in t3_rows(template)]


def _run(record: dict, keys) -> str:
    return "".join(str(record[k]) for k in keys)


@pytest.mark.parametrize("layout", TEXT_LAYOUTS)
def test_text_layouts_say_which_cells_are_open(layout):
    for tpl in TEMPLATES:
        for seed in range(5):
            _, text, truth, info = _text(layout, tpl, seed)
            must = info["must_mark"]
            assert isinstance(must, list) and set(must) <= set(truth)
            if layout in ("pdftotext_layout", "detached_markdown"):  # columns, pipes: cells apart
                assert must == []


def test_one_line_is_a_crawler_header_then_the_body_on_one_line():
    for tpl in TEMPLATES:
        for seed in range(10):
            _, text, _, _ = _text("one_line", tpl, seed)
            head, body = text.split("=" * 20 + " 正文 " + "=" * 20 + "\n")
            assert head.startswith("标题: ") and "\n发布时间: " in head and "年度报告" in head
            assert body.count("\n") == 1 and body.endswith("\n")
            assert body.index("三、收到和处理政府信息公开申请情况") > 0  # headings mid-line
            first_row = body.index("一、本年新收政府信息公开申请数量")
            assert 0 < body.index("申请人情况") < first_row  # the header's words before it


def test_one_line_runs_each_row_together_after_its_label():
    checked = 0
    labels = {"new": "一、本年新收政府信息公开申请数量", "total": "（七）总计",
              "carried_forward": "四、结转下年度继续办理"}
    rules = ["t2.rules.issued", "t2.rules.repealed", "t2.rules.in_force"]
    for seed in range(30):
        rec, text, truth, info = _text("one_line", "2021", seed)
        if any(v is None for v in truth.values()):
            continue
        for row, keys in _rows("2021"):
            if row in labels:
                pattern = re.escape(labels[row]) + " ?" + _run(rec, keys) + r"(?!\d)"
                assert re.search(pattern, text), (seed, row)
        assert re.search("规章 ?" + _run(rec, rules), text)
        t4 = [str(rec[k]) for k in T4_KEYS]
        assert (" " if "table 4 spaced" in info["details"][-1] else "").join(t4) in text
        checked += 1
    assert checked >= 20


def test_one_line_blank_cells_vanish_null_in_the_truth_and_open_when_numbers_stay():
    whole = part = 0
    for seed in range(300):
        rec, text, truth, info = _text("one_line", TEMPLATES[seed % 2], seed)
        if not {"zero rows blank", "some rows' zeros blank"} & set(info["details"]):
            assert all(v is not None for v in truth.values())
            continue
        must = set(info["must_mark"])
        rows: dict[str, list[str]] = {}
        for k in truth:
            if k.startswith(("t2.", "t3.")):
                rows.setdefault(k.rsplit(".", 1)[0], []).append(k)
        for keys in rows.values():
            nulls = [k for k in keys if truth[k] is None]
            assert all(rec[k] == 0 for k in nulls)  # only zeros were blank
            if nulls and len(nulls) == len(keys):
                whole += 1
                assert not must & set(keys)  # nothing printed: nothing to misplace
            elif nulls:
                part += 1
                assert set(keys) <= must  # which cells were blank, the text does not say
    assert whole >= 5 and part >= 5


def test_careful_reader_agrees_with_the_real_one_line_case():
    """../shared/cases/one_line_dump_2022: the run 8855698 of table 2 is open, `000` is not;
    tables 3 and 4 are settled by their arithmetic (801000081 only reads 80, 1, 0, …, 81)."""
    expected = CASES / "one_line_dump_2022.txt.expected.json"
    fields = json.loads(expected.read_text(encoding="utf-8"))["fields"]
    record = random_record(random.Random(0), "2021")
    record.update({k: v for k, v in fields.items() if k in record})
    _, text, truth, info = _text("one_line", "2021", "case", record)
    assert "规章000行政规范性文件" in text.replace(" ", "") and "8855698" in text
    normative = {f"t2.normative.{c}" for c in ("issued", "repealed", "in_force")}
    assert set(info["must_mark"]) == normative


def test_readings_of_runs():
    assert splits("000", [INT] * 3) == [(0, 0, 0)]
    assert len(splits("77132470", [INT] * 3)) > 5
    assert row_readings("801000081", 7, row_sum=True) == [(80, 1, 0, 0, 0, 0, 81)]
    two = {(2, 20, 0, 0, 0, 0, 22), (22, 0, 0, 0, 0, 0, 22)}
    assert set(row_readings("220000022", 7, row_sum=True)) == two
    assert splits("6-5", [INT, SIGNED]) == [(6, -5)]
    assert set(splits("625.1", [INT, MONEY])) == {(6, 25.1), (62, 5.1)}
    assert splits("1" * 40, [INT] * 10, limit=50) is None  # too many to tell anything


def test_columns_decide_a_run_unless_a_mirrored_row_balances_it():
    keys = {r: [f"{r}.a", f"{r}.b"] for r in ("x", "y", "tot")}
    sums = [SimpleNamespace(left=("tot.a",), right=("x.a", "y.a")),
            SimpleNamespace(left=("tot.b",), right=("x.b", "y.b"))]
    decided = {"x": [(2, 20), (22, 0)], "y": [(0, 0)], "tot": [(2, 20)]}
    assert open_keys(decided, keys, sums) == set()
    mirrored = {"x": [(1, 11), (11, 1)], "y": [(11, 1), (1, 11)], "tot": [(12, 12)]}
    assert open_keys(mirrored, keys, sums) == {"x.a", "x.b", "y.a", "y.b"}
    unreadable = {"x": None, "tot": [(2, 20)]}
    assert open_keys(unreadable, keys, sums) == {"x.a", "x.b"}


def test_ambiguous_runs_has_rows_the_columns_decide_and_rows_they_do_not():
    decided = undecided = 0
    for seed in range(40):
        tpl = TEMPLATES[seed % 2]
        rec, text, truth, info = _text("ambiguous_runs", tpl, seed)
        assert truth == rec and not identity_violations(rec)
        must = set(info["must_mark"])
        for row, keys in _rows(tpl):
            run = _run(rec, keys)
            assert run in text  # run together
            if len(row_readings(run, 7, row_sum=True)) > 1:
                if must & set(keys):
                    undecided += 1
                else:
                    decided += 1
    assert decided >= 10 and undecided >= 10


def test_pdftotext_layout_prints_a_top_aligned_total_on_the_wrapped_labels_first_line():
    """../shared/cases/rendered/t3_total_top_aligned_row_rotated.txt: the total on the label's
    first line, the six applicant values on the next."""
    found = 0
    for seed in range(30):
        rec = random_record(random.Random(seed), "2021")
        rec.update({"t3.partial.natural": 5, "t3.partial.commercial": 3, "t3.partial.total": 8})
        _, text, _, info = _text("pdftotext_layout", "2021", seed, rec)
        if "total top-aligned" not in info["details"][0]:
            continue
        lines = text.splitlines()
        i = next(i for i, line in enumerate(lines) if "（二）部分公开" in line)
        assert lines[i].split()[-1] == "8"
        assert lines[i + 1].split()[-6:] == ["5", "3", "0", "0", "0", "0"]
        assert "形）" in lines[i + 1] + lines[i + 2]  # the label's tail below (two or three lines)
        found += 1
    assert found >= 5


def test_pdftotext_layout_sometimes_prints_a_total_alone_above_its_label():
    alone = 0
    short = [label for label in T3_LABEL["2021"].values() if len(label) <= 8]
    for seed in range(60):
        _, text, _, info = _text("pdftotext_layout", "2021", seed)
        lines = text.splitlines()
        for a, b in zip(lines, lines[1:]):
            starts = any(b.strip().startswith(label) for label in short)
            alone += bool(re.fullmatch(r" +\d+", a)) and starts and len(b.split()) == 7
    assert alone >= 3


def test_pdftotext_raw_prints_values_before_a_single_row_blocks_label_and_the_unit_below():
    before = unit = 0
    for seed in range(80):
        rec, text, truth, info = _text("pdftotext_raw", "2019", seed)
        lines = [line for line in text.splitlines() if line]
        i = lines.index("政府集中采购")
        if "政府集中采购: values before label" in info["details"]:
            assert lines[i - 2] == str(rec["t2.procurement.items"])
            before += 1
        if lines[i + 1] == "元":
            assert "采购总金额" in text and "采购总金额（单位：元）" not in text
            unit += 1
    assert before >= 20 and unit >= 1


def test_pdftotext_raw_splits_table_4s_header_into_characters_and_puts_totals_last():
    last = 0
    for seed in range(20):
        rec, text, truth, info = _text("pdftotext_raw", "2021", seed)
        lines = [line for line in text.splitlines() if line]
        start = lines.index("四、政府信息公开行政复议、行政诉讼情况")
        t4 = lines[start + 1: lines.index("五、存在的主要问题及改进情况")]
        assert sum(len(line) == 1 and not line.isdigit() for line in t4) >= 40
        numbers = [line for line in t4 if re.fullmatch(r"\d+", line)]
        assert len(numbers) == 15
        if "table 4 totals last" in info["details"]:
            totals = [str(rec["t4.suit_direct.total"]), str(rec["t4.suit_after_review.total"])]
            assert numbers[-2:] == totals
            last += 1
    assert last >= 5


def test_table_4_stream_order_leaves_open_what_both_orders_satisfy():
    from extractor.synth import _tables
    from extractor.synth_text import _t4_stream_open

    rec = random_record(random.Random(1), "2021")
    rec.update({k: 0 for k in T4_KEYS})
    rec.update({"t4.suit_after_review.other": 7, "t4.suit_after_review.total": 7})
    texts = {k: [str(v)] for k, v in rec.items() if not k.startswith("meta.")}
    t4 = _tables(rec, texts, {"fee_unit": "", "proc_unit": ""})["t4"]
    # drawn 0 0 7 0 7; the same numbers read as "totals last" give 0 7 0 0 | 7: both add up
    both = {"t4.suit_after_review.corrected", "t4.suit_after_review.other"}
    assert _t4_stream_open(t4, rec, last=True) == both
    rec.update({"t4.suit_direct.upheld": 1, "t4.suit_direct.total": 1})
    assert _t4_stream_open(t4, rec, last=False) == set()  # the other order breaks a sum


def _bare_rows(text: str) -> list[list[str]]:
    rows = []
    for line in text.splitlines():
        if not line.startswith("| "):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 7 and all(re.fullmatch(r"\d*", c) for c in cells):
            rows.append(cells)
    return rows


def test_detached_markdown_puts_labels_apart_and_their_rows_follow_in_order():
    detached_seen = wrapped = 0
    for seed in range(30):
        tpl = TEMPLATES[seed % 2]
        rec, text, truth, info = _text("detached_markdown", tpl, seed)
        free = [line for line in text.splitlines() if line and not line.startswith("|")]
        apart = [row for row, _ in _rows(tpl)
                 if any(line.startswith(T3_LABEL[tpl][row][:5]) for line in free)]
        assert apart, seed
        keys = dict(_rows(tpl))
        assert _bare_rows(text) == [[str(rec[k]) for k in keys[row]] for row in apart]
        detached_seen += len(apart)
        wrapped += any(T3_LABEL[tpl][row] not in free for row in apart)
    assert detached_seen >= 60 and wrapped >= 10
