"""Checks over a record: the template's arithmetic (勾稽关系), the right template, text against
tables, fees and section 五. Each check family is a small function that yields findings.

A failed check is a defect of the report only when every value it involves was read without
doubt. Otherwise the rules look for another reading of the same text (the other readings a row's
cells allowed, kept in Field.alternatives) that satisfies it: if one does, the row is marked for
review and the reading that fits is labelled beside the value — never swapped in. Printed values
are never changed here.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Iterator

from .meta import template_scores
from .record import LOW_OCR_CONFIDENCE, Field, Finding, Record
from .template import Identity, template

REPORT_DEFECT, MISREADING, NOT_ASSESSABLE = (
    "report_defect",
    "misreading_suspected",
    "not_assessable",
)
CHECK_MARK = "check "  # reasons of marks set here start so, and re-checking clears them first


def equations(template_name: str) -> tuple[Identity, ...]:
    """The template's identities (勾稽关系), from rules/templates.toml: T3-A, T3-B, T3-C, T4."""
    return template(template_name).identities


def sums(identity: Identity, value) -> tuple[float, float] | None:
    """(sum of the right side, sum of the left side) of an identity, reading each key through
    `value(key)`; None when a value is blank (the identity cannot be assessed)."""
    try:
        return sum([value(k) for k in identity.right]), sum([value(k) for k in identity.left])
    except TypeError:  # a blank (None), or words, among them
        return None


def run_checks(record: Record, text: str) -> list[Finding]:
    """Run every check family; marks and labels fields in place; returns the findings."""
    _clear_previous(record)
    findings: list[Finding] = []
    if record.template is None or not record.fields:
        return findings
    confirm_by_arithmetic(record)
    for family in (
        arithmetic, non_negative, template_fit, text_against_tables, fees_reported, section_five,
    ):
        findings.extend(family(record, text))
    return [_blame_unsure_reading(record, f) for f in findings]


def confirm_by_arithmetic(record: Record) -> list[str]:
    """Lift the mark of a number OCR read twice alike but with low confidence when the table's
    arithmetic vouches for it: an identity holds in which it is the only doubtful value, or two
    identities hold that it stands in (its row and its column). A misread digit would break them,
    unless another error made up for it in each. Returns the keys confirmed."""
    if record.template is None:
        return []  # no template, no identities
    doubtful = {k for k, f in record.fields.items() if f.review}
    if not any(record.fields[k].reason.startswith(LOW_OCR_CONFIDENCE) for k in doubtful):
        return []
    holding: dict[str, list[Identity]] = {}
    for eq in equations(record.template):
        got = sums(eq, record.value)
        if got is not None and got[0] == got[1]:
            for key in eq.keys:
                holding.setdefault(key, []).append(eq)
    confirmed = []
    for key in sorted(doubtful):
        f = record.fields[key]
        if not f.reason.startswith(LOW_OCR_CONFIDENCE) or key not in holding:
            continue
        alone = [eq for eq in holding[key] if not (set(eq.keys) - {key}) & doubtful]
        if alone or len(holding[key]) >= 2:
            f.review, f.reason = False, ""
            f.rule += "+arithmetic-confirms"
            confirmed.append(key)
    return confirmed


# Readings that are never a clean grid: a model's, and a PDF's text layer without ruled cells (its
# rows and columns rebuilt from where the characters stand; a number wrapped in a narrow column can
# land on the wrong line).
UNSURE_ROUTES = {
    "llm": "the LLM's reading",
    "pdf-text": "a reading of the PDF's text without table lines",
}


def _blame_unsure_reading(record: Record, finding: Finding) -> Finding:
    """A failure that involves values the LLM (or the text of a PDF without table lines) read
    points at that reading, not at the report: its errors move whole rows (a shifted column, a
    wrapped number), so every such value of the rows involved is marked, and the failure is a
    suspected misreading."""
    if finding.kind not in (REPORT_DEFECT, MISREADING):
        return finding
    unsure = [
        k for k in finding.keys if k in record.fields and record.fields[k].route in UNSURE_ROUTES
    ]
    if not unsure:
        return finding
    rows = {k.rsplit(".", 1)[0] for k in unsure}
    for key, f in record.fields.items():
        if f.route in UNSURE_ROUTES and key.rsplit(".", 1)[0] in rows:
            _mark(f, f"{CHECK_MARK}{finding.check} fails with {UNSURE_ROUTES[f.route]} of this row")
    routes = sorted({record.fields[k].route for k in unsure})
    return replace(
        finding,
        kind=MISREADING,
        message=finding.message
        + f"; read by {' and '.join(UNSURE_ROUTES[r] for r in routes)}: {', '.join(unsure)}",
    )


