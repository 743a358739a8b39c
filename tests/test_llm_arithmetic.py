"""A reply the table's own arithmetic refutes is rejected, through the fake endpoint.

The report (tests/data/llm/one_line_glued.txt, a generated one-line dump, with its golden values
beside it) prints table 3 with its cells run together. Here its 上年结转 and 结转下年度继续办理
rows print runs that read two ways each, alike (`411100016`: 4 1 1 10 0 0 16 or 4 1 11 0 0 0 16;
`1021101024`: 10 2 1 10 1 0 24 or 10 2 11 0 1 0 24), so T3-A (一 + 二 = 三 + 四, each column)
holds with either pair and the rules leave both rows null, marked. A reply that pairs one
reading of 二 with the other of 四 adds up row by row, but T3-A fails while another reading of
the same printed digits keeps it: it is re-asked once, then given up."""

import json
from pathlib import Path

from fake_openai import FakeEndpoint, Reply, section_of
from test_llm import check, run

from extractor.llm import rows_to_ask
from extractor.pipeline import extract

DATA = Path(__file__).parent / "data" / "llm"
COLUMNS = ("natural", "commercial", "research", "social", "legal", "other_org", "total")
CARRIED_OVER = [4, 1, 1, 10, 0, 0, 16]  # 二、上年结转… 411100016, as the report means it
TRUE = [10, 2, 1, 10, 1, 0, 24]  # 四、结转下年度继续办理 1021101024, as the report means it
REFUTED = [10, 2, 11, 0, 1, 0, 24]  # the same digits, adding up, but T3-A fails beside 二
TEXT = (
    (DATA / "one_line_glued.txt").read_text(encoding="utf-8")
    .replace("上年结转政府信息公开申请数量 4100005", "上年结转政府信息公开申请数量 411100016")
    .replace("结转下年度继续办理 102001013", "结转下年度继续办理 1021101024")
)
GOLDEN = {
    **json.loads((DATA / "one_line_glued.expected.json").read_text(encoding="utf-8")),
    **{f"t3.carried_over.{c}": v for c, v in zip(COLUMNS, CARRIED_OVER)},
    **{f"t3.carried_forward.{c}": v for c, v in zip(COLUMNS, TRUE)},
}


def cells(row: str) -> list:
    return [GOLDEN[f"t3.{row}.{c}"] for c in COLUMNS]


def endpoint_giving(record, text, carried_forward: list) -> FakeEndpoint:
    """Replies to table 3 for its rows 二 and 四 (of the rows asked): 上年结转 with its golden
    values, 结转下年度继续办理 with `carried_forward`."""
    asked, _ = rows_to_ask(record, "t3", text)
    assert "carried_forward" in asked and "carried_over" in asked
    rows = [
        {"row": "carried_over", "values": cells("carried_over")},
        {"row": "carried_forward", "values": carried_forward},
    ]

    def respond(body):
        assert section_of(body) == "t3"
        return Reply({"rows": rows})

    return FakeEndpoint(respond)


def read(text: str):
    record = extract(text.encode("utf-8"), "one_line_glued.txt")
    assert [record.value(f"t3.carried_forward.{c}") for c in COLUMNS] == [None] * 7
    assert all(record.fields[f"t3.carried_forward.{c}"].review for c in COLUMNS)
    for row in ("new", "total"):  # read (marked: cut runs): T3-A can be assessed with them
        assert None not in [record.value(f"t3.{row}.{c}") for c in COLUMNS]
    return record


def t3_of(outcome):
    [section] = [s for s in outcome.sections if s.section == "t3"]
    return section


def test_a_reply_t3a_refutes_is_reasked_in_words_then_given_up():
    record = read(TEXT)
    assert sum(REFUTED[:6]) == REFUTED[6] and "1021101024" in TEXT  # grounded, and it adds up
    endpoint = endpoint_giving(record, TEXT, REFUTED)
    [outcome] = run(endpoint, [(record, TEXT)])
    section = t3_of(outcome)
    assert endpoint.calls == 2 and section.status == "invalid"
    reask = endpoint.requests[1]["messages"][-1]["content"]
    assert (
        "row carried_forward: with these values T3-A fails in column research "
        "(new + carried_over ≠ total + carried_forward: 3 ≠ 13)" in reask
    )
    assert "read another way keep it" in reask and len(reask) < 1500
    # given up: the rules' values stay, marked; nothing of the refused reply merged
    assert [record.value(f"t3.carried_forward.{c}") for c in COLUMNS] == [None] * 7
    assert all(record.fields[f"t3.carried_forward.{c}"].review for c in COLUMNS)
    assert not [k for k, f in record.fields.items() if f.route == "llm"]
    assert any(f.kind == "llm_failed" for f in record.findings)


def test_a_reply_that_keeps_the_identity_is_taken():
    record = read(TEXT)
    endpoint = endpoint_giving(record, TEXT, TRUE)
    [outcome] = run(endpoint, [(record, TEXT)])
    assert endpoint.calls == 1 and t3_of(outcome).status == "filled"
    assert [record.value(f"t3.carried_forward.{c}") for c in COLUMNS] == TRUE == cells(
        "carried_forward"
    )
    # what is unmarked is right: the golden values
    wrong = [
        k
        for k, f in record.fields.items()
        if k.startswith("t3.") and not f.review and f.value != GOLDEN[k]
    ]
    assert wrong == []


def test_a_reports_own_t3a_error_outside_the_replied_rows_does_not_refuse_every_reply():
    # （七）总计 misprinted: 115 (sum 134) for 114 (133). T3-A fails in column natural and in
    # 总计 whatever 结转下年度 reads: the report's error, not the reply's; the other columns judge
    # (the rules, with an identity failing whichever way, leave both runs unread)
    text = TEXT.replace("（七）总计 114142021133", "（七）总计 115142021134")
    assert text != TEXT
    record = read(text)
    assert record.value("t3.total.natural") == 115
    endpoint = endpoint_giving(record, text, TRUE)
    [outcome] = run(endpoint, [(record, text)])
    assert endpoint.calls == 1 and t3_of(outcome).status == "filled", t3_of(outcome).error
    assert [record.value(f"t3.carried_forward.{c}") for c in COLUMNS] == TRUE
    # the refuted reading is still refused: T3-A holds in column research with the true one
    record = read(text)
    endpoint = endpoint_giving(record, text, REFUTED)
    [outcome] = run(endpoint, [(record, text)])
    assert t3_of(outcome).status == "invalid"
    reask = endpoint.requests[1]["messages"][-1]["content"]
    assert "T3-A fails in column research" in reask and "column natural" not in reask


def test_a_row_of_zeros_run_together_is_seven_cells_not_the_number_0():
    """`1.属于国家秘密 0000000`: seven zeros, one a column, not one 0 and six blanks."""
    record = extract(TEXT.encode("utf-8"), "one_line_glued.txt")
    start, end = record.regions["t3.denied.state_secret"]
    assert TEXT[start:end].endswith(" 0000000")
    zeros = {"rows": [{"row": "denied.state_secret", "values": [0] * 7}]}
    assert check(record, TEXT, "t3", zeros, ["denied.state_secret"])[0]
    one = {"rows": [{"row": "denied.state_secret", "values": [0] + [None] * 6}]}
    ok, words = check(record, TEXT, "t3", one, ["denied.state_secret"])
    assert not ok and "the row prints 0000000 and the reply leaves 000000 out: give every" in words
