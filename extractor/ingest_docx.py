"""Word (.docx) bytes → the text the rule path reads: paragraphs as lines, tables as tab-separated
grids.

python-docx gives each grid position of a row its cell, so a merged cell comes back once per
position it spans (across with gridSpan, down with vMerge). The first position shows its text
and the copies (the same underlying <w:tc> again) are left empty, as ingest does for HTML
rowspan/colspan, so the columns stay aligned. Paragraphs inside a cell are joined (nothing
between two CJK characters); a table nested in a cell (a layout table around the statistics,
say) is flattened into rows of its own after the row that holds it.
Old Word files (.doc) are converted with LibreOffice when it is installed, else refused with
the command that converts them.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

from .errors import InputError
from .ingest import _HARD, _SOFT, _join

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_WRAPPERS = {W + "sdt", W + "sdtContent", W + "customXml", W + "smartTag", W + "ins"}
DOC_HOW = (
    "Word 97-2003 .doc is not read directly and LibreOffice is not installed: convert it to .docx "
    "(`soffice --headless --convert-to docx FILE.doc`, or Save As .docx in Word) and run again"
)


def is_docx(data: bytes) -> bool:
    """A zip that holds word/document.xml (a damaged one still names it in its local headers)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            return "word/document.xml" in z.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return b"word/document.xml" in data[:1 << 20]


def read_docx(data: bytes) -> str:
    import docx
    from docx.table import Table

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as e:  # python-docx raises zip, XML and key errors on damaged files
        raise InputError(
            "Word file cannot be opened: "
            f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}".rstrip(": ")
        ) from None
    lines: list[str] = []

    def walk(parent_el, parent) -> None:
        for el in parent_el.iterchildren():
            if el.tag == W + "p":
                text = paragraph_text(el)
                lines.extend(part.rstrip() for part in text.replace("\r", "\n").split("\n"))
            elif el.tag == W + "tbl":
                lines.extend([""] + _table_lines(Table(el, parent)) + [""])
            elif el.tag in _WRAPPERS:  # content controls and the like hold paragraphs and tables
                walk(el, parent)

    walk(document.element.body, document._body)
    out: list[str] = []
    for line in lines:
        if line.strip() or (out and out[-1] != ""):
            out.append(line if line.strip() else "")
    return "\n".join(out).strip("\n")


_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
_TEXT_PARTS = {
    W + "t": None,
    W + "tab": "\t",
    W + "br": "\n",
    W + "cr": "\n",
    W + "noBreakHyphen": "-",
}


def paragraph_text(p) -> str:
    """A paragraph's text, wherever its runs stand: in tracked insertions, simple fields, smart
    tags, content controls and hyperlinks too (python-docx's Paragraph.text skips most of these).
    Deleted text (w:delText) and field codes (w:instrText) are not text of the document."""
    out: list[str] = []
    for el in p.iter(*_TEXT_PARTS):
        if any(a.tag == _FALLBACK for a in el.iterancestors()):
            continue  # the same text again, for readers that lack the preferred form
        part = _TEXT_PARTS[el.tag]
        out.append(part if part is not None else el.text or "")
    return "".join(out)


def _unwrapped(parent, tag: str):
    """The children of `parent` with this tag, looking through content controls and the like."""
    for el in parent.iterchildren():
        if el.tag == W + tag:
            yield el
        elif el.tag in _WRAPPERS:
            yield from _unwrapped(el, tag)


def _rows(table):
    from docx.table import _Row

    return [_Row(tr, table) for tr in _unwrapped(table._tbl, "tr")]


def _grid(table, nested: list | None = None) -> list[list[str]]:
    """The table as rows of cell texts, a merged cell's copies empty (told apart by their <w:tc>).

    Tables nested in a cell are appended to `nested` (row index, table), to be set out after that
    row.
    """
    seen: dict[int, object] = {}  # id → the <w:tc> itself: kept alive, so an id is never reused
    rows = []
    for r, row in enumerate(_rows(table)):
        tcs = list(_unwrapped(row._tr, "tc"))
        try:
            if len(tcs) != len(row._tr.tc_lst):
                raise ValueError("cells inside content controls")  # python-docx does not see them
            cells = row.cells
            before = getattr(row, "grid_cols_before", 0)
        # malformed merges, or wrapped cells: the row's own cells, a span as empty copies
        except Exception:
            cells, before = [], 0
            for tc in tcs:
                cells += [_cell_of(tc, table)] * max(1, _grid_span(tc))
        texts = [""] * before
        for cell in cells:
            tc = cell._tc
            if id(tc) in seen:
                texts.append("")
                continue
            seen[id(tc)] = tc
            texts.append(_cell_text(cell, r, nested))
        rows.append(texts)
    return rows


def _grid_span(tc) -> int:
    span = tc.find(f"{W}tcPr/{W}gridSpan")
    try:
        return int(span.get(W + "val")) if span is not None else 1
    except (TypeError, ValueError):
        return 1


def _cell_of(tc, table):
    from docx.table import _Cell

    return _Cell(tc, table)


def _cell_text(cell, row: int = 0, nested: list | None = None) -> str:
    """A cell's paragraphs joined into one line (nothing between CJK characters), tabs as spaces.

    A table nested in the cell is not part of its text: it goes to `nested`, or, where there is
    nowhere to set it out, its cells are flattened into the text.
    """
    from docx.table import Table

    tokens: list = []
    for el in _blocks(cell._tc):
        if el.tag == W + "tbl":
            block = Table(el, cell)
            if nested is not None:
                nested.append((row, block))
                continue
            for cells in _grid(block):
                for text in cells:
                    # cell edges stay apart, as ingest does for HTML
                    tokens += [_HARD, text, _HARD] if text else []
        else:
            tokens += [_SOFT, paragraph_text(el).replace("\t", " "), _SOFT]
    return _join(tokens).strip()


def _blocks(parent):
    """The paragraphs and tables in a cell, in order, content controls looked through."""
    for el in parent.iterchildren():
        if el.tag in (W + "p", W + "tbl"):
            yield el
        elif el.tag in _WRAPPERS:
            yield from _blocks(el)


def _table_lines(table) -> list[str]:
    """Tab-separated rows; a table nested in a cell follows the row it stands in, as rows of its
    own."""
    nested: list = []
    grid = _grid(table, nested)
    lines = []
    for r, row in enumerate(grid):
        if any(row):  # rows with nothing in them carry no information
            lines.append("\t".join(row))
        for _, inner in (n for n in nested if n[0] == r):
            lines.extend(_table_lines(inner))
    return lines


def convert_doc(data: bytes) -> bytes:
    """An old Word file as .docx bytes, through LibreOffice; refused with how to convert when it is
    missing."""
    office = shutil.which("soffice") or shutil.which("libreoffice")
    if office is None:
        raise InputError(DOC_HOW)
    with tempfile.TemporaryDirectory(prefix="xxgk-doc-") as tmp:
        source = Path(tmp) / "report.doc"
        source.write_bytes(data)
        command = [
            office,
            "--headless",
            "--norestore",
            f"-env:UserInstallation=file://{tmp}/profile",
            "--convert-to",
            "docx",
            "--outdir",
            tmp,
            str(source),
        ]
        try:
            subprocess.run(command, capture_output=True, timeout=120, check=False)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise InputError(
                f"LibreOffice could not convert the .doc file ({type(e).__name__})"
            ) from None
        target = Path(tmp) / "report.docx"
        if not target.exists():
            raise InputError("LibreOffice could not convert the .doc file to .docx")
        return target.read_bytes()