def _clear_previous(record: Record) -> None:
    for f in record.fields.values():
        if f.reason.startswith(CHECK_MARK):
            f.review, f.reason = False, ""
        for alt in f.alternatives:
            alt.pop("satisfies", None)


# ---------------------------------------------------------------- arithmetic
def arithmetic(record: Record, text: str) -> Iterator[Finding]:
    if record.template is None:
        return  # no template, no identities
    # (judging marks fields, never changes a value)
    value = {k: f.value for k, f in record.fields.items()}.get
    for eq in equations(record.template):
        got = sums(eq, value)
        if got is None:
            missing = [k for k in eq.keys if value(k) is None]
            yield Finding(
                eq.check,
                NOT_ASSESSABLE,
                f"{eq.name}: not assessable, blank: {', '.join(missing)}",
                list(eq.keys),
            )
            continue
        expected, actual = got
        if expected == actual:
            continue
        yield _judge(record, eq, expected, actual)


def _judge(record: Record, eq: Identity, expected, actual) -> Finding:
    message = (
        f"{eq.name}: {' + '.join(eq.left)} = {actual:g}, but {' + '.join(eq.right)} = {expected:g}"
    )
    explained = _other_readings_that_fit(record, eq)
    if explained:
        for prefix, reading in explained:
            for key, f in record.fields.items():
                if key.rsplit(".", 1)[0] != prefix:
                    continue
                for alt in f.alternatives:
                    if alt.get("reading") == reading:
                        alt.setdefault("satisfies", []).append(eq.name)
                _mark(
                    f,
                    f"{CHECK_MARK}{eq.name} fails as read; "
                    f"reading {reading} of this row satisfies it",
                )
        rows = ", ".join(f"{p} (reading {n})" for p, n in explained)
        return Finding(
            eq.check,
            MISREADING,
            message + f"; another reading of {rows} satisfies it",
            list(eq.keys),
            expected,
            actual,
        )
    doubtful = [k for k in eq.keys if record.fields[k].review]
    if doubtful:
        return Finding(
            eq.check,
            MISREADING,
            message + f"; values read with doubt: {', '.join(doubtful)}",
            list(eq.keys),
            expected,
            actual,
        )
    return Finding(eq.check, REPORT_DEFECT, message, list(eq.keys), expected, actual)


def _other_readings_that_fit(record: Record, eq: Identity) -> list[tuple[str, int]]:
    """(row, reading number) pairs: swapping that row's reading in makes the equation hold."""
    rows = {k.rsplit(".", 1)[0] for k in eq.keys}
    fits = []
    for prefix in sorted(rows):
        row_fields = {k: f for k, f in record.fields.items() if k.rsplit(".", 1)[0] == prefix}
        readings = {
            a["reading"]
            for f in row_fields.values()
            for a in f.alternatives
            if a.get("source") == "reading"
        }
        for n in sorted(readings):
            swapped = {
                k: next((a["value"] for a in f.alternatives if a.get("reading") == n), f.value)
                for k, f in row_fields.items()
            }
            got = sums(eq, lambda k: swapped[k] if k in swapped else record.value(k))
            if got is not None and got[0] == got[1]:
                fits.append((prefix, n))
    return fits


def _mark(f: Field, reason: str) -> None:
    if not f.review:
        f.review, f.reason = True, reason


# ---------------------------------------------------------------- values
def non_negative(record: Record, text: str) -> Iterator[Finding]:
    for key, f in record.fields.items():
        if isinstance(f.value, (int, float)) and f.value < 0 and not key.endswith(".change"):
            kind = MISREADING if f.review else REPORT_DEFECT
            yield Finding(
                "NONNEG",
                kind,
                f"{key} is {f.value:g}: a count or amount cannot be negative",
                [key],
                0,
                f.value,
            )


def template_fit(record: Record, text: str) -> Iterator[Finding]:
    year = record.value("meta.year")
    doubt = (
        REPORT_DEFECT
        if not (record.fields["meta.year"].review or record.fields["meta.template"].review)
        else MISREADING
    )
    if year is None:
        yield Finding(
            "TEMPLATE-YEAR",
            NOT_ASSESSABLE,
            "the report's year is not known",
            ["meta.year", "meta.template"],
        )
    elif record.template == "2019" and year >= 2021:
        yield Finding(
            "TEMPLATE-YEAR",
            doubt,
            f"a {year} report uses the 2019 template (the 2021 "
            "template applies from the 2021 reports on)",
            ["meta.year", "meta.template"],
        )
    elif record.template == "2021" and year <= 2020:
        yield Finding(
            "TEMPLATE-YEAR",
            doubt,
            f"a {year} report uses the 2021 template (2019 and 2020 reports use the 2019 template)",
            ["meta.year", "meta.template"],
        )
    tables = "".join(text[a:b] for name, (a, b) in record.regions.items() if name in ("t2", "t3"))
    scores = template_scores(tables)
    if scores["2019"] and scores["2021"]:
        yield Finding(
            "TEMPLATE-MIX",
            REPORT_DEFECT,
            "the tables mix the two templates (marker words: "
            f"2019 ×{scores['2019']}, 2021 ×{scores['2021']})",
            ["meta.template"],
        )


