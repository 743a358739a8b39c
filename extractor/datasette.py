"""Datasette metadata for an xxgk database (`xxgk datasette-metadata DB -o metadata.json`, then
`datasette DB -m metadata.json`): the tables and columns described, facets on what an assessor
filters by, labels, and canned queries: the review queue and the reports by failed check.

Datasette 0.6x reads canned queries from the metadata file; Datasette 1.0 reads them from its
configuration (`-c`), whose `databases` section has the same shape."""

from __future__ import annotations

REVIEW_QUEUE = """
SELECT d.path, d.agency, d.year, v.key, v.value, v.raw, v.reason, v.route, v.page,
       substr(t.text, v.start + 1, v."end" - v.start) AS span_text, d.sha256
FROM "values" v
JOIN documents d ON d.id = v.document_id
LEFT JOIN texts t ON t.document_id = d.id
WHERE v.review = 1
ORDER BY d.path, v.key
""".strip()

BY_FAILED_CHECK = """
SELECT f."check", f.kind, d.path, d.agency, d.year, f.message, f.expected, f.actual, d.sha256
FROM findings f JOIN documents d ON d.id = f.document_id
WHERE f.kind IN ('report_defect', 'misreading_suspected')
  AND (:check = '' OR f."check" = :check)
ORDER BY f."check", d.path
""".strip()

CHECK_COUNTS = """
SELECT f."check", f.kind, count(*) AS findings, count(DISTINCT f.document_id) AS reports
FROM findings f
GROUP BY f."check", f.kind
ORDER BY reports DESC
""".strip()

FAILED_FILES = """
SELECT f.path, d.error, d.run_id FROM files f JOIN documents d ON d.id = f.document_id
WHERE d.status = 'failed' ORDER BY f.path
""".strip()


def metadata(database: str) -> dict:
    """The metadata for a database Datasette names `database` (its file name without .db)."""
    return {
        "title": "xxgk: 政府信息公开工作年度报告",
        "description": "Values read from the statutory tables, with provenance and review marks.",
        "databases": {database: {
            "tables": _tables(),
            "queries": {
                "review_queue": {
                    "title": "Review queue (待复核)",
                    "description": "Every value marked for review, with its reason and the "
                                   "text it was read from.",
                    "sql": REVIEW_QUEUE,
                },
                "reports_by_failed_check": {
                    "title": "Reports by failed check (检查未通过的报告)",
                    "description": "Report defects and suspected misreadings; leave check "
                                   "empty for all, or give one: T3-A, T3-B, T3-C, T4, …",
                    "sql": BY_FAILED_CHECK,
                    "params": ["check"],
                },
                "failed_checks_count": {
                    "title": "Findings per check",
                    "sql": CHECK_COUNTS,
                },
                "failed_files": {
                    "title": "Files that could not be read (未能读取)",
                    "sql": FAILED_FILES,
                },
            },
        }},
    }


def _tables() -> dict:
    return {
        "documents": {
            "description": "One per file content (keyed by sha256).",
            "label_column": "agency",
            "facets": ["status", "template", "year", "kind"],
            "columns": {"status": "ok, flagged, failed, predates", "n_review": "values marked",
                        "kind": "text, markdown, html, pdf, docx, image"},
        },
        "values": {
            "description": "One per canonical key of a document: the value and where it came "
                           "from (start/end: the span in texts.text).",
            "facets": ["review", "route", "key"],
            "columns": {"review": "1: a person should look at it", "reason": "why it is marked",
                        "raw": "the cell as printed"},
        },
        "findings": {
            "description": "What the checks found.",
            "facets": ["check", "kind"],
        },
        "files": {"description": "One per path read, pointing at its document."},
        "texts": {"description": "The text each document was read as."},
        "runs": {"description": "One per extract or reextract, with its counts."},
    }
