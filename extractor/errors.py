"""The library's own exceptions. The CLI turns them into one-line `Error: …` messages."""


class XxgkError(Exception):
    """Base class of every error xxgk raises on purpose."""


class InputError(XxgkError):
    """A file cannot be read as a report: binary, empty, undecodable, unsupported, too big."""


class NotAReportError(InputError):
    """The file decodes, but it is not a 政府信息公开工作年度报告."""


class StoreError(XxgkError):
    """The SQLite database cannot be opened or written."""


class LLMError(XxgkError):
    """The LLM route: a setting, or an endpoint that does not answer as one should."""


class LLMConfigError(LLMError):
    """A setting of the LLM route has a value that cannot be used."""


class EndpointError(LLMError):
    """The endpoint answered with something that is not a chat completion, or not in time."""
