"""Turn the raw bytes of a report into a `Document`: decoded, classified, and (for HTML) rendered
as text.

Pure functions only: no file I/O, no printing. Tables in HTML become tab-separated grids, one line
per row. PDF (ingest_pdf) and Word (ingest_docx) are told from their bytes and rendered the same
way.
"""

from __future__ import annotations

import codecs
import hashlib
import re
import threading
from dataclasses import dataclass

import lxml.html
from lxml import etree

from extractor.errors import InputError, LimitError, MissingExtra
from extractor.fold import fold
from extractor.formats import EXTRAS, SUFFIXES, SUPPORTED, missing_extra, suffix
from extractor.limits import MAX_GRID_CELLS, MAX_SPAN


@dataclass(frozen=True)
class Document:
    name: str  # the file name or path it came from (as given)
    sha256: str  # hex sha256 of the raw bytes
    size: int  # len of raw bytes
    encoding: str  # codec used to decode
    kind: str  # "text", "markdown", "html", "pdf", "docx" or "image"
    text: str  # the text every later step reads; spans of values are offsets into this
    # Where the pieces of `text` came from, sorted by start: (start, end, page, box, route), for PDF
    # (page 1-based, box (x0, top, x1, bottom) in points from the page's top left, route
    # "pdf-geometry", "pdf-text" or "ocr").
    spans: tuple = ()
    # OCR: (span start, why) of numeric cells read in doubt (the pipeline marks them for review)
    uncertain: frozenset = frozenset()
    # OCR: (page, {"rotation", "skew", "keystone", "sealed"}) of each page as it was stood straight
    # (page_geometry.Correction.provenance); the spans' boxes are on the page as it came
    geometry: tuple = ()


# ---------------------------------------------------------------- decoding

