"""Scans → the blocks ingest_pdf writes out: OCR text boxes placed in the table grid of the page.

Needs the `ocr` extra (`pip install 'xxgk[ocr]'`: rapidocr with onnxruntime, OpenCV); its
models ship inside the wheel, so nothing is fetched at run time. Without it a scanned page
raises `NeedsOCR`, whose one line says what to install.

A page image is read in five steps:

1. geometry (page_geometry): red seals turned white, the page turned upright, deskewed and its
   perspective undone, in one warp; what was done is kept (`PageRead.correction`) and every box
   is taken back onto the page as it came (`to_original`);
2. text boxes found once on the whole page (ocr_engine.detect); a page whose boxes stand tall
   lay on its side and is turned a quarter more, one whose lines the direction classifier finds
   upside down is turned half round;
3. the table grid: the ruling lines are found on the image (morphological opening with long thin
   kernels), turned into edges and handed to pdfplumber's own table finder functions, so a
   scanned table becomes the same `Grid` as a table with a text layer;
4. the text: each box's ink (ruling lines taken out) goes into the cell holding its centre, or
   into a line of text outside the tables; all crops are recognized in one batched call, a box in
   a cell cut to the cell (a ruling line at a crop's edge reads as 1 or |);
5. doubt. Every numeric cell is read a second time on the crop of its ink; a cell with ink but no
   box is read that way too (still unread: □, illegible). A numeric cell goes into `uncertain`
   with why when its two readings differ, when neither is sure (confidence under
   `MIN_CONFIDENCE`), when its ink reaches out of the cell (under `FIT_MIN` of it inside: the grid
   could not place it), when it holds figures on two lines, when it spans two rows of the table
   (a ruling line lost: its copies below read □), or when a red seal covered it. Confusable
   characters (O, l, I, ε, S, B…) are kept as read: cells.read_cell marks them. Nothing is
   corrected.

Boxes are in points (1/72 inch) from the page's top left: for PDF pages of the page, for image
files of the image at `IMAGE_DPI` (or the resolution the file states).
"""

from __future__ import annotations

import io
import re
import statistics
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

import numpy as np

from . import ocr_engine
from .errors import InputError
from .ingest_pdf import (
    CJK,
    FRAMED_PAGE_NUMBER,
    MARGIN,
    PAGE_NUMBER,
    Grid,
    Line,
    Piece,
    Rendered,
    _join_text,
)
from .record import LOW_OCR_CONFIDENCE

if TYPE_CHECKING:
    from pdfplumber.page import Page
    from pdfplumber.table import Table

    from .page_geometry import Correction

PDF_DPI = 200  # image-only PDF pages are rendered at this resolution for OCR
IMAGE_DPI = 150  # resolution of an image file that does not state one (for its boxes in points)
MIN_CONFIDENCE = 0.9
FIT_MIN = 0.8  # share of a value's ink that must lie inside the cell it is placed in
SPECK = 0.3  # a box whose ink is under this share of the median box height every way is a speck
# Two boxes in one cell stand apart (two figures, a space between) when the gap between them is
# wider than this share of their height; a number cut at its point by the detector stays one.
APART = 0.8
SEALED_CELL = 0.15  # share of a cell a red seal may cover before the cell is in doubt
# Prose is skimmed: a line of text outside the tables is recognized when it is short (under
# SHORT_LINE of the page's full lines: headings, captions, a paragraph's last line) or stands in
# the top TITLE_ZONE of page 1 (title, issuer, period); the full lines of paragraphs are not,
# unless XXGK_OCR_PROSE=1. They cost two thirds of a prose page's time and hold no table value.
SHORT_LINE = 0.7
TITLE_ZONE = 0.35
# (a digit somewhere, looked for once, then the characters taken without backtracking: `[…]*\d[…]*$`
# tried every split of a long run of them)
NUMERIC = re.compile(r"^(?=\D*\d)[\s\d.,，OoDlI|εЗSB%+\-]*+$|^[OoDlI|εЗSB]$")
ILLEGIBLE = "□"
DANGLING = re.compile(r"^[.,，]+|[.,，]+$")

