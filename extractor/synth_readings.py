"""The careful reader of the stress corpus: what a person can and cannot tell from a table's cells
when text extraction has run them together or put them out of order, so that the truth of a
generated report says which cells must come out marked.

    splits("77132470", [INT] * 3) -> [(7, 7, 132470), (7, 71, 32470), …]   # every cut of a run
    row_readings("220000022", 7, row_sum=True) -> [(2, 20, 0, 0, 0, 0, 22), (22, 0, 0, 0, 0, 0, 22)]
    open_keys({row: [reading, …]}, keys_of, identities) -> {"t3.x.natural", …}

A run of digits that reads several ways leaves open the cells its readings disagree on, unless
the template's identities (勾稽关系, rules/templates.toml through extractor.template) rule the
other readings out: in table 3 a row's 总计 is the sum of its six applicant columns (T3-B), every
column's （七）总计 the sum of its detail rows (T3-C) and 一 + 二 = （七）总计 + 四 (T3-A); in table
4 each group's 总计 is the sum of its four results (T4). Table 2 has no identities: every run with
more than one cut is open. A combination that breaks fewer identities is preferred (a report's
own arithmetic error breaks every combination alike), as the reader's solver does; this module
is written apart from it (extractor.solve) so that the two can disagree.

Pure library, no I/O; independent of the hash seed.
"""

from __future__ import annotations

import itertools
import re
from typing import Callable, Iterable, Mapping, Sequence

INT = r"0|[1-9]\d*"  # a count as printed: no leading zero
SIGNED = r"-?(?:0|[1-9]\d*)"  # 本年增/减 (2019 table 2)
MONEY = r"(?:0|[1-9]\d*)(?:\.\d+)?"  # 万元 or 元 with its decimals

LIMIT = 2000  # readings of one run beyond which every cell of it counts as open
COMBINATIONS = 200_000  # combinations of rows' readings tried before every open row counts as open

Reading = tuple  # one value per cell (int or float)


def _number(text: str):
    return float(text) if "." in text else int(text)


def splits(
    run: str,
    patterns: Sequence[str],
    checks: Mapping[int, Callable[[list], bool]] | None = None,
    limit: int = LIMIT,
) -> list[Reading] | None:
    """Every cut of `run` (digits, `.` and `-` as printed, nothing else) into len(patterns) pieces,
    the i-th matching patterns[i] (INT, SIGNED, MONEY), as numbers. `checks[n]` is called with the
    first n values once they are cut and prunes the cuts it rejects (a group's sum). Returns None
    when more than `limit` readings exist (then the run tells nothing about any of its cells)."""
    compiled = [re.compile(p) for p in patterns]
    checks = checks or {}
    out: list[Reading] = []

    def cut(pos: int, values: list) -> bool:
        i = len(values)
        if i == len(compiled):
            if pos == len(run):
                out.append(tuple(values))
            return len(out) <= limit
        rest = len(compiled) - i - 1
        for end in range(pos + 1, len(run) - rest + 1):
            piece = run[pos:end]
            if not compiled[i].fullmatch(piece):
                continue
            values.append(_number(piece))
            ok = checks.get(i + 1, lambda _v: True)(values)
            if ok and not cut(end, values):
                return False
            values.pop()
        return True

    return out if cut(0, []) else None


def row_readings(
    run: str, width: int, pattern: str = INT, row_sum: bool = False
) -> list[Reading] | None:
    """The readings of a table-3 row (`row_sum`: its last cell is the sum of the others, T3-B) or
    of any row of `width` cells of one kind. None: too many to tell anything."""
    checks = {width: lambda v: v[-1] == sum(v[:-1])} if row_sum else None
    return splits(run, [pattern] * width, checks)


def t4_readings(run: str, groups: int = 3, results: int = 4) -> list[Reading] | None:
    """Table 4's 15 cells run together: each group's total is the sum of its four results (T4)."""
    size = results + 1
    checks = {
        size * (g + 1): (
            lambda v, g=g: v[size * g + results] == sum(v[size * g : size * g + results])
        )
        for g in range(groups)
    }
    return splits(run, [INT] * (size * groups), checks)


def differing(readings: Sequence[Sequence], keys: Sequence[str]) -> set[str]:
    """The keys (one per cell, in order) whose value is not the same in every reading (a
    Reading, or any sequence of one value per cell)."""
    if len(readings) <= 1:
        return set()
    return {k for j, k in enumerate(keys) if len({r[j] for r in readings}) > 1}


def open_keys(
    readings: Mapping[str, Sequence[Reading] | None],
    keys_of: Mapping[str, Sequence[str]],
    identities: Iterable,
) -> set[str]:
    """The keys a careful reader cannot settle: `readings[row]` are the readings its own text
    allows (None: too many to tell), `keys_of[row]` its keys in cell order, `identities` objects
    with `.left` and `.right` key tuples (extractor.template.Identity). The combinations of
    readings that break the fewest identities are kept (an identity with a key outside these rows,
    or in a row of None, is not assessable); a key whose value differs between them is open."""
    unknown = {r for r, c in readings.items() if c is None}
    out = {k for r in unknown for k in keys_of[r]}
    fixed = {r: c[0] for r, c in readings.items() if c is not None and len(c) == 1}
    free = {r: c for r, c in readings.items() if c is not None and len(c) > 1}
    if not free:
        return out
    known = {k for r in list(fixed) + list(free) for k in keys_of[r]}
    eqs = [
        e
        for e in identities
        if set(e.left) | set(e.right) <= known
        and any(k in keys_of[r] for r in free for k in set(e.left) | set(e.right))
    ]
    total = 1
    for c in free.values():
        total *= len(c)
    if total > COMBINATIONS:  # too many to try: whatever a row's readings disagree on is open
        return out | {k for r, c in free.items() for k in differing(c, keys_of[r])}
    base = {k: v for r, vals in fixed.items() for k, v in zip(keys_of[r], vals)}
    rows = list(free)
    best, kept = None, []
    for combo in itertools.product(*(free[r] for r in rows)):
        values = dict(base)
        for r, vals in zip(rows, combo):
            values.update(zip(keys_of[r], vals))
        broken = sum(
            abs(sum(values[k] for k in e.left) - sum(values[k] for k in e.right)) > 1e-9
            for e in eqs
        )
        if best is None or broken < best:
            best, kept = broken, [combo]
        elif broken == best:
            kept.append(combo)
    for i, r in enumerate(rows):
        out |= differing(sorted({c[i] for c in kept}), keys_of[r])
    return out
