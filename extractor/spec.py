"""The canonical record (rules/fields.tsv), the two templates (rules/templates.toml) and what a
report says about itself (rules/meta.toml), as data."""

from __future__ import annotations

import csv
import os
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .errors import UsageError, XxgkError

TEMPLATES = ("2019", "2021")


def rules_dir() -> Path:
    """Where the rule data lives: $XXGK_RULES_DIR, else the package's `extractor/rules` (an
    installed wheel: the top-level rules/ is packaged there, see pyproject.toml), else the source
    tree's top-level rules/ (a checkout or an editable install: the one copy that is edited)."""
    override = os.environ.get("XXGK_RULES_DIR")
    return Path(override) if override else package_data("rules")


def package_data(name: str) -> Path:
    """The folder of a packaged data directory (`rules`, `prompts`): inside the package when
    installed from a wheel, else the source tree's top-level folder of that name."""
    here = Path(__file__).resolve().parent
    packaged = here / name
    return packaged if packaged.is_dir() else here.parent / name


def open_rule(name: str, mode: str = "r"):
    """Open a file of rules_dir(). Raises XxgkError naming the folder when it is not there."""
    path = rules_dir() / name
    try:
        if "b" in mode:
            return open(path, mode)
        return open(path, mode, encoding="utf-8", newline="")
    except FileNotFoundError as e:
        raise XxgkError(
            f"{path}: the rules file is missing (is "
            "$XXGK_RULES_DIR right, or xxgk installed whole?)"
        ) from e


@dataclass(frozen=True)
class FieldSpec:
    key: str
    section: str
    template: str  # "both", "2019" or "2021"
    type: str  # "int", "float", "str"
    unit: str
    label_zh: str


@lru_cache(maxsize=1)
def fields() -> tuple[FieldSpec, ...]:
    with open_rule("fields.tsv") as f:
        return tuple(FieldSpec(**row) for row in csv.DictReader(f, delimiter="\t"))


@lru_cache(maxsize=2)
def keys_for(template: str) -> tuple[str, ...]:
    """Every key of a template's record, in fields.tsv order (201 for 2019, 203 for 2021)."""
    if template not in TEMPLATES:
        raise UsageError(f"unknown template {template!r} (known: {', '.join(TEMPLATES)})")
    return tuple(f.key for f in fields() if f.template in ("both", template))


@lru_cache(maxsize=1)
def field_by_key() -> dict[str, FieldSpec]:
    return {f.key: f for f in fields()}


@lru_cache(maxsize=1)
def templates() -> dict:
    with open_rule("templates.toml", "rb") as f:
        return tomllib.load(f)


@lru_cache(maxsize=1)
def meta_rules() -> dict:
    """rules/meta.toml: the words of titles, years, bodies' names and what is not a report."""
    with open_rule("meta.toml", "rb") as f:
        return tomllib.load(f)
