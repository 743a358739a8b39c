"""Rows split or detached in PDF→markdown and crawler text: joined where the cells say how, marked where they don't."""

from extractor.pipeline import extract

from conftest import EXAMPLES

SEED = (EXAMPLES / "000_1e9d07bbaba7ae4f.txt").read_text(encoding="utf-8")
NEW_ROW = "一、本年新收政府信息公开申请数量\t\t0\t0\t0\t0\t0\t0\t0\t"
COLS = ("natural", "commercial", "research", "social", "legal", "other_org", "total")


def row(record, prefix):
    return [record.value(f"{prefix}.{c}") for c in COLS]


def test_row_split_over_two_lines_is_joined():
    record = extract(SEED.replace(NEW_ROW, "一、本年新收政府信息公开申请数量\t\t3\t1\t0\t0\n0\t0\t4").encode(), "x")
    assert row(record, "t3.new") == [3, 1, 0, 0, 0, 0, 4]
    assert not any(record.fields[f"t3.new.{c}"].review for c in COLS)


def test_detached_label_takes_the_values_on_the_next_line():
    record = extract(SEED.replace(NEW_ROW, "| 一、本年新收政府信息公开申请数量 |\n| 2 | 0 | 0 | 0 | 0 | 1 | 3 |").encode(), "x")
    assert row(record, "t3.new") == [2, 0, 0, 0, 0, 1, 3]


def test_values_before_their_label_are_taken_but_marked():
    text = SEED.replace("\t\t4. 保护第三方合法权益\t0\t0\t0\t0\t0\t0\t0", "\t\t0\t0\t0\t0\t0\t0\t0\n\t\t4. 保护第三方合法权益")
    record = extract(text.encode(), "x")
    assert row(record, "t3.denied.third_party") == [0] * 7
    assert all(record.fields[f"t3.denied.third_party.{c}"].review for c in COLS)


def test_a_row_printed_twice_with_different_values_is_marked():
    text = SEED.replace("\t\t2. 重复申请\t0\t0\t0\t0\t0\t0\t0", "\t\t2. 重复申请\t0\t0\t0\t0\t0\t0\t0\n\t\t2. 重复申请\t1\t0\t0\t0\t0\t0\t1")
    record = extract(text.encode(), "x")
    assert all(record.fields[f"t3.ignored.repeated.{c}"].review for c in COLS)
    same = SEED.replace("\t\t2. 重复申请\t0\t0\t0\t0\t0\t0\t0", "\t\t2. 重复申请\t0\t0\t0\t0\t0\t0\t0\n\t\t2. 重复申请\t0\t0\t0\t0\t0\t0\t0")
    assert extract(same.encode(), "x").review_keys() == []


def test_narrative_numbers_inside_a_table_region_are_not_cells():
    text = SEED.replace("第二十条第（一）项\t\t\t\n", "本年度我局制定规章 2 件，均已公开。\n第二十条第（一）项\t\t\t\n")
    record = extract(text.encode(), "x")
    assert [record.value(f"t2.rules.{c}") for c in ("issued", "repealed", "in_force")] == [0, 0, 0]
    assert record.review_keys() == []
