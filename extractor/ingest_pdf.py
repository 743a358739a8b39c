"""PDF bytes with a text layer → the text the rule path reads, and where each piece stands on its
page.

Tables are read from the page geometry (pdfplumber's table finder on the ruling lines and cell
boxes), not from the flattened text: each table becomes a grid of tab-separated rows framed by
blank lines, as ingest renders HTML tables. Merged cells leave their copies empty, so columns
stay aligned; the lines inside a cell are joined (nothing between two CJK characters, so a
label written one character per line reads 三、本年度办理结果); a table that runs over a page
break goes on as more rows of the same grid, its repeated header dropped; page numbers
(`- 2 -`, `第 2 页`) are dropped wherever they fall. The text outside tables comes from the
text layer, in reading order, with paragraphs wrapped by the page joined into one line and a
title set over several lines joined into one. A page without table geometry is read from its
text layer alone.

Every piece of the text carries a span (start, end, page, box, route): the cell's box for the
cells of a grid (route "pdf-geometry"), the box of the characters for text-layer pieces
("pdf-text"). Boxes are (x0, top, x1, bottom) in PDF points from the page's top left.

Pages without a text layer (scans) are the OCR route's (ingest_ocr: the page rendered with
pypdfium2, its OCR boxes placed in the grid of ruling lines found on the image, route "ocr");
without the OCR package installed they raise `NeedsOCR`.
"""

from __future__ import annotations

import io
import logging
import re
import statistics
from dataclasses import dataclass, field

from .errors import InputError, NeedsOCR
from .fold import fold_chars

OCR_MISSING = "scanned pages need OCR, which is not installed: pip install 'xxgk[ocr]'"

TABLE_SETTINGS = {"vertical_strategy": "lines", "horizontal_strategy": "lines"}
IMAGE_PAGE_SHARE = 0.3  # a page without text whose images cover this share of it is a scan
CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef\U00020000-\U0003ffff]")
# A page number where it stands alone: `- 2 -`, `—2—`, `第 2 页`, `第2页 共6页`, `2/6`
PAGE_NUMBER = re.compile(
    r"^(?:[-—–－~_]+\s*\d{1,4}\s*[-—–－~_]+|第\s*\d{1,4}\s*页(?:\s*[,，/／]?\s*共\s*\d{1,4}\s*页)?"
    r"|\d{1,4}\s*[/／]\s*\d{1,4}|[-—–－]?\s*\d{1,4}\s*[-—–－]?)$"
)
FRAMED_PAGE_NUMBER = re.compile(
    r"^(?:[-—–－~_]+\s*\d{1,4}\s*[-—–－~_]+|第\s*\d{1,4}\s*页"
    r"(?:\s*[,，/／]?\s*共\s*\d{1,4}\s*页)?)$"
)
ENUMERATED = re.compile(
    r"^\s*(?:[一二三四五六七八九十]{1,3}\s*[、.．]|"
    r"[（(]\s*[一二三四五六七八九十\d]{1,3}\s*[)）]|"
    r"\d{1,2}\s*[、．]|第[一二三四五六七八九十]{1,3}[条章节])"
)
MARGIN = 0.1  # share of the page height at the top and the bottom where headers and footers stand

Box = tuple  # (x0, top, x1, bottom)
Span = tuple  # (start, end, page, box, route)

logging.getLogger("pdfminer").setLevel(logging.ERROR)


@dataclass
class Piece:
    text: str
    box: Box | None


@dataclass
class Line:
    """A line of text: pieces (a run of CJK or of other characters, or a cell) with their boxes."""

    pieces: list[Piece]
    x0: float
    top: float
    x1: float
    bottom: float
    size: float
    loose: bool = False  # holds a gap wider than a character or two: columns, not prose
    page: int = 0
    route: str = "pdf-text"  # "ocr" for a line read from a scan

    @property
    def text(self) -> str:
        return "".join(p.text for p in self.pieces)


@dataclass
class Grid:
    """One table: rows of cells (None where a merged cell's copy stands), each cell (text, box)."""

    rows: list[list[tuple[str, Box, int] | None]]  # (text, box, page): a chained grid spans pages
    top: float
    bottom: float
    page: int
    x0: float = 0.0
    x1: float = 0.0
    # for dropping repeats on later pages
    header: list[tuple[str, ...]] = field(default_factory=list)
    route: str = "pdf-geometry"  # "ocr" for a table read from a scan