available = ocr_engine.available
engine = ocr_engine.engine
model_paths = ocr_engine.model_paths


# ---------------------------------------------------------------- images


def pdf_page_images(data: bytes, pages: list[int], dpi: int = PDF_DPI):
    """Render the given 1-based pages of a PDF with pypdfium2: (number, HxWx3 uint8 RGB) each."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(data)
    try:
        for number in pages:
            bitmap = pdf[number - 1].render(scale=dpi / 72)
            yield number, np.array(bitmap.to_pil().convert("RGB"))
    finally:
        pdf.close()


def image_frames(data: bytes) -> tuple[list[np.ndarray], float]:
    """The frames of an image file (a TIFF may hold several pages) as RGB arrays, and the
    resolution it states (dpi; IMAGE_DPI when it states none). Raises InputError."""
    from PIL import Image, ImageSequence

    try:
        im = Image.open(io.BytesIO(data))
        dpi = im.info.get("dpi", (IMAGE_DPI, IMAGE_DPI))[0]
        frames = [np.array(f.convert("RGB")) for f in ImageSequence.Iterator(im)]
    except Exception as e:
        raise InputError(f"image cannot be read: {type(e).__name__}") from None
    dpi = (
        float(dpi)
        if isinstance(dpi, (int, float)) and 50 <= float(dpi) <= 1200
        else float(IMAGE_DPI)
    )
    return frames, dpi


# ---------------------------------------------------------------- the grid


def _rulings(ink, scale: float) -> tuple[list[dict], np.ndarray]:
    """Ruling lines as pdfplumber edges (in points), and the mask of their pixels."""
    import cv2

    h, w = ink.shape
    edges: list[dict] = []
    masks = []
    for orient, kernel in (("h", (max(w // 25, 20), 1)), ("v", (1, max(h // 60, 15)))):
        mask = cv2.morphologyEx(
            ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, kernel)
        )
        masks.append(mask)
        n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        for x, y, bw, bh, _area in stats[1:n]:
            if orient == "h":
                yc = (y + bh / 2) / scale
                x0, x1, top, bottom = x / scale, (x + bw) / scale, yc, yc
            else:
                xc = (x + bw / 2) / scale
                x0, x1, top, bottom = xc, xc, y / scale, (y + bh) / scale
            edges.append(
                {
                    "x0": x0,
                    "x1": x1,
                    "top": top,
                    "bottom": bottom,
                    "doctop": top,
                    "width": x1 - x0,
                    "height": bottom - top,
                    "orientation": orient,
                    "object_type": "line",
                }
            )
    return edges, cv2.bitwise_or(*masks)


def _tables(edges: list[dict]) -> list[list[tuple]]:
    """Cells of the ruled tables (pdfplumber's finder on the image's rulings); frames of one
    column dropped."""
    from pdfplumber.table import (
        cells_to_tables,
        edges_to_intersections,
        intersections_to_cells,
        merge_edges,
    )

    if not edges:
        return []
    merged = merge_edges(edges, 3, 3, 3, 3)
    merged = [
        e
        for e in merged
        if (e["x1"] - e["x0"] if e["orientation"] == "h" else e["bottom"] - e["top"]) >= 8
    ]
    cells = intersections_to_cells(edges_to_intersections(merged, 3, 3))
    return [c for c in cells_to_tables(cells) if len({round(x[0]) for x in c}) >= 2]


def _centre(box):
    return ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)


def _inside(box, cell) -> bool:
    x, y = _centre(box)
    return cell[0] <= x < cell[2] and cell[1] <= y < cell[3]


def _overlap(box, cell) -> float:
    """Share of `box`'s area inside `cell` (0-1)."""
    w = min(box[2], cell[2]) - max(box[0], cell[0])
    h = min(box[3], cell[3]) - max(box[1], cell[1])
    area = (box[2] - box[0]) * (box[3] - box[1])
    return max(0.0, w) * max(0.0, h) / area if area > 0 else 1.0


