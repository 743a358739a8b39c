"""Merge grounded LLM values into a record, never over a value the rules read without doubt, and
never lifting a mark on the strength of a reading of the same text alone.

The LLM reads the same printed text the rules did: when that text is corrupted (digits run
together, a cell lost, an injected sentence), its reading is one more guess at it, not a second
witness. A mark is lifted only for an independent reason, the table's arithmetic: the value is
pinned by an identity of the template (勾稽关系: T3-A, T3-B, T3-C, T4) whose other values are all
read without doubt and which holds, and no identity it stands in is broken. Table 2 has no
identities: what the LLM reads there stays marked.

For each key of the table the LLM gave a value for (the rules have · the LLM gives → result):

- null, marked · a value → the LLM's value (route `llm`, rule `llm:<model>:<prompt>`, raw = the
  row's text); unmarked only when the arithmetic pins it, else still marked
- null, marked · null → unchanged (still marked): "blank" and "could not read" look alike in a
  reply
- a value, marked · the same value → kept, the LLM's reading in `alternatives` (`agrees`);
  unmarked only when the arithmetic pins it
- a value (or a blank read without doubt), marked or not · another value → kept, marked, the LLM's
  reading in `alternatives`
- a value, marked · null → unchanged (still marked), the LLM's reading in `alternatives`
- a value, unmarked · the same value, or null → unchanged

"Marked" here counts the rules' marks and the checks'; the checks are re-run after the merge.
"""

from __future__ import annotations

from .llm_schema import LLMValue
from .record import Field, Record
from .template import template

DISAGREES = "the LLM reads it otherwise"
UNCONFIRMED = "read by the LLM from the same text; no sum of the table confirms it"
REGION_ONLY = "its row was not located: grounded in the table's region only"
BETWEEN = "its row was not located: read from the text between the rows around it"
OCR_GUESS = "printed with a character OCR confuses with a digit"


def merge(record: Record, section: str, llm_values: dict[str, LLMValue]) -> list[str]:
    """Fill `record` from the LLM's values of one section; returns the keys whose value, mark or
    alternatives changed."""
    changed, candidates = [], []
    for key, got in llm_values.items():
        f = record.fields.get(key)
        if f is None or not key.startswith(section + "."):
            continue  # never a key of another section, nor one the template lacks
        tag = f"{got.source}:{got.prompt}"
        alternative = {
            "value": got.value,
            "source": got.source,
            "prompt": got.prompt,
            "quote": got.quote,
        }
        if got.value is None and f.value is None:
            continue  # no value either: a blank, or a cell neither could read; the mark stays
        if f.value is None and f.review:
            f.alternatives = [a for a in f.alternatives if a.get("source") != got.source]
            f.value, f.raw, f.start, f.end = got.value, got.quote, got.start, got.end
            f.rule, f.route, f.reason = tag, "llm", _why_unconfirmed(got)
            changed.append(key)
            candidates.append(key)
        elif got.value == f.value:
            if f.review:
                _add(f, {**alternative, "agrees": True})
                f.reason = f"{f.reason}; the LLM reads the same" if f.reason else UNCONFIRMED
                changed.append(key)
                candidates.append(key)
        elif got.value is not None or f.review:
            if _add(f, alternative) or not f.review:
                f.review = True
                if not f.reason or f.reason.startswith(
                    "check "
                ):  # a check's mark is cleared when checks re-run: this one must stay
                    f.reason = f"{DISAGREES}: {got.value}"
                changed.append(key)
    for key in pinned(record, candidates):
        f = record.fields[key]
        f.review, f.reason = False, ""
    return changed


def _why_unconfirmed(got: LLMValue) -> str:
    notes = (
        [UNCONFIRMED]
        + ([REGION_ONLY] if got.grounded == "region" else [])
        + ([BETWEEN] if got.grounded == "between" else [])
        + ([OCR_GUESS] if got.printed == "ocr" else [])
    )
    return "; ".join(notes)


def pinned(record: Record, keys: list[str]) -> list[str]:
    """The keys the table's arithmetic confirms: each stands in an identity whose other values are
    read without doubt (or confirmed here first) and which holds, and in no identity that is
    broken. Found in rounds, so a confirmed value can pin the next."""
    if not record.template or not keys:
        return []
    identities = template(record.template).identities
    of = {k: [i for i in identities if k in i.left or k in i.right] for k in keys}
    confirmed: set[str] = set()
    pending = [k for k in keys if of[k]]
    while True:
        now = [k for k in pending if k not in confirmed and _is_pinned(record, k, of[k], confirmed)]
        if not now:
            return [k for k in keys if k in confirmed]
        confirmed.update(now)


def _is_pinned(record: Record, key: str, identities, confirmed: set[str]) -> bool:
    fields = record.fields
    pins = False
    for identity in identities:
        values = {k: fields[k].value if k in fields else None for k in identity.keys}
        numbers = {k: v for k, v in values.items() if isinstance(v, (int, float))}
        if len(numbers) < len(values):
            continue  # not assessable: a blank in it
        if not _holds(numbers, identity):
            return False  # an identity it stands in is broken: doubt, whatever pins it elsewhere
        others = [k for k in identity.keys if k != key]
        pins = pins or all(_trusted(fields.get(k), k, confirmed) for k in others)
    return pins


def _trusted(f: Field | None, key: str, confirmed: set[str]) -> bool:
    return f is not None and f.value is not None and (not f.review or key in confirmed)


def _holds(numbers: dict[str, int | float], identity) -> bool:
    """Does the identity hold on these values (every key of it among them)?"""
    left = sum(numbers[k] for k in identity.left)
    right = sum(numbers[k] for k in identity.right)
    return abs(left - right) < 1e-9


def _add(f, alternative: dict) -> bool:
    """Append the LLM's reading unless the same reading is there already."""
    same = {k: alternative[k] for k in ("value", "source", "prompt")}
    if any(all(a.get(k) == v for k, v in same.items()) for a in f.alternatives):
        return False
    f.alternatives.append(alternative)
    return True
