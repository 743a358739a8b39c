"""eval/sim_llm.py's counting, on a few documents (a SIMULATION: the endpoint answers from the truth)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "eval"))

from sim_llm import simulate  # noqa: E402


def test_invented_zeros_are_caught_by_the_validators():
    result = simulate(10, seed=5, p=1.0, kinds=("invented_zero",))
    c = result["table"]["invented_zero"]
    # Only blank_totals documents drawn as space-separated text (their blank cells gone) send a row with a blank.
    assert (c["injected"], c["n/a"]) == (1, 12)
    assert c["fixed"] == 1  # rejected, re-asked, the blank left null
    assert c["silent"] == c["finding"] == c["marked"] == 0 and result["silent"] == []
    assert result["unknown_requests"] == 0


def test_with_the_validators_bypassed_an_invented_zero_slips_through():
    result = simulate(10, seed=5, p=1.0, kinds=("invented_zero",), validators=False)
    c = result["table"]["invented_zero"]
    assert (c["injected"], c["fixed"], c["finding"], c["silent"]) == (1, 0, 0, 1)
    [silent] = result["silent"]
    assert "synth-5-0002-blank_totals-2019.txt" in silent and "t3.ignored.repeated.total=0 (truth None)" in silent


def test_checks_alone_catch_some_shifted_columns_and_mark_them_the_validators_catch_all():
    """Without the validators a shifted row that breaks a check has its LLM values marked (the
    failure is blamed on the model's reading, not the report); the rest slip through. With them, none."""
    bare = simulate(12, seed=1, p=1.0, kinds=("column_shift",), validators=False)["table"]["column_shift"]
    assert (bare["injected"], bare["marked"], bare["finding"], bare["silent"]) == (10, 1, 0, 2)
    guarded = simulate(12, seed=1, p=1.0, kinds=("column_shift",))
    assert guarded["table"]["column_shift"]["silent"] == 0 and guarded["silent"] == []