@dataclass
class Rendered:
    text: str
    spans: tuple[Span, ...]
    pages: int
    uncertain: frozenset = frozenset()  # (span start, why) of numeric cells OCR read in doubt
    # OCR'd pages: (page, {"rotation", "skew", "keystone", "sealed"}), how each was stood straight
    geometry: tuple = ()


# ---------------------------------------------------------------- characters → lines


def _is_cjk(ch: str) -> bool:
    return bool(CJK.match(ch))


def _box(chars) -> Box:
    return (round(min(c["x0"] for c in chars), 2), round(min(c["top"] for c in chars), 2),
            round(max(c["x1"] for c in chars), 2), round(max(c["bottom"] for c in chars), 2))


def _rows_of_chars(chars) -> list[list[dict]]:
    """Group characters into visual lines (vertical overlap), each sorted left to right; drop
    doubled glyphs."""
    groups: list[list[dict]] = []
    bounds: list[list[float]] = []
    for c in sorted(chars, key=lambda c: (c["top"], c["x0"])):
        height = max(c["bottom"] - c["top"], 0.1)
        if groups:
            top, bottom = bounds[-1]
            overlap = min(bottom, c["bottom"]) - max(top, c["top"])
            if overlap >= 0.5 * min(height, bottom - top):
                groups[-1].append(c)
                bounds[-1] = [min(top, c["top"]), max(bottom, c["bottom"])]
                continue
        groups.append([c])
        bounds.append([c["top"], c["bottom"]])
    out = []
    for group in groups:
        group.sort(key=lambda c: c["x0"])
        kept: list[dict] = []
        for c in group:  # fake bold: the same glyph printed twice a fraction of a point apart
            if (
                kept
                and c["text"] == kept[-1]["text"]
                and abs(c["x0"] - kept[-1]["x0"]) < 1
                and abs(c["top"] - kept[-1]["top"]) < 1
            ):
                continue
            kept.append(c)
        out.append(kept)
    return out


def _line(chars, page: int) -> Line | None:
    """One visual line: runs of CJK and of other characters as pieces; spaces where the glyphs
    stand apart."""
    chars = [c for c in chars if c["text"]]
    sizes = [c["size"] for c in chars if c["text"].strip()]
    if not sizes:
        return None
    size = statistics.median(sizes)
    pieces: list[Piece] = []
    run: list[dict] = []
    prev = None
    gap_seen = False
    loose = False

    def flush():
        if run:
            pieces.append(Piece("".join(c["text"] for c in run), _box(run)))
            run.clear()

    for c in chars:
        ch = c["text"]
        if not ch.strip():
            gap_seen = True
            continue
        if prev is not None:
            gap = c["x0"] - prev["x1"]
            loose = loose or gap > 1.5 * size
            both_cjk = _is_cjk(prev["text"][-1]) and _is_cjk(ch[0])
            # letter-spaced CJK runs on; a gap wider than a character and a half is a column gap
            if gap > 1.5 * size or (not both_cjk and (gap_seen or gap > 0.25 * size)):
                flush()
                pieces.append(Piece(" ", None))
            elif _is_cjk(prev["text"][-1]) != _is_cjk(ch[0]):
                flush()
        run.append(c)
        prev, gap_seen = c, False
    flush()
    inked = [c for c in chars if c["text"].strip()]
    box = _box(inked)
    return Line(pieces, box[0], box[1], box[2], box[3], size, loose, page)


def _lines(chars, page: int) -> list[Line]:
    return [ln for ln in (_line(group, page) for group in _rows_of_chars(chars)) if ln is not None]


def _join_text(a: str, b: str) -> str:
    """The separator between two lines joined into one: none between CJK characters, nor inside a
    number wrapped in a narrow cell (`12,` / `571`, `1234.` / `5678`, `12` / `,571`), else a
    space."""
    if not a or not b:
        return ""
    if _is_cjk(a[-1]) and _is_cjk(b[0]):
        return ""
    if (a[-1].isdigit() or (a[-1] in ",.，" and a[-2:-1].isdigit())) and (
        b[0].isdigit() or (b[0] in ",.，" and b[1:2].isdigit())
    ):
        return ""
    return " "


