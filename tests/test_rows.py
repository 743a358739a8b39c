"""Rows split or detached in PDF→markdown and crawler text: joined where the cells say how, marked
where they don't."""

from conftest import EXAMPLES

from extractor.pipeline import extract

SEED = (EXAMPLES / "000_1e9d07bbaba7ae4f.txt").read_text(encoding="utf-8")
NEW_ROW = "一、本年新收政府信息公开申请数量\t\t0\t0\t0\t0\t0\t0\t0\t"
COLS = ("natural", "commercial", "research", "social", "legal", "other_org", "total")


def row(record, prefix):
    return [record.value(f"{prefix}.{c}") for c in COLS]


def test_row_split_over_two_lines_is_joined():
    record = extract(
        SEED.replace(NEW_ROW, "一、本年新收政府信息公开申请数量\t\t3\t1\t0\t0\n0\t0\t4").encode(),
        "x",
    )
    assert row(record, "t3.new") == [3, 1, 0, 0, 0, 0, 4]
    assert not any(record.fields[f"t3.new.{c}"].review for c in COLS)


def test_detached_label_takes_the_values_on_the_next_line():
    record = extract(
        SEED.replace(
            NEW_ROW, "| 一、本年新收政府信息公开申请数量 |\n| 2 | 0 | 0 | 0 | 0 | 1 | 3 |"
        ).encode(),
        "x",
    )
    assert row(record, "t3.new") == [2, 0, 0, 0, 0, 1, 3]


def test_values_before_their_label_are_taken_but_marked():
    text = SEED.replace(
        "\t\t4. 保护第三方合法权益\t0\t0\t0\t0\t0\t0\t0",
        "\t\t0\t0\t0\t0\t0\t0\t0\n\t\t4. 保护第三方合法权益",
    )
    record = extract(text.encode(), "x")
    assert row(record, "t3.denied.third_party") == [0] * 7
    assert all(record.fields[f"t3.denied.third_party.{c}"].review for c in COLS)


def test_a_row_printed_twice_with_different_values_is_marked():
    text = SEED.replace(
        "\t\t2. 重复申请\t0\t0\t0\t0\t0\t0\t0",
        "\t\t2. 重复申请\t0\t0\t0\t0\t0\t0\t0\n\t\t2. 重复申请\t1\t0\t0\t0\t0\t0\t1",
    )
    record = extract(text.encode(), "x")
    assert all(record.fields[f"t3.ignored.repeated.{c}"].review for c in COLS)
    same = SEED.replace(
        "\t\t2. 重复申请\t0\t0\t0\t0\t0\t0\t0",
        "\t\t2. 重复申请\t0\t0\t0\t0\t0\t0\t0\n\t\t2. 重复申请\t0\t0\t0\t0\t0\t0\t0",
    )
    assert extract(same.encode(), "x").review_keys() == []


def test_narrative_numbers_inside_a_table_region_are_not_cells():
    text = SEED.replace(
        "第二十条第（一）项\t\t\t\n",
        "本年度我局制定规章 2 件，均已公开。\n第二十条第（一）项\t\t\t\n",
    )
    record = extract(text.encode(), "x")
    assert [record.value(f"t2.rules.{c}") for c in ("issued", "repealed", "in_force")] == [0, 0, 0]
    assert record.review_keys() == []


# ------------------------------------------- a row's cells against its columns (align.fit_row)

def _cells(*texts):
    from extractor.cells import Cell

    out, pos = [], 0
    for t in texts:
        out.append(Cell(t, pos, pos + len(t)))
        pos += len(t) + 1
    return out


def _row_sum(values):
    from extractor.template import row_identity

    return row_identity("2021", "t3")(values)


def test_empty_cells_past_the_last_column_are_a_doubt_not_a_given():
    """`1 48 1` and five empty cells: seven columns, eight cells. Read by position the trailing
    cell is dropped, but the extra cell may be a number split in two (148 | 1): marked."""
    from extractor.align import fit_row

    doubtful = fit_row(_cells("1", "48", "1", "", "", "", "", ""), 7, _row_sum)
    assert doubtful.review and [s and s.value for s in doubtful.slots][:3] == [1, 48, 1]
    clean = fit_row(_cells("5", "4", "", "", "", "", ""), 7, _row_sum)
    assert not clean.review and [s and s.value for s in clean.slots] == [
        5, 4, None, None, None, None, None,
    ]


