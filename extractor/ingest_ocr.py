"""Scans → the blocks ingest_pdf writes out: OCR text boxes placed in the table grid drawn on the page.

OCR is rapidocr-onnxruntime: its ONNX models ship inside the wheel (site-packages/rapidocr_onnxruntime/
models), so nothing is fetched at run time. `available()` tells whether it is installed; without it
the scanned pages keep raising `NeedsOCR`.

A page image is read in three steps:
1. the table grid: the ruling lines are found on the image (morphological opening with long thin
   kernels), turned into edges and handed to pdfplumber's own table finder functions, so a scanned
   table becomes the same `Grid` (merged cells as None copies, rows and columns aligned) as a
   table with a text layer;
2. the text: every OCR box goes into the cell holding its centre (the boxes of a cell joined in
   reading order), or else into a line of text outside the tables (boxes clustered by vertical
   centre, ordered by x);
3. doubt: every numeric cell is read a second time, on its own crop (recognition only, on the
   cell's ink); a cell with ink but no OCR box is read that way too. A cell still unread becomes □
   (illegible: the rule path marks it). A numeric cell whose two readings differ, or that neither
   reading is sure of (confidence under `MIN_CONFIDENCE`), keeps its page reading and goes into
   `uncertain` with why: the pipeline marks it for review with that reason. Confusable characters
   (O, l, I, ε, S, B…) are kept as read: cells.read_cell marks them. Nothing is corrected.
   The angle classifier is off: scans stand upright, and it turns lone digits over (9 → 6).

Boxes are in points (1/72 inch) from the page's top left for PDF pages; for image files in
pixels scaled by 72/`IMAGE_DPI`.
"""

from __future__ import annotations

import io
import re
import statistics
from functools import lru_cache

from .record import LOW_OCR_CONFIDENCE
from .ingest_pdf import (CJK, FRAMED_PAGE_NUMBER, MARGIN, PAGE_NUMBER, Grid, Line, Piece, _join_text)

PDF_DPI = 200  # image-only PDF pages are rendered at this resolution for OCR
IMAGE_DPI = 150  # assumed resolution of an image file (for its boxes in points)
MIN_CONFIDENCE = 0.9
# (a digit somewhere, looked for once, then the characters taken without backtracking: `[…]*\d[…]*$`
# tried every split of a long run of them)
NUMERIC = re.compile(r"^(?=\D*\d)[\s\d.,，OoDlI|εЗSB%+\-]*+$|^[OoDlI|εЗSB]$")


def available() -> bool:
    try:
        import rapidocr_onnxruntime  # noqa: F401
    except Exception:
        return False
    return True


@lru_cache(maxsize=1)
def engine():
    from rapidocr_onnxruntime import RapidOCR

    return RapidOCR()


def model_paths() -> list[str]:
    """The model files the engine loads (all inside the installed package)."""
    import os

    import rapidocr_onnxruntime

    root = os.path.join(os.path.dirname(rapidocr_onnxruntime.__file__), "models")
    return sorted(os.path.join(root, f) for f in os.listdir(root) if f.endswith(".onnx"))


# ---------------------------------------------------------------- images


def pdf_page_images(data: bytes, pages: list[int], dpi: int = PDF_DPI):
    """Render the given 1-based pages of a PDF to RGB numpy arrays with pypdfium2."""
    import numpy as np
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(data)
    try:
        for number in pages:
            bitmap = pdf[number - 1].render(scale=dpi / 72)
            yield number, np.array(bitmap.to_pil().convert("RGB"))
    finally:
        pdf.close()


def image_frames(data: bytes):
    """The frames of an image file (a TIFF may hold several pages) as RGB numpy arrays."""
    import numpy as np
    from PIL import Image, ImageSequence

    from .errors import InputError

    try:
        im = Image.open(io.BytesIO(data))
        frames = [np.array(f.convert("RGB")) for f in ImageSequence.Iterator(im)]
    except Exception as e:
        raise InputError(f"image cannot be read: {type(e).__name__}") from None
    return frames


# ---------------------------------------------------------------- one page


def _ink(gray):
    import cv2

    return cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, 25, 15)