def _rows(items: list, key=lambda it: it[0]) -> list[list]:
    """Cluster (box, …) items into visual rows by vertical centre; each row sorted by x."""
    rows: list[list] = []
    for it in sorted(items, key=lambda it: _centre(key(it))[1]):
        box = key(it)
        if rows:
            last = rows[-1]
            top = min(key(i)[1] for i in last)
            bottom = max(key(i)[3] for i in last)
            yc = _centre(box)[1]
            if top <= yc <= bottom or abs(yc - (top + bottom) / 2) < 0.35 * (box[3] - box[1]):
                last.append(it)
                continue
        rows.append([it])
    return [sorted(r, key=lambda it: key(it)[0]) for r in rows]


def _digits(text: str) -> str:
    """A number's text for comparing two readings: spaces and stray edge punctuation dropped."""
    return re.sub(r"\s+", "", text).strip(".,，:：;'\"`")


@dataclass
class _Box:
    """One OCR box: where its ink stands (points, corrected page), its crop (pixels) and reading."""

    ink: tuple  # (x0, top, x1, bottom) in points: the box's own ink, ruling lines taken out
    crop: tuple  # (x0, y0, x1, y1) in pixels: what the recognizer is shown
    read: ocr_engine.Read | None = None

    @property
    def text(self) -> str:
        return self.read.text.strip() if self.read is not None else ""


def _value_like(read: ocr_engine.Read) -> bool:
    """A reading a value cell may hold: short, no Chinese word (无 apart), read among digits."""
    text = read.text.strip()
    return (
        read.number is not None
        and bool(read.number)
        and len(text) <= ocr_engine.NUMBER_MAX
        and not any("\u4e00" <= ch <= "\u9fff" and ch != "无" for ch in text)
    )


def _as_value(read: ocr_engine.Read) -> tuple[str, float]:
    """(text, confidence) of a reading: among the value characters when it is value-like, a speck
    read as a point or comma at either end of a figure dropped (`56.` is 56: a count never ends
    in a point, and a decimal's point stands between digits)."""
    if _value_like(read):
        number = read.number or ""
        bare = DANGLING.sub("", number)
        return (bare if any(ch.isdigit() for ch in bare) else number), read.number_low
    return read.text.strip(), read.low


@dataclass
class PageRead:
    """One page read: its blocks in reading order (corrected page, points), the cells in doubt
    {(page, cell box): why}, and how the page image was stood straight."""

    blocks: list
    uncertain: dict
    correction: Correction
    scale: float  # pixels per point of the image read
    number: int = 0
    timings: dict = field(default_factory=dict)


