"""Whole-table decoding: the combination of row readings under which the template's identities
hold (勾稽关系: rules/templates.toml), by OR-Tools CP-SAT.

    decide(candidates, identities) -> {row: Decision}

`candidates[row]` lists the readings of one row (tuples of values, None for a blank), most likely
first, each with a cost (0 for a reading without doubt). The solver looks for the combinations
that break the fewest identities (an identity with a blank in it is neither kept nor broken),
then among them the cheapest, and reports for every row which of its readings occur in those best
combinations: exactly one, and the arithmetic decided it; several, and the cells they disagree on
are a person's to read. A report's own arithmetic error is never repaired: it only makes every
combination break that identity alike.

The solver is called only for tables where a row has more than one reading; the module imports
OR-Tools only then.
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass
from typing import Mapping, Sequence

from .template import Identity

BROKEN = 1000  # the cost of an identity broken, against the cost of one doubtful reading
TRY_EVERY = 20000  # open rows that combine in at most this many ways: every combination is tried
SECONDS = 5.0  # per table; a table the solver cannot settle in time is left to the marks


@dataclass(frozen=True)
class Candidate:
    values: tuple  # one value per column (None: blank)
    cost: int = 0  # 0: a reading without doubt; more for a guess


@dataclass(frozen=True)
class Decision:
    feasible: tuple[int, ...]  # the row's readings found in the best combinations, by index
    broken: int  # identities the best combinations break (the report's own errors, or misreadings)

    @property
    def decided(self) -> bool:
        return len(self.feasible) == 1


Rows = Mapping[str, Sequence[Candidate]]  # row prefix ("t3.granted") → its readings


def decide(rows: Rows, identities: Sequence[Identity],
           columns: dict[str, Sequence[str]]) -> dict[str, Decision]:
    """For each row with readings to choose from, which of them the identities leave.

    `columns[row]` names the keys of its values in order ("t3.granted.natural", …). Rows with one
    reading are fixed; only the others are variables. Returns a Decision for every row of `rows`
    (a fixed row: its one reading)."""
    open_rows = {r: c for r, c in rows.items() if len(c) > 1}
    if not open_rows:
        return {r: Decision((0,), 0) for r in rows}
    if math.prod(len(c) for c in open_rows.values()) <= TRY_EVERY:
        return _every_combination(rows, open_rows, identities, columns)
    model = _Model(rows, open_rows, identities, columns)
    try:
        found = model.best()
    finally:
        model.release()
    if found is None:  # out of time: nothing decided
        return {r: Decision(tuple(range(len(c))), 0) for r, c in rows.items()}
    return {r: Decision(found.get(r, (0,)), model.broken) for r in rows}


def _every_combination(rows: Rows, open_rows: Rows, identities: Sequence[Identity],
                       columns: dict[str, Sequence[str]]) -> dict[str, Decision]:
    """The same decision by trying every combination of the open rows' readings: exact, and
    quicker than building a model when they combine in few ways (TRY_EVERY)."""
    values: dict[str, object] = {}
    for r, cands in rows.items():
        if r not in open_rows:
            values.update(zip(columns[r], cands[0].values))
    involved = [
        eq for eq in identities if any(columns_of(k, columns) in open_rows for k in eq.keys)
    ]
    names = list(open_rows)
    best: tuple[int, int] | None = None
    feasible: dict[str, set[int]] = {r: set() for r in names}
    for combo in itertools.product(*(range(len(open_rows[r])) for r in names)):
        for r, i in zip(names, combo):
            values.update(zip(columns[r], open_rows[r][i].values))
        score = (sum(_broken(eq, values) for eq in involved),
                 sum(open_rows[r][i].cost for r, i in zip(names, combo)))
        if best is None or score < best:
            best, feasible = score, {r: set() for r in names}
        if score == best:
            for r, i in zip(names, combo):
                feasible[r].add(i)
    assert best is not None
    return {
        r: Decision(tuple(sorted(feasible[r])) if r in feasible else (0,), best[0]) for r in rows
    }


def columns_of(key: str, columns: dict[str, Sequence[str]]) -> str | None:
    """The row a key belongs to (its prefix, when that row is among `columns`)."""
    row = key.rsplit(".", 1)[0]
    return row if row in columns else None


def _broken(eq: Identity, values: dict) -> bool:
    """Assessable and unequal (a blank, or a key of no row here, leaves it unassessed)."""
    try:
        return sum(values[k] for k in eq.left) != sum(values[k] for k in eq.right)
    except (KeyError, TypeError):
        return False


class _Model:
    """The CP-SAT model: a literal per reading of each open row, exactly one true per row."""

    def __init__(self, rows: Rows, open_rows: Rows, identities: Sequence[Identity],
                 columns: dict[str, Sequence[str]]):
        from ortools.sat.python import cp_model

        self.cp = cp_model
        self.model = cp_model.CpModel()
        self.open = open_rows
        self.pick = {r: [self.model.new_bool_var(f"{r}#{i}") for i in range(len(c))]
                     for r, c in open_rows.items()}
        for literals in self.pick.values():
            self.model.add_exactly_one(literals)
        self.cells = {key: (r, j) for r, keys in columns.items() for j, key in enumerate(keys)}
        self.fixed = {r: c[0].values for r, c in rows.items() if len(c) == 1}
        self.broken_literals = [
            b for b in (self._identity(eq) for eq in identities) if b is not None
        ]
        self.cost = sum(c.cost * lit for r, cands in open_rows.items()
                        for c, lit in zip(cands, self.pick[r]))
        self.broken = 0

    def _value(self, key: str):
        """A key's value as (a linear expression or a number, a literal true when it is not blank
        or True/False when that is fixed); None when the key is not in these rows."""
        if key not in self.cells:
            return None
        row, j = self.cells[key]
        if row in self.fixed:
            v = self.fixed[row][j]
            return (v, v is not None)
        cands, lits = self.open[row], self.pick[row]
        expr = sum((c.values[j] or 0) * lit for c, lit in zip(cands, lits))
        blanks = [lit for c, lit in zip(cands, lits) if c.values[j] is None]
        if not blanks:
            return (expr, True)
        if len(blanks) == len(lits):
            return (0, False)
        present = self.model.new_bool_var(f"{key}?")
        self.model.add(sum(blanks) == 0).only_enforce_if(present)
        self.model.add(sum(blanks) == 1).only_enforce_if(~present)
        return (expr, present)

    def _identity(self, eq: Identity):
        """A literal true when the identity is broken (assessable and unequal); None when no open
        row takes part in it or it can never be assessed."""
        terms = {k: self._value(k) for k in eq.keys}
        if any(t is None for t in terms.values()):
            return None
        if not any(self.cells[k][0] in self.open for k in eq.keys):
            return None
        presence = [p for _, p in terms.values() if p is not True]
        if any(p is False for p in presence):
            return None
        left = sum(terms[k][0] for k in eq.left)
        right = sum(terms[k][0] for k in eq.right)
        broken = self.model.new_bool_var(f"broken:{eq.name}")
        self.model.add(left == right).only_enforce_if(presence + [~broken])
        return broken

    def _solve(self, deadline: float, require_one_of=()):
        """Solve within what is left of the table's time; with `require_one_of`, a combination
        that takes at least one of those readings (the constraint is withdrawn after)."""
        left = deadline - time.monotonic()
        if left <= 0:
            return None, self.cp.UNKNOWN
        solver = self.cp.CpSolver()
        solver.parameters.num_workers = 1
        solver.parameters.max_time_in_seconds = left
        self.model.clear_assumptions()
        if require_one_of:
            gate = self.model.new_bool_var("gate")
            self.model.add_bool_or(list(require_one_of)).only_enforce_if(gate)
            self.model.add_assumptions([gate])
        status = solver.solve(self.model)
        if status not in (self.cp.OPTIMAL, self.cp.FEASIBLE):
            return None, status
        return solver, status

    def best(self) -> dict[str, tuple[int, ...]] | None:
        """The readings of each open row that occur in the best combinations: the optimum first,
        then, while one exists, a best combination that takes a reading not yet seen (one solve
        each, and one last that proves there is none), within the table's time."""
        objective = BROKEN * sum(self.broken_literals) + self.cost
        if isinstance(objective, int):  # nothing to weigh: every combination is as good
            objective = sum(self.pick[next(iter(self.pick))]) - 1
        self.model.minimize(objective)
        deadline = time.monotonic() + SECONDS
        solver, status = self._solve(deadline)
        if solver is None or status != self.cp.OPTIMAL:
            return None
        optimum = round(solver.objective_value)
        self.broken = sum(round(solver.value(b)) for b in self.broken_literals)
        self.model.clear_objective()
        self.model.add(objective == optimum)
        seen: dict[str, set[int]] = {r: set() for r in self.open}
        self._record(solver, seen)
        while True:
            unseen = [lit for r, lits in self.pick.items() for i, lit in enumerate(lits)
                      if i not in seen[r]]
            if not unseen:
                break
            found, status = self._solve(deadline, require_one_of=unseen)
            if found is None:
                if status != self.cp.INFEASIBLE:
                    return None  # out of time: the table's readings stay open
                break
            self._record(found, seen)
        return {r: tuple(sorted(s)) for r, s in seen.items()}

    def release(self) -> None:
        """CpModel keeps bound methods of itself in its own __dict__ (its CamelCase aliases): a
        reference cycle that would wait for the cyclic collector. Clearing the dict frees it now."""
        self.model.__dict__.clear()

    def _record(self, solver, seen: dict[str, set]) -> None:
        for r, lits in self.pick.items():
            seen[r].update(i for i, lit in enumerate(lits) if solver.value(lit))