# ---------------------------------------------------------------- tables


def _inside(c, box: Box) -> bool:
    x = (c["x0"] + c["x1"]) / 2
    y = (c["top"] + c["bottom"]) / 2
    return box[0] <= x < box[2] and box[1] <= y < box[3]


def _cell_text(chars, page: int) -> str:
    """A cell's lines joined into one; a page number standing in the cell is dropped."""
    lines = [ln.text.strip() for ln in _lines(chars, page)]
    lines = [t for t in lines if t and not FRAMED_PAGE_NUMBER.match(t)]
    text = ""
    for t in lines:
        text += _join_text(text, t) + t
    return text.replace("\t", " ")


def _tables(page, chars, number: int) -> list[Grid]:
    """The page's ruled tables as grids; a frame of one column (a boxed paragraph) is not a
    table."""
    grids = []
    for table in page.find_tables(TABLE_SETTINGS):
        rows = table.rows
        if not rows or max(sum(1 for c in r.cells if c is not None) for r in rows) < 2:
            continue
        mine = [c for c in chars if _inside(c, table.bbox)]
        grid_rows: list[list[tuple[str, Box, int] | None]] = []
        for row in rows:
            row_chars = [c for c in mine if _inside(c, row.bbox)]
            cells: list[tuple[str, Box, int] | None] = []
            for cell in row.cells:
                if cell is None:
                    cells.append(None)
                    continue
                box = tuple(round(v, 2) for v in cell)
                cells.append(
                    (_cell_text([c for c in row_chars if _inside(c, cell)], number), box, number)
                )
            grid_rows.append(cells)
        grids.append(
            Grid(grid_rows, table.bbox[1], table.bbox[3], number, table.bbox[0], table.bbox[2])
        )
    return grids


def _row_words(row) -> tuple[str, ...]:
    return tuple(re.sub(r"\s+", "", c[0]) for c in row if c is not None and c[0].strip())


# ---------------------------------------------------------------- pages


def _image_only(page, chars) -> bool:
    if any(c["text"].strip() for c in chars):
        return False
    area = float(page.width * page.height) or 1.0
    covered = sum(
        max(0.0, float(im["x1"] - im["x0"])) * max(0.0, float(im["bottom"] - im["top"]))
        for im in page.images
    )
    return covered >= IMAGE_PAGE_SHARE * area


def _page_blocks(page, number: int) -> list:
    """The page's text lines and tables in reading order (top to bottom), page numbers dropped."""
    chars = fold_chars(page.chars)  # radicals and full-width forms as ordinary characters
    grids = _tables(page, chars, number)
    free = [c for c in chars if not any(_in_grid(g, c) for g in grids)]
    height = float(page.height)
    lines = [
        ln
        for ln in _lines(free, number)
        if not (
            PAGE_NUMBER.match(ln.text.strip())
            and (ln.top > (1 - MARGIN) * height or ln.bottom < MARGIN * height)
        )
    ]
    lines = [ln for ln in lines if not FRAMED_PAGE_NUMBER.match(ln.text.strip())]
    blocks = [(ln.top, 0, ln) for ln in lines] + [(g.top, 1, g) for g in grids]
    return [b for _, _, b in sorted(blocks, key=lambda b: (b[0], b[1]))]


def _in_grid(grid: Grid, c) -> bool:
    return _inside(c, (grid.x0, grid.top, grid.x1, grid.bottom))


# ---------------------------------------------------------------- the document


def _body_size(lines: list[Line]) -> float:
    sizes = [round(ln.size * 2) / 2 for ln in lines for _ in range(len(ln.text))]
    return statistics.mode(sizes) if sizes else 0.0


def _join_title(blocks: list, body: float) -> list:
    """A title set over several lines at the top of the first page is one line."""
    head = []
    for b in blocks:
        if not isinstance(b, Line) or b.page != blocks[0].page or b.size < 1.2 * body or b.loose:
            break
        head.append(b)
    if len(head) < 2:
        return blocks
    return [_merge(head)] + blocks[len(head):]