class _Page:
    """A page image: stood straight, its grid and its text boxes, read."""

    def __init__(self, rgb: np.ndarray, number: int, scale: float, verify: bool = True):
        import time

        import cv2

        from .page_geometry import correct

        self.timings: dict[str, float] = {}
        t = time.perf_counter()
        self.number, self.scale, self.verify = number, scale, verify
        self.image, self.correction = correct(rgb)
        self.timings["geometry"] = time.perf_counter() - t
        t = time.perf_counter()
        found = ocr_engine.detect(self.image)
        self.timings["detection"] = time.perf_counter() - t
        t = time.perf_counter()
        found = self._upright(found)
        self.timings["orientation"] = time.perf_counter() - t
        t = time.perf_counter()
        self.gray = cv2.cvtColor(self.image, cv2.COLOR_RGB2GRAY)
        from .page_geometry import ink_of

        self.ink = ink_of(self.gray)
        edges, self.lines_mask = _rulings(self.ink, scale)
        # the ruling lines grown by 2 pixels (OpenCV's default 3x3 kernel, twice) come off the ink
        square = cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3))
        self.text_ink = cv2.subtract(self.ink, cv2.dilate(self.lines_mask, square, iterations=2))
        self.tables = _tables(edges)
        self.cells = [tuple(round(float(v), 2) for v in c) for t_ in self.tables for c in t_]
        self.boxes = _no_specks([b for b in (self._box(px) for px in found) if b is not None])
        self.char_px = scale * (
            statistics.median(b.ink[3] - b.ink[1] for b in self.boxes) if self.boxes else 10.0
        )
        self.timings["grid"] = time.perf_counter() - t
        self.uncertain_cells: dict[
            tuple, str
        ] = {}  # (page, cell box) of numeric cells in doubt → why

    # -- orientation

    def _upright(self, found: list[tuple]) -> list[tuple]:
        """Turn the page a quarter if its boxes stand tall, half round if its text is upside
        down."""
        from .page_geometry import turn

        tall = sum(1 for b in found if b[3] - b[1] > 2 * (b[2] - b[0]))
        wide = sum(1 for b in found if b[2] - b[0] > 2 * (b[3] - b[1]))
        if tall >= 5 and tall > 2 * wide:
            self.image, self.correction = turn(self.image, self.correction, 90)
            found = ocr_engine.detect(self.image)
        lines = sorted(
            (b for b in found if b[2] - b[0] > 3 * (b[3] - b[1])), key=lambda b: b[0] - b[2]
        )[:12]
        crops = [self.image[int(b[1]) : int(b[3]) + 1, int(b[0]) : int(b[2]) + 1] for b in lines]
        if ocr_engine.upside_down([c for c in crops if c.size]):
            self.image, self.correction = turn(self.image, self.correction, 180)
            found = ocr_engine.detect(self.image)
        return found

    # -- boxes

    def _box(self, px: tuple) -> _Box | None:
        """A detected box (pixels) → its ink (points) and crop; None when it holds no ink."""
        h, w = self.text_ink.shape
        x0, y0 = max(int(px[0]), 0), max(int(px[1]), 0)
        x1, y1 = min(int(np.ceil(px[2])) + 1, w), min(int(np.ceil(px[3])) + 1, h)
        if x1 <= x0 + 1 or y1 <= y0 + 1:
            return None
        ys, xs = np.nonzero(self.text_ink[y0:y1, x0:x1])
        if len(xs) < 4:
            return None
        s = self.scale
        ink = (
            round((x0 + xs.min()) / s, 2),
            round((y0 + ys.min()) / s, 2),
            round((x0 + xs.max() + 1) / s, 2),
            round((y0 + ys.max() + 1) / s, 2),
        )
        crop = (x0, y0, x1, y1)
        cell = next((c for c in self.cells if _inside(ink, c)), None)
        if cell is not None:  # cut to the cell: its ruling lines stay out of the crop
            cx0, cy0, cx1, cy1 = (int(round(v * s)) for v in cell)
            crop = (max(x0, cx0 + 2), max(y0, cy0 + 2), min(x1, cx1 - 1), min(y1, cy1 - 1))
            if crop[2] <= crop[0] + 1 or crop[3] <= crop[1] + 1:
                crop = (x0, y0, x1, y1)
        return _Box(ink, crop)

    def _pixels(self, crop: tuple) -> np.ndarray:
        x0, y0, x1, y1 = crop
        return self.image[y0:y1, x0:x1]

    def read(self, boxes: list[_Box]) -> None:
        """Recognize every box, all in one batched call."""
        for b, got in zip(boxes, ocr_engine.recognize([self._pixels(b.crop) for b in boxes])):
            b.read = got

    # -- cells

    def cell_crop(self, cell, boxes: list[_Box], pad: float = 2.5) -> tuple | None:
        """The pixels of the cell's ink (ruling lines and specks out), with a little paper round
        it, or None when the cell holds none: the ink of its OCR boxes, else its marks of a
        character's size."""
        import cv2

        s = self.scale
        h, w = self.gray.shape
        m = 4
        if boxes:
            x0, y0 = min(b.ink[0] for b in boxes) * s, min(b.ink[1] for b in boxes) * s
            x1, y1 = max(b.ink[2] for b in boxes) * s, max(b.ink[3] for b in boxes) * s
            return (
                max(int(x0) - m, 0),
                max(int(y0) - m, 0),
                min(int(x1) + m + 1, w),
                min(int(y1) + m + 1, h),
            )
        x0, y0 = max(int((cell[0] + pad) * s), 0), max(int((cell[1] + pad) * s), 0)
        x1, y1 = min(int((cell[2] - pad) * s), w), min(int((cell[3] - pad) * s), h)
        if x1 <= x0 + 2 or y1 <= y0 + 2:
            return None
        n, _, stats, _ = cv2.connectedComponentsWithStats(
            self.text_ink[y0:y1, x0:x1], connectivity=8
        )
        marks = [st for st in stats[1:n] if max(st[2], st[3]) >= SPECK * self.char_px]
        if not marks:
            return None
        return (
            max(x0 + min(st[0] for st in marks) - m, 0),
            max(y0 + min(st[1] for st in marks) - m, 0),
            min(x0 + max(st[0] + st[2] for st in marks) + m, w),
            min(y0 + max(st[1] + st[3] for st in marks) + m, h),
        )

    def reread(self, crops: list[tuple]) -> list[ocr_engine.Read]:
        """Recognition alone on each crop (one line; a white border added)."""
        import cv2

        patches = [
            cv2.copyMakeBorder(
                self._pixels(c), 8, 8, 8, 8, cv2.BORDER_CONSTANT, value=(255, 255, 255)
            )
            for c in crops
        ]
        return ocr_engine.recognize(patches)

    def sealed(self, cell) -> float:
        """Share of the cell a red seal covered (0-1)."""
        mask = self.correction.seal_mask
        if mask is None:
            return 0.0
        s = self.scale
        patch = mask[int(cell[1] * s) : int(cell[3] * s), int(cell[0] * s) : int(cell[2] * s)]
        return float(np.count_nonzero(patch)) / patch.size if patch.size else 0.0


