"""Page geometry of a scan, before it is read: red seals taken out, the page turned upright,
deskewed and its perspective undone, all with OpenCV (opencv-python-headless).

Why OpenCV rather than scikit-image: the OCR package (rapidocr) is built on OpenCV already, so
it costs no second image library; and its warps, morphology and contour functions run in C++
(a 200 dpi A4 page is warped in about 10 ms, where scikit-image's `warp` takes half a second),
which matters at a page a second.

The steps, each measured on the page itself:

1. `remove_red`: a red seal (公章) stamped over a table is turned white by its colour (hue red,
   saturated, not dark), so black digits under it stay and the seal's ring does not read as ink
   or ruling lines. Where a cell lay under the seal is kept (`Correction.sealed`).
2. `measure`: a page whose lines of text run down lies on its side (`lies_on_its_side`) and is
   turned a quarter first. Its skew is the angle whose horizontal projection profile is sharpest
   (text lines and ruling lines turned level make tall, narrow peaks), searched to `SKEW_LIMIT`
   either way on a copy `WORK_SIDE` pixels long and refined on a copy twice that size. Whether
   the page then stands on its head is told by the text (ingest_ocr asks the OCR's direction
   classifier), and `turn` adds the half turn.
3. `keystone`: a photo of a page makes the table's ruled frame a trapezoid; the four corners of
   the largest ruled frame (or of the page against a darker background) are taken to a rectangle
   of the same mean sides (a homography), when they stand off it by more than `KEYSTONE_MIN`.

Everything is one 3x3 matrix from the original pixels to the corrected ones (`Correction.matrix`),
applied in a single warp; `Correction.to_original` takes a box read on the corrected page back
onto the original page, so a value's box can be drawn on the scan as it came.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

WORK_SIDE = 1000  # px: the long side of the copy angles are first measured on
SKEW_LIMIT = 10.0  # degrees searched either way (real scans: 0.5-3°; the issue asks for ±5°)
SKEW_MIN = 0.02  # degrees: a page askew by less is not resampled
KEYSTONE_MIN = 0.003  # share of the frame's diagonal a corner must stand off its rectangle
QUARTER_RATIO = 1.3  # runs of text down / across above which a page lies on its side
RED_HUE = 12  # OpenCV hues (0-180) within this of pure red are red ink
RED_SATURATION = 70  # 0-255: below it a pixel is grey (paper, black ink, shadow)
RED_VALUE = 90  # 0-255: below it a pixel is dark (black ink, even under a seal)
RED_PAPER = 150  # 0-255: a pixel under red ink whose red channel is this bright was paper there
IDENTITY = ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0))


@dataclass(frozen=True)
class Correction:
    """How a page image was stood straight before it was read.

    rotation: degrees turned clockwise to stand it upright (0, 90, 180 or 270);
    skew: degrees turned counter-clockwise after that to level its lines (the page lay askew
    by the opposite); keystone: how far the perspective correction moved the frame's corners,
    as a share of its diagonal (0.0: none); matrix: original pixels → corrected pixels (3x3,
    row-major); size: (width, height) of the corrected image in pixels; sealed: share of the
    page's pixels a red seal covered.
    """

    rotation: int = 0
    skew: float = 0.0
    keystone: float = 0.0
    matrix: tuple = IDENTITY
    size: tuple[int, int] = (0, 0)
    sealed: float = 0.0
    # uint8, corrected pixels
    seal_mask: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def changed(self) -> bool:
        return self.matrix != IDENTITY

    def to_original(self, box: tuple, scale: float) -> tuple:
        """A box (x0, top, x1, bottom) in points on the corrected page → the box around it on
        the original page, in points (pixels / `scale`). Points are 1/72 inch at the page's dpi."""
        if not self.changed:
            return box
        inverse = np.linalg.inv(np.array(self.matrix))
        x0, y0, x1, y1 = (v * scale for v in box)
        corners = np.array([[[x0, y0], [x1, y0], [x1, y1], [x0, y1]]], dtype=np.float64)
        back = cv2.perspectiveTransform(corners, inverse)[0] / scale
        return (
            round(float(back[:, 0].min()), 2),
            round(float(back[:, 1].min()), 2),
            round(float(back[:, 0].max()), 2),
            round(float(back[:, 1].max()), 2),
        )

    def provenance(self) -> dict:
        """What was done to the page, for the record: {"rotation", "skew", "keystone", "sealed"}."""
        return {
            "rotation": self.rotation,
            "skew": round(self.skew, 2),
            "keystone": round(self.keystone, 4),
            "sealed": round(self.sealed, 4),
        }


