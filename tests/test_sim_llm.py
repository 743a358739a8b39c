"""eval/sim_llm.py's counting, on a few documents (a SIMULATION: the endpoint answers from the
truth)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "eval"))

from sim_llm import simulate  # noqa: E402


def test_invented_zeros_are_caught_by_the_validators():
    result = simulate(10, seed=5, p=1.0, kinds=("invented_zero",))
    c = result["table"]["invented_zero"]
    # Only rows that print a blank beside a number can take an invented 0.
    assert (c["injected"], c["n/a"]) == (2, 11)
    assert c["fixed"] == 2  # refused, re-asked, the blank left null
    assert c["silent"] == c["finding"] == c["marked"] == 0 and result["silent"] == []
    assert result["unknown_requests"] == 0


def test_with_the_validators_bypassed_an_invented_zero_slips_through():
    """The arithmetic cannot tell a blank from 0 (both add nothing): only the grounding in the row's
    text, which prints no 0 there, refuses it."""
    result = simulate(10, seed=5, p=1.0, kinds=("invented_zero",), validators=False)
    c = result["table"]["invented_zero"]
    assert (c["injected"], c["fixed"], c["finding"], c["silent"]) == (2, 0, 0, 1)
    [silent] = result["silent"]
    assert (
        "synth-5-0002-blank_totals-2019.txt" in silent
        and "t3.ignored.repeated.total=0 (truth None)" in silent
    )


def test_shifted_columns_are_refused_by_the_validators_and_never_silent():
    bare_run = simulate(12, seed=1, p=1.0, kinds=("column_shift",), validators=False)
    bare = bare_run["table"]["column_shift"]
    # the merge kept the rules' values
    assert bare["injected"] == 4 and bare["silent"] == 0 and bare["fixed"] == 0
    guarded = simulate(12, seed=1, p=1.0, kinds=("column_shift",))
    c = guarded["table"]["column_shift"]
    assert (c["injected"], c["fixed"], c["silent"]) == (4, 4, 0) and guarded["silent"] == []


def test_a_number_printed_elsewhere_in_the_table_is_never_taken_silently():
    result = simulate(20, seed=3, p=1.0, kinds=("value_from_elsewhere",))
    c = result["table"]["value_from_elsewhere"]
    assert (
        c["injected"] > 0
        and c["silent"] == 0
        and c["fixed"] + c["marked"] + c["kept"] == c["injected"]
    )