def _no_specks(boxes: list[_Box]) -> list[_Box]:
    """Boxes without the specks of a scan (ink far smaller than a character every way)."""
    if not boxes:
        return boxes
    size = statistics.median(b.ink[3] - b.ink[1] for b in boxes)
    return [b for b in boxes if max(b.ink[2] - b.ink[0], b.ink[3] - b.ink[1]) >= SPECK * size]


def _cell_reading(boxes: list[_Box]) -> tuple[str, float]:
    """A cell's text (its boxes in reading order) and its least confidence; a cell of
    value-like readings reads among the value characters."""
    boxes = [b for b in boxes if b.read is not None and not FRAMED_PAGE_NUMBER.match(b.text)]
    values = bool(boxes) and all(b.read is not None and _value_like(b.read) for b in boxes)
    text, score = "", 1.0
    for row in _rows(boxes, key=lambda b: b.ink):
        prev = None
        for b in row:
            t, s = _as_value(b.read) if values else (b.text, b.read.low)
            apart = prev is not None and b.ink[0] - prev.ink[2] > APART * (b.ink[3] - b.ink[1])
            text += (
                " " if apart and values else _join_text(text, t)
            ) + t  # side by side: two figures
            score = min(score, s)
            prev = b
    return text.replace("\t", " ").strip(), score


class _Cell:
    """A table cell being read: its box (points), its OCR boxes, its text and why it is in doubt."""

    def __init__(self, box: tuple, boxes: list[_Box]):
        self.box = box
        self.boxes = boxes
        self.text, self.score = _cell_reading(boxes)
        self.doubt = ""

    @property
    def numeric(self) -> bool:
        return bool(NUMERIC.match(self.text))

    def placement(self) -> str:
        """Why the grid cannot place this cell's figures with confidence, or ''."""
        if not self.numeric:
            return ""
        for b in self.boxes:
            inside = _overlap(b.ink, self.box)
            if inside < FIT_MIN:
                return (
                    f"the OCR box of {b.text!r} stands {100 * (1 - inside):.0f}% outside its cell: "
                    f"it may belong to the cell beside it"
                )
        if len(_rows(self.boxes, key=lambda b: b.ink)) > 1:
            return f"figures on two lines in one cell ({self.text!r}): a ruling line may be lost"
        return ""