# ---------------------------------------------------------------- red seals


def remove_red(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """(the image with red ink taken out, the mask of where it was, or None when there was none).

    rgb: HxWx3 uint8. Where red ink lies (and its fringe), a pixel becomes its red channel: the
    seal's red is as bright there as paper and turns white, while black ink (a digit or a ruling
    line under the seal, even tinged red by JPEG's colour smearing) stays dark."""
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        return rgb, None
    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)
    hue, sat, val = hsv[:, :, 0], hsv[:, :, 1], hsv[:, :, 2]
    red = ((hue <= RED_HUE) | (hue >= 180 - RED_HUE)) & (sat >= RED_SATURATION) & (val >= RED_VALUE)
    if (
        int(np.count_nonzero(red)) < 0.0005 * red.size
    ):  # a red word or a thin line: not a seal, nothing to do
        return rgb, None
    mask = cv2.dilate(red.astype(np.uint8) * 255, np.ones((5, 5), np.uint8))
    where = mask > 0
    r = rgb[:, :, 0][where]
    out = rgb.copy()
    out[where] = np.where(r >= RED_PAPER, 255, r)[:, None]
    return out, mask


# ---------------------------------------------------------------- skew and quarter turns


def ink_of(gray: np.ndarray, block: int = 25) -> np.ndarray:
    """Dark marks against the paper around them (uneven light allowed): uint8 0/255."""
    block = max(3, block | 1)
    return cv2.adaptiveThreshold(
        gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, block, 15
    )


def _sharpness(xs: np.ndarray, ys: np.ndarray, angles: np.ndarray, size: int) -> np.ndarray:
    """For each angle (degrees): the sum of squared steps of the ink's horizontal projection
    profile once the points are turned by it (the sharper the lines, the larger)."""
    out = np.empty(len(angles))
    for i, a in enumerate(np.deg2rad(angles)):
        y = (ys * math.cos(a) - xs * math.sin(a) + size / 2).astype(np.int64)
        profile = np.bincount(np.clip(y, 0, size - 1), minlength=size).astype(np.float64)
        out[i] = float(np.sum(np.diff(profile) ** 2))
    return out


def _points(ink: np.ndarray, limit: int = 200_000) -> tuple[np.ndarray, np.ndarray, int]:
    ys, xs = np.nonzero(ink)
    if len(xs) > limit:  # an even sample: the profile's shape is kept
        step = len(xs) // limit + 1
        ys, xs = ys[::step], xs[::step]
    h, w = ink.shape
    return xs - w / 2.0, ys - h / 2.0, int(math.hypot(h, w)) + 2


def _best_angle(ink: np.ndarray, centre: float, half: float, step: float) -> tuple[float, float]:
    xs, ys, size = _points(ink)
    if len(xs) < 50:
        return centre, 0.0
    angles = np.arange(centre - half, centre + half + step / 2, step)
    scores = _sharpness(xs.astype(np.float64), ys.astype(np.float64), angles, size)
    i = int(np.argmax(scores))
    return float(angles[i]), float(scores[i])


def _shrink(gray: np.ndarray, side: int) -> tuple[np.ndarray, float]:
    f = min(1.0, side / max(gray.shape))
    small = cv2.resize(gray, None, fx=f, fy=f, interpolation=cv2.INTER_AREA) if f < 1 else gray
    return small, f