def _merge(lines: list[Line]) -> Line:
    pieces = list(lines[0].pieces)
    for ln in lines[1:]:
        sep = _join_text("".join(p.text for p in pieces), ln.text)
        if sep:
            pieces.append(Piece(sep, None))
        pieces += ln.pieces
    first = lines[0]
    return Line(pieces, first.x0, first.top, first.x1, first.bottom, first.size, False,
                first.page, first.route)


def _join_paragraphs(blocks: list, margins: dict[int, tuple[float, float]]) -> list:
    """Lines a paragraph wrapped (the line runs to the right margin, the next starts at the left
    one) become one."""
    out: list = []
    run: list[Line] = []

    def wraps(a: Line, b: Line) -> bool:
        if a.loose or b.loose or abs(a.size - b.size) > 1 or ENUMERATED.match(b.text):
            return False
        right = margins[a.page][1]
        left = margins[b.page][0]
        return a.x1 >= right - 1.5 * a.size and b.x0 <= left + 0.5 * b.size

    for b in blocks:
        if isinstance(b, Line) and run and wraps(run[-1], b):
            run.append(b)
            continue
        if run:
            out.append(_merge(run) if len(run) > 1 else run[0])
            run = []
        if isinstance(b, Line):
            run = [b]
        else:
            out.append(b)
    if run:
        out.append(_merge(run) if len(run) > 1 else run[0])
    return out


def _margins(lines: list[Line], body: float) -> tuple[float, float]:
    body_lines = [ln for ln in lines if abs(ln.size - body) <= 1 and not ln.loose] or lines
    return (
        (min(ln.x0 for ln in body_lines), max(ln.x1 for ln in body_lines))
        if body_lines
        else (0.0, 0.0)
    )


def _chain_tables(blocks: list) -> list:
    """A table at the top of a page right after a table at the end of the last one goes on as the
    same grid."""
    out: list = []
    for b in blocks:
        prev = out[-1] if out else None
        if (
            isinstance(b, Grid)
            and isinstance(prev, Grid)
            and b.page == prev.page + 1
            and prev.rows
            and b.rows
        ):
            rows = b.rows
            head = prev.header or [_row_words(r) for r in prev.rows[:4]]
            k = 0
            while k < len(rows) and k < len(head) and _row_words(rows[k]) == head[k] and head[k]:
                k += 1
            merged = Grid(
                prev.rows + rows[k:], prev.top, b.bottom, b.page, b.x0, b.x1, head, prev.route
            )
            out[-1] = merged
            continue
        out.append(b)
    return out


class _Writer:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.pos = 0
        self.spans: list[Span] = []
        self.uncertain: list[tuple[int, str]] = []

    def add(
        self, text: str, page: int | None = None, box: Box | None = None, route: str | None = None
    ) -> None:
        if route is not None and text:
            self.spans.append((self.pos, self.pos + len(text), page, box, route))
        self.parts.append(text)
        self.pos += len(text)

    def line(self, line: Line) -> None:
        text = line.text
        lead = len(text) - len(text.lstrip())
        trail = len(text.rstrip())
        offset = 0
        for p in line.pieces:
            a, b = offset, offset + len(p.text)
            a2, b2 = max(a, lead), min(b, trail)
            if b2 > a2:
                self.add(p.text[a2 - a : b2 - a], line.page, p.box, line.route if p.box else None)
            offset = b
        self.add("\n")

    def grid(self, grid: Grid, uncertain: dict | None = None) -> None:
        self.blank()
        for row in grid.rows:
            if not any(c is not None and c[0] for c in row):
                continue  # rows with nothing in them carry no information
            for i, cell in enumerate(row):
                if i:
                    self.add("\t")
                if cell is not None and cell[0]:
                    if uncertain and (cell[2], cell[1]) in uncertain:
                        self.uncertain.append((self.pos, uncertain[(cell[2], cell[1])]))
                    self.add(cell[0], cell[2], cell[1], grid.route)
            self.add("\n")
        self.blank()

    def blank(self) -> None:
        """End the text with one blank line (none at the very start)."""
        tail = "".join(self.parts[-2:])
        if self.pos and not tail.endswith("\n\n"):
            self.add("\n\n"[tail.endswith("\n"):])