def _judge(cell: _Cell, again: ocr_engine.Read | None) -> str:
    """Why a numeric cell is in doubt after its second reading (None: no second reading), or ''."""
    if again is None:
        return f"{LOW_OCR_CONFIDENCE} ({cell.score:.3f})" if cell.score < MIN_CONFIDENCE else ""
    text, score = _as_value(again)
    if _digits(text) != _digits(cell.text):
        return f"OCR re-read of the cell's crop gives {text!r}, not {cell.text!r}"
    best = max(cell.score, score)
    if best < MIN_CONFIDENCE:
        return f"{LOW_OCR_CONFIDENCE} ({best:.3f})"
    return ""


def _grid_cells(page: _Page, cells: list[tuple], placed: dict) -> dict[tuple, _Cell]:
    """Every cell of a table read: its OCR boxes joined; cells with ink but no box, and numbers
    (when verifying), read again on their own crop; doubts noted."""
    out = {c: _Cell(c, placed.get(c, [])) for c in cells}
    again: list[tuple[_Cell, tuple]] = []
    for cell in out.values():
        crop = (
            page.cell_crop(cell.box, cell.boxes)
            if (not cell.text or (cell.numeric and page.verify))
            else None
        )
        if crop is not None:
            again.append((cell, crop))
    readings = page.reread([crop for _, crop in again])
    second = {id(cell): r for (cell, _), r in zip(again, readings)}
    for cell in out.values():
        r = second.get(id(cell))
        if not cell.text:
            if r is None:
                continue  # no ink: a blank cell
            text, score = _as_value(r)
            if not text:
                cell.text = ILLEGIBLE  # ink OCR cannot read: illegible, never empty
                continue
            cell.text, cell.score = text, score
            if cell.numeric and score < MIN_CONFIDENCE:
                cell.doubt = f"{LOW_OCR_CONFIDENCE} ({score:.3f}, read on the cell's crop)"
        elif cell.numeric:
            cell.doubt = cell.placement() or _judge(cell, r)
        seal = page.sealed(cell.box)
        if seal >= SEALED_CELL and (cell.doubt or not cell.text):
            cell.text = cell.text or ILLEGIBLE
            cell.doubt = f"a red seal covers {100 * seal:.0f}% of the cell" + (
                f"; {cell.doubt}" if cell.doubt else ""
            )
    return out


def _key(cell) -> tuple:
    return tuple(round(float(v), 2) for v in cell)


def _pdf_table(cells: list[tuple]) -> Table:
    """pdfplumber's Table over the cell boxes (points), for its rows: a Table wants its page only
    to extract text, which is never asked of it here, so it is given none."""
    from pdfplumber.table import Table

    return Table(cast("Page", None), cells)


def _bbox(cells: list[tuple]) -> tuple:
    """(x0, top, x1, bottom) around the cell boxes (pdfplumber's Table.bbox)."""
    return (min(c[0] for c in cells), min(c[1] for c in cells), max(c[2] for c in cells),
            max(c[3] for c in cells))


def _covers(table) -> dict[tuple[int, int], tuple]:
    """(row, column) of every place a cell of the table covers → that cell (a merged cell
    covers several)."""
    tops = [next(c[1] for c in row.cells if c is not None) for row in table.rows]
    xs = sorted({c[0] for c in table.cells})
    out = {}
    for cell in table.cells:
        rows = [r for r, top in enumerate(tops) if cell[1] - 1 <= top < cell[3] - 1]
        cols = [j for j, x in enumerate(xs) if cell[0] - 1 <= x < cell[2] - 1]
        for r in rows:
            for j in cols:
                out[(r, j)] = cell
    return out


