"""The record of one report: every key of its template with a value and its provenance."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

# The start of the reason OCR gives a number it read with low confidence (and read alike twice): a
# doubt the table's arithmetic can lift (checks.confirm_by_arithmetic).
LOW_OCR_CONFIDENCE = "low OCR confidence"


@dataclass(slots=True)
class Field:
    """One canonical key's value and where it came from."""

    key: str
    value: int | float | str | None
    raw: str | None = None  # the cell text as it stands in the document
    start: int | None = None  # character span in Document.text
    end: int | None = None
    rule: str = ""  # which rule read it: "t3.grid", "t3.extra-cell+arithmetic", …
    route: str = "rules"  # rules, html, docx, pdf-geometry, pdf-text, llm, …
    review: bool = False  # a person should look at it
    reason: str = ""  # why it is marked
    # Other readings of the same cell, kept beside the value, never swapped in silently:
    # [{"value": 12, "source": "check:T3-B", "note": "…"},
    #  {"value": 7, "source": "llm:gpt-4o-mini", …}]
    alternatives: list[dict] = field(default_factory=list)
    page: int | None = None  # PDF: the 1-based page the value stands on
    # PDF: its cell (or characters) as (x0, top, x1, bottom) in points
    box: tuple[float, float, float, float] | None = None


@dataclass(slots=True)
class Finding:
    check: str  # e.g. "parse.t4_missing", later the checks' ids
    kind: str  # report_defect, misreading_suspected, not_assessable, parse
    message: str
    keys: list[str] = field(default_factory=list)
    expected: float | None = None
    actual: float | None = None


@dataclass
class Record:
    name: str
    sha256: str
    size: int
    encoding: str
    kind: str
    template: str | None
    fields: dict[str, Field]
    findings: list[Finding] = field(default_factory=list)
    error: str | None = None
    # Where each part stands in the text read: "t2", "t3", "t4" table regions, "s1".."s6" sections,
    # and for a scan "p<page>", each OCR'd page.
    regions: dict[str, tuple[int, int]] = field(default_factory=dict)
    # the text read, kept for storage, not in JSON
    text: str | None = field(default=None, repr=False)
    # A report for a year before the statutory tables (2019): its meta only, `error` says why.
    predates: bool = False
    # A scan: how each OCR'd page was stood straight before it was read, by page ("3"):
    # {"rotation": degrees clockwise, "skew": degrees counter-clockwise, "keystone": share of the
    # frame's diagonal, "sealed": share of the page under a red seal} (page_geometry.Correction)
    geometry: dict[str, dict] = field(default_factory=dict)

    @property
    def status(self) -> str:
        """ok, flagged (values marked for review), failed (error says why), or predates (a report
        from before the statutory tables: no template, no table values; error says why)."""
        if self.predates:
            return "predates"
        if self.error:
            return "failed"
        return "flagged" if self.review_keys() else "ok"

    def value(self, key: str):
        f = self.fields.get(key)
        return None if f is None else f.value

    def review_keys(self) -> list[str]:
        return [k for k, f in self.fields.items() if f.review]

    def __reduce__(self):
        """A compact pickle (records cross from worker processes): fields and findings as plain
        tuples."""
        fields = [astuple_field(f) for f in self.fields.values()]
        findings = [
            (f.check, f.kind, f.message, f.keys, f.expected, f.actual) for f in self.findings
        ]
        return (
            _rebuild,
            (
                self.name, self.sha256, self.size, self.encoding, self.kind, self.template, fields,
                findings, self.error, self.regions, self.text, self.predates, self.geometry,
            ),
        )

    def to_json(self) -> dict:
        """The JSON-lines shape: file, sha256, status, template, error (a failed file's or a
        predating report's one-line reason), fields, review, alternatives, findings."""
        return {
            "file": self.name,
            "sha256": self.sha256,
            "status": self.status,
            "template": self.template,
            "error": self.error,
            "fields": {k: f.value for k, f in self.fields.items()},
            "review": self.review_keys(),
            "alternatives": {k: f.alternatives for k, f in self.fields.items() if f.alternatives},
            "findings": [asdict(f) for f in self.findings],
        }


def astuple_field(f: Field) -> tuple:
    return (
        f.key, f.value, f.raw, f.start, f.end, f.rule, f.route, f.review, f.reason, f.alternatives,
        f.page, f.box,
    )


def _rebuild(name, sha256, size, encoding, kind, template, fields, findings, error, regions, text,
             predates=False, geometry=None) -> Record:
    return Record(name, sha256, size, encoding, kind, template, {t[0]: Field(*t) for t in fields},
                  [Finding(*t) for t in findings], error, regions, text, predates, geometry or {})
