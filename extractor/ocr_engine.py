"""The OCR package behind the scan route: rapidocr 3 on onnxruntime, its models inside the wheel.

Its three models are called one by one rather than through `RapidOCR.__call__`, so that each
runs only where it is needed:

- `detect`: text boxes of a whole page, once, on a copy whose long side is `DET_SIDE` pixels
  (a 200 dpi A4 page would cost five times as much at full size, for no better boxes);
- `recognize`: the text of many crops, batched by width without the package's 320-pixel
  minimum (a table's numbers are narrow: padding each to 320 made recognition three times
  slower), no score threshold (a low score is a doubt to mark, not a line to drop);
- `upside_down`: the direction classifier, on the widest lines of a page only.

Threads: a process reading alone uses every core it may run on; a worker of a bulk run (a
child process) uses one, as the pool gives each worker a core. `XXGK_OCR_THREADS` overrides.
"""

from __future__ import annotations

import math
import multiprocessing
import os
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

DET_SIDE = 960  # px: the long side of the page copy text boxes are found on
REC_HEIGHT = 48  # px: the recognizer's input height (rapidocr's rec_img_shape)
REC_BATCH = 8  # crops of a batch (they are sorted by width first)
REC_MIN_WIDTH = 32  # px: the narrowest input given to the recognizer
MISSING = "scanned pages need OCR, which is not installed: pip install 'xxgk[ocr]'"


def available() -> bool:
    """Whether the OCR extra is installed (rapidocr, onnxruntime, OpenCV)."""
    try:
        import cv2  # noqa: F401
        import onnxruntime  # noqa: F401
        import rapidocr  # noqa: F401
    except Exception:
        return False
    return True


def threads() -> int:
    """Threads for the models: XXGK_OCR_THREADS, else 1 in a worker process, else the cores
    this process may run on."""
    wanted = os.environ.get("XXGK_OCR_THREADS", "")
    if wanted.isdigit() and int(wanted) > 0:
        return int(wanted)
    if multiprocessing.parent_process() is not None:
        return 1
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # (not on Linux)
        return os.cpu_count() or 1


@lru_cache(maxsize=1)
def engine():
    """The RapidOCR object (models loaded on first use of each)."""
    import cv2
    from rapidocr import RapidOCR

    n = threads()
    cv2.setNumThreads(n)
    return RapidOCR(
        params={
            "Global.log_level": "error",
            "EngineConfig.onnxruntime.intra_op_num_threads": n,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
            "Det.limit_side_len": DET_SIDE,
            "Det.limit_type": "max",
        }
    )


def _quiet(model):
    """The model with its onnxruntime session made again without spinning: a thread that waits for
    work sleeps instead of busy-looping, which on a machine shared with other processes (or with
    the other workers of a bulk run) halved the CPU time per page and lowered the wall time too."""
    import onnxruntime as ort

    old = model.session.session
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads()
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 4
    options.enable_cpu_mem_arena = False  # (as rapidocr has it: memory goes back after each page)
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    model.session.session = ort.InferenceSession(
        old._model_path, sess_options=options, providers=["CPUExecutionProvider"]
    )
    return model


@lru_cache(maxsize=1)
def _det():
    return _quiet(engine()._load_det_model())


@lru_cache(maxsize=1)
def _rec():
    return _quiet(engine()._load_rec_model())


@lru_cache(maxsize=1)
def _cls():
    return _quiet(engine()._load_cls_model())


def warm() -> None:
    """Load the three models now (a benchmark times reading, not loading)."""
    _det(), _rec(), _cls()


def model_paths() -> list[str]:
    """The model files the engine loads (all inside the installed package)."""
    import rapidocr

    root = os.path.join(os.path.dirname(rapidocr.__file__), "models")
    return sorted(os.path.join(root, f) for f in os.listdir(root) if f.endswith(".onnx"))


def detect(image: np.ndarray) -> list[tuple[float, float, float, float]]:
    """Text boxes (x0, top, x1, bottom) in pixels of `image` (HxWx3 uint8), top to bottom."""
    out = _det()(image)
    if out.boxes is None:
        return []
    boxes = []
    for quad in out.boxes:
        xs, ys = quad[:, 0], quad[:, 1]
        boxes.append((float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max())))
    return boxes


