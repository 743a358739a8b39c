"""Every check family: passing, failing as a report defect, failing as a misreading that another
reading explains (or a value read with doubt), and not assessable with a blank."""

import copy

import pytest
from conftest import EXAMPLES

from extractor.checks import (
    MISREADING,
    NOT_ASSESSABLE,
    REPORT_DEFECT,
    arithmetic,
    confirm_by_arithmetic,
    run_checks,
)
from extractor.pipeline import extract

# clean 2021, all of table 3/4 zero
SEED = (EXAMPLES / "000_1e9d07bbaba7ae4f.txt").read_text(encoding="utf-8")
SEED_2019 = (EXAMPLES / "001_8ffd747d7fad1cf1.txt").read_text(encoding="utf-8")


def record_of(text: str):
    return extract(text.encode("utf-8"), "crafted.txt")


def checked(record, text=SEED, **values):
    record = copy.deepcopy(record)
    for key, value in values.items():
        record.fields[key.replace("__", ".")].value = value
    return record, run_checks(record, text)


def of(findings, check, kind=None):
    return [f for f in findings if f.check == check and (kind is None or f.kind == kind)]


@pytest.fixture(scope="module")
def clean():
    return record_of(SEED)


def test_clean_seed_passes_every_check(clean):
    assert [f for f in clean.findings if f.kind != NOT_ASSESSABLE] == []
    assert clean.review_keys() == []


def test_a_record_without_a_template_has_no_arithmetic_to_check(clean):
    """The identities are the template's: without one (not a report, or its format unknown)
    the arithmetic family finds nothing and confirms nothing, where with it a broken sum fails."""
    broken = copy.deepcopy(clean)
    broken.fields["t3.granted.natural"].value = 5
    assert of(list(arithmetic(broken, SEED)), "T3-B", REPORT_DEFECT)
    broken.template = None
    assert list(arithmetic(broken, SEED)) == [] and confirm_by_arithmetic(broken) == []


# ---------------------------------------------------------------- T3-B: row totals
def test_t3b_report_defect_printed_total_disagrees_with_parts_end_to_end():
    text = SEED.replace(
        "\t(一) 予以公开\t0\t0\t0\t0\t0\t0\t0", "\t(一) 予以公开\t2\t1\t0\t0\t0\t0\t5"
    )
    record = record_of(text)
    defects = of(record.findings, "T3-B", REPORT_DEFECT)
    assert len(defects) == 1
    d = defects[0]
    assert d.keys == ["t3.granted.total"] + [
        f"t3.granted.{c}"
        for c in ("natural", "commercial", "research", "social", "legal", "other_org")
    ]
    assert (d.expected, d.actual) == (3, 5)
    # kept as printed
    assert record.value("t3.granted.total") == 5 and record.value("t3.granted.natural") == 2
    # a clean grid: the report's defect, not ours
    assert record.fields["t3.granted.total"].review is False
    assert of(record.findings, "T3-C", REPORT_DEFECT)  # the 总计 row no longer adds up either


def test_t3b_misreading_explained_by_another_reading(clean):
    record = copy.deepcopy(clean)
    for col, (value, other) in zip(
        ("natural", "commercial", "research", "social", "legal", "other_org", "total"),
        [(0, 1), (1, 0), (0, 0), (0, 0), (0, 0), (0, 0), (1, 1)],
    ):
        f = record.fields[f"t3.partial.{col}"]
        f.value = value
        f.alternatives = [{"value": other, "source": "reading", "reading": 1, "rule": "extra-cell"}]
    record.fields["t3.partial.total"].value = 2  # as read: 0+1 ≠ 2 …
    record.fields["t3.partial.total"].alternatives[0]["value"] = 1  # … the other reading: 1 = 1
    findings = run_checks(record, SEED)
    row = of(findings, "T3-B")
    assert [f.kind for f in row] == [MISREADING]
    assert all(record.fields[f"t3.partial.{c}"].review for c in ("natural", "total"))
    assert record.value("t3.partial.total") == 2  # never swapped in
    assert "T3-B[partial]" in record.fields["t3.partial.total"].alternatives[0]["satisfies"]


