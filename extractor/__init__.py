"""xxgk: read 政府信息公开工作年度报告 into checked, traceable records.

The public names are listed in `__all__` (tests/test_api.py holds them): the entry points of
extractor.api, the record's types, the events and summary of a bulk run, and every exception
(extractor.errors). They are loaded when first used, so `import extractor` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.3.0"

_WHERE = {
    # entry points (extractor.api)
    "read_file": "api", "extract": "api", "run": "api", "open_db": "api", "check": "api",
    "check_ids": "api", "findings": "api", "flagged": "api", "find_documents": "api",
    "export_db": "api", "score": "api", "Score": "api", "compare_runs": "api",
    "llm_config": "api", "reextract": "api",
    # the record
    "Record": "record", "Field": "record", "Finding": "record",
    # a bulk run's events and summary
    "Planned": "bulk", "FileDone": "bulk", "Notice": "bulk", "RunSummary": "bulk",
    "Estimate": "bulk",
    # the supported inputs, in words
    "SUPPORTED": "formats",
    # errors
    "XxgkError": "errors", "UsageError": "errors", "MissingExtra": "errors",
    "InputError": "errors", "NotAReportError": "errors", "LimitError": "errors",
    "NeedsOCR": "errors", "OutputError": "errors", "StoreError": "errors",
    "DatabaseDamaged": "errors", "DatabaseReadOnly": "errors", "DatabaseLocked": "errors",
    "NotXxgkDatabase": "errors", "GoldenError": "errors", "GoldenMismatch": "errors",
    "LLMConfigError": "errors", "Interrupted": "errors",
}

__all__ = ["__version__", *_WHERE]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'extractor' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