_UNSUPPORTED = f"is not read (xxgk reads {SUPPORTED})"
_MAGIC = [
    (b"%PDF", "PDF"),
    (b"PK\x03\x04", "ZIP archive"),
    (b"PK\x05\x06", "ZIP archive"),
    (b"\xd0\xcf\x11\xe0", "Old Word/Excel (.doc/.xls)"),
    (b"{\\rtf", "RTF"),
    (b"\x89PNG", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"GIF8", "GIF image"),
    (b"II*\x00", "TIFF image"),
    (b"MM\x00*", "TIFF image"),
    (b"\x1f\x8b", "Gzip"),
    (b"Rar!", "RAR"),
    (b"7z\xbc\xaf", "7-Zip"),
]
# UTF-32 before UTF-16: the UTF-32-LE BOM starts with the UTF-16-LE one
_BOMS = [(codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
         (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16-le"),
         (codecs.BOM_UTF16_BE, "utf-16-be")]
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x19\x1c-\x1f\x7f]")
_PRIVATE_USE = re.compile(r"[\ue000-\uf8ff]")


def _normalise(text: str) -> str:
    return text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def _plausible(ch: str) -> bool:
    """Characters expected in a Chinese report (used to tell UTF-16 byte orders and binary
    apart)."""
    o = ord(ch)
    return (ch in "\t\n\r\f" or 0x20 <= o <= 0x7E or 0xA0 <= o <= 0x17F or 0x2000 <= o <= 0x218F
            or 0x2460 <= o <= 0x25FF or 0x3000 <= o <= 0x303F or 0x4E00 <= o <= 0x9FFF
            or 0xFF00 <= o <= 0xFFEF)


def _guess_utf16(data: bytes, threshold: float) -> tuple[str, str] | None:
    """Try both UTF-16 byte orders; return the clearly plausible one (NUL parity breaks ties)."""
    if len(data) % 2:
        return None
    sample = data[:65536]
    nul_bias = sample[1::2].count(0) - sample[0::2].count(0)  # ASCII in LE puts NULs at odd offsets
    best = None
    for codec, bias in (("utf-16-le", nul_bias), ("utf-16-be", -nul_bias)):
        # the sample may cut a surrogate pair; U+FFFD scores 0
        text = sample.decode(codec, "replace")
        score = sum(map(_plausible, text)) / max(len(text), 1)
        if score >= threshold and (best is None or (score, bias) > best[0]):
            best = ((score, bias), codec)
    if best is None:
        return None
    try:
        return data.decode(best[1]), best[1]
    except UnicodeDecodeError:
        return None


def _check_text(text: str, encoding: str) -> tuple[str, str]:
    if "\x00" in text:
        raise InputError("binary file: contains NUL bytes")
    if len(_CONTROL.findall(text[:65536])) > 0.02 * min(len(text), 65536):
        raise InputError("binary file: too many control bytes")
    return _normalise(text), encoding


def _refuse_known_binary(data: bytes) -> None:
    """Raise InputError for bytes that open as an archive or another binary kind xxgk does not
    read (_MAGIC), naming it."""
    for magic, what in _MAGIC:
        if data.startswith(magic):
            raise InputError(f"{_zip_kind(data) if what == 'ZIP archive' else what} {_UNSUPPORTED}")


def _by_bom(data: bytes) -> tuple[str, str] | None:
    """(text, codec) when `data` opens with a byte order mark and decodes under it; None without
    one, or for a false one (the caller goes on to detection). Raises InputError as _check_text."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                return _check_text(data[len(bom):].decode(codec), codec)
            except UnicodeDecodeError:
                return None  # a false BOM: fall through to detection
    return None


def decode_bytes(data: bytes) -> tuple[str, str]:
    """Detect the encoding of `data` and return (text with \\n line endings, codec name)."""
    if not data:
        raise InputError("empty file")
    _refuse_known_binary(data)
    by_bom = _by_bom(data)
    if by_bom is not None:
        return by_bom
    if b"\x00" in data:
        guess = _guess_utf16(data, 0.9)
        if guess is None:
            raise InputError("binary file: contains NUL bytes")
        return _check_text(*guess)
    try:
        return _check_text(data.decode("utf-8"), "utf-8")
    except UnicodeDecodeError:
        pass
    # CJK-only UTF-16 has no NULs; it would pass as GB18030 garbage
    guess = _guess_utf16(data, 0.95)
    if guess is not None:
        return _check_text(*guess)
    try:
        gb_text = data.decode("gb18030")
    except UnicodeDecodeError:
        gb_text = None
    # GB18030 maps unassigned codes to the private use area: many of those mean another encoding
    # (Big5, …)
    if gb_text is not None and len(_PRIVATE_USE.findall(gb_text)) <= 0.005 * len(gb_text):
        return _check_text(gb_text, "gb18030")
    nearly = _nearly(data)
    if nearly is not None:
        return _check_text(*nearly)
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is not None:
        return _check_text(str(best), best.encoding)
    if gb_text is not None:
        return _check_text(gb_text, "gb18030")
    raise InputError("cannot decode the file as text (tried UTF-8, UTF-16, GB18030 and detection)")


def _zip_kind(data: bytes) -> str:
    """What a zip that is not a Word document holds, in words."""
    if b"word/document.xml" in data[: 1 << 20]:
        return "Word file (.docx) that cannot be opened (damaged?)"
    if b"xl/workbook.xml" in data[: 1 << 20] or b"xl/" in data[:4096]:
        return "Excel workbook (.xlsx)"
    if b"ppt/presentation.xml" in data[: 1 << 20]:
        return "PowerPoint file (.pptx)"
    return ("ZIP archive that is not a Word document (no word/document.xml; unpack it and give "
            "the files inside)")


def _nearly(data: bytes, codecs=("utf-8", "gb18030")) -> tuple[str, str] | None:
    """A file a browser shows despite a few broken bytes (a character cut off, a stray byte) in
    UTF-8 or GBK: the broken bytes read as U+FFFD, which a cell takes as illegible, never a
    number."""
    for codec in codecs:
        text = data.decode(codec, errors="replace")
        broken = text.count("\ufffd") + (
            len(_PRIVATE_USE.findall(text)) if codec == "gb18030" else 0
        )
        if broken <= max(3, len(text) // 2000):
            return text, f"{codec} ({broken} broken byte{'s' if broken != 1 else ''} replaced)"
    return None


_META_CHARSET = re.compile(rb"<meta[^>]*?charset\s*=\s*[\"']?\s*([A-Za-z0-9_\-]+)", re.I)
_CHARSET_CODECS = {"gbk": "gb18030", "gb2312": "gb18030", "gb18030": "gb18030", "x-gbk": "gb18030",
                   "cp936": "gb18030", "utf-8": "utf-8", "utf8": "utf-8"}


def _declared_charset(data: bytes) -> str | None:
    match = _META_CHARSET.search(data[:8192])
    return _CHARSET_CODECS.get(match.group(1).decode("ascii").lower()) if match else None


# ---------------------------------------------------------------- kind

_HTML_NAMES = (".htm", ".html", ".xhtml", ".shtml")
_MD_NAMES = (".md", ".markdown")
_HTML_PREAMBLE = re.compile(
    r"(?<!\s)\s*+(?:<\?xml.*?\?>|<!--.*?-->|<!doctype(?!\s+html)[^>]*>)", re.I | re.S
)
_HTML_START = re.compile(
    r"<(?:!doctype\s+html|(?:html|head|body|table|div|meta|p|title|h[1-6]|span|font|center|section"
    r"|article|style|script|link|br|ul|ol|tr|td)(?=[\s>/]))", re.I)
# (the first line's first `|` is fixed by [^\n|]*: with [^\n]* there, every `|` of a long first line
# was tried as the one, each against the whole next line: 34-52 s on a 70 KB text)
_MD_TABLE = re.compile(
    r"^[^\n|]*\|[^\n]*\n[ \t]*\|?(?:[ \t]*:?-+:?[ \t]*\|)+(?:[ \t]*:?-+:?)?[ \t]*$", re.M
)


def _detect_kind(name: str, text: str) -> str:
    lower = name.lower()
    if lower.endswith(_HTML_NAMES):
        return "html"
    if lower.endswith(_MD_NAMES):
        return "markdown"
    head, pos = text[:4096].lstrip("\ufeff"), 0
    while match := _HTML_PREAMBLE.match(head, pos):
        pos = match.end()
    if _HTML_START.match(head[pos:].lstrip()):
        return "html"
    return "markdown" if _MD_TABLE.search(text) else "text"


# ---------------------------------------------------------------- HTML → text

_DROP = {"script", "style", "template", "noscript"}
_BLOCK = {
    "p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "dl", "dt", "dd", "tr", "td",
    "th", "section", "article", "header", "footer", "nav", "aside", "main", "blockquote", "pre",
    "address", "center", "form", "fieldset", "figure", "figcaption", "hr", "title", "caption",
    "html", "body", "head", "thead", "tbody", "tfoot",
}
_TABLE_PARTS = {"table", "tr", "td", "th", "thead", "tbody", "tfoot", "caption"}
_SOFT, _HARD = 1, 2  # separators: whitespace/<br>/block edge; cell edge of a nested table
_SPACE = re.compile(r"[\s\u200b\u200c\u200d\ufeff]+")
_CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef\U00020000-\U0003ffff]")


def _join(tokens: list) -> str:
    """Join text pieces: a soft separator vanishes between two CJK characters, else becomes one
    space."""
    out: list[str] = []
    pending = 0
    for token in tokens:
        if token in (_SOFT, _HARD):
            pending = max(pending, token)
            continue
        if not token:
            continue
        if not pending and out and not _SPACE.search(token):
            out.append(token)  # a piece of text run on from the last (a span in a paragraph)
            continue
        for i, word in enumerate(_SPACE.split(token)):
            if i:
                pending = max(pending, _SOFT)
            if not word:
                continue
            if pending and out:
                both_cjk = _CJK.match(out[-1][-1]) and _CJK.match(word[0])
                out.append("" if pending == _SOFT and both_cjk else " ")
            out.append(word)
            pending = 0
    return "".join(out)


def _tag(el) -> str | None:
    return el.tag.lower() if isinstance(el.tag, str) else None


_EDGE = {**{tag: _SOFT for tag in _BLOCK | {"br"}}, **{tag: _HARD for tag in _TABLE_PARTS}}


def _cell_tokens(el, tokens: list) -> None:
    """Collect the text of a table cell, flattening anything block-like (nested tables included)."""
    tag = el.tag
    # (comments and PIs have no str tag)
    if isinstance(tag, str) and (tag := tag.lower()) not in _DROP:
        edge = _EDGE.get(tag)
        if edge:
            tokens.append(edge)
        if el.text:
            tokens.append(el.text)
        for child in el:
            _cell_tokens(child, tokens)
        if edge:
            tokens.append(edge)
    if el.tail:
        tokens.append(el.tail)


def _cell_text(cell) -> str:
    tokens = [cell.text or ""]
    for child in cell:
        _cell_tokens(child, tokens)
    return _join(tokens)


def _span(cell, attr: str) -> int:
    value = cell.get(attr)
    if value is None:
        return 1
    match = _LEADING_NUMBER.match(value)
    return min(int(match.group(1)), MAX_SPAN) if match else 1


# (possessive, and no start inside a run of spaces or digits: such a run is not scanned again from
# each of its characters)
_LEADING_NUMBER = re.compile(r"(?<![\s\d])\s*+(\d++)")


def _check_grid(cells: int, rows: int, width: int) -> None:
    if cells > MAX_GRID_CELLS or rows * width > MAX_GRID_CELLS:
        raise LimitError(
            f"an HTML table of {rows:,} rows by {width:,} columns or more (rowspan/colspan): "
            f"past the limit of {MAX_GRID_CELLS:,} cells"
        )


def _table_rows(table) -> list[list]:
    """The table's own rows (not those of nested tables); stray cells form an implicit row."""
    rows: list[list] = []
    _scan_rows(table, rows)
    return rows


def _scan_rows(parent, rows: list[list]) -> None:
    # (a function of the module, not a closure: a closure calling itself is a reference cycle,
    # which would keep the page's elements alive until the cyclic collector ran)
    loose: list = []
    for child in parent:
        tag = _tag(child)
        if tag in ("td", "th"):
            loose.append(child)
            continue
        if loose:
            rows.append(loose)
            loose = []
        if tag == "tr":
            rows.append([c for c in child if _tag(c) in ("td", "th")])
        elif tag in ("thead", "tbody", "tfoot"):
            _scan_rows(child, rows)
    if loose:
        rows.append(loose)


def _table_lines(table) -> list[str]:
    """Render a table as tab-separated lines after expanding rowspan/colspan into a rectangle.

    Spans are clamped to limits.MAX_SPAN; a grid past limits.MAX_GRID_CELLS raises LimitError
    (a page of `rowspan=1000 colspan=1000` cells once took gigabytes)."""
    rows = _table_rows(table)
    grid: dict[tuple[int, int], str] = {}
    widths = [0] * len(rows)  # how far each row's cells (its own and those spanning into it) reach
    for r, cells in enumerate(rows):
        c = 0
        for cell in cells:
            while (r, c) in grid:
                c += 1
            rowspan = _span(cell, "rowspan") or min(
                len(rows) - r, MAX_SPAN
            )  # rowspan=0: to the end
            colspan = _span(cell, "colspan") or 1
            for dr in range(min(rowspan, len(rows) - r)):
                for dc in range(colspan):
                    grid.setdefault((r + dr, c + dc), "")
                widths[r + dr] = max(widths[r + dr], c + colspan)
            grid[(r, c)] = _cell_text(cell)
            c += colspan
            _check_grid(len(grid), len(rows), c)
    width = max(widths, default=0)
    _check_grid(len(grid), len(rows), width)
    lines = []
    for r in range(len(rows)):
        values = [grid.get((r, c), "") for c in range(width)]
        if any(values):  # rows with nothing in them carry no information
            lines.append("\t".join(values))
    return lines


def _is_layout(table) -> bool:
    """A table that holds other tables in its cells, in few columns or around long text, lays out
    a page; it is not a table of figures (those have four columns or more and short cells)."""
    if next(table.iterdescendants("table"), None) is None:
        return False
    rows = _table_rows(table)
    return max((len(r) for r in rows), default=0) <= 2 or any(
        len(c.text_content()) > 300 for r in rows for c in r
    )


class _Renderer:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.tokens: list = []

    def flush(self, keep_empty: bool = False) -> None:
        line = _join(self.tokens)
        self.tokens = []
        if line or keep_empty:
            self.lines.append(line)

    def walk(self, el) -> None:
        tag = _tag(el)
        if tag is not None and tag not in _DROP:
            if tag == "table" and _is_layout(el):
                # A page laid out in a table (navigation, the article, a footer in its cells): its
                # cells are blocks of the page, and the report's tables inside them are the grids.
                self.flush()
                self.tokens.append(el.text or "")
                for child in el:
                    self.walk(child)
                self.flush()
            elif tag == "table":
                self.flush()
                caption = [c for c in el if _tag(c) == "caption"]
                self.lines += [""] + [_cell_text(c) for c in caption] + _table_lines(el) + [""]
            elif tag == "br":
                self.flush(keep_empty=True)
            else:
                block = tag in _BLOCK
                if block:
                    self.flush()
                self.tokens.append(el.text or "")
                for child in el:
                    self.walk(child)
                if block:
                    self.flush()
        self.tokens.append(el.tail or "")


_PARSERS = threading.local()


def _html_parser() -> lxml.html.HTMLParser:
    """One parser per thread, reused: a new one per page left a cycle of parser objects each
    time."""
    parser = getattr(_PARSERS, "parser", None)
    if parser is None:
        parser = _PARSERS.parser = lxml.html.HTMLParser(
            encoding="utf-8", remove_comments=True, remove_pis=True
        )
    return parser


def html_to_text(html: str) -> str:
    """Render HTML as plain lines; each table becomes a tab-separated grid framed by blank lines."""
    try:
        root = lxml.html.document_fromstring(html.encode("utf-8", "replace"), parser=_html_parser())
    except (etree.ParserError, ValueError):
        return ""
    renderer = _Renderer()
    renderer.walk(root)
    renderer.flush()
    text = "\n".join(line.strip(" ") for line in renderer.lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n")


# ---------------------------------------------------------------- documents


_IMAGES = [
    (b"\x89PNG", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"GIF8", "GIF"),
]


def binary_kind(data: bytes) -> str | None:
    """The kind of a file told from its bytes, not its name: "pdf", "docx", "doc", "image", or None
    (text)."""
    if data.lstrip().startswith(b"%PDF-") or (b"%PDF-" in data[:1024] and b"%%EOF" in data[-2048:]):
        return "pdf"  # readers accept the header anywhere in the first KiB (servers prepend junk)
    if data.startswith(b"PK\x03\x04"):
        from .ingest_docx import is_docx

        return "docx" if is_docx(data) else None
    if (
        data.startswith(b"\xd0\xcf\x11\xe0")
        and "WordDocument".encode("utf-16-le") in data[: 1 << 20]
    ):
        return "doc"
    if any(data.startswith(m) for m, _ in _IMAGES) or data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image"
    return None


# The modules each binary kind needs from its extra (pyproject.toml): a file of that kind fails
# with the extra to install when one is missing
_EXTRA_MODULES = {"pdf": ("PDF", {"pdfplumber", "pdfminer", "pypdfium2", "PIL"}),
                  "docx": ("Word", {"docx"}), "doc": ("Word", {"docx"})}


def _read_binary(data: bytes, name: str, kind: str) -> Document:
    """A PDF, Word file or image read by its reader. Raises MissingExtra when that reader's
    packages are not installed."""
    try:
        return _read_binary_kind(data, name, kind)
    except ModuleNotFoundError as e:
        what, modules = _EXTRA_MODULES.get(kind, ("", set()))
        if (e.name or "").split(".")[0] not in modules:
            raise
        raise MissingExtra(missing_extra(what, e.name or "")) from e


def _read_binary_kind(data: bytes, name: str, kind: str) -> Document:
    from . import limits
    from .ingest_pdf import OCR_MISSING, NeedsOCR, ocr_available

    sha = hashlib.sha256(data).hexdigest()
    if kind == "image":
        what = next((w for m, w in _IMAGES if data.startswith(m)), "WebP")
        if what not in ("PNG", "JPEG", "TIFF") or not ocr_available():
            raise NeedsOCR(
                f"{what} image: {OCR_MISSING}"
                if what in ("PNG", "JPEG", "TIFF")
                else f"{what} image {_UNSUPPORTED}"
            )
        from .ingest_ocr import read_image

        limits.check_image(data)  # before a pixel is decoded
        return _rendered_document(data, name, sha, "image", read_image(data))
    if kind == "pdf":
        from .ingest_pdf import read_pdf

        limits.check_pdf(data)  # before a stream is inflated or a page rendered
        return _rendered_document(data, name, sha, "pdf", read_pdf(data))
    from .ingest_docx import convert_doc, read_docx

    # .doc: raises, saying how to convert, without LibreOffice
    docx = convert_doc(data) if kind == "doc" else data
    limits.check_zip(docx)  # before a part is inflated
    return Document(name=name, sha256=sha, size=len(data), encoding="binary", kind="docx",
                    text=fold(read_docx(docx)))


def _rendered_document(data: bytes, name: str, sha: str, kind: str, rendered) -> Document:
    """The Document of a PDF or an image from its rendering (ingest_pdf.Rendered): the text
    folded, its spans, cells in doubt and page geometry kept."""
    return Document(name=name, sha256=sha, size=len(data), encoding="binary", kind=kind,
                    text=fold(rendered.text), spans=rendered.spans, uncertain=rendered.uncertain,
                    geometry=rendered.geometry)


def _decoded(data: bytes, name: str) -> tuple[str, str]:
    """decode_bytes, its error saying which kind the file's name promised (formats.SUFFIXES: a
    PDF, Word or image, the kinds read from their bytes) and it is not: random bytes named .pdf
    read `not what its name says (PDF, .pdf): binary file: …`."""
    try:
        return decode_bytes(data)
    except InputError as e:
        promised = SUFFIXES.get(suffix(name))
        if promised not in EXTRAS or not str(e).startswith("binary file"):
            raise  # a text name promised nothing; a known kind is named already
        raise InputError(f"not what its name says ({promised}, {suffix(name)}): {e}") from e


def read_document(data: bytes, name: str) -> Document:
    """Decode `data`, decide its kind, and render HTML, PDF and Word; markdown and text are kept as
    decoded, but for the HTML tables some converters leave in them. Every kind's text is folded
    (fold.fold: full-width forms and radicals to ordinary characters, one for one)."""
    kind = binary_kind(data)
    if kind is not None:
        return _read_binary(data, name, kind)
    text, encoding = _decoded(data, name)
    kind = _detect_kind(name, text)
    if kind == "html":
        declared = _declared_charset(data)
        if declared and declared != encoding and not any(data.startswith(b) for b, _ in _BOMS):
            try:
                text, encoding = _check_text(data.decode(declared), declared)
            except UnicodeDecodeError:
                nearly = (
                    _nearly(data, (declared,))
                    if not encoding.startswith(("utf-8", "gb18030"))
                    else None
                )
                # the page's own charset, a byte or two broken, over a detector's guess
                if nearly is not None:
                    text, encoding = _check_text(*nearly)
        text = html_to_text(text)
    else:
        text = inline_html_tables(text)
    return Document(name=name, sha256=hashlib.sha256(data).hexdigest(), size=len(data),
                    encoding=encoding, kind=kind, text=fold(text))


_HTML_TABLE = re.compile(r"<table\b.*?</table\s*>", re.S | re.I)


def inline_html_tables(text: str) -> str:
    """Markdown from PDF converters (MinerU, marker…) keeps tables as raw `<table>` HTML among the
    lines: each is rendered as a tab-separated grid in its place, the rest of the text kept."""
    if "<table" not in text and "<TABLE" not in text:
        return text
    return _HTML_TABLE.sub(lambda m: "\n" + html_to_text(m.group(0)) + "\n", text)
