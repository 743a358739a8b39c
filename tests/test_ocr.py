"""The scan route on small images made here from examples/huaian_2024.pdf (a real report whose
PDF embeds its fonts): its table 3 region of page 4, rendered at 150 dpi once per module, then
turned, skewed, photographed, stamped with a red seal or damaged. Truth is golden/huaian_2024.json.

Every value a scan gives either equals the golden one or is marked for review; the geometry
(page_geometry) is checked on its own without OCR where it can be. Each OCR read of the region
takes about a second.
"""

from __future__ import annotations

import io
import json
import math
import socket

import pytest
from conftest import EXAMPLES, GOLDEN

np = pytest.importorskip("numpy")
cv2 = pytest.importorskip("cv2")
pytest.importorskip("rapidocr")
pdfium = pytest.importorskip("pypdfium2")

from extractor import ocr_engine, page_geometry  # noqa: E402
from extractor.evaluate import same  # noqa: E402
from extractor.ingest import read_document  # noqa: E402
from extractor.pipeline import extract  # noqa: E402

HUAIAN = EXAMPLES / "huaian_2024.pdf"
pytestmark = pytest.mark.skipif(not HUAIAN.exists(), reason="huaian_2024.pdf is not in examples/")
DPI = 150
TOP = 330.0  # points: page 4 from just above the heading 三、收到和处理… to its foot
# The rows of table 3 on page 4 (its first thirteen), each with its seven columns
ROWS = [
    "new",
    "carried_over",
    "granted",
    "partial",
    "denied.state_secret",
    "denied.law_forbidden",
    "denied.safety_stability",
    "denied.third_party",
    "denied.internal_affairs",
    "denied.process_info",
    "denied.enforcement_file",
    "denied.admin_query",
    "unable.not_held",
]
COLUMNS = ["natural", "commercial", "research", "social", "legal", "other_org", "total"]
KEYS = [f"t3.{r}.{c}" for r in ROWS for c in COLUMNS]


@pytest.fixture(scope="module")
def golden() -> dict:
    return json.loads((GOLDEN / "huaian_2024.json").read_text(encoding="utf-8"))["fields"]


@pytest.fixture(scope="module")
def region() -> np.ndarray:
    """Table 3's region of page 4 at DPI, RGB."""
    pdf = pdfium.PdfDocument(HUAIAN.read_bytes())
    page = np.array(pdf[3].render(scale=DPI / 72).to_pil().convert("RGB"))
    pdf.close()
    return np.ascontiguousarray(page[int(TOP * DPI / 72) :])


@pytest.fixture(scope="module")
def cells() -> dict:
    """Where each value of the region stands in the text route (points, the region's top left)."""
    record = extract(HUAIAN.read_bytes(), "huaian.pdf")
    return {
        k: tuple(v - TOP if i % 2 else v for i, v in enumerate(record.fields[k].box)) for k in KEYS
    }


