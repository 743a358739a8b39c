"""The resource limits of a run, in one place, and the checks that apply them before anything
is inflated, parsed or rendered.

These are policy, not facts about reports: each is far above what a real report needs (the
largest of the bundled and shared reports is a 6-page A4 PDF of 1.4 MB) and far below what a
hostile or broken file would take. A file past a limit fails alone with a one-line reason
(`LimitError`); the run goes on. The README's "Limits" table lists them.

    file           MAX_FILE_BYTES bytes on disk; special files (pipes, devices) refused
    time           FILE_TIMEOUT seconds per file (the worker is killed and replaced)
    memory         WORKER_MEMORY_MB per worker process (the worker is killed and replaced)
    PDF            MAX_PDF_PAGES pages, MAX_PAGE_AREA points² a page, MAX_INFLATED_BYTES of
                   Flate streams in all
    Word (.docx)   MAX_DOCX_XML_BYTES of XML, MAX_INFLATED_BYTES in all, as the zip declares
                   them (the zip reader stops at the declared size)
    images         MAX_IMAGE_PIXELS a frame, MAX_TOTAL_PIXELS over a TIFF's frames
    HTML tables    rowspan and colspan clamped to MAX_SPAN; MAX_GRID_CELLS cells a table
    database       DB_BUSY_SECONDS waiting for another program's write lock
"""

from __future__ import annotations

import io
import re
import warnings
import zipfile
import zlib

from .errors import LimitError

MIB = 1024 * 1024
MAX_FILE_BYTES = 50 * MIB
FILE_TIMEOUT = 60.0
WORKER_MEMORY_MB = 1024
MAX_PDF_PAGES = 500
MAX_PAGE_AREA = 1191 * 1684  # points² (1/72 inch): an A2 sheet, 42.0 × 59.4 cm
MAX_INFLATED_BYTES = 256 * MIB
MAX_DOCX_XML_BYTES = 32 * MIB
MAX_IMAGE_PIXELS = 40_000_000  # A2 at 300 dpi is 35 million
MAX_TOTAL_PIXELS = 120_000_000
MAX_SPAN = 64
MAX_GRID_CELLS = 200_000
DB_BUSY_SECONDS = 30.0


# ---------------------------------------------------------------- PDF

_STREAM = re.compile(rb"stream\r?\n")
_FLATE = re.compile(rb"/(?:FlateDecode|Fl)\b")


def check_pdf(data: bytes) -> None:
    """Refuse a PDF whose Flate streams inflate past MAX_INFLATED_BYTES, or that has more than
    MAX_PDF_PAGES pages or a page larger than MAX_PAGE_AREA. Raises LimitError, or InputError
    for an encrypted PDF; a PDF pdfium cannot open is left to the reader to explain."""
    inflated = flate_size(data, MAX_INFLATED_BYTES)
    if inflated > MAX_INFLATED_BYTES:
        raise LimitError(
            f"PDF streams inflate past {MAX_INFLATED_BYTES // MIB} MB "
            "(a compression bomb?): not read"
        )
    _check_pages(data)


def flate_size(data: bytes, limit: int) -> int:
    """The bytes the Flate streams of a PDF inflate to, counted without holding them (stops
    counting past `limit`). Streams are found in the raw file: those inside object streams
    are objects, not streams, so every stream is here."""
    total = 0
    for match in _STREAM.finditer(data):
        head = data[max(0, match.start() - 512) : match.start()]
        if not _FLATE.search(head[head.rfind(b"<<") :] if b"<<" in head else head):
            continue
        total += _inflated(data, match.end(), limit - total + 1)
        if total > limit:
            break
    return total