def test_t3b_not_assessable_with_a_blank(clean):
    record, findings = checked(clean, t3__granted__natural=None)
    assert [f.kind for f in of(findings, "T3-B")] == [NOT_ASSESSABLE]
    assert "t3.granted.natural" in of(findings, "T3-B")[0].message


# ---------------------------------------------------------------- T3-A: 一 + 二 = 总计 + 四
def test_t3a_passes_and_fails(clean):
    _, ok = checked(clean, t3__new__natural=3, t3__new__total=3, t3__granted__natural=3,
                    t3__granted__total=3, t3__total__natural=3, t3__total__total=3)
    assert of(ok, "T3-A") == [] and of(ok, "T3-B") == [] and of(ok, "T3-C") == []
    _, bad = checked(clean, t3__new__natural=3, t3__new__total=3)
    failed = of(bad, "T3-A", REPORT_DEFECT)
    assert {f.message.split(":")[0] for f in failed} == {"T3-A[natural]", "T3-A[total]"}
    assert failed[0].expected == 0 and failed[0].actual == 3


def test_t3a_misreading_when_a_value_was_read_with_doubt(clean):
    record = copy.deepcopy(clean)
    record.fields["t3.carried_forward.natural"].value = 4
    record.fields["t3.carried_forward.natural"].review = True
    record.fields["t3.carried_forward.natural"].reason = "a character OCR confuses with a digit"
    findings = run_checks(record, SEED)
    assert [f.kind for f in of(findings, "T3-A") if "natural" in f.message] == [MISREADING]


def test_a_failure_on_values_the_llm_read_marks_them_as_a_suspected_misreading(clean):
    """The rules' clean grid makes a failure a report defect; the LLM's reading is no clean grid."""
    # the rules read 5: the report's own error
    printed, findings = checked(clean, t3__granted__natural=5)
    assert [f.kind for f in of(findings, "T3-B") if "granted" in f.message] == [REPORT_DEFECT]
    assert not printed.fields["t3.granted.natural"].review
    record = copy.deepcopy(clean)
    field = record.fields["t3.granted.natural"]
    field.value, field.route, field.rule = 5, "llm", "llm:gpt-4o-mini:t3.v1"
    findings = run_checks(record, SEED)
    [t3b] = [f for f in of(findings, "T3-B") if "granted" in f.message]
    assert t3b.kind == MISREADING and "read by the LLM's reading: t3.granted.natural" in t3b.message
    assert field.review and "LLM" in field.reason
    # the rules' values beside it stay as they were
    assert not record.fields["t3.granted.total"].review


def test_a_failure_on_pdf_text_layer_values_without_table_lines_is_a_suspected_misreading(clean):
    """Without ruled cells a number wrapped in a narrow column can land on the wrong line: the
    failure points at that reading, and the row's values are marked."""
    record = copy.deepcopy(clean)
    for f in record.fields.values():
        f.route = "pdf-text"
    record.fields["t3.granted.natural"].value = 5
    findings = run_checks(record, SEED)
    [t3b] = [f for f in of(findings, "T3-B") if "granted" in f.message]
    assert t3b.kind == MISREADING and "without table lines" in t3b.message
    assert all(record.fields[f"t3.granted.{c}"].review for c in ("natural", "commercial", "total"))
    ruled = copy.deepcopy(clean)  # the same numbers from ruled cells: the report's own error
    for f in ruled.fields.values():
        f.route = "pdf-geometry"
    ruled.fields["t3.granted.natural"].value = 5
    assert [f.kind for f in of(run_checks(ruled, SEED), "T3-B") if "granted" in f.message] == [
        REPORT_DEFECT
    ]


def test_t3a_not_assessable(clean):
    _, findings = checked(clean, t3__carried_over__legal=None)
    assert NOT_ASSESSABLE in [f.kind for f in of(findings, "T3-A")]


# ---------------------------------------------------------------- T3-C: （七）总计 = detail rows
def test_t3c_counts_the_detail_rows_of_each_template(clean):
    _, ok = checked(clean, t3__other__other__social=2, t3__total__social=2,
                    t3__other__other__total=2, t3__total__total=2, t3__carried_over__social=2,
                    t3__carried_over__total=2)
    assert [f for f in ok if f.kind != NOT_ASSESSABLE] == []
    _, bad = checked(clean, t3__ignored__repeated__legal=1, t3__ignored__repeated__total=1)
    assert {f.message.split(":")[0] for f in of(bad, "T3-C", REPORT_DEFECT)} == {
        "T3-C[legal]",
        "T3-C[total]",
    }
    record_2019 = record_of(SEED_2019)
    _, ok_2019 = checked(record_2019, SEED_2019, t3__other__natural=1, t3__other__total=1,
                         t3__total__natural=1, t3__total__total=1, t3__new__natural=1,
                         t3__new__total=1)
    assert of(ok_2019, "T3-C", REPORT_DEFECT) == []


