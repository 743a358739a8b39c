"""The library's own exceptions. The CLI turns them into one-line `Error: …` messages."""


class XxgkError(Exception):
    """Base class of every error xxgk raises on purpose."""


class InputError(XxgkError):
    """A file cannot be read as a report: binary, empty, undecodable, unsupported, too big."""


class NotAReportError(InputError):
    """The file decodes, but it is not a 政府信息公开工作年度报告."""


class StoreError(XxgkError):
    """The SQLite database cannot be opened or written."""