# ---------------------------------------------------------------- text against tables
NUM = r"(\d+)\s*(?:件|个|份|例|起)"
STATED = [
    # (pattern, keys whose sum the figure states). A pattern without a group states 0.
    (
        re.compile(r"(?:新收|收到|接到)[^。；;，,\d]{0,14}?申请[^。；;，,\d]{0,10}?" + NUM),
        ["t3.new.total"],
    ),
    (re.compile(r"未(?:收到|接到|受理)[^。；;，,\d]{0,12}?申请"), ["t3.new.total"]),
    (re.compile(r"上年结转[^。；;，,\d]{0,12}?" + NUM), ["t3.carried_over.total"]),
    (re.compile(r"结转下一?年度?[^。；;，,\d]{0,10}?" + NUM), ["t3.carried_forward.total"]),
    (re.compile(r"予以公开[^。；;，,\d]{0,4}?" + NUM), ["t3.granted.total"]),
    (re.compile(r"行政复议(?:案件|申请)?[^。；;，,\d、和及或]{0,4}?" + NUM), ["t4.review.total"]),
    (
        re.compile(r"(?:无|未发生|未收到|未接到|未产生|未出现|没有)[^。；;\d]{0,24}?行政复议"),
        ["t4.review.total"],
    ),
    (
        re.compile(r"行政诉讼(?:案件)?[^。；;，,\d、和及或]{0,4}?" + NUM),
        ["t4.suit_direct.total", "t4.suit_after_review.total"],
    ),
    (
        re.compile(r"(?:无|未发生|未收到|未接到|未产生|未出现|没有)[^。；;\d]{0,36}?行政诉讼"),
        ["t4.suit_direct.total", "t4.suit_after_review.total"],
    ),
]


def narrative(record: Record, text: str) -> list[tuple[int, str]]:
    """The text outside the tables, as (offset, piece) pairs, and the sentences (up to a 。) that
    stand inside a table's region (a sentence after table 4, before section 五)."""
    cuts = sorted(span for name, span in record.regions.items() if name in ("t2", "t3", "t4"))
    pieces, pos = [], 0
    for a, b in cuts:
        if a > pos:
            pieces.append((pos, text[pos:a]))
        pieces += [(a + m.start(), m.group(0)) for m in SENTENCE.finditer(text, max(a, pos), b)]
        pos = max(pos, b)
    pieces.append((pos, text[pos:]))
    return pieces


SENTENCE = re.compile(r"(?<![^\n。])[^\n。]*。")  # from a line's start or a 。: linear


# A figure of another year is no statement about this report's tables: `比上年收到申请50件`.
OTHER_YEAR = re.compile(r"上一?年|去年|同比|较|比|(?:19|20)\d\d年")
# `收到申请68件（含上年结转2件）`: the figure counts the carried-over applications too.
WITH_CARRIED = re.compile(r"^[^。；;]{0,3}?[（(]?\s*(?:含|包括|其中)[^。；;\d]{0,6}?上年")


# A figure of a part, not of the whole the table row counts: by channel (通过网络平台收到申请453件),
# by applicant (收到申请中自然人申请213件), a result among others (其中行政复议维持2件), or of
# applications for review rather than for information (收到行政复议申请1件).
PART_BEFORE = re.compile(r"通过|其中|以[^。；;，,]{0,4}方式")
PART_OF_APPLICATIONS = re.compile(
    r"复议|诉讼|自然人|法人|企业|机构|组织|其中|网络|信函|当面|传真|邮件|平台|渠道|方式|撤回|中"
)
PART_OF_RESULTS = re.compile(r"维持|纠正|纠错|败诉|胜诉|其他结果|尚未|审结|撤销|确认")


# The words after a statement up to its clause's end: `未发生…被行政复议纠错或行政诉讼败诉` is no
# statement that there were no reviews, only none corrected.
RESULT_AFTER = re.compile(r"[^。；;，,\d]{0,12}")


def _a_part(keys: list[str], quote: str, before: str) -> bool:
    if PART_BEFORE.search(before):
        return True
    if keys[0].startswith("t3."):
        return bool(PART_OF_APPLICATIONS.search(quote))
    return bool(PART_OF_RESULTS.search(quote))


