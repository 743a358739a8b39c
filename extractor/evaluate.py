"""Score extracted records against golden truth, key by key: right, wrong and marked, wrong and
silent."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

RIGHT, WRONG_MARKED, WRONG_SILENT = "right", "wrong_marked", "wrong_silent"


def same(truth, value) -> bool:
    """Exact equality, with 0 never equal to null; numbers compare by value (6 == 6.0)."""
    if truth is None or value is None:
        return truth is None and value is None
    if (
        isinstance(truth, (int, float))
        and isinstance(value, (int, float))
        and not isinstance(truth, bool)
    ):
        return math.isclose(float(truth), float(value), rel_tol=0, abs_tol=1e-9)
    return truth == value


@dataclass
class Outcome:
    document: str
    key: str
    truth: object
    value: object
    review: bool
    layout: str = ""

    @property
    def kind(self) -> str:
        if same(self.truth, self.value):
            return RIGHT
        return WRONG_MARKED if self.review else WRONG_SILENT

    @property
    def section(self) -> str:
        return self.key.split(".", 1)[0]


def compare(document: str, truth: dict, record, layout: str = "") -> list[Outcome]:
    """One Outcome per golden key; a key the record lacks counts as null, unmarked."""
    out = []
    for key, expected in truth.items():
        f = record.fields.get(key) if record is not None else None
        out.append(
            Outcome(
                document,
                key,
                expected,
                None if f is None else f.value,
                bool(f and f.review),
                layout,
            )
        )
    return out


def summarise(outcomes: list[Outcome]) -> dict:
    """Accuracy, wrong values split marked/silent, review rate and calibration."""
    n = len(outcomes)
    kinds: defaultdict[str, int] = defaultdict(int)
    marked = 0
    unmarked_right = unmarked = 0
    for o in outcomes:
        kinds[o.kind] += 1
        marked += o.review
        if not o.review:
            unmarked += 1
            unmarked_right += o.kind == RIGHT
    wrong = kinds[WRONG_MARKED] + kinds[WRONG_SILENT]
    return {
        "values": n,
        "right": kinds[RIGHT],
        "wrong_marked": kinds[WRONG_MARKED],
        "wrong_silent": kinds[WRONG_SILENT],
        "accuracy": kinds[RIGHT] / n if n else None,
        "review_rate": marked / n if n else None,
        "right_when_unmarked": unmarked_right / unmarked if unmarked else None,
        "marked_when_wrong": kinds[WRONG_MARKED] / wrong if wrong else None,
    }


def by(outcomes: list[Outcome], attr: str) -> dict[str, dict]:
    groups: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        groups[getattr(o, attr)].append(o)
    return {k: summarise(v) for k, v in sorted(groups.items())}