def test_t3c_misreading_explained_by_the_rows_other_reading():
    """A short row placed from the left; placed from the right it satisfies the column checks."""
    text = SEED.replace(
        "\t(二) 部分公开 (区分处理的, 只计这一情形, 不计其他情形)\t0\t0\t0\t0\t0\t0\t0\t",
        "\t(二) 部分公开 (区分处理的, 只计这一情形, 不计其他情形)\t5\t0\t0\t0\t0\t5",
    )
    record = record_of(text)
    # placed from the left …
    assert record.value("t3.partial.natural") == 5 and record.value("t3.partial.other_org") == 5
    assert record.fields["t3.partial.natural"].review  # … and marked as a guess
    c = [f for f in of(record.findings, "T3-C") if f.message.startswith("T3-C[other_org]")]
    assert [f.kind for f in c] == [MISREADING]
    assert "another reading of t3.partial" in c[0].message
    alt = record.fields["t3.partial.other_org"].alternatives
    assert alt and alt[0]["value"] == 0 and "T3-C[other_org]" in alt[0]["satisfies"]


def test_t3c_not_assessable(clean):
    _, findings = checked(clean, t3__denied__admin_query__research=None)
    assert NOT_ASSESSABLE in [f.kind for f in of(findings, "T3-C")]


# ---------------------------------------------------------------- T4
def test_t4_passes_fails_and_not_assessable(clean):
    _, ok = checked(clean, t4__review__upheld=2, t4__review__pending=1, t4__review__total=3)
    assert of(ok, "T4") == []
    _, bad = checked(clean, t4__review__upheld=2, t4__review__total=3)
    assert [(f.kind, f.expected, f.actual) for f in of(bad, "T4")] == [(REPORT_DEFECT, 2, 3)]
    record = record_of(SEED_2019)
    # the [illegible] table 4
    assert [f.kind for f in of(record.findings, "T4")] == [NOT_ASSESSABLE] * 3
    assert all(record.fields[k].review for k in record.fields if k.startswith("t4."))


def test_t4_misreading_with_another_reading(clean):
    record = copy.deepcopy(clean)
    keys = [f"t4.suit_direct.{c}" for c in ("upheld", "corrected", "other", "pending", "total")]
    as_read, other = [1, 0, 0, 0, 10], [1, 0, 0, 0, 1]  # `10` could be `1` `0` shifted
    for key, v, o in zip(keys, as_read, other):
        record.fields[key].value = v
        record.fields[key].alternatives = [
            {"value": o, "source": "reading", "reading": 1, "rule": "digit-split"}
        ]
    findings = run_checks(record, SEED)
    assert [f.kind for f in of(findings, "T4")] == [MISREADING]
    assert (
        record.fields["t4.suit_direct.total"].review and record.value("t4.suit_direct.total") == 10
    )


# ---------------------------------------------------------------- non-negative counts
def test_non_negative(clean):
    _, ok = checked(clean)
    assert of(ok, "NONNEG") == []
    _, bad = checked(clean, t2__penalty__decisions=-2)
    assert [f.kind for f in of(bad, "NONNEG")] == [REPORT_DEFECT]
    record = copy.deepcopy(clean)
    penalty = record.fields["t2.penalty.decisions"]
    penalty.value, penalty.review = -2, True
    assert [f.kind for f in of(run_checks(record, SEED), "NONNEG")] == [MISREADING]
    changes = record_of(SEED_2019)
    assert changes.value("t2.other_services.change") == -13 and of(changes.findings, "NONNEG") == []


