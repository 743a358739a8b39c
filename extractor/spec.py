"""The canonical record (rules/fields.tsv), the two templates (rules/templates.toml) and what a
report says about itself (rules/meta.toml), as data."""

from __future__ import annotations

import csv
import os
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

TEMPLATES = ("2019", "2021")


def rules_dir() -> Path:
    """Where the rule data lives: $XXGK_RULES_DIR, else the project's rules/ folder."""
    override = os.environ.get("XXGK_RULES_DIR")
    return Path(override) if override else Path(__file__).resolve().parent.parent / "rules"


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
    with open(rules_dir() / "fields.tsv", encoding="utf-8", newline="") as f:
        return tuple(FieldSpec(**row) for row in csv.DictReader(f, delimiter="\t"))


@lru_cache(maxsize=2)
def keys_for(template: str) -> tuple[str, ...]:
    """Every key of a template's record, in fields.tsv order (201 for 2019, 203 for 2021)."""
    if template not in TEMPLATES:
        raise ValueError(f"unknown template {template!r}")
    return tuple(f.key for f in fields() if f.template in ("both", template))


@lru_cache(maxsize=1)
def field_by_key() -> dict[str, FieldSpec]:
    return {f.key: f for f in fields()}


@lru_cache(maxsize=1)
def templates() -> dict:
    with open(rules_dir() / "templates.toml", "rb") as f:
        return tomllib.load(f)


@lru_cache(maxsize=1)
def meta_rules() -> dict:
    """rules/meta.toml: the words of titles, years, bodies' names and what is not a report."""
    with open(rules_dir() / "meta.toml", "rb") as f:
        return tomllib.load(f)