def test_a_run_cut_into_digits_beside_separate_cells_is_marked():
    """`72 0 0 0 0 9` for seven columns: 7|2 fills them (and even adds up), but so does a blank
    total left out. A lone run with nothing beside it (`0000000`) has no other reading."""
    from extractor.align import fit_row

    guessed = fit_row(_cells("72", "0", "0", "0", "0", "9"), 7, _row_sum)
    assert guessed.review and guessed.rule == "digit-split"
    alone = fit_row(_cells("0000000"), 7, _row_sum)
    assert not alone.review and [s.value for s in alone.slots] == [0] * 7
    placeholders = fit_row(_cells("18", "-", "-", "-", "-", "-"), 7, _row_sum)
    assert placeholders.review and all(s is None or s.value != 1 for s in placeholders.slots)


def test_a_lone_number_parted_from_its_label_is_not_cut_into_digits_unmarked():
    """`规章 105` with its blank cells lost: one number, or 1 | 0 | 5? Only a run glued to its label
    (`规章105`, crawler text) is cut without a mark."""
    from extractor.align import fit_row

    parted = fit_row(_cells("105"), 3, glued=False)
    assert parted.review
    glued = fit_row(_cells("105"), 3, glued=True)
    assert not glued.review and [s.value for s in glued.slots] == [1, 0, 5]


def test_a_wrapped_group_label_is_not_taken_for_the_row_3_other():
    """`（六）其他` / `处理` is the group 其他处理 wrapped over two lines: the zeros after it are
    not 3.其他's."""
    text = (EXAMPLES / "000_1e9d07bbaba7ae4f.txt").read_text(encoding="utf-8")
    wrapped = text.replace(
        "\t(六) 其他处理\t1. 申请人无正当理由逾期不补正",
        "\t(六) 其他\t\n\t处理\t1. 申请人无正当理由逾期不补正",
    )
    wrapped = wrapped.replace(
        "3. 其他\t\t0\t0\t0\t0\t0\t0\t0\t", "3. 其他\t\t1\t0\t0\t0\t0\t0\t1\t"
    )
    assert wrapped != text
    record = extract(wrapped.encode("utf-8"), "wrapped.txt")
    other = record.fields["t3.other.other.natural"]
    assert other.value == 1 or other.review
    assert (
        record.fields["t3.other.other.total"].value == 1
        or record.fields["t3.other.other.total"].review
    )


def test_a_page_number_run_into_a_row_is_no_cell():
    """A PDF's footer `- 5 -` run into a row's last cell (`769- 5 -`), or `第 5 页` after it."""
    row = "\t\t2. 其他法律行政法规禁止公开\t0\t0\t0\t0\t0\t0\t0\n"
    for tail, total in (("0- 5 -", 0), ("769 - 5 -", 769), ("0\t第 5 页 共 12 页", 0)):
        record = extract(SEED.replace(row, row[:-2] + tail + "\n").encode(), "x")
        assert record.value("t3.denied.law_forbidden.total") == total
        assert not record.fields["t3.denied.law_forbidden.total"].review


def test_a_run_too_long_to_list_every_cut_is_cut_only_the_ways_its_row_adds_up():
    """`120345678901234567898550`: 1203 4567 890 1234 567 89 | 8550 run together, too many cuts
    to list (over 100,000): with the row's identity the cuts that add up are the readings."""
    from extractor.align import options, values_of

    run = "120345678901234567898550"
    kept = options(_cells(run), 7, True, _row_sum)
    assert kept.fits and all(_row_sum(values_of(f)) is True for f in kept.fits)
    assert (1203, 4567, 890, 1234, 567, 89, 8550) in {values_of(f) for f in kept.fits}
    blind = options(_cells(run), 7, True)  # without the identity: too many to weigh
    assert [f.rule for f in blind.fits] == ["unreadable"]
    broken = options(_cells("1" * 24), 7, True, _row_sum)  # no cut adds up: unreadable
    assert [f.rule for f in broken.fits] == ["unreadable"]


def test_a_run_that_lost_a_blank_cell_reads_with_the_blank_anywhere_its_row_adds_up():
    """`872104094` for 8|72|10|(blank)|4|0|94: cut into six numbers, the blank (null) put in each
    place that leaves the row adding up with it as 0; the 总计 column is never the blank."""
    from extractor.align import lost_blank_readings

    found = lost_blank_readings(_cells("872104094"), 7, _row_sum)
    assert (8, 72, 10, None, 4, 0, 94) in found
    assert all(r[-1] == 94 and r.count(None) == 1 for r in found)
    assert lost_blank_readings(_cells("1111111"), 7, _row_sum) == []  # no six numbers add up