# ---------------------------------------------------------------- template against year
def test_template_against_year(clean):
    assert of(clean.findings, "TEMPLATE-YEAR") == [] and of(clean.findings, "TEMPLATE-MIX") == []
    _, bad = checked(clean, meta__year=2020)
    assert [f.kind for f in of(bad, "TEMPLATE-YEAR")] == [REPORT_DEFECT]
    # (the title and the statistics period agree: where they differ, the year is marked)
    old = record_of(
        SEED_2019.replace("洛江区财政局 2020 年", "洛江区财政局 2022 年").replace(
            "起止时间为 2020 年 1 月 1 日至 2020 年", "起止时间为 2022 年 1 月 1 日至 2022 年"
        )
    )
    assert [f.kind for f in of(old.findings, "TEMPLATE-YEAR")] == [REPORT_DEFECT]
    _, unknown = checked(clean, meta__year=None)
    assert [f.kind for f in of(unknown, "TEMPLATE-YEAR")] == [NOT_ASSESSABLE]
    record = copy.deepcopy(clean)
    record.fields["meta.year"].value, record.fields["meta.year"].review = 2020, True
    assert [f.kind for f in of(run_checks(record, SEED), "TEMPLATE-YEAR")] == [MISREADING]


def test_template_mix():
    mixed = SEED.replace(
        "信息内容\t本年制发件数\t本年废止件数\t现行有效件数",
        "信息内容\t本年新制作数量\t本年新公开数量\t对外公开总数量",
    )
    record = record_of(mixed)
    assert [f.kind for f in of(record.findings, "TEMPLATE-MIX")] == [REPORT_DEFECT]


# ---------------------------------------------------------------- text against tables
def test_text_against_tables():
    record = record_of(SEED)
    assert of(record.findings, "TEXT-TABLE") == []  # 未收到信息公开申请 and the zero table agree
    said = SEED.replace("区财政局未收到信息公开申请", "区财政局共收到政府信息公开申请3件")
    bad = record_of(said)
    found = of(bad.findings, "TEXT-TABLE", REPORT_DEFECT)
    assert (
        len(found) == 1
        and found[0].keys == ["t3.new.total"]
        and (found[0].expected, found[0].actual) == (3, 0)
    )
    lawsuits = record_of(
        SEED.replace("也无因政府信息公开申请行政复议、提起行政诉讼的案件", "发生行政复议1件")
    )
    assert [(f.keys, f.kind) for f in of(lawsuits.findings, "TEXT-TABLE")] == [
        (["t4.review.total"], REPORT_DEFECT)
    ]


def test_text_against_tables_reads_what_the_figure_counts(clean):
    """A figure that includes the carried-over applications (saying so, or equal to both rows) is
    no defect; a figure of
    another year says nothing about this report's tables; a wrong figure of this year still
    fails."""
    with_carried = SEED.replace(
        "区财政局未收到信息公开申请", "区财政局共收到政府信息公开申请68件（含上年结转2件）"
    )
    _, found = checked(clean, with_carried, t3__new__total=66, t3__carried_over__total=2)
    assert of(found, "TEXT-TABLE", REPORT_DEFECT) == []
    # without the words, 68 = 66 new + 2 carried over still counts both (real reports do); 69 does
    # not
    _, found = checked(clean, with_carried.replace("（含上年结转2件）", ""), t3__new__total=66,
                       t3__carried_over__total=2)
    assert of(found, "TEXT-TABLE", REPORT_DEFECT) == []
    said_69 = with_carried.replace("68件（含上年结转2件）", "69件")
    _, found = checked(clean, said_69, t3__new__total=66, t3__carried_over__total=2)
    assert [(f.keys, f.expected, f.actual) for f in of(found, "TEXT-TABLE", REPORT_DEFECT)] == [
        (["t3.new.total"], 69, 66)
    ]
    year = clean.value("meta.year")
    last_year = SEED.replace(
        "区财政局未收到信息公开申请",
        f"区财政局未收到信息公开申请，{year - 1}年收到申请5件，比上年收到申请4件少",
    )
    assert of(record_of(last_year).findings, "TEXT-TABLE", REPORT_DEFECT) == []
    this_year = SEED.replace("区财政局未收到信息公开申请", f"区财政局{year}年收到申请5件")
    assert [f.keys for f in of(record_of(this_year).findings, "TEXT-TABLE", REPORT_DEFECT)] == [
        ["t3.new.total"]
    ]