def text_against_tables(record: Record, text: str) -> Iterator[Finding]:
    year = record.value("meta.year")
    for offset, piece in narrative(record, text):
        for pattern, keys in STATED:
            for m in pattern.finditer(piece):
                before = piece[max(0, m.start() - 8) : m.start()]
                other = [y for y in OTHER_YEAR.findall(before) if y != f"{year}年"]
                if other and not m.group(0).startswith("上年结转"):
                    continue
                after = RESULT_AFTER.match(piece, m.end())
                if _a_part(keys, m.group(0) + (after.group(0) if after else ""), before):
                    continue
                stated = int(m.group(1)) if m.groups() else 0
                keys = list(keys)
                if keys == ["t3.new.total"] and WITH_CARRIED.match(piece[m.end() :]):
                    keys.append("t3.carried_over.total")
                values = [record.value(k) for k in keys]
                quote = m.group(0)
                if any(v is None for v in values):
                    yield Finding(
                        "TEXT-TABLE",
                        NOT_ASSESSABLE,
                        f"the text says {quote!r} but {', '.join(keys)} is blank",
                        keys,
                        stated,
                        None,
                    )
                    continue
                table = sum(values)
                if table == stated or _with_carried_over(record, keys, stated):
                    continue
                doubtful = any(record.fields[k].review for k in keys)
                kind = MISREADING if doubtful else REPORT_DEFECT
                yield Finding(
                    "TEXT-TABLE",
                    kind,
                    f"the text says {quote!r} (at {offset + m.start()}) "
                    f"but the table gives {table:g}",
                    keys,
                    stated,
                    table,
                )


def _with_carried_over(record: Record, keys: list[str], stated: int) -> bool:
    """`收到政府信息公开申请75件` where the table has 74 new and 1 carried over: the figure of
    applications handled this year counts both (the 2021 template's 一 + 二)."""
    if keys != ["t3.new.total"]:
        return False
    new, carried = record.value("t3.new.total"), record.value("t3.carried_over.total")
    return new is not None and carried is not None and carried > 0 and new + carried == stated


# ---------------------------------------------------------------- fees and section 五
FEE_CHARGED = re.compile(
    r"(?<!未)(?<!不)(?:收取|收缴|收费)"
    r"[^。；;\d]{0,10}?信息处理费[^。；;\d]{0,8}?(\d+(?:\.\d+)?)\s*(?:元|万元)"
)
FEE_AMOUNT = re.compile(r"信息处理费[^。；;\d]{0,10}?(\d+(?:\.\d+)?)\s*(?:元|万元)")


def fees_reported(record: Record, text: str) -> Iterator[Finding]:
    charged = []
    for _, piece in narrative(record, text):
        for pattern in (FEE_CHARGED, FEE_AMOUNT):
            charged += [m.group(0) for m in pattern.finditer(piece) if float(m.group(1)) > 0]
    no_fee = record.value("t3.other.no_fee.total") if record.template == "2021" else None
    if no_fee:
        charged.append(f"table 3 （六）2 = {no_fee}")
    if not charged:
        return
    s6 = record.regions.get("s6")
    section = text[s6[0] : s6[1]] if s6 else ""
    if "信息处理费" not in section and "收费" not in section:
        kind = (
            MISREADING
            if no_fee and not charged[:-1] and record.fields["t3.other.no_fee.total"].review
            else REPORT_DEFECT
        )
        yield Finding(
            "FEES",
            kind,
            f"信息处理费 is charged ({charged[0]}) but section 六 does not report it",
            ["t3.other.no_fee.total"] if no_fee else [],
        )


HEADING_RUN = re.compile(r"[^\s：:。]{0,30}")


def section_five(record: Record, text: str) -> Iterator[Finding]:
    s5 = record.regions.get("s5")
    if s5 is None:
        yield Finding(
            "SECTION-5", REPORT_DEFECT, "section 五 (存在的主要问题及改进情况) is missing"
        )
        return
    body = text[s5[0] : s5[1]].split("\n", 1)
    # the heading ends at white space, a colon or a full stop (`五、…情况：一是…`, and a one-line
    # dump's `五、存在的主要问题及改进情况 一是…`): what follows on its line is the section's too
    heading = HEADING_RUN.match(body[0])
    inline = body[0][heading.end() if heading else 0 :]
    rest = re.sub(r"[\s。.：:]", "", inline + (body[1] if len(body) > 1 else ""))
    if rest in ("", "无", "暂无"):
        yield Finding(
            "SECTION-5", REPORT_DEFECT, "section 五 (存在的主要问题及改进情况) is empty or just 无"
        )