def png(image: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(image).save(buf, "PNG", dpi=(DPI, DPI))
    return buf.getvalue()


def turned(image: np.ndarray, degrees: float) -> np.ndarray:
    """Turned counter-clockwise on a canvas that holds it all, white round it (a scanner's skew)."""
    h, w = image.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    cos, sin = abs(m[0, 0]), abs(m[0, 1])
    nw, nh = int(w * cos + h * sin), int(w * sin + h * cos)
    m[0, 2] += nw / 2 - w / 2
    m[1, 2] += nh / 2 - h / 2
    return cv2.warpAffine(image, m, (nw, nh), borderValue=(255, 255, 255))


def scanned(image: np.ndarray, seed: int = 1) -> np.ndarray:
    """Sensor noise and JPEG at quality 80."""
    rng = np.random.default_rng(seed)
    noisy = np.clip(
        image.astype(np.int16) + rng.normal(0, 6, image.shape).astype(np.int16), 0, 255
    ).astype(np.uint8)
    ok, jpeg = cv2.imencode(".jpg", noisy, [cv2.IMWRITE_JPEG_QUALITY, 80])
    return cv2.imdecode(jpeg, cv2.IMREAD_UNCHANGED)


def seal(image: np.ndarray, centre: tuple[int, int], radius: int) -> np.ndarray:
    """A red 公章 (ring and star) multiplied onto the page: black ink under it stays black."""
    layer = np.full_like(image, 255)
    red = (215, 40, 45)
    cv2.circle(layer, centre, radius, red, max(2, radius // 14))
    star = np.array(
        [
            [
                centre[0]
                + radius * 0.33 * math.cos(math.radians(-90 + 36 * k)) * (1 if k % 2 == 0 else 0.4),
                centre[1]
                + radius * 0.33 * math.sin(math.radians(-90 + 36 * k)) * (1 if k % 2 == 0 else 0.4),
            ]
            for k in range(10)
        ],
        np.int32,
    )
    cv2.fillPoly(layer, [star], red)
    for k in range(10):  # marks round the rim: the agency's name
        a = math.radians(200 + 14 * k)
        x, y = (
            int(centre[0] + radius * 0.72 * math.cos(a)),
            int(centre[1] + radius * 0.72 * math.sin(a)),
        )
        cv2.rectangle(
            layer,
            (x - radius // 14, y - radius // 14),
            (x + radius // 14, y + radius // 14),
            red,
            2,
        )
    return (image.astype(np.uint16) * layer // 255).astype(np.uint8)


def check_values(record, golden: dict, keys: list[str], least: float) -> list[str]:
    """Every key right or marked; at least `least` of them right. The keys read wrong (marked)."""
    wrong = [k for k in keys if not same(golden[k], record.value(k))]
    silent = {k: (golden[k], record.value(k)) for k in wrong if not record.fields[k].review}
    assert silent == {}, f"wrong and unmarked (truth, read): {silent}"
    assert len(keys) - len(wrong) >= least * len(keys), wrong
    return wrong


# ---------------------------------------------------------------- geometry alone (no OCR)


@pytest.mark.parametrize("quarter,skew", [(0, 5.0), (0, -5.0), (0, 0.93), (1, 2.0), (3, -3.5)])
def test_skew_and_quarter_turns_are_measured(region, quarter, skew):
    image = turned(np.ascontiguousarray(np.rot90(region, quarter)), skew)
    straight, corr = page_geometry.correct(image)
    assert corr.rotation == (90 if quarter else 0)
    assert abs(corr.skew + skew) < 0.1, corr  # turned back by what it was turned
    # the straightened page measures level
    assert abs(page_geometry.measure(cv2.cvtColor(straight, cv2.COLOR_RGB2GRAY))[1]) <= 0.06


def test_a_straight_page_is_left_as_it_is(region):
    straight, corr = page_geometry.correct(region)
    assert not corr.changed and straight is region
    assert corr.provenance() == {"rotation": 0, "skew": 0.0, "keystone": 0.0, "sealed": 0.0}


def test_perspective_of_a_photo_is_undone(region):
    h, w = region.shape[:2]
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = np.float32([[0.04 * w, 0.02 * h], [0.97 * w, 0], [w, h], [0, 0.98 * h]])  # a keystone
    photo = cv2.warpPerspective(
        region, cv2.getPerspectiveTransform(src, dst), (w, h), borderValue=(255, 255, 255)
    )
    straight, corr = page_geometry.correct(photo)
    assert corr.keystone > page_geometry.KEYSTONE_MIN
    again, off = page_geometry.keystone(cv2.cvtColor(straight, cv2.COLOR_RGB2GRAY))
    assert again is None and off == 0.0  # the table's frame is a rectangle now


def test_boxes_go_back_onto_the_page_as_it_came(region):
    image = turned(region, 4.0)
    straight, corr = page_geometry.correct(image)
    scale = DPI / 72
    # a dark blob on the straightened page, taken back, falls on the same ink of the original
    ys, xs = np.nonzero(cv2.cvtColor(straight, cv2.COLOR_RGB2GRAY) < 100)
    x, y = int(np.median(xs)), int(np.median(ys))
    box = (x / scale - 1, y / scale - 1, x / scale + 1, y / scale + 1)
    x0, y0, x1, y1 = (v * scale for v in corr.to_original(box, scale))
    inverse = np.linalg.inv(np.array(corr.matrix))
    px = inverse @ np.array([x, y, 1.0])
    assert x0 <= px[0] / px[2] <= x1 and y0 <= px[1] / px[2] <= y1
    assert (x1 - x0) < 4 * scale and (y1 - y0) < 4 * scale


def test_red_ink_is_taken_out_and_black_kept():
    page = np.full((200, 200, 3), 255, np.uint8)
    cv2.putText(page, "8", (80, 120), cv2.FONT_HERSHEY_SIMPLEX, 2, (0, 0, 0), 4)
    stamped = seal(page, (100, 100), 60)
    clean, mask = page_geometry.remove_red(stamped)
    assert mask is not None and np.count_nonzero(mask) > 0.02 * mask.size
    dark = cv2.cvtColor(page, cv2.COLOR_RGB2GRAY) < 100
    assert (cv2.cvtColor(clean, cv2.COLOR_RGB2GRAY)[dark] < 100).mean() > 0.95  # the digit stays
    assert (cv2.cvtColor(clean, cv2.COLOR_RGB2GRAY)[~dark] > 200).mean() > 0.98  # the seal is gone
    assert page_geometry.remove_red(page)[1] is None  # nothing red: nothing done


# ---------------------------------------------------------------- reading


@pytest.fixture(scope="module")
def offline():
    """No network while OCR runs: any socket raises."""

    def refuse(*a, **k):
        raise OSError("network used during OCR")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket, "socket", refuse)
        mp.setattr(socket, "create_connection", refuse)
        yield


@pytest.fixture(scope="module")
def sealed_scan(region, cells, offline):
    """The region 4.5° askew, a red seal over table 3's lower right corner, noise and JPEG:
    (image, record)."""
    s = DPI / 72
    x1, y1 = cells["t3.unable.not_held.total"][2:]
    stamped = seal(region, (int(x1 * s), int(y1 * s)), int(55 * s))
    image = scanned(turned(stamped, 4.5))
    return image, extract(png(image), "t3_sealed.png")


def test_sealed_askew_scan_reads_right_or_marks(sealed_scan, golden):
    image, record = sealed_scan
    assert record.kind == "image" and record.template == "2021"
    check_values(record, golden, KEYS, 0.95)
    for key in ("t3.new.total", "t3.granted.natural", "t3.unable.not_held.natural"):
        assert record.value(key) == golden[key], key
    assert {record.fields[k].route for k in KEYS} == {"ocr"}


def test_the_correction_is_kept_with_the_record(sealed_scan):
    _, record = sealed_scan
    g = record.geometry["1"]
    assert g["rotation"] == 0 and abs(g["skew"] + 4.5) < 0.1 and g["sealed"] > 0.005
    start, end = record.regions["p1"]
    assert 0 <= start < end <= len(record.text)


def test_the_correction_is_stored_and_loaded_back(sealed_scan, tmp_path):
    from extractor import store

    _, record = sealed_scan
    db = store.open_db(tmp_path / "scans.db")
    store.save(db, record, "t3_sealed.png")
    (doc,) = store.documents(db)
    again = store.load_record(db, doc)
    assert again.geometry == record.geometry and "skew" in again.geometry["1"]
    assert again.fields["t3.new.total"].box == record.fields["t3.new.total"].box


def test_value_boxes_are_on_the_page_as_it_came(sealed_scan, golden):
    """Each value's box, drawn on the askew scan, surrounds dark ink: the value's digits."""
    image, record = sealed_scan
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    s = DPI / 72
    for key in (
        "t3.new.natural",
        "t3.new.total",
        "t3.granted.total",
        "t3.denied.admin_query.natural",
    ):
        x0, y0, x1, y1 = (int(v * s) for v in record.fields[key].box)
        patch = gray[y0:y1, x0:x1]
        assert patch.size and (patch < 110).sum() >= 15, key
    # the row's boxes climb with the skew (turned counter-clockwise: the right end stands higher)
    row = [record.fields[f"t3.new.{c}"].box for c in COLUMNS]
    assert row[-1][1] < row[0][1] - 10


def test_cells_under_the_seal_are_read_or_marked(sealed_scan, golden):
    _, record = sealed_scan
    under = ["t3.unable.not_held.legal", "t3.unable.not_held.other_org", "t3.unable.not_held.total"]
    for key in under:
        f = record.fields[key]
        assert same(golden[key], f.value) or f.review, key


@pytest.fixture(scope="module")
def damaged_scan(region, cells):
    """A ruling line lost under two rows' figures, and a total's digits faded away: the record."""
    s = DPI / 72
    image = region.copy()
    a = cells["t3.denied.state_secret.natural"]
    line = int(a[3] * s)  # the ruling between 1.属于国家秘密 and 2.其他法律行政法规禁止公开
    image[
        line - 3 : line + 4,
        int(a[0] * s) + 3 : int(cells["t3.denied.state_secret.total"][2] * s) - 3,
    ] = 255
    t = cells["t3.denied.internal_affairs.total"]
    image[int(t[1] * s) + 3 : int(t[3] * s) - 2, int(t[0] * s) + 3 : int(t[2] * s) - 2] = 255
    return extract(png(scanned(image, 2)), "t3_damaged.png")


def test_a_lost_ruling_line_marks_both_rows(damaged_scan, golden):
    record = damaged_scan
    check_values(record, golden, KEYS, 0.8)
    both = [f"t3.denied.{r}.{c}" for r in ("state_secret", "law_forbidden") for c in COLUMNS]
    unsure = [k for k in both if record.fields[k].review]
    assert len(unsure) >= 7, [(k, record.value(k), record.fields[k].reason) for k in both]


def test_a_blank_the_arithmetic_rules_out_is_marked(damaged_scan):
    f = damaged_scan.fields["t3.denied.internal_affairs.total"]
    assert f.value is None and f.review
    assert "arithmetic" in f.reason and "T3-B" in f.reason


@pytest.mark.parametrize("quarter", [2, 3])
def test_a_page_fed_upside_down_or_sideways_is_stood_up(region, quarter):
    from extractor.ingest_ocr import _Page

    top = region[: region.shape[0] * 2 // 5]  # the heading and table 3's header: enough text
    page = _Page(scanned(np.ascontiguousarray(np.rot90(top, quarter))), 1, DPI / 72)
    assert page.correction.rotation == {2: 180, 3: 270}[quarter]
    widest = sorted(page.boxes, key=lambda b: b.ink[0] - b.ink[2])[:3]
    page.read(widest)
    assert any("收到和处理政府信息公开申请情况" in b.text for b in widest)


# ---------------------------------------------------------------- units


def test_the_ocr_models_ship_inside_the_package():
    import os

    import rapidocr

    package = os.path.dirname(rapidocr.__file__)
    paths = ocr_engine.model_paths()
    assert len(paths) >= 2 and all(
        p.startswith(package) and os.path.getsize(p) > 100_000 for p in paths
    )


def test_threads_follow_the_cores_a_worker_owns(monkeypatch):
    import multiprocessing

    monkeypatch.setenv("XXGK_OCR_THREADS", "3")
    assert ocr_engine.threads() == 3
    monkeypatch.delenv("XXGK_OCR_THREADS")
    assert ocr_engine.threads() >= 1
    monkeypatch.setattr(
        multiprocessing, "parent_process", lambda: object()
    )  # as in a pool's worker
    assert ocr_engine.threads() == 1


def test_a_box_reaching_out_of_its_cell_is_in_doubt():
    from extractor.ingest_ocr import _Box, _Cell

    read = ocr_engine.Read("23", 0.99, 0.99, "23", 0.99)
    inside = _Cell(
        (100.0, 100.0, 140.0, 120.0), [_Box((110.0, 104.0, 122.0, 116.0), (0, 0, 1, 1), read)]
    )
    assert inside.placement() == ""
    straddling = _Cell(
        (100.0, 100.0, 140.0, 120.0), [_Box((110.0, 112.0, 122.0, 126.0), (0, 0, 1, 1), read)]
    )
    assert "outside its cell" in straddling.placement()
    stacked = _Cell(
        (100.0, 100.0, 140.0, 140.0),
        [
            _Box((110.0, 104.0, 122.0, 116.0), (0, 0, 1, 1), read),
            _Box((110.0, 122.0, 122.0, 134.0), (0, 0, 1, 1), read),
        ],
    )
    assert "two lines" in stacked.placement()


def test_blanks_are_marked_only_where_the_arithmetic_fails():
    from extractor.ocr_checks import mark_blanks
    from extractor.record import Field

    def row(values, route="ocr"):
        keys = [f"t4.review.{p}" for p in ("upheld", "corrected", "other", "pending", "total")]
        return {k: Field(k, v, route=route) for k, v in zip(keys, values)}

    lost = row([12, None, None, None, None])  # 总计 blank while a part is 12: it cannot be
    assert sorted(mark_blanks(lost, "2021")) == sorted(k for k in lost if k != "t4.review.upheld")
    holds = row([12, None, None, None, 12])  # blanks as 0 fit: left as read
    assert mark_blanks(holds, "2021") == [] and not any(f.review for f in holds.values())
    text_layer = row(
        [12, None, None, None, None], route="pdf-geometry"
    )  # printed blank: not OCR's doubt
    assert mark_blanks(text_layer, "2021") == []


def test_a_sum_that_fails_on_a_scan_marks_the_figure_where_two_cross(golden):
    from extractor.ocr_checks import mark_failed_sums
    from extractor.record import Field
    from extractor.spec import keys_for

    def scanned_fields(change=None, route="ocr"):
        fields = {
            k: Field(k, golden.get(k), route=route)
            for k in keys_for("2021")
            if k[:3] in ("t3.", "t4.")
        }
        for key, value in (change or {}).items():
            fields[key].value = value
        return fields

    assert mark_failed_sums(scanned_fields(), "2021") == []  # 淮安's sums all hold
    misread = scanned_fields({"t3.denied.process_info.natural": 17})  # 12 read as 17
    assert mark_failed_sums(misread, "2021") == ["t3.denied.process_info.natural"]
    t4 = scanned_fields({"t4.suit_direct.total": 28})  # table 4 has one sum a group: all of it
    assert sorted(mark_failed_sums(t4, "2021")) == sorted(
        f"t4.suit_direct.{p}" for p in ("upheld", "corrected", "other", "pending", "total")
    )
    text_layer = scanned_fields({"t3.denied.process_info.natural": 17}, route="pdf-geometry")
    assert mark_failed_sums(text_layer, "2021") == []  # printed so: the checks' report defect


def test_scan_without_text_is_a_one_line_error():
    from PIL import Image

    from extractor.errors import InputError

    blank = Image.new("RGB", (600, 800), "white")
    buf = io.BytesIO()
    blank.save(buf, "PDF", resolution=DPI)
    with pytest.raises(InputError) as caught:
        read_document(buf.getvalue(), "blank.pdf")
    assert "OCR" in str(caught.value) and "\n" not in str(caught.value)