def _inflated(data: bytes, start: int, budget: int) -> int:
    """How many bytes the zlib stream at `start` inflates to, up to `budget`."""
    inflater = zlib.decompressobj()
    size, pos, chunk = 0, start, 1 << 16
    try:
        while size < budget and pos < len(data) and not inflater.eof:
            piece = inflater.decompress(data[pos : pos + chunk], 1 << 20)
            size += len(piece)
            while inflater.unconsumed_tail and size < budget:
                size += len(inflater.decompress(inflater.unconsumed_tail, 1 << 20))
            pos += chunk
    except zlib.error:
        pass  # damaged or not zlib: the reader will say what it can
    return size


def _check_pages(data: bytes) -> None:
    import pypdfium2 as pdfium

    from .errors import InputError

    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as e:
        if "password" in str(e).lower():
            raise InputError(
                "PDF is encrypted (password-protected): it cannot be read without the password"
            ) from None
        return
    try:
        pages = len(pdf)
        if pages > MAX_PDF_PAGES:
            raise LimitError(f"PDF of {pages:,} pages: past the limit of {MAX_PDF_PAGES} pages")
        for i in range(pages):
            width, height = pdf.get_page_size(i)
            if width * height > MAX_PAGE_AREA:
                raise LimitError(
                    f"PDF page {i + 1} is {width / 72:.0f} × {height / 72:.0f} inches: "
                    f"past the limit of an A2 sheet (16.5 × 23.4 inches)"
                )
    finally:
        pdf.close()


# ---------------------------------------------------------------- Word


def check_zip(data: bytes) -> None:
    """Refuse a .docx whose parts, as its zip declares them, pass MAX_INFLATED_BYTES in all or
    MAX_DOCX_XML_BYTES of XML. The zip reader never inflates a part past its declared size
    (it fails the CRC instead), so the declared sizes bound what is read. A damaged zip is
    left to the reader to explain."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            infos = z.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return
    total = sum(i.file_size for i in infos)
    xml = sum(i.file_size for i in infos if i.filename.endswith((".xml", ".rels")))
    if xml > MAX_DOCX_XML_BYTES:
        raise LimitError(
            f"Word file whose XML inflates to {xml / MIB:,.0f} MB: past the limit of "
            f"{MAX_DOCX_XML_BYTES // MIB} MB (a compression bomb?)"
        )
    if total > MAX_INFLATED_BYTES:
        raise LimitError(
            f"Word file that inflates to {total / MIB:,.0f} MB: past the limit of "
            f"{MAX_INFLATED_BYTES // MIB} MB (a compression bomb?)"
        )


# ---------------------------------------------------------------- images


def check_image(data: bytes) -> None:
    """Refuse an image whose header claims more than MAX_IMAGE_PIXELS in a frame, or more than
    MAX_TOTAL_PIXELS over its frames (a TIFF may hold many pages), before any is decoded."""
    from PIL import Image

    from .errors import InputError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter(
                "ignore", Image.DecompressionBombWarning
            )  # this check says it in words
            im = Image.open(io.BytesIO(data))
        with im:
            frames = getattr(im, "n_frames", 1)
            sizes = [im.size]
            for i in range(1, frames):
                if sum(w * h for w, h in sizes) > MAX_TOTAL_PIXELS:
                    break
                im.seek(i)
                sizes.append(im.size)
    except Image.DecompressionBombError:
        sizes, frames = [(MAX_IMAGE_PIXELS + 1, 1)], 1
    except Exception as e:  # PIL raises many kinds on damaged headers
        raise InputError(f"image cannot be read: {type(e).__name__}") from None
    largest = max(sizes, key=lambda s: s[0] * s[1])
    if largest[0] * largest[1] > MAX_IMAGE_PIXELS:
        raise LimitError(
            f"image of {largest[0]:,} × {largest[1]:,} pixels: past the limit of "
            f"{MAX_IMAGE_PIXELS // 1_000_000} million pixels"
        )
    if sum(w * h for w, h in sizes) > MAX_TOTAL_PIXELS:
        raise LimitError(
            f"image of {frames} frames, past the limit of {MAX_TOTAL_PIXELS // 1_000_000} million "
            f"pixels in all"
        )