def _merged_doubt(cell: _Cell, rows: int, cols: int) -> str:
    """Why a merged cell's figures cannot be placed: it spans rows, or holds several columns'."""
    if not cell.numeric:
        return ""
    if rows > 1:
        return (
            f"the cell of {cell.text!r} spans {rows} rows of the table: a ruling line may be lost"
        )
    if cols > 1 and len(cell.boxes) > 1:
        return f"figures of {cols} columns in one cell ({cell.text!r}): a ruling line may be lost"
    return ""


def _grid(page: _Page, cells: list[tuple], placed: dict) -> Grid:
    """One table: every cell read; a merged cell holding figures it cannot place is in doubt and
    its copies read □ (which row or column they belong to, the grid cannot say)."""
    table = _pdf_table(cells)
    read = _grid_cells(page, [_key(c) for c in cells], placed)
    covers = _covers(table)
    shape: dict[tuple, list[set]] = {}
    for (r, j), covering in covers.items():
        rows_cols = shape.setdefault(_key(covering), [set(), set()])
        rows_cols[0].add(r)
        rows_cols[1].add(j)
    for key, (rows_of, cols_of) in shape.items():
        c = read[key]
        c.doubt = _merged_doubt(c, len(rows_of), len(cols_of)) or c.doubt
    rows = []
    for r, row in enumerate(table.rows):
        out: list = []
        for j, cell in enumerate(row.cells):
            over = read.get(_key(covers[(r, j)])) if cell is None and (r, j) in covers else None
            if cell is None:
                out.append(
                    (ILLEGIBLE, over.box, page.number)
                    if over is not None and over.numeric and over.doubt
                    else None
                )
                continue
            c = read[_key(cell)]
            out.append((c.text, c.box, page.number))
        rows.append(out)
    for c in read.values():
        if c.doubt:
            page.uncertain_cells[(page.number, c.box)] = c.doubt
    bbox = table.bbox
    return Grid(rows, bbox[1], bbox[3], page.number, bbox[0], bbox[2], route="ocr")


def _line(row: list[_Box], page: int) -> Line:
    sizes = [b.ink[3] - b.ink[1] for b in row]
    size = statistics.median(sizes)
    pieces: list[Piece] = []
    loose = False
    prev = None
    for b in row:
        if prev is not None:
            gap = b.ink[0] - prev.ink[2]
            loose = loose or gap > 1.5 * size
            both_cjk = bool(CJK.match(pieces[-1].text[-1])) and bool(CJK.match(b.text[0]))
            if gap > 1.5 * size or not both_cjk:
                pieces.append(Piece(" ", None))
        pieces.append(Piece(b.text, b.ink))
        prev = b
    return Line(
        pieces,
        min(b.ink[0] for b in row),
        min(b.ink[1] for b in row),
        max(b.ink[2] for b in row),
        max(b.ink[3] for b in row),
        round(size, 1),
        loose,
        page,
        "ocr",
    )


def _blocks(page: _Page) -> list:
    """The page's Lines and Grids in reading order (corrected page, points)."""
    bounds = [_bbox(cells) for cells in page.tables]
    placed: dict[tuple, list[_Box]] = {}
    free: list[_Box] = []
    for b in page.boxes:
        if not b.text:
            continue
        cell = next((c for c in page.cells if _inside(b.ink, c)), None)
        if cell is not None:
            placed.setdefault(cell, []).append(b)
        elif not any(_inside(b.ink, bb) for bb in bounds):
            free.append(b)
    grids = [_grid(page, cells, placed) for cells in page.tables]
    height = page.image.shape[0] / page.scale
    lines = []
    for row in _rows(free, key=lambda b: b.ink):
        line = _line(row, page.number)
        text = line.text.strip()
        if FRAMED_PAGE_NUMBER.match(text):
            continue
        if PAGE_NUMBER.match(text) and (
            line.top > (1 - MARGIN) * height or line.bottom < MARGIN * height
        ):
            continue
        lines.append(line)
    blocks = [(ln.top, 0, ln) for ln in lines] + [(g.top, 1, g) for g in grids]
    return [b for _, _, b in sorted(blocks, key=lambda b: (b[0], b[1]))]


