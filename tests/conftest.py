import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
GOLDEN = ROOT / "golden"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    """Tests own their environment: no stray keys or endpoints from the machine."""
    for name in list(os.environ):
        if name.startswith(("OPENAI_", "XXGK_")):
            monkeypatch.delenv(name, raising=False)


def place_spans(rows: list[list[dict]]) -> tuple[list[tuple[int, int, dict]], int]:
    """HTML-style cell specs ({"rowspan", "colspan", …}) laid on a grid: (row, column, spec) for
    each cell, and the grid's width. Shared by the Word and PDF builders of the tests."""
    placed, taken, width = [], set(), 0
    for r, row in enumerate(rows):
        col = 0
        for spec in row:
            while (r, col) in taken:
                col += 1
            for dr in range(spec["rowspan"]):
                for dc in range(spec["colspan"]):
                    taken.add((r + dr, col + dc))
            placed.append((r, col, spec))
            col += spec["colspan"]
            width = max(width, col)
    return placed, width