def _rulings(ink, scale: float) -> tuple[list[dict], object]:
    """Ruling lines as pdfplumber edges (in points), and the mask of their pixels."""
    import cv2

    h, w = ink.shape
    edges: list[dict] = []
    masks = []
    for orient, kernel in (("h", (max(w // 25, 20), 1)), ("v", (1, max(h // 60, 15)))):
        mask = cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, kernel))
        masks.append(mask)
        n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        for x, y, bw, bh, _area in stats[1:n]:
            if orient == "h":
                yc = (y + bh / 2) / scale
                x0, x1, top, bottom = x / scale, (x + bw) / scale, yc, yc
            else:
                xc = (x + bw / 2) / scale
                x0, x1, top, bottom = xc, xc, y / scale, (y + bh) / scale
            edges.append({"x0": x0, "x1": x1, "top": top, "bottom": bottom, "doctop": top,
                          "width": x1 - x0, "height": bottom - top, "orientation": orient, "object_type": "line"})
    return edges, cv2.bitwise_or(*masks)


def _tables(edges: list[dict]) -> list[list[tuple]]:
    """Cells of the ruled tables (pdfplumber's finder on the image's rulings); one-column frames dropped."""
    from pdfplumber.table import cells_to_tables, edges_to_intersections, intersections_to_cells, merge_edges

    if not edges:
        return []
    merged = merge_edges(edges, 3, 3, 3, 3)
    merged = [e for e in merged if (e["x1"] - e["x0"] if e["orientation"] == "h" else e["bottom"] - e["top"]) >= 8]
    cells = intersections_to_cells(edges_to_intersections(merged, 3, 3))
    return [c for c in cells_to_tables(cells) if len({round(x[0]) for x in c}) >= 2]


def _centre(box):
    return ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)


def _inside(box, cell) -> bool:
    x, y = _centre(box)
    return cell[0] <= x < cell[2] and cell[1] <= y < cell[3]


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


class _Page:
    def __init__(self, image, number: int, scale: float, verify: bool = True):
        import cv2

        self.verify = verify
        self.image = image
        self.number = number
        self.scale = scale
        self.gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        self.ink = _ink(self.gray)
        edges, self.lines_mask = _rulings(self.ink, scale)
        self.text_ink = cv2.subtract(self.ink, cv2.dilate(self.lines_mask, None, iterations=2))
        self.tables = _tables(edges)
        self.uncertain_cells: dict[tuple, str] = {}  # (page, cell box) of numeric cells still in doubt → why

    def ocr(self) -> list[tuple]:
        """(box in points, text, confidence) of every OCR box."""
        result, _ = engine()(self.image, use_cls=False)  # scans stand upright: the angle classifier flips lone digits (9 → 6)
        out = []
        for quad, text, score in result or []:
            xs = [p[0] for p in quad]
            ys = [p[1] for p in quad]
            box = (min(xs) / self.scale, min(ys) / self.scale, max(xs) / self.scale, max(ys) / self.scale)
            out.append((tuple(round(float(v), 2) for v in box), text.strip(), float(score)))
        return [o for o in out if o[1]]

    def crop(self, cell, pad: float = 1.5):
        s = self.scale
        h, w = self.gray.shape
        x0, y0 = max(int((cell[0] + pad) * s), 0), max(int((cell[1] + pad) * s), 0)
        x1, y1 = min(int((cell[2] - pad) * s), w), min(int((cell[3] - pad) * s), h)
        return (x0, y0, x1, y1) if x1 > x0 + 2 and y1 > y0 + 2 else None

    def has_ink(self, cell) -> bool:
        c = self.crop(cell, pad=2.5)
        if c is None:
            return False
        patch = self.text_ink[c[1]:c[3], c[0]:c[2]]
        return int((patch > 0).sum()) >= max(12, 0.002 * patch.size)

    def reread(self, cell) -> tuple[str, float] | None:
        """Recognition alone on the ink of the cell's crop (one line; a white border added), or None."""
        import cv2
        import numpy as np

        c = self.crop(cell, pad=2.5)
        if c is None:
            return None
        ys, xs = np.nonzero(self.text_ink[c[1]:c[3], c[0]:c[2]])
        if len(xs) < 12:
            return None
        pad = 4
        x0, x1 = max(c[0] + xs.min() - pad, 0), min(c[0] + xs.max() + pad + 1, self.image.shape[1])
        y0, y1 = max(c[1] + ys.min() - pad, 0), min(c[1] + ys.max() + pad + 1, self.image.shape[0])
        patch = cv2.copyMakeBorder(self.image[y0:y1, x0:x1], 8, 8, 8, 8, cv2.BORDER_CONSTANT, value=(255, 255, 255))
        result, _ = engine()(patch, use_det=False, use_cls=False)
        if not result or not result[0][0].strip():
            return None
        return result[0][0].strip(), float(result[0][1])

    def cell_text(self, cell, boxes: list[tuple]) -> str:
        text = ""
        for row in _rows(boxes):
            for _, t, _ in row:
                if FRAMED_PAGE_NUMBER.match(t):
                    continue
                text += _join_text(text, t) + t
        text = text.replace("\t", " ").strip()
        score = min((b[2] for b in boxes), default=1.0)
        if not text and self.has_ink(cell):
            again = self.reread(cell)
            if again is None or not again[0]:
                return "□"  # ink OCR cannot read: illegible, never empty
            text, score = again
            if NUMERIC.match(text) and score < MIN_CONFIDENCE:
                self.uncertain_cells[(self.number, cell)] = f"{LOW_OCR_CONFIDENCE} ({score:.3f}, read on the cell's crop)"
            return text
        if NUMERIC.match(text) and self.verify:
            # every number is read twice: on the page and on its own crop; they must agree, one of them surely
            again = self.reread(cell)
            if again is None or _digits(again[0]) != _digits(text):
                seen = again[0] if again else "nothing"
                self.uncertain_cells[(self.number, cell)] = f"OCR re-read of the cell's crop gives {seen!r}, not {text!r}"
            elif max(score, again[1]) < MIN_CONFIDENCE:
                self.uncertain_cells[(self.number, cell)] = f"{LOW_OCR_CONFIDENCE} ({max(score, again[1]):.3f})"
        elif NUMERIC.match(text) and score < MIN_CONFIDENCE:
            self.uncertain_cells[(self.number, cell)] = f"{LOW_OCR_CONFIDENCE} ({score:.3f})"
        return text

    def blocks(self, boxes: list[tuple], height: float) -> list:
        grids = []
        used: set[int] = set()
        for cells in self.tables:
            from pdfplumber.table import Table

            table = Table(None, cells)
            bbox = table.bbox
            mine = [i for i, b in enumerate(boxes) if _inside(b[0], bbox)]
            used.update(mine)
            rows = []
            for row in table.rows:
                out = []
                for cell in row.cells:
                    if cell is None:
                        out.append(None)
                        continue
                    box = tuple(round(float(v), 2) for v in cell)
                    inner = [boxes[i] for i in mine if _inside(boxes[i][0], cell)]
                    out.append((self.cell_text(box, inner), box, self.number))
                rows.append(out)
            grids.append(Grid(rows, bbox[1], bbox[3], self.number, bbox[0], bbox[2], route="ocr"))
        free = [b for i, b in enumerate(boxes) if i not in used]
        lines = []
        for row in _rows(free):
            line = _line(row, self.number)
            text = line.text.strip()
            if FRAMED_PAGE_NUMBER.match(text):
                continue
            if PAGE_NUMBER.match(text) and (line.top > (1 - MARGIN) * height or line.bottom < MARGIN * height):
                continue
            lines.append(line)
        blocks = [(ln.top, 0, ln) for ln in lines] + [(g.top, 1, g) for g in grids]
        return [b for _, _, b in sorted(blocks, key=lambda b: (b[0], b[1]))]


def _digits(text: str) -> str:
    """A number's text for comparing two readings: spaces and stray edge punctuation dropped."""
    return re.sub(r"\s+", "", text).strip(".,，:：;'\"`")


def _line(row: list[tuple], page: int) -> Line:
    sizes = [b[3] - b[1] for b, _, _ in row]
    size = statistics.median(sizes) * 0.9  # an OCR box stands a little taller than the glyphs
    pieces: list[Piece] = []
    loose = False
    prev = None
    for box, text, _ in row:
        if prev is not None:
            gap = box[0] - prev[2]
            loose = loose or gap > 1.5 * size
            both_cjk = bool(CJK.match(pieces[-1].text[-1])) and bool(CJK.match(text[0]))
            if gap > 1.5 * size or not both_cjk:
                pieces.append(Piece(" ", None))
        pieces.append(Piece(text, box))
        prev = box
    x0 = min(b[0] for b, _, _ in row)
    return Line(pieces, x0, min(b[1] for b, _, _ in row), max(b[2] for b, _, _ in row), max(b[3] for b, _, _ in row),
                round(size, 1), loose, page, "ocr")


def ocr_blocks(image, number: int, scale: float, verify: bool = True) -> tuple[list, dict]:
    """One page image → (its Line and Grid blocks in reading order, {(page, cell box): why} of cells in doubt).

    `verify`: re-read every numeric cell on its own crop (slower, catches misreadings the page pass is sure of).
    """
    page = _Page(image, number, scale, verify)
    boxes = page.ocr()
    blocks = page.blocks(boxes, image.shape[0] / scale)
    return blocks, page.uncertain_cells


def read_image(data: bytes):
    """An image file (PNG, JPEG, TIFF; each TIFF frame a page) → a Rendered like read_pdf's."""
    from .errors import InputError
    from .ingest_pdf import write_blocks

    blocks: list = []
    uncertain: dict = {}
    frames = image_frames(data)
    for number, frame in enumerate(frames, 1):
        got, doubt = ocr_blocks(frame, number, IMAGE_DPI / 72)
        blocks += got
        uncertain.update(doubt)
    if not blocks:
        raise InputError("image holds no text OCR can read")
    return write_blocks(blocks, len(frames), uncertain)
