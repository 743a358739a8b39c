"""Golden annotations: JSON files (one per report) checked against the spec, and stored in
SQLite."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .errors import GoldenError
from .spec import field_by_key, keys_for

REQUIRED = ("report", "sha256", "version", "fields")


@dataclass
class Golden:
    path: Path  # the golden JSON
    report: Path  # the report it annotates
    sha256: str
    version: int
    template: str
    layout: str
    note: str
    fields: dict
    synthetic: bool = False


def load_file(path: Path, root: Path | None = None) -> Golden:
    """Read and validate one golden file; `report` is relative to root (default: the golden
    folder's parent)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise GoldenError(f"{path}: not readable JSON ({e})") from e
    missing = [k for k in REQUIRED if k not in data]
    if missing:
        raise GoldenError(f"{path}: missing {', '.join(missing)}")
    fields = data["fields"]
    template = fields.get("meta.template")
    if template not in ("2019", "2021"):
        raise GoldenError(f"{path}: meta.template must be \"2019\" or \"2021\", not {template!r}")
    expected = keys_for(template)
    unknown = sorted(set(fields) - set(expected))
    if unknown:
        raise GoldenError(
            f"{path}: keys not in the {template} "
            f"template: {', '.join(unknown[:5])}{' …' if len(unknown) > 5 else ''}"
        )
    absent = [k for k in expected if k not in fields]
    if absent:
        raise GoldenError(
            f"{path}: keys of the {template} template "
            f"missing: {', '.join(absent[:5])}{' …' if len(absent) > 5 else ''}"
        )
    for key, value in fields.items():
        _check_type(path, key, value)
    base = root or Path(path).resolve().parent.parent
    return Golden(Path(path), base / data["report"], data["sha256"], int(data["version"]), template,
                  data.get("layout", ""), data.get("note", ""), fields, bool(data.get("synthetic")))


def _check_type(path, key, value) -> None:
    if value is None:
        return
    kind = field_by_key()[key].type
    ok = {
        "int": isinstance(value, int) and not isinstance(value, bool),
        "float": isinstance(value, (int, float)) and not isinstance(value, bool),
        "str": isinstance(value, str),
    }[kind]
    if key == "meta.template":
        ok = isinstance(value, str)
    if not ok:
        raise GoldenError(f"{path}: {key} must be {kind} or null, not {value!r}")


def load_folder(folder: Path, root: Path | None = None) -> list[Golden]:
    """Every golden file of `folder`, validated; their `report` paths relative to `root` (default:
    the folder's parent). Raises GoldenError."""
    files = sorted(Path(folder).glob("*.json"))
    if not files:
        raise GoldenError(f"{folder}: no golden .json files")
    return [load_file(f, root) for f in files]


def check_reports(goldens: list[Golden]) -> None:
    """Raise GoldenError naming the reports that are not where their golden files say (a golden
    folder copied without its reports would otherwise score every key as a silent error)."""
    missing = [g for g in goldens if not g.report.is_file()]
    if not missing:
        return
    shown = ", ".join(str(g.report) for g in missing[:3]) + (" …" if len(missing) > 3 else "")
    raise GoldenError(
        f"{len(missing)} of {len(goldens)} reports the golden files name are not found ({shown}): "
        f"their `report` paths are relative to the golden folder's parent; give --reports DIR, the "
        f"folder they are relative to"
    )


def store(db, goldens: list[Golden]) -> int:
    """Load golden annotations into the `golden` table (replacing earlier versions of the same
    report)."""
    rows = [
        {
            "sha256": g.sha256, "golden_file": str(g.path), "report": str(g.report),
            "version": g.version, "template": g.template, "layout": g.layout, "note": g.note,
            "synthetic": int(g.synthetic),
            "fields": json.dumps(g.fields, ensure_ascii=False),
        }
        for g in goldens
    ]
    with db.atomic():
        db["golden"].upsert_all(rows, pk="sha256")
    return len(rows)
