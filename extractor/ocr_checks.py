"""What a scan's reading answers for beyond its cells: blanks the table's arithmetic rules out,
and where each page was stood straight.

A blank cell read from a page with a text layer is what the report printed. A blank read by OCR
may be a value the grid lost (a cell at the far end of a skewed row read as blank was the silent
error of the first scan route). So when a row's or a column's identity (checks.equations: 总计 =
the sum of its parts, 一 + 二 = 三（七）+ 四) fails with the blanks taken as 0 while the others were
read, every blank in it is marked: the arithmetic says it cannot be empty.
"""

from __future__ import annotations

from .record import Field

BLANK_IN_DOUBT = "blank in a scan where the table's arithmetic needs a value"


def mark_blanks(fields: dict[str, Field], template: str) -> list[str]:
    """Mark every OCR-read blank of an identity that fails with blanks as 0; the keys marked.

    fields: the record's fields by key (changed in place); template: "2019" or "2021"."""
    from .checks import equations

    marked: list[str] = []
    for eq in equations(template):
        got = [fields.get(k) for k in eq.keys]
        group = [f for f in got if f is not None and f.route == "ocr"]
        if len(group) < len(got):
            continue  # a key missing, or read otherwise than by OCR
        blanks = [f for f in group if f.value is None and not f.review]
        numbers = [f for f in group if isinstance(f.value, (int, float))]
        if not blanks or not numbers or len(numbers) + len(blanks) < len(group):
            continue
        value = {f.key: f.value if isinstance(f.value, (int, float)) else 0 for f in group}
        left = sum(value[k] for k in eq.left)
        right = sum(value[k] for k in eq.right)
        if left == right:
            continue
        for f in blanks:
            f.review, f.reason = (
                True,
                f"{BLANK_IN_DOUBT}: {eq.name} gives {left:g} ≠ {right:g} with it as 0",
            )
            marked.append(f.key)
    return marked


FAILED_SUM = "a sum of the scanned table fails"


def mark_failed_sums(fields: dict[str, Field], template: str) -> list[str]:
    """Mark the figures of every identity of a scanned table that fails as read, none of whose
    figures is marked yet: a digit OCR misread alike twice breaks its row's and its column's sums,
    so where two failed sums cross, that figure is marked; a sum failing alone has all its figures
    marked (the report's own error, or a misreading: from a scan, it cannot be told). Marked
    before the checks run, so they report the failure as a suspected misreading. The keys marked."""
    from .checks import equations, sums

    failed = []
    for eq in equations(template):
        group = [fields.get(k) for k in eq.keys]
        if any(f is None or f.route != "ocr" or f.review for f in group):
            continue
        got = sums(eq, lambda k: fields[k].value)
        if got is not None and got[0] != got[1]:
            failed.append(eq)
    crossings = {k for eq in failed for k in eq.keys if sum(k in e.keys for e in failed) > 1}
    marked: list[str] = []
    for eq in failed:
        keys = [k for k in eq.keys if k in crossings] or eq.keys
        for key in keys:
            f = fields[key]
            if not f.review:
                f.review, f.reason = True, f"{FAILED_SUM} ({eq.name}): a figure may be misread"
                marked.append(key)
    return marked


def page_regions(spans: tuple, geometry: tuple) -> dict[str, tuple[int, int]]:
    """For each OCR'd page that holds text, "p<page>": (start, end) of its text in the whole."""
    out = {}
    for page, _ in geometry:
        own = [(s[0], s[1]) for s in spans if s[2] == page]
        if own:
            out[f"p{page}"] = (min(a for a, _ in own), max(b for _, b in own))
    return out
