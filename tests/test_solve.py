"""solve.decide: the row readings under which the table's identities hold, against a brute force
over every combination, and through whole reports whose rows run their digits together."""

import itertools
import random

import pytest
from conftest import EXAMPLES

from extractor import solve
from extractor.pipeline import extract
from extractor.template import Identity

SEED = (EXAMPLES / "000_1e9d07bbaba7ae4f.txt").read_text(encoding="utf-8")
COLS = ("natural", "commercial", "research", "social", "legal", "other_org", "total")


def _eq(name, left, right):
    return Identity("T", name, "t", tuple(left), tuple(right))


def _brute(rows, identities, columns):
    """Every combination: the fewest identities broken, then the cheapest; the readings in those."""
    names = list(rows)
    best, feasible = None, {r: set() for r in names}
    for combo in itertools.product(*(range(len(rows[r])) for r in names)):
        values = {
            key: rows[r][i].values[j]
            for r, i in zip(names, combo)
            for j, key in enumerate(columns[r])
        }
        broken = 0
        for eq in identities:
            if any(values[k] is None for k in eq.keys):
                continue
            broken += sum(values[k] for k in eq.left) != sum(values[k] for k in eq.right)
        score = (broken, sum(rows[r][i].cost for r, i in zip(names, combo)))
        if best is None or score < best:
            best, feasible = score, {r: set() for r in names}
        if score == best:
            for r, i in zip(names, combo):
                feasible[r].add(i)
    return {r: tuple(sorted(s)) for r, s in feasible.items()}, best[0]


@pytest.mark.parametrize("try_every", [0, solve.TRY_EVERY], ids=["cp-sat", "every-combination"])
def test_decide_agrees_with_every_combination_tried(try_every, monkeypatch):
    """Both ways of deciding (CP-SAT, and trying every combination when they are few) against a
    brute force written apart."""
    monkeypatch.setattr(solve, "TRY_EVERY", try_every)
    rng = random.Random(7)
    for _ in range(60):
        n_rows = rng.randint(2, 4)
        columns = {f"r{i}": (f"r{i}.a", f"r{i}.b") for i in range(n_rows)}
        rows = {
            r: [
                solve.Candidate(
                    (rng.choice([None, 0, 1, 2, 3]), rng.randint(0, 3)), rng.randint(0, 1)
                )
                for _ in range(rng.randint(1, 3))
            ]
            for r in columns
        }
        keys = [k for ks in columns.values() for k in ks]
        identities = [
            _eq(f"e{i}", rng.sample(keys, 1), rng.sample(keys, rng.randint(1, 3))) for i in range(3)
        ]
        got = solve.decide(rows, identities, columns)
        want, broken = _brute(rows, identities, columns)
        for r in rows:
            assert got[r].feasible == want[r], (rows, identities)
        open_rows = {r for r, c in rows.items() if len(c) > 1}
        if open_rows:  # the identities no open row stands in are not the solver's to count
            kept = [eq for eq in identities if any(k.split(".")[0] in open_rows for k in eq.keys)]
            assert all(d.broken == _brute(rows, kept, columns)[1] for d in got.values())


def test_a_row_fixed_by_the_column_sums_and_one_left_open():
    columns = {"a": ("a.x",), "b": ("b.x",), "total": ("total.x",)}
    rows = {"a": [solve.Candidate((2,)), solve.Candidate((20,))], "b": [solve.Candidate((1,))],
            "total": [solve.Candidate((3,))]}
    got = solve.decide(rows, [_eq("sum", ["total.x"], ["a.x", "b.x"])], columns)
    assert got["a"].feasible == (0,) and got["a"].decided and got["a"].broken == 0
    rows["total"] = [solve.Candidate((None,))]  # a blank total: nothing decides
    decided = solve.decide(rows, [_eq("sum", ["total.x"], ["a.x", "b.x"])], columns)
    assert decided["a"].feasible == (0, 1)


def test_a_reports_own_error_is_kept_not_repaired():
    """No reading makes the sum hold: the decision says how many identities stay broken."""
    columns = {"a": ("a.x",), "total": ("total.x",)}
    rows = {"a": [solve.Candidate((2,)), solve.Candidate((20,))], "total": [solve.Candidate((5,))]}
    got = solve.decide(rows, [_eq("sum", ["total.x"], ["a.x"])], columns)
    assert got["a"].broken == 1 and got["a"].feasible == (0, 1)


def _dump(granted: str, total: str, new: str) -> str:
    """The seed with its 予以公开, （七）总计 and 本年新收 rows as given (run together as a crawler
    saves them, or tab-separated)."""
    zeros = "\t0\t0\t0\t0\t0\t0\t0"
    text = SEED.replace("(一) 予以公开" + zeros, "(一) 予以公开" + granted, 1)
    text = text.replace("(七) 总计\t" + zeros, "(七) 总计" + total, 1)
    text = text.replace(
        "一、本年新收政府信息公开申请数量\t" + zeros, "一、本年新收政府信息公开申请数量" + new, 1
    )
    return text.replace("未收到信息公开申请", "收到信息公开申请若干")


def test_the_columns_decide_a_run_that_reads_two_ways():
    """`220000022`: 22|0|…|22 or 2|20|0|…|22 by the row alone; the 总计 row says 22 | 0, and
    T3-A then settles the 本年新收 row run together the same way."""
    record = extract(
        _dump("220000022", "\t22\t0\t0\t0\t0\t0\t22", "220000022").encode(), "dump.txt"
    )
    assert [record.value(f"t3.granted.{c}") for c in COLS] == [22, 0, 0, 0, 0, 0, 22]
    assert not any(record.fields[f"t3.granted.{c}"].review for c in COLS)
    assert record.fields["t3.granted.natural"].rule.endswith("+table-arithmetic")
    assert [record.value(f"t3.new.{c}") for c in COLS] == [22, 0, 0, 0, 0, 0, 22]


def test_readings_no_arithmetic_tells_apart_are_marked_where_they_differ():
    """The 总计 and 本年新收 rows run together too (2|20 or 22|0 alike in all three, every sum
    holds either way): the rows are null and marked, each reading beside them (a run may have
    lost a blank cell instead of being cut, so even the cells the cuts agree on are in doubt)."""
    record = extract(_dump("220000022", "220000022", "220000022").encode(), "dump.txt")
    natural = record.fields["t3.granted.natural"]
    assert (
        natural.review
        and natural.value is None
        and {2, 22} <= {a["value"] for a in natural.alternatives}
    )
    assert (
        record.fields["t3.total.commercial"].review and record.value("t3.total.commercial") is None
    )
    for cell in ("total", "research"):  # 22 and 0 in every cut, yet a blank may have vanished
        field = record.fields[f"t3.granted.{cell}"]
        assert field.review and field.value is None
