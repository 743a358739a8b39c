"""The files xxgk reads, in one place: the suffixes a folder is searched for, and the words every
message and --help uses to list them. (A file named on the command line is read whatever its
name: its kind is told from its bytes.)"""

from __future__ import annotations

# suffix → the kind it names; folders are searched for these (lower-cased)
SUFFIXES: dict[str, str] = {
    ".txt": "text",
    ".text": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "HTML",
    ".htm": "HTML",
    ".xhtml": "HTML",
    ".shtml": "HTML",
    ".pdf": "PDF",
    ".docx": "Word",
    ".doc": "Word",
    ".png": "image",
    ".jpg": "image",
    ".jpeg": "image",
    ".tif": "image",
    ".tiff": "image",
}

# Every supported input, in words (errors, --help, the no-match message and the README say this)
SUPPORTED = (
    "text and markdown (.txt .md; UTF-8, GB18030/GBK or UTF-16), HTML (.html .htm .xhtml "
    ".shtml), PDF (.pdf; scanned pages through OCR), Word (.docx; .doc through LibreOffice) and "
    "PNG, JPEG or TIFF images (.png .jpg .jpeg .tif .tiff; through OCR)"
)

# What each optional kind needs installed: the extra that brings it (pip install 'xxgk[…]').
EXTRAS = {"PDF": "pdf", "Word": "docx", "image": "ocr", "LLM": "llm"}


def reads(name: str) -> bool:
    """Whether a folder's file of this name is one xxgk reads (by its suffix)."""
    return suffix(name) in SUFFIXES


def suffix(name: str) -> str:
    """The lower-cased suffix of a file name, '' when it has none (a leading dot is no suffix)."""
    base = str(name).rsplit("/", 1)[-1]
    dot = base.rfind(".")
    return base[dot:].lower() if dot > 0 else ""


def missing_extra(what: str, module: str) -> str:
    """The one line that says an optional part is not installed and how to add it."""
    extra = EXTRAS[what]
    return f"{what} support is not installed (no module {module}): pip install 'xxgk[{extra}]'"


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """`1 document`, `2 documents`: a count and its noun, in the number it takes."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"