def prose_wanted() -> bool:
    """Whether the full lines of paragraphs are recognized too (XXGK_OCR_PROSE=1)."""
    import os

    return os.environ.get("XXGK_OCR_PROSE", "") not in ("", "0")


def _to_read(page: _Page, prose: bool) -> list[_Box]:
    """The boxes worth recognizing: all in tables; outside them, by the prose rule above."""
    bounds = [_bbox(cells) for cells in page.tables]
    free = [b for b in page.boxes if not any(_inside(b.ink, bb) for bb in bounds)]
    if prose or not free:
        return page.boxes
    widths = sorted(b.ink[2] - b.ink[0] for b in free)
    full = widths[int(0.9 * (len(widths) - 1))]
    title = TITLE_ZONE * page.image.shape[0] / page.scale if page.number == 1 else -1.0
    skipped = {id(b) for b in free if b.ink[2] - b.ink[0] >= SHORT_LINE * full and b.ink[1] > title}
    return [b for b in page.boxes if id(b) not in skipped]


def read_page(
    image: np.ndarray, number: int, scale: float, verify: bool = True, prose: bool | None = None
) -> PageRead:
    """One page image (HxWx3 uint8) → its blocks, the cells in doubt and the correction applied.

    `scale`: pixels per point of the image (dpi / 72). `verify`: read every numeric cell a second
    time on its own crop (catches misreadings the page pass is sure of). `prose`: recognize the
    full lines of paragraphs too (default: XXGK_OCR_PROSE)."""
    import time

    page = _Page(image, number, scale, verify)
    t = time.perf_counter()
    page.read(_to_read(page, prose_wanted() if prose is None else prose))
    page.timings["recognition"] = time.perf_counter() - t
    t = time.perf_counter()
    blocks = _blocks(page)
    page.timings["cells"] = time.perf_counter() - t
    return PageRead(blocks, page.uncertain_cells, page.correction, scale, number, page.timings)


def ocr_blocks(
    image: np.ndarray, number: int, scale: float, verify: bool = True
) -> tuple[list, dict]:
    """One page image → (its Line and Grid blocks in reading order, {(page, cell box): why} of
    the cells in doubt)."""
    got = read_page(image, number, scale, verify)
    return got.blocks, got.uncertain


def to_original(rendered: Rendered, pages: list[PageRead]) -> Rendered:
    """The rendered text with every box of the OCR'd pages taken back onto the page as it came,
    and each page's correction kept (`Rendered.geometry`: (page, Correction.provenance()) pairs)."""
    by_page = {p.number: p for p in pages}
    spans = []
    for start, end, page, box, route in rendered.spans:
        got = by_page.get(page)
        if got is not None and box is not None and route == "ocr":
            box = got.correction.to_original(box, got.scale)
        spans.append((start, end, page, box, route))
    geometry = tuple((p.number, p.correction.provenance()) for p in pages)
    return Rendered(rendered.text, tuple(spans), rendered.pages, rendered.uncertain, geometry)


def read_image(data: bytes) -> Rendered:
    """An image file (PNG, JPEG, TIFF; each TIFF frame a page) → a Rendered like read_pdf's."""
    from .ingest_pdf import write_blocks

    frames, dpi = image_frames(data)
    pages = [read_page(frame, number, dpi / 72) for number, frame in enumerate(frames, 1)]
    blocks = [b for p in pages for b in p.blocks]
    if not blocks:
        raise InputError("image holds no text OCR can read")
    uncertain = {k: v for p in pages for k, v in p.uncertain.items()}
    return to_original(write_blocks(blocks, len(frames), uncertain), pages)
