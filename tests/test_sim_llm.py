"""eval/sim_llm.py's counting, on a few documents (a SIMULATION: the endpoint answers from the truth)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "eval"))

from sim_llm import simulate  # noqa: E402


def test_invented_zeros_are_caught_by_the_validators():
    result = simulate(8, seed=1, p=1.0, kinds=("invented_zero",))
    c = result["table"]["invented_zero"]
    assert (c["injected"], c["n/a"]) == (2, 6)  # only the blank_totals documents have a blank cell in a row sent
    assert c["fixed"] == 2  # rejected, re-asked, the blank left null
    assert c["silent"] == c["finding"] == c["marked"] == 0 and result["silent"] == []
    assert result["unknown_requests"] == 0


def test_with_the_validators_bypassed_an_invented_zero_slips_through():
    result = simulate(8, seed=1, p=1.0, kinds=("invented_zero",), validators=False)
    c = result["table"]["invented_zero"]
    assert (c["injected"], c["fixed"], c["finding"], c["silent"]) == (2, 0, 1, 1)
    assert "t3.new.total=0 (truth None; a finding names it: T3-A, T3-B)" in result["findings"][0]
    [silent] = result["silent"]
    assert "synth-1-0006-blank_totals-2021.md" in silent and "t3.carried_forward.total=0 (truth None)" in silent
