"""The stress-corpus generator (extractor.synth): repeatable, records that hold the template's
identities, every layout rendered with a truth of exactly the template's keys, and a plain
tab-separated rendering that the rule path reads exactly."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from extractor.evaluate import same
from extractor.pipeline import extract
from extractor.spec import keys_for
from extractor.synth import LAYOUTS, generate, generate_samples, load_golden, render
from extractor.synth_values import MONEY_KEYS, TEMPLATES, identity_violations, random_record

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
    """The same seed gives the same corpus in every process (a set's order changes with PYTHONHASHSEED)."""
    code = ("import hashlib; from extractor.synth import generate_samples; "
            "print(hashlib.sha256(b''.join(s.data for s in generate_samples(200, 5))).hexdigest())")
    digests = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT,
                              env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("1", "2")}
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
    assert any("t3.granted" in b for b in bad)
    assert any("t3.total.natural" in b for b in bad)
    rec = random_record(random.Random(1), "2019")
    rec["t4.review.total"] += 2
    assert any("t4.review" in b for b in identity_violations(rec))
    rec = random_record(random.Random(1), "2019")
    rec["t3.carried_over.legal"] += 1
    rec["t3.carried_over.total"] += 1  # the row still adds up; 一 + 二 = 总计 + 四 does not
    assert [b for b in identity_violations(rec)] and all("一 + 二" in b for b in identity_violations(rec))


def test_identity_checks_with_a_null_are_skipped():
    rec = random_record(random.Random(2), "2021")
    rec["t3.granted.natural"] = None
    rec["t3.granted.total"] = 10 ** 6
    bad = identity_violations(rec)
    assert not any(b.startswith("t3.granted:") for b in bad)


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
        assert any(v is not None for k, v in truth.items() if not k.startswith((table + ".", "meta.")))


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
    assert "一、本年新收政府信息公开申请数量" + "".join(str(rec[f"t3.new.{c}"]) for c in
                                                ("natural", "commercial", "research", "social", "legal", "other_org", "total")) in data.decode()


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


# ---------------------------------------------------------------- the rule path on a plain rendering


@pytest.mark.parametrize("template", TEMPLATES)
def test_tsv_rendering_of_a_random_record_is_extracted_exactly(template):
    for seed in range(8):
        rng = random.Random(f"tsv-exact/{seed}")
        rec = random_record(rng, template)
        data, truth, info = render(rec, "tsv", rng)
        got = extract(data, "report" + info["ext"])
        wrong = {k: (v, got.value(k)) for k, v in truth.items() if not same(got.value(k), v)}
        assert not wrong, (seed, info, wrong)