def _text_only(ink: np.ndarray) -> np.ndarray:
    """The ink without its ruling lines (long runs either way)."""
    h, w = ink.shape
    lines = cv2.bitwise_or(
        cv2.morphologyEx(
            ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (max(w // 30, 10), 1))
        ),
        cv2.morphologyEx(
            ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, max(h // 30, 10)))
        ),
    )
    return cv2.subtract(ink, cv2.dilate(lines, np.ones((3, 3), np.uint8)))


def lies_on_its_side(ink: np.ndarray) -> bool:
    """Whether the page's lines of text run down rather than across.

    Its characters smeared sideways by half a character join into lines of text (runs much
    wider than tall) on an upright page; smeared downward they join only on a page on its side.
    The projection profile cannot tell: a table's columns of figures are as sharp as its rows."""
    text = _text_only(ink)
    n, _, stats, _ = cv2.connectedComponentsWithStats(text, connectivity=8)
    sizes = [max(st[2], st[3]) for st in stats[1:n] if max(st[2], st[3]) >= 3]
    if len(sizes) < 10:
        return False
    char = float(np.median(sizes))
    k = max(2, int(round(0.6 * char)))
    across = _runs(cv2.dilate(text, cv2.getStructuringElement(cv2.MORPH_RECT, (k, 1))), 2, char)
    down = _runs(cv2.dilate(text, cv2.getStructuringElement(cv2.MORPH_RECT, (1, k))), 3, char)
    return down >= 5 and down > QUARTER_RATIO * across


def _runs(mask: np.ndarray, axis: int, char: float) -> int:
    """Marks far longer along `axis` (2: across, 3: down, OpenCV's stats) than the other way."""
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    st = stats[1:n]
    other = 5 - axis
    return int(np.sum((st[:, axis] > 2.5 * st[:, other]) & (st[:, axis] > 2 * char)))


def measure(gray: np.ndarray, limit: float = SKEW_LIMIT) -> tuple[int, float]:
    """(quarter turn clockwise to apply: 0 or 90, degrees to turn counter-clockwise after it).

    gray: HxW uint8 page image. The skew is measured to about 0.02° on pages with lines of text
    or ruled tables; a page of nothing but a picture gives 0."""
    small, _ = _shrink(gray, WORK_SIDE)
    ink = ink_of(small, 15)
    quarter = 90 if lies_on_its_side(ink) else 0
    if quarter:
        gray = np.ascontiguousarray(np.rot90(gray, -1))
        ink = np.ascontiguousarray(np.rot90(ink, -1))
    coarse, _ = _best_angle(ink, 0.0, limit, 0.5)
    angle, _ = _best_angle(ink, coarse, 0.5, 0.05)
    mid, _ = _shrink(gray, 2 * WORK_SIDE)
    angle, _ = _best_angle(ink_of(mid, 21), angle, 0.08, 0.01)
    return quarter, round(angle, 2)


# ---------------------------------------------------------------- the matrices


def _quarter_matrix(turn: int, w: int, h: int) -> tuple[np.ndarray, tuple[int, int]]:
    """Clockwise quarter turns of a w x h image: (3x3 matrix, new size)."""
    turn %= 360
    if turn == 90:
        return np.array([[0, -1, h], [1, 0, 0], [0, 0, 1]], np.float64), (h, w)
    if turn == 180:
        return np.array([[-1, 0, w], [0, -1, h], [0, 0, 1]], np.float64), (w, h)
    if turn == 270:
        return np.array([[0, 1, 0], [-1, 0, w], [0, 0, 1]], np.float64), (h, w)
    return np.eye(3), (w, h)


def _skew_matrix(angle: float, w: int, h: int) -> tuple[np.ndarray, tuple[int, int]]:
    """Turn by `angle` degrees counter-clockwise about the centre, on a canvas that holds it all."""
    if abs(angle) < SKEW_MIN:
        return np.eye(3), (w, h)
    m = np.vstack([cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0), [0, 0, 1]])
    return _fit(m, w, h)


def _fit(m: np.ndarray, w: int, h: int) -> tuple[np.ndarray, tuple[int, int]]:
    """The matrix moved so that the whole w x h image lands on the new canvas; (matrix, size)."""
    corners = np.array([[[0, 0], [w, 0], [w, h], [0, h]]], np.float64)
    moved = cv2.perspectiveTransform(corners, m)[0]
    x0, y0 = moved.min(axis=0)
    x1, y1 = moved.max(axis=0)
    shift = np.array([[1, 0, -x0], [0, 1, -y0], [0, 0, 1]], np.float64)
    return shift @ m, (int(math.ceil(x1 - x0)), int(math.ceil(y1 - y0)))


def warp(image: np.ndarray, matrix: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The image under `matrix` (original → new pixels) on a white canvas of `size` (w, h)."""
    white = (255,) * (image.shape[2] if image.ndim == 3 else 1)
    if np.allclose(matrix[2], [0, 0, 1]):
        return cv2.warpAffine(image, matrix[:2], size, flags=cv2.INTER_LINEAR, borderValue=white)
    return cv2.warpPerspective(image, matrix, size, flags=cv2.INTER_LINEAR, borderValue=white)


# ---------------------------------------------------------------- perspective


def _frame_mask(ink: np.ndarray) -> np.ndarray:
    """Ruling lines (long thin runs of ink, a little tilt allowed) and nothing else."""
    h, w = ink.shape
    horizontal = cv2.morphologyEx(
        ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (max(w // 40, 12), 1))
    )
    vertical = cv2.morphologyEx(
        ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, max(h // 60, 10)))
    )
    lines = cv2.bitwise_or(horizontal, vertical)
    return cv2.dilate(lines, np.ones((5, 5), np.uint8))


def _quad(mask: np.ndarray, min_share: float = 0.04) -> np.ndarray | None:
    """The four corners (top-left, top-right, bottom-right, bottom-left) of the largest convex
    four-sided outline in the mask, or None."""
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None
    biggest = max(contours, key=cv2.contourArea)
    if cv2.contourArea(biggest) < min_share * mask.size:
        return None
    hull = cv2.convexHull(biggest)
    approx = cv2.approxPolyDP(hull, 0.02 * cv2.arcLength(hull, True), True)
    if len(approx) != 4:
        return None
    pts = approx.reshape(4, 2).astype(np.float64)
    s, d = pts.sum(axis=1), np.diff(pts, axis=1).ravel()
    return np.array([pts[np.argmin(s)], pts[np.argmin(d)], pts[np.argmax(s)], pts[np.argmax(d)]])


def keystone(gray: np.ndarray) -> tuple[np.ndarray | None, float]:
    """(homography taking the largest ruled frame to a rectangle, or None; how far its corners
    stood off it as a share of its diagonal). gray: an upright, deskewed page."""
    small, f = _shrink(gray, WORK_SIDE)
    quad = _quad(_frame_mask(ink_of(small, 15)))
    if quad is None:
        return None, 0.0
    tl, tr, br, bl = quad
    width = (np.linalg.norm(tr - tl) + np.linalg.norm(br - bl)) / 2
    height = (np.linalg.norm(bl - tl) + np.linalg.norm(br - tr)) / 2
    cx, cy = quad.mean(axis=0)
    rect = np.array(
        [
            [cx - width / 2, cy - height / 2],
            [cx + width / 2, cy - height / 2],
            [cx + width / 2, cy + height / 2],
            [cx - width / 2, cy + height / 2],
        ]
    )
    off = float(np.max(np.linalg.norm(quad - rect, axis=1)) / math.hypot(width, height))
    if off < KEYSTONE_MIN:
        return None, 0.0
    h = cv2.getPerspectiveTransform(quad.astype(np.float32), rect.astype(np.float32)).astype(
        np.float64
    )
    scale = np.diag([f, f, 1.0])
    return np.linalg.inv(scale) @ h @ scale, off


# ---------------------------------------------------------------- the whole correction


def correct(rgb: np.ndarray, limit: float = SKEW_LIMIT) -> tuple[np.ndarray, Correction]:
    """A page image (HxWx3 uint8, as scanned) → (the image stood straight, how).

    Red ink removed, quarter turn, skew and perspective undone in one warp; the half turn of a
    page upside down is decided later from its text (`turn`)."""
    clean, seal = remove_red(rgb)
    gray = cv2.cvtColor(clean, cv2.COLOR_RGB2GRAY)
    h, w = gray.shape
    quarter, angle = measure(gray, limit)
    q, size = _quarter_matrix(quarter, w, h)
    s, size = _skew_matrix(angle, *size)
    m = s @ q
    image = warp(clean, m, size) if not np.allclose(m, np.eye(3)) else clean
    straight = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    homography, off = keystone(straight)
    if homography is not None:
        k, size = _fit(homography @ m, w, h)
        m = k
        image = warp(clean, m, size)
    sealed = float(np.count_nonzero(seal)) / seal.size if seal is not None else 0.0
    mask = warp(seal, m, size) if seal is not None and not np.allclose(m, np.eye(3)) else seal
    corr = Correction(
        quarter,
        angle if abs(angle) >= SKEW_MIN else 0.0,
        round(off, 4),
        _tuple(m),
        (int(size[0]), int(size[1])),
        sealed,
        mask,
    )
    return image, corr


def turn(image: np.ndarray, corr: Correction, degrees: int) -> tuple[np.ndarray, Correction]:
    """The corrected image turned `degrees` more clockwise (90, 180, 270), its correction too."""
    h, w = image.shape[:2]
    q, size = _quarter_matrix(degrees, w, h)
    m = q @ np.array(corr.matrix)
    rotated = np.ascontiguousarray(np.rot90(image, -(degrees // 90)))
    mask = (
        np.ascontiguousarray(np.rot90(corr.seal_mask, -(degrees // 90)))
        if corr.seal_mask is not None
        else None
    )
    return rotated, replace(
        corr, rotation=(corr.rotation + degrees) % 360, matrix=_tuple(m), size=size, seal_mask=mask
    )


def _tuple(m: np.ndarray) -> tuple:
    if np.allclose(m, np.eye(3), atol=1e-9):
        return IDENTITY
    return tuple(tuple(float(v) for v in row) for row in m)
