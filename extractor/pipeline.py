"""One report's bytes → its record. Pure: no file or database I/O, so bulk runs can spread it over
workers."""

from __future__ import annotations

import hashlib
from bisect import bisect_right

from . import meta
from .checks import run_checks
from .errors import InputError, NotAReportError
from .ingest import Document, read_document
from .ocr_checks import mark_blanks, mark_failed_sums, page_regions
from .record import Field, Finding, Record
from .sections import outline
from .spec import keys_for
from .tables import read_t2, read_t3, read_t4


def extract(data: bytes, name: str) -> Record:
    """Read a report. Raises InputError (or NotAReportError) when the file is not one."""
    return extract_document(read_document(data, name))


def extract_document(doc: Document) -> Record:
    """A document's record. Raises NotAReportError for a list page, a news item or a notice; a
    report for a year before the statutory tables gets a record with status `predates`."""
    text = doc.text
    out = outline(text)
    if out.meta.not_a_report:
        raise NotAReportError(out.meta.not_a_report)
    if out.meta.predates:
        return _predates(doc, out)
    template = out.template or "2021"
    fields: dict[str, Field] = {}
    findings: list[Finding] = []
    rows: dict[str, tuple[int, int]] = {}
    for reader, name in ((read_t2, "t2"), (read_t3, "t3"), (read_t4, "t4")):
        reading = reader(text, out.regions.get(name), template)
        fields.update(reading.fields)
        findings.extend(reading.findings)
        rows.update(reading.rows)
    fields.update(meta.fields(out.meta, template))
    ordered = {
        k: fields.get(k) or Field(k, None, rule="missing", review=True, reason="not read")
        for k in keys_for(template)
    }
    _provenance(ordered, doc)
    if doc.geometry:  # a scan: blanks its arithmetic rules out, and figures of sums that fail
        mark_blanks(ordered, template)
        mark_failed_sums(ordered, template)
    regions = {name: (span.start, span.end) for name, span in out.regions.items()}
    regions.update({f"s{n}": (span.start, span.end) for n, span in out.sections.items()})
    regions.update(rows)
    regions.update(page_regions(doc.spans, doc.geometry))
    geometry = {str(page): dict(g) for page, g in doc.geometry}
    record = Record(doc.name, doc.sha256, doc.size, doc.encoding, doc.kind, template, ordered,
                    findings, regions=regions, text=text, geometry=geometry)
    record.findings += run_checks(record, text)
    return record


ROUTES = {"html": "html", "docx": "docx", "pdf": "pdf-text", "image": "ocr"}
ILLEGIBLE = "□"  # what OCR writes in a cell whose ink it cannot read (ingest_ocr.ILLEGIBLE)


def _provenance(fields: dict[str, Field], doc: Document) -> None:
    """Which route read each value, and for PDF its page and box: from the document's span at the
    value's start."""
    route = ROUTES.get(doc.kind, "rules")
    if doc.kind == "pdf" and any(s[4] == "pdf-geometry" for s in doc.spans):
        # values without a position (blank, not found): the route that read the tables
        route = "pdf-geometry"
    elif doc.kind == "pdf" and doc.spans and all(s[4] == "ocr" for s in doc.spans):
        route = "ocr"
    starts = [s[0] for s in doc.spans]
    doubts = dict(doc.uncertain)
    for f in fields.values():
        f.route = route
        if f.start is None or not starts:
            continue
        i = bisect_right(starts, f.start) - 1
        if i >= 0 and f.start < doc.spans[i][1]:
            start, _, f.page, f.box, f.route = doc.spans[i]
            if start in doubts and f.start == start and (not f.review or f.raw == ILLEGIBLE):
                f.review, f.reason = True, doubts[start]  # (OCR says why it could not read a cell)



def _predates(doc: Document, out) -> Record:
    """The record of a report from before the statutory tables: its agency and year, no template,
    no table values; the one-line reason where a failed file keeps its error."""
    fields = meta.fields(out.meta, None)
    _provenance(fields, doc)
    sections = {f"s{n}": (span.start, span.end) for n, span in out.sections.items()}
    record = Record(doc.name, doc.sha256, doc.size, doc.encoding, doc.kind, None, fields, [],
                    out.meta.predates, regions=sections, text=doc.text)
    record.predates = True
    return record


# Findings that are not the checks' own: what reading and the LLM route noticed. Running the
# checks again replaces the others and keeps these.
KEPT_FINDINGS = ("parse.", "llm")


def recheck(record: Record, text: str) -> None:
    """Run the checks again over a record's values, in place: their findings and marks are
    replaced, those of reading (parse.*) and of the LLM route (llm_*) kept. What `xxgk check`
    and the LLM route's merge both run."""
    record.findings = [f for f in record.findings if f.check.startswith(KEPT_FINDINGS)]
    record.findings += run_checks(record, text)


def failed_record(
    data: bytes | None, name: str, error: Exception, sha256: str | None = None
) -> Record:
    """The record of a file that could not be read: status failed, one-line reason.

    Keyed by the sha256 of its bytes when they are known, else by "unread:" and the hash of its
    name.
    """
    message = str(error).splitlines()[0] if str(error) else type(error).__name__
    if sha256 is None:
        sha256 = (
            hashlib.sha256(data).hexdigest()
            if data is not None
            else "unread:" + hashlib.sha256(name.encode()).hexdigest()
        )
    return Record(name, sha256, len(data) if data is not None else 0, "", "", None, {}, [], message)


__all__ = ["extract", "extract_document", "failed_record", "recheck", "InputError"]