@pytest.mark.parametrize(
    "sentence",
    [
        "本年度未收到行政复议申请",
        "通过网络平台收到申请5件，通过信函收到申请2件",
        "收到申请中自然人申请4件",
        "共发生行政复议0件，其中行政复议维持2件",
    ],
)
def test_text_against_tables_leaves_figures_of_a_part_alone(sentence):
    """Figures of a part (a channel, an applicant type, a review's result) or of applications for
    review are not the table's totals: comparing them made false report defects."""
    text = SEED.replace("区财政局未收到信息公开申请", "区财政局未收到信息公开申请。" + sentence)
    assert text != SEED and of(record_of(text).findings, "TEXT-TABLE", REPORT_DEFECT) == []


def test_text_against_tables_doubt_and_blank(clean):
    said = SEED.replace("区财政局未收到信息公开申请", "区财政局共收到政府信息公开申请3件")
    record = copy.deepcopy(clean)
    record.fields["t3.new.total"].review = True
    assert [
        f.kind for f in of(run_checks(record, said), "TEXT-TABLE") if f.keys == ["t3.new.total"]
    ] == [MISREADING]
    _, blank = checked(clean, said, t3__new__total=None)
    assert [f.kind for f in of(blank, "TEXT-TABLE") if f.keys == ["t3.new.total"]] == [
        NOT_ASSESSABLE
    ]


# ---------------------------------------------------------------- fees and section 五
def test_fees_charged_but_section_six_silent(clean):
    assert of(clean.findings, "FEES") == []
    charged = SEED.replace(
        "六、其他需要报告的事项\n\n无", "六、其他需要报告的事项\n\n本年度收取信息处理费0元。"
    )
    # said in section 六, and nothing was charged
    assert of(record_of(charged).findings, "FEES") == []
    table = SEED.replace(
        "\t\t2. 申请人逾期未按收费通知要求缴纳费用、"
        "行政机关不再处理其政府信息公开申请\t0\t0\t0\t0\t0\t0\t0",
        "\t\t2. 申请人逾期未按收费通知要求缴纳费用、"
        "行政机关不再处理其政府信息公开申请\t1\t0\t0\t0\t0\t0\t1",
    )
    assert [f.kind for f in of(record_of(table).findings, "FEES")] == [REPORT_DEFECT]
    told = table.replace(
        "六、其他需要报告的事项\n\n无",
        "六、其他需要报告的事项\n\n本年度发出收费通知1件，收取信息处理费100元。",
    )
    assert of(record_of(told).findings, "FEES") == []
    record = copy.deepcopy(clean)
    no_fee = record.fields["t3.other.no_fee.total"]
    no_fee.value, no_fee.review = 1, True
    assert [f.kind for f in of(run_checks(record, SEED), "FEES")] == [MISREADING]


def test_section_five_empty_or_none():
    assert of(record_of(SEED).findings, "SECTION-5") == []
    start, end = SEED.index("五、存在的主要问题及改进情况"), SEED.index("六、其他需要报告的事项")
    empty = SEED[:start] + "五、存在的主要问题及改进情况\n\n无。\n\n" + SEED[end:]
    assert [f.kind for f in of(record_of(empty).findings, "SECTION-5")] == [REPORT_DEFECT]


@pytest.mark.parametrize(
    "heading",
    [
        "五、存在问题及改进情况",
        "五、政府信息公开工作存在的问题和改进措施",
        "五、存在的不足及改进措施",
        "五、存在的主要问题及改进情况：一是公开内容的全面性有待加强，"
        "二是政策解读形式较为单一，下一步将加强培训",
    ],
)
def test_section_five_under_another_wording_is_found(heading):
    text = SEED.replace("五、存在的主要问题及改进情况", heading)
    assert text != SEED and of(record_of(text).findings, "SECTION-5") == []
    start, end = SEED.index("五、存在的主要问题及改进情况"), SEED.index("六、其他需要报告的事项")
    missing = SEED[:start] + SEED[end:]  # the section left out altogether
    assert [f.kind for f in of(record_of(missing).findings, "SECTION-5")] == [REPORT_DEFECT]


def _doubt(record, key, value=None):
    f = record.fields[key]
    if value is not None:
        f.value = value
    f.review, f.reason = True, "low OCR confidence (0.716)"
    return f


