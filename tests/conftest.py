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
