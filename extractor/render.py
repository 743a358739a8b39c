"""Draw a stored record as its statutory tables, for `xxgk show`."""

from __future__ import annotations

import shlex
import unicodedata

from .spec import field_by_key, keys_for

TITLES = {
    "t2": "二、主动公开政府信息情况",
    "t3": "三、收到和处理政府信息公开申请情况",
    "t4": "四、政府信息公开行政复议、行政诉讼情况",
}


def width(s: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)


def pad(s: str, n: int, right: bool = False) -> str:
    fill = " " * max(0, n - width(s))
    return fill + s if right else s + fill


def show_value(row: dict | None) -> str:
    if row is None or row["value"] is None:
        text = "—"
    elif isinstance(row["value"], float):
        text = f"{row['value']:.6f}".rstrip("0").rstrip(".")
    else:
        text = str(row["value"])
    return text + ("?" if row and row["review"] else "")


def _split_label(key: str) -> tuple[str, str]:
    """(row label, column label) from fields.tsv's label_zh."""
    label = field_by_key()[key].label_zh
    if " × " in label:
        row, col = label.split(" × ")
        return row, col.replace("法人或其他组织 ", "")
    if key.startswith("t4."):
        words = label.split(" ")
        return " ".join(words[:-1]), words[-1]
    words = label.split(" ")
    return " ".join(words[:-1]), words[-1]


def render(doc: dict, values: dict[str, dict], findings: list[dict], db_name: str = "DB") -> str:
    """A stored document drawn as its tables, its marks and findings; `db_name` is the database
    as the hints at the end name it."""
    lines = [
        f"{doc['agency'] or '(agency unknown)'} · {doc['year'] or '?'} · "
        f"template {doc['template'] or '?'} · {doc['status']}",
        f"{doc['path']}  sha256 {doc['sha256'][:12]}",
    ]
    if doc.get("error"):
        lines.append(f"{'error' if doc['status'] == 'failed' else doc['status']}: {doc['error']}")
        return "\n".join(lines)
    keys = keys_for(doc["template"])
    for section in ("t2", "t3", "t4"):
        lines += ["", TITLES[section]]
        rows: dict[str, list[str]] = {}
        for key in keys:
            if key.startswith(section + "."):
                rows.setdefault(key.rsplit(".", 1)[0], []).append(key)
        if section == "t3":
            lines += _grid([(_split_label(ks[0])[0], ks) for ks in rows.values()], values)
        else:
            for ks in rows.values():
                label = _split_label(ks[0])[0]
                cells = [f"{_split_label(k)[1]} {show_value(values.get(k))}" for k in ks]
                lines.append(f"  {pad(label, 44)} " + "   ".join(cells))
    marked = [k for k in keys if values.get(k) and values[k]["review"]]
    lines += [
        "",
        f"marked for review: {len(marked)} of {len(keys)} values ('?' above; '—' is blank)",
    ]
    for k in marked[:20]:
        lines.append(f"  {k}: {values[k]['reason']}")
    if len(marked) > 20:
        lines.append(f"  … and {len(marked) - 20} more")
    shown = [f for f in findings if f["kind"] != "not_assessable"]
    unassessable = len(findings) - len(shown)
    if shown or unassessable:
        lines += ["", "findings:"] + [
            f"  [{f['kind']}] {f['check']}: {f['message']}" for f in shown
        ]
        if unassessable:
            hint = f"xxgk findings {shlex.quote(db_name)} --kind not_assessable"
            lines.append(
                f"  {unassessable} checks not assessable (a blank among their cells): {hint}"
            )
    return "\n".join(lines)


def _grid(rows, values) -> list[str]:
    cols = [_split_label(k)[1] for k in rows[0][1]]
    widths = [max(6, width(c)) for c in cols]
    out = ["  " + pad("", 44) + " ".join(pad(c, w, True) for c, w in zip(cols, widths))]
    for label, ks in rows:
        label = label if width(label) <= 44 else label[:21] + "…"
        out.append(
            "  "
            + pad(label, 44)
            + " ".join(pad(show_value(values.get(k)), w, True) for k, w in zip(ks, widths))
        )
    return out