def _norm(crop: np.ndarray, width: int) -> np.ndarray:
    import cv2

    h, w = crop.shape[:2]
    resized = min(width, max(1, int(math.ceil(REC_HEIGHT * w / h))))
    im = cv2.resize(crop, (resized, REC_HEIGHT)).astype(np.float32).transpose(2, 0, 1) / 255.0
    out = np.zeros((3, REC_HEIGHT, width), np.float32)
    out[:, :, :resized] = (im - 0.5) / 0.5
    return out


def _width(crop: np.ndarray) -> int:
    h, w = crop.shape[:2]
    return max(REC_MIN_WIDTH, int(math.ceil(REC_HEIGHT * w / max(h, 1))))


@dataclass(frozen=True)
class Read:
    """One crop read: the text, its confidence (the mean of its characters' probabilities, as
    rapidocr gives it) and its least sure character's; and, for a short reading, the reading
    among the characters a table's value cell holds (`VALUE_CHARS`), with its least sure
    character's share among those (a lone 0 the free reading takes for 。 or O is a 0 there)."""

    text: str
    score: float
    low: float
    number: str | None = None
    number_low: float = 0.0


# What a value cell of the statutory tables may hold: digits, a decimal point, thousands
# commas, a sign, a per cent, and the marks printed for nothing (/ - — 无).
VALUE_CHARS = "0123456789.,-+%/—－无"
NUMBER_MAX = 12  # characters: a free reading longer than this is not a value


def _indices(characters: list[str], wanted: str) -> np.ndarray:
    return np.array([i for i, c in enumerate(characters) if c in wanted], dtype=np.int64)


def _decode(probs: np.ndarray, characters: list[str]) -> tuple[str, float, float]:
    """Greedy CTC over all characters: (text, mean probability, least probability)."""
    idx = probs.argmax(axis=1)
    keep = (idx != 0) & np.concatenate(([True], idx[1:] != idx[:-1]))
    chars = idx[keep]
    p = probs.max(axis=1)[keep]
    if not len(chars):
        return "", 0.0, 0.0
    return "".join(characters[i] for i in chars), float(p.mean()), float(p.min())


def _decode_among(
    probs: np.ndarray, allowed: np.ndarray, characters: list[str]
) -> tuple[str, float]:
    """Greedy CTC among `allowed` characters and the blank: (text, least share of a character)."""
    sub = probs[:, allowed]
    best = sub.argmax(axis=1)
    pbest = sub[np.arange(len(sub)), best]
    blank = probs[:, 0]
    share = pbest / (blank + sub.sum(axis=1) + 1e-9)
    idx = np.where(pbest > blank, allowed[best], 0)
    keep = (idx != 0) & np.concatenate(([True], idx[1:] != idx[:-1]))
    if not keep.any():
        return "", 0.0
    return "".join(characters[i] for i in idx[keep]), float(share[keep].min())


def recognize(crops: list[np.ndarray]) -> list[Read]:
    """Each crop (HxWx3 uint8, one line of text) read, in order."""
    if not crops:
        return []
    rec = _rec()
    characters = rec.postprocess_op.character
    allowed = _indices(characters, VALUE_CHARS)
    order = sorted(range(len(crops)), key=lambda i: _width(crops[i]))
    out: list[Read] = [Read("", 0.0, 0.0)] * len(crops)
    for b in range(0, len(order), REC_BATCH):
        idx = order[b : b + REC_BATCH]
        width = (max(_width(crops[i]) for i in idx) + 7) // 8 * 8
        probs = rec.session(np.stack([_norm(crops[i], width) for i in idx]))
        for i, p in zip(idx, probs):
            text, score, low = _decode(p, characters)
            if len(text.strip()) <= NUMBER_MAX:
                out[i] = Read(text, score, low, *_decode_among(p, allowed, characters))
            else:
                out[i] = Read(text, score, low)
    return out


def upside_down(crops: list[np.ndarray]) -> bool:
    """Whether most of these lines of text (the widest of a page) stand on their heads."""
    if not crops:
        return False
    result = _cls()(crops).cls_res or []
    votes = [1 if label == "180" else -1 for label, score in result if score >= 0.8]
    return sum(votes) > len(crops) // 3