def test_the_arithmetic_lifts_a_low_confidence_ocr_mark_only_when_it_vouches_for_the_value(clean):
    record = copy.deepcopy(clean)
    confirmed = _doubt(record, "t3.granted.research")  # 0, and its row and column add up
    run_checks(record, SEED)
    assert not confirmed.review and confirmed.rule.endswith("+arithmetic-confirms")

    record = copy.deepcopy(clean)
    # a 0 misread as 8: row and column no longer add up
    wrong = _doubt(record, "t3.granted.research", 8)
    findings = run_checks(record, SEED)
    assert wrong.review and "low OCR confidence" in wrong.reason
    assert MISREADING in {f.kind for f in of(findings, "T3-B")}

    # table 4: one identity per value, and another value in it doubtful too
    record = copy.deepcopy(clean)
    a, b = _doubt(record, "t4.review.upheld"), _doubt(record, "t4.review.total")
    run_checks(record, SEED)
    assert a.review and b.review

    record = copy.deepcopy(clean)  # an OCR confusion (a letter read as a digit) is never lifted
    f = record.fields["t3.granted.research"]
    f.review, f.reason = True, "a character OCR confuses with a digit"
    run_checks(record, SEED)
    assert f.review


def test_rechecking_is_idempotent(clean):
    record = copy.deepcopy(clean)
    record.fields["t4.review.total"].value = 3
    first = run_checks(record, SEED)
    second = run_checks(record, SEED)
    assert [(f.check, f.kind, f.message) for f in first] == [
        (f.check, f.kind, f.message) for f in second
    ]


def test_a_sentence_about_review_results_is_no_count_of_reviews():
    """`全年未发生…被行政复议纠错或行政诉讼败诉情形` says no review corrected the body, not that
    there was no review: with one review in table 4 it is no TEXT-TABLE defect; `未发生行政复议`
    is."""
    t4 = "0\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0"
    one_review = SEED.replace(t4, "1\t0\t0\t0\t1\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0")
    one_review = one_review.replace("，也无因政府信息公开申请行政复议、提起行政诉讼的案件", "")
    at = one_review.index("五、")
    results = (
        one_review[:at]
        + "全年未发生因依申请公开被行政复议纠错或行政诉讼败诉情形。\n"
        + one_review[at:]
    )
    assert of(record_of(results).findings, "TEXT-TABLE", REPORT_DEFECT) == []
    none = one_review[:at] + "全年未发生政府信息公开行政复议案件。\n" + one_review[at:]
    assert [f.keys for f in of(record_of(none).findings, "TEXT-TABLE", REPORT_DEFECT)] == [
        ["t4.review.total"]
    ]


def test_a_received_count_that_includes_the_carried_over_is_no_defect():
    """`收到政府信息公开申请75件` beside 74 new and 1 carried over (the 平潭 2022 report): the
    figure counts both; 76 would be a defect."""
    new = SEED.replace("一、本年新收政府信息公开申请数量\t\t0\t0\t0\t0\t0\t0\t0",
                       "一、本年新收政府信息公开申请数量\t\t74\t0\t0\t0\t0\t0\t74")
    new = new.replace("二、上年结转政府信息公开申请数量\t\t0\t0\t0\t0\t0\t0\t0",
                      "二、上年结转政府信息公开申请数量\t\t1\t0\t0\t0\t0\t0\t1")
    assert new.count("74") >= 2 and "\t1\t0\t0\t0\t0\t0\t1" in new
    for said, defect in (("75", False), ("76", True)):
        text = new.replace("未收到信息公开申请", f"收到政府信息公开申请{said}件")
        found = of(record_of(text).findings, "TEXT-TABLE", REPORT_DEFECT)
        assert bool([f for f in found if f.keys == ["t3.new.total"]]) is defect


@pytest.mark.parametrize(
    "said, defect", [("一是公开内容不够全面。下一步将加强培训。", False), ("无。", True)]
)
def test_section_five_written_on_its_headings_line(said, defect):
    """A one-line dump writes section 五 on its heading's line, without a colon."""
    at = SEED.index("五、")
    end = SEED.index("六、")
    text = SEED[:at] + f"五、存在的主要问题及改进情况 {said} " + SEED[end:]
    assert bool(of(record_of(text).findings, "SECTION-5", REPORT_DEFECT)) is defect
