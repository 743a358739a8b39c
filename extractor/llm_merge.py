"""Merge grounded LLM values into a record, never over a value the rules read without doubt.

For each key of the section the LLM gave a value for:

| the rules have | the LLM gives | result |
| --- | --- | --- |
| null, or a value marked for review | a value | the LLM's value: route `llm`, rule `llm:<model>:<prompt>`, raw = the quote, unmarked |
| null, marked | null | unchanged (still marked): "blank" and "could not read" look alike in a reply |
| a value, marked | the same value | confirmed: unmarked, the LLM's reading kept in `alternatives` |
| a value (or a blank read without doubt), marked or not | another value | unchanged, the LLM's reading kept in `alternatives`, marked |
| a value, marked | null | unchanged (still marked), the LLM's reading kept in `alternatives` |
| a value, unmarked | the same value, or null (it could not read the cell) | unchanged |

"Marked" here counts the rules' marks and the checks'; the checks are re-run after the merge.
"""

from __future__ import annotations

from .llm_schema import LLMValue
from .record import Record

DISAGREES = "the LLM reads it otherwise"


def merge(record: Record, section: str, llm_values: dict[str, LLMValue]) -> list[str]:
    """Fill `record` from the LLM's values of one section; returns the keys whose value, mark or
    alternatives changed."""
    changed = []
    for key, got in llm_values.items():
        f = record.fields.get(key)
        if f is None or not key.startswith(section + "."):
            continue  # never a key of another section, nor one the template lacks
        tag = f"{got.source}:{got.prompt}"
        alternative = {"value": got.value, "source": got.source, "prompt": got.prompt, "quote": got.quote}
        if got.value is None and f.value is None:
            continue  # the LLM gives no value either: a blank, or a cell neither could read; the mark stays
        if f.value is None and f.review:
            f.alternatives = [a for a in f.alternatives if a.get("source") != got.source]
            f.value, f.raw, f.start, f.end = got.value, got.quote, got.start, got.end
            f.rule, f.route, f.review, f.reason = tag, "llm", False, ""
            changed.append(key)
        elif got.value == f.value:
            if f.review:
                _add(f, {**alternative, "agrees": True})
                f.review, f.reason = False, ""
                changed.append(key)
        elif got.value is not None or f.review:
            if _add(f, alternative) or not f.review:
                f.review = True
                if not f.reason or f.reason.startswith("check "):  # a check's mark is cleared when checks re-run: this one must stay
                    f.reason = f"{DISAGREES}: {got.value}"
                changed.append(key)
    return changed


def _add(f, alternative: dict) -> bool:
    """Append the LLM's reading unless the same reading is there already."""
    same = {k: alternative[k] for k in ("value", "source", "prompt")}
    if any(all(a.get(k) == v for k, v in same.items()) for a in f.alternatives):
        return False
    f.alternatives.append(alternative)
    return True
