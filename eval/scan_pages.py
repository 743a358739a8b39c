"""Reports drawn as printed pages of the official template, then scanned: what bench_scans reads.

    pages = draw_report(golden_fields, dpi=200, font=find_font())   # PIL images, one a page
    scan = degrade(page, Scan(skew=1.0, noise=True, jpeg=80), rng)   # as a scanner gives it

The tables are the template's (synth_values: table 2's sections, table 3's three label columns
with merged group labels, table 4's two header bands), ruled, labels wrapped in their cells,
values centred; a blank (null) is drawn as an empty cell. Drawing needs a CJK font:
`find_font()` looks for one (Debian: fonts-arphic-uming or fonts-wqy-microhei).
"""

from __future__ import annotations

import io
import math
import random
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# a cell with its spans, as the stress corpus lays them
from extractor.synth_page import Cell  # noqa: E402
from extractor.synth_values import T3_HEADER, _num, label_spans, t2_spec, t3_rows  # noqa: E402

PAGE_W, PAGE_H = 595.0, 842.0  # A4 in points
LEFT, TOP, WIDTH = 72.0, 72.0, 451.0
FONTS = [
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
]


def find_font() -> str | None:
    """A font file with Chinese glyphs: a known Debian path, else what fontconfig knows."""
    for path in FONTS:
        if Path(path).exists():
            return path
    try:
        out = subprocess.run(
            ["fc-list", ":lang=zh", "file"], capture_output=True, text=True, timeout=10
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    files = [line.split(":")[0].strip() for line in out.splitlines() if line.strip()]
    return files[0] if files else None


# ---------------------------------------------------------------- tables as cells


def _value(fields: dict, key: str) -> str:
    v = fields.get(key)
    return "" if v is None else _num(v)


def table2(fields: dict, template: str) -> tuple[list[Cell], list[float]]:
    cells: list[Cell] = []
    r = 0
    for item in t2_spec(template):
        if item[0] == "section":
            cells.append(Cell(r, 0, item[1], colspan=4))
        elif item[0] == "header":
            heads = item[1]
            cells += _spread(r, heads)
        else:
            cells += _spread(r, [item[1]] + [_value(fields, k) for k in item[2]])
        r += 1
    return cells, [130.0, 107.0, 107.0, 107.0]


def _spread(r: int, texts: list[str]) -> list[Cell]:
    """A row of 1 + n cells over four columns: the last one takes the columns left over."""
    out = [Cell(r, i, t) for i, t in enumerate(texts[:-1])]
    out.append(Cell(r, len(texts) - 1, texts[-1], colspan=4 - (len(texts) - 1)))
    return out


def table3(fields: dict, template: str) -> tuple[list[Cell], list[float]]:
    cells = [
        Cell(0, 0, T3_HEADER[0][0], rowspan=3, colspan=3),
        Cell(0, 3, "申请人情况", colspan=7),
        Cell(1, 3, "自然人", rowspan=2),
        Cell(1, 4, "法人或其他组织", colspan=5),
        Cell(1, 9, "总计", rowspan=2),
    ]
    cells += [Cell(2, 4 + i, w) for i, w in enumerate(T3_HEADER[2][4:9])]
    rows = t3_rows(template)
    labels = [list(lab) + [""] * (3 - len(lab)) for _, lab in rows]
    cols = ("natural", "commercial", "research", "social", "legal", "other_org", "total")
    for i, j, text, down, across in label_spans(labels):
        cells.append(Cell(3 + i, j, text, down, across))
    for i, (row, _) in enumerate(rows):
        cells += [Cell(3 + i, 3 + c, _value(fields, f"t3.{row}.{c_}")) for c, c_ in enumerate(cols)]
    return cells, [34.0, 52.0, 92.0] + [39.0] * 7


def table4(fields: dict) -> tuple[list[Cell], list[float]]:
    heads = ["结果维持", "结果纠正", "其他结果", "尚未审结", "总计"]
    cells = [
        Cell(0, 0, "行政复议", colspan=5),
        Cell(0, 5, "行政诉讼", colspan=10),
        Cell(1, 5, "未经复议直接起诉", colspan=5),
        Cell(1, 10, "复议后起诉", colspan=5),
    ]
    cells += [Cell(1, i, h, rowspan=2) for i, h in enumerate(heads)]
    cells += [Cell(2, 5 + i, h) for i, h in enumerate(heads * 2)]
    parts = ("upheld", "corrected", "other", "pending", "total")
    values = [
        _value(fields, f"t4.{g}.{p}")
        for g in ("review", "suit_direct", "suit_after_review")
        for p in parts
    ]
    cells += [Cell(3, i, v) for i, v in enumerate(values)]
    return cells, [WIDTH / 15] * 15


# ---------------------------------------------------------------- drawing


class Pager:
    """Pages of A4 drawn top to bottom at a resolution; a new page where the next block does
    not fit."""

    def __init__(self, dpi: int, font: str):
        self.s = dpi / 72.0
        self.font_path = font
        self.fonts: dict[float, ImageFont.FreeTypeFont] = {}
        self.pages: list[Image.Image] = []
        self.y = PAGE_H
        self.number = 0
        self.corners: list[
            tuple[int, float, float]
        ] = []  # each table's lower right corner: (page index, x, y) in points

    def font(self, size: float) -> ImageFont.FreeTypeFont:
        if size not in self.fonts:
            self.fonts[size] = ImageFont.truetype(self.font_path, max(6, round(size * self.s)))
        return self.fonts[size]

    def room(self, height: float) -> None:
        if self.y + height > PAGE_H - 60:
            self._new_page()

    def _new_page(self) -> None:
        if self.pages:
            self._footer()
        self.pages.append(
            Image.new("RGB", (round(PAGE_W * self.s), round(PAGE_H * self.s)), "white")
        )
        self.draw = ImageDraw.Draw(self.pages[-1])
        self.y = TOP
        self.number += 1

    def _footer(self) -> None:
        self.text_at(f"- {self.number} -", PAGE_W / 2 - 12, PAGE_H - 45, 10.5)

    def text_at(self, text: str, x: float, y: float, size: float) -> None:
        self.draw.text((x * self.s, y * self.s), text, fill=(20, 20, 20), font=self.font(size))

    def width(self, text: str, size: float) -> float:
        return self.font(size).getlength(text) / self.s

    def line(
        self, text: str, size: float = 12.0, centre: bool = False, indent: float = 0.0
    ) -> None:
        self.room(size * 1.8)
        x = LEFT + (WIDTH - self.width(text, size)) / 2 if centre else LEFT + indent
        self.text_at(text, x, self.y, size)
        self.y += size * 1.8

    def paragraph(self, text: str, size: float = 12.0) -> None:
        for i, chunk in enumerate(wrap(text, WIDTH - 2 * size, size, self)):
            self.line(chunk, size, indent=2 * size if i == 0 else 0.0)

    def table(self, cells: list[Cell], widths: list[float], size: float = 10.5) -> None:
        """Rows placed one by one, a page break where the next row does not fit; a cell that spans
        down over a break is drawn in parts, its text in the tallest part."""
        heights = _row_heights(cells, widths, size, self)
        xs = [LEFT + sum(widths[:i]) for i in range(len(widths) + 1)]
        place: list[tuple[int, float]] = []  # each row's page index and top
        for h in heights:
            self.room(h)
            place.append((len(self.pages) - 1, self.y))
            self.y += h
        for c in cells:
            self._cell(c, xs, place, heights, size)
        self.corners.append((len(self.pages) - 1, xs[-1], self.y))
        self.y += 14

    def _cell(
        self, c: Cell, xs: list[float], place: list, heights: list[float], size: float
    ) -> None:
        s = self.s
        x0, x1 = xs[c.col], xs[c.col + c.colspan]
        parts: dict[int, list[float]] = {}
        for r in range(c.row, c.row + c.rowspan):
            page, top = place[r]
            span = parts.setdefault(page, [top, top])
            span[1] = top + heights[r]
        best = max(parts, key=lambda k: parts[k][1] - parts[k][0])
        for page, (y0, y1) in parts.items():
            draw = ImageDraw.Draw(self.pages[page])
            draw.rectangle(
                [x0 * s, y0 * s, x1 * s, y1 * s], outline=(0, 0, 0), width=max(1, round(0.75 * s))
            )
            if page != best:
                continue
            lines = wrap(c.text, x1 - x0 - 4, size, self)
            top = (y0 + y1) / 2 - len(lines) * size * 1.3 / 2
            for i, text in enumerate(lines):
                x = (x0 + x1) / 2 - self.width(text, size) / 2
                draw.text(
                    (x * s, (top + i * size * 1.3) * s),
                    text,
                    fill=(20, 20, 20),
                    font=self.font(size),
                )

    def finish(self) -> list[Image.Image]:
        self._footer()
        return self.pages


def wrap(text: str, width: float, size: float, pager: Pager) -> list[str]:
    """Characters into lines no wider than `width` points."""
    lines, cur = [], ""
    for ch in text:
        if cur and pager.width(cur + ch, size) > width:
            lines.append(cur)
            cur = ""
        cur += ch
    return lines + [cur] if cur else lines or [""]


def _row_heights(cells: list[Cell], widths: list[float], size: float, pager: Pager) -> list[float]:
    n = max(c.row + c.rowspan for c in cells)
    heights = [size * 2.0] * n
    for c in sorted(cells, key=lambda c: c.rowspan):
        need = (
            len(wrap(c.text, sum(widths[c.col : c.col + c.colspan]) - 4, size, pager)) * size * 1.3
            + 8
        )
        have = sum(heights[c.row : c.row + c.rowspan])
        if need > have:
            heights[c.row + c.rowspan - 1] += need - have
    return heights


PROSE = (
    "本年度，本机关坚持以公开为常态、不公开为例外，认真贯彻落实《中华人民共和国政府信息公开条例》，"
    "围绕中心工作，加强组织领导，完善工作机制，不断提升政府信息公开工作质量。"
)


def draw_report(
    fields: dict, dpi: int, font: str
) -> tuple[list[Image.Image], tuple[int, float, float]]:
    """A report's values drawn as printed A4 pages of its template (2019 or 2021), and where
    table 3's lower right corner stands: (page index, x, y) in points."""
    template = str(fields.get("meta.template") or "2021")
    agency = fields.get("meta.agency") or "某某区人民政府"
    year = fields.get("meta.year") or 2023
    p = Pager(dpi, font)
    p._new_page()
    p.line(f"{agency}", 18, centre=True)
    p.line(f"{year}年政府信息公开工作年度报告", 18, centre=True)
    p.line("一、总体情况", 14)
    p.paragraph(PROSE)
    p.line("二、主动公开政府信息情况", 14)
    p.table(*table2(fields, template))
    p.line("三、收到和处理政府信息公开申请情况", 14)
    p.table(*table3(fields, template))
    p.line("四、政府信息公开行政复议、行政诉讼情况", 14)
    p.table(*table4(fields))
    p.line("五、存在的主要问题及改进情况", 14)
    p.paragraph(PROSE)
    p.line("六、其他需要报告的事项", 14)
    p.paragraph("本年度无其他需要报告的事项。")
    return p.finish(), p.corners[1]


# ---------------------------------------------------------------- scanning


@dataclass(frozen=True)
class Scan:
    """What happens to a printed page on its way to a file."""

    skew: float = 0.0  # degrees, either way at random
    rotation: int = 0  # 90 / 180 / 270: fed in turned
    noise: bool = True  # sensor noise and specks
    jpeg: int = 80  # quality; 0: kept lossless
    seal: bool = False  # a red seal stamped over table 3's lower right corner
    photo: bool = False  # a phone photo: perspective, uneven light, a desk around the page


def stamp_seal(page: Image.Image, centre: tuple[float, float], radius: float) -> Image.Image:
    """A red 公章 (ring, star, marks round the rim) multiplied onto the page: ink stays dark."""
    w, h = page.size
    layer = Image.new("RGB", (w, h), "white")
    d = ImageDraw.Draw(layer)
    cx, cy = centre
    red = (215, 40, 45)
    d.ellipse(
        [cx - radius, cy - radius, cx + radius, cy + radius],
        outline=red,
        width=max(2, int(radius / 14)),
    )
    star = [
        (
            cx + radius * 0.33 * math.cos(math.radians(-90 + 36 * k)) * (1 if k % 2 == 0 else 0.4),
            cy + radius * 0.33 * math.sin(math.radians(-90 + 36 * k)) * (1 if k % 2 == 0 else 0.4),
        )
        for k in range(10)
    ]
    d.polygon(star, fill=red)
    for k in range(12):  # the agency's name round the rim, as strokes
        a = math.radians(200 + 12 * k)
        x, y = cx + radius * 0.72 * math.cos(a), cy + radius * 0.72 * math.sin(a)
        d.rectangle(
            [x - radius * 0.07, y - radius * 0.07, x + radius * 0.07, y + radius * 0.07],
            outline=red,
            width=max(1, int(radius / 25)),
        )
    arr = np.minimum(
        np.asarray(page, dtype=np.uint16) * np.asarray(layer, dtype=np.uint16) // 255, 255
    )
    return Image.fromarray(arr.astype(np.uint8))


def _photo(img: Image.Image, rng: random.Random) -> Image.Image:
    import cv2

    a = np.asarray(img)
    h, w = a.shape[:2]
    border = int(0.06 * w)
    canvas = np.full((h + 2 * border, w + 2 * border, 3), (90, 80, 70), np.uint8)
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    k = [rng.uniform(0.01, 0.045) * w for _ in range(4)]
    dst = np.float32(
        [
            [border + k[0], border + k[1] * 0.5],
            [border + w - k[1], border + k[2] * 0.3],
            [border + w - k[2] * 0.4, border + h - k[3] * 0.2],
            [border + k[3] * 0.6, border + h],
        ]
    )
    m = cv2.getPerspectiveTransform(src, dst)
    out = cv2.warpPerspective(
        a, m, (canvas.shape[1], canvas.shape[0]), dst=canvas, borderMode=cv2.BORDER_TRANSPARENT
    )
    yy, xx = np.mgrid[0 : out.shape[0], 0 : out.shape[1]]
    light = 1.0 - 0.22 * (
        (xx / out.shape[1] - rng.uniform(0.2, 0.8)) ** 2 + (yy / out.shape[0] - 0.3) ** 2
    )
    out = np.clip(out.astype(np.float32) * light[..., None], 0, 255).astype(np.uint8)
    return Image.fromarray(out).filter(ImageFilter.GaussianBlur(0.6))


def degrade(
    img: Image.Image, scan: Scan, rng: random.Random, seal_at: tuple | None = None
) -> Image.Image:
    """The page as scanned: seal, skew, rotation, photo, noise, JPEG."""
    if scan.seal and seal_at is not None:
        img = stamp_seal(img, seal_at[:2], seal_at[2])
    if scan.skew:
        img = img.rotate(
            scan.skew * rng.choice((-1, 1)), resample=Image.BICUBIC, expand=False, fillcolor="white"
        )
    if scan.photo:
        img = _photo(img, rng)
    if scan.rotation:
        img = img.rotate(-scan.rotation, expand=True)
    if scan.noise:
        a = np.asarray(img).astype(np.int16)
        nr = np.random.default_rng(rng.randrange(1 << 30))
        a = a + nr.normal(0, 6, a.shape).astype(np.int16)
        specks = nr.random(a.shape[:2]) < 0.0004
        a[specks] = 30
        img = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
    if scan.jpeg:
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=scan.jpeg)
        img = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    return img


def image_pdf(images: list[Image.Image], dpi: int) -> bytes:
    """An image-only PDF: one scanned image a page, no text layer."""
    buf = io.BytesIO()
    images[0].save(buf, "PDF", save_all=True, append_images=images[1:], resolution=dpi)
    return buf.getvalue()