def read_pdf(data: bytes) -> Rendered:
    """Render a PDF's pages as text (tables as tab-separated grids) with the span of every piece."""
    import pdfplumber
    from pdfminer.pdfdocument import PDFPasswordIncorrect

    try:
        pdf = pdfplumber.open(io.BytesIO(data))
    except PDFPasswordIncorrect:
        raise InputError("PDF is password-protected: it cannot be read") from None
    except Exception as e:  # pdfminer raises many kinds on broken files
        raise InputError(f"PDF cannot be opened: {_one_line(e)}") from None
    try:
        with pdf:
            blocks: list = []
            scans: list[int] = []
            for number, page in enumerate(pdf.pages, 1):
                if _image_only(page, page.chars):
                    scans.append(number)
                else:
                    blocks += _page_blocks(page, number)
                page.close()  # drop the page's parsed objects: long files stay small in memory
            pages = len(pdf.pages)
    except InputError:
        raise
    except Exception as e:
        raise InputError(f"PDF cannot be read: {_one_line(e)}") from None
    if pages == 0:
        raise InputError("PDF has no pages")
    if not blocks and not scans:
        scans = list(range(1, pages + 1))
    if scans and ocr_available():
        return _read_scans(data, blocks, scans, pages)
    if scans or not blocks:
        which = scans or list(range(1, pages + 1))
        listed = ", ".join(map(str, which[:8])) + (", …" if len(which) > 8 else "")
        page_word = "page" if len(which) == 1 else "pages"
        raise NeedsOCR(
            f"PDF {page_word} {listed} without a text layer: {OCR_MISSING}", tuple(which)
        )
    return write_blocks(blocks, pages)


def _read_scans(data: bytes, blocks: list, scans: list[int], pages: int) -> Rendered:
    """The PDF's text-layer blocks and its scanned pages read by OCR, written out in page order."""
    from .ingest_ocr import PDF_DPI, pdf_page_images, read_page, to_original

    by_page: dict[int, list] = {}
    for b in blocks:
        by_page.setdefault(b.page, []).append(b)
    images = pdf_page_images(data, scans)
    read = [read_page(image, number, PDF_DPI / 72) for number, image in images]
    for got in read:
        by_page[got.number] = got.blocks
    blocks = [b for n in sorted(by_page) for b in by_page[n]]
    if not blocks:
        raise InputError("scanned PDF: OCR found no text on its pages")
    uncertain = {k: v for got in read for k, v in got.uncertain.items()}
    return to_original(write_blocks(blocks, pages, uncertain), read)


def ocr_available() -> bool:
    """Whether the `ocr` extra is installed (its packages import)."""
    try:
        from .ocr_engine import available
    except ImportError:  # numpy, which it imports first, comes with the extra
        return False
    return available()


def write_blocks(blocks: list, pages: int, uncertain: dict | None = None) -> Rendered:
    """Lines and grids in reading order → the text: paragraphs and titles joined, tables chained
    over pages.

    `uncertain` maps the (page, cell box) of OCR cells in doubt to why: (span start, why) goes into
    Rendered.uncertain.
    """
    lines = [b for b in blocks if isinstance(b, Line)]
    body = _body_size(lines)
    by_page: dict[int, list[Line]] = {}
    margins: dict[int, tuple[float, float]] = {}
    for ln in lines:
        by_page.setdefault(ln.page, []).append(ln)
    margins = {p: _margins(lns, body) for p, lns in by_page.items()}
    blocks = _join_title(blocks, body) if blocks and isinstance(blocks[0], Line) else blocks
    blocks = _join_paragraphs(blocks, margins)
    blocks = _chain_tables(blocks)
    writer = _Writer()
    for b in blocks:
        if isinstance(b, Grid):
            writer.grid(b, uncertain)
        else:
            writer.line(b)
    return Rendered("".join(writer.parts), tuple(writer.spans), pages, frozenset(writer.uncertain))


def _one_line(e: Exception) -> str:
    message = str(e).splitlines()[0] if str(e).strip() else ""
    return f"{type(e).__name__}: {message}" if message else type(e).__name__
