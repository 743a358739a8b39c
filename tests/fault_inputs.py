"""Hostile and broken inputs, built small at test time (for tests/test_faults.py and
eval/faults.py).

Every builder writes into `folder` and returns the path to give xxgk. Bombs are small on disk and
built in bounded memory (compressed piece by piece): what they claim, or inflate to, is large.
"""

from __future__ import annotations

import io
import os
import sqlite3
import struct
import subprocess
import sys
import time
import zipfile
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
SHARED_FAULTS = ROOT.parent / "shared" / "cases" / "faults"
CASES = Path(__file__).resolve().parent / "data" / "cases" / "faults"
MIB = 1024 * 1024


def seed_report(i: int = 0) -> bytes:
    """A good report (one of the bundled text examples), made distinct by a line of its own."""
    seeds = sorted(EXAMPLES.glob("*.txt"))
    text = seeds[i % len(seeds)].read_text(encoding="utf-8")
    return (text + f"\n（本文件为第{i}份副本。）\n").encode("utf-8")


def case_file(name: str) -> bytes:
    """One of the inputs of ../shared/cases/faults (copied into tests/data/cases/faults, or beside
    it)."""
    for folder in (CASES, Path(__file__).resolve().parent / "data" / "faults", SHARED_FAULTS):
        if (folder / name).exists():
            return (folder / name).read_bytes()
    raise FileNotFoundError(name)


def write(folder: Path, name: str | bytes, data: bytes) -> Path:
    path = os.path.join(
        os.fsencode(folder), name if isinstance(name, bytes) else name.encode("utf-8")
    )
    with open(path, "wb") as f:
        f.write(data)
    return Path(os.fsdecode(path))


# ---------------------------------------------------------------- names and special files


def non_utf8_name(folder: Path) -> Path:
    return write(folder, b"\xff\xfe report.txt", seed_report(7))


def newline_name(folder: Path) -> Path:
    return write(
        folder, "bad\nname.txt", b""
    )  # empty: fails, and its Error line must stay one line


def fifo(folder: Path) -> Path:
    path = folder / "pipe.txt"
    os.mkfifo(path)
    return path


def dev_zero(folder: Path) -> Path:
    return Path("/dev/zero")


# ---------------------------------------------------------------- bombs


def zeros_deflated(size: int, level: int = 9) -> bytes:
    """A zlib stream that inflates to `size` zero bytes, built 1 MiB at a time."""
    out, block, z = [], bytes(MIB), zlib.compressobj(level)
    for _ in range(size // MIB):
        out.append(z.compress(block))
    out.append(z.compress(bytes(size % MIB)))
    out.append(z.flush())
    return b"".join(out)


def pdf_flate_bomb(folder: Path, inflated: int = 300 * MIB) -> Path:
    """A one-page PDF whose content stream inflates to `inflated` bytes (2 GiB in the campaign)."""
    stream = zeros_deflated(inflated)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    return write(folder, "flate_bomb.pdf", _pdf(objects))


def _pdf(objects: list[bytes]) -> bytes:
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def pdf_pages(folder: Path, pages: int = 501, inches: float = 8.27) -> Path:
    """A PDF of `pages` blank pages `inches` wide and high (200 inches: a page OCR would render at
    40,000 px)."""
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(inches * 72, inches * 72))
    for _ in range(pages):
        c.drawString(72, 72, "x")
        c.showPage()
    c.save()
    return write(folder, f"pages_{pages}_{inches:g}in.pdf", buf.getvalue())


def pdf_many_lines(folder: Path, lines: int = 1500) -> Path:
    """A page ruled with `lines` horizontal and vertical lines: the table finder takes its time."""
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(595, 842))
    c.setLineWidth(0.1)
    for i in range(lines):
        c.line(20, 20 + i * 800 / lines, 575, 20 + i * 800 / lines)
        c.line(20 + i * 555 / lines, 20, 20 + i * 555 / lines, 820)
    c.drawString(30, 30, "政府信息公开")
    c.save()
    return write(folder, "many_lines.pdf", buf.getvalue())


def docx_bomb(folder: Path, xml_bytes: int = 300 * MIB) -> Path:
    """A .docx whose word/document.xml inflates to `xml_bytes` (white space inside the body)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
            'package/2006/content-types"/>',
        )
        with z.open("word/document.xml", "w", force_zip64=True) as f:
            f.write(
                b'<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/'
                b"wordprocessingml/"
                b'2006/main"><w:body>'
            )
            block = b" " * MIB
            for _ in range(xml_bytes // MIB):
                f.write(block)
            f.write(b"</w:body></w:document>")
    return write(folder, "bomb.docx", buf.getvalue())


def zip_not_docx(folder: Path) -> Path:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("readme.txt", "not a report")
    return write(folder, "archive.docx", buf.getvalue())


def png_claiming(folder: Path, width: int = 13000, height: int = 13000) -> Path:
    """A PNG whose header claims width × height pixels (its data is a few bytes)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    data = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )
    return write(folder, f"huge_{width}x{height}.png", data)


def tiff_frames(folder: Path, frames: int = 150, side: int = 1000) -> Path:
    """A TIFF of `frames` pages, each `side` × `side` (deflated: small on disk)."""
    from PIL import Image

    pages = [Image.new("L", (side, side), 255) for _ in range(frames)]
    buf = io.BytesIO()
    pages[0].save(buf, "TIFF", save_all=True, append_images=pages[1:], compression="tiff_deflate")
    return write(folder, f"frames_{frames}.tiff", buf.getvalue())


def span_bomb(folder: Path, cells: int = 3000) -> Path:
    """A web page of `cells` cells with rowspan=1000 colspan=1000 (the shared case is 117 KB of
    them)."""
    rows = "".join(f'<tr><td rowspan="1000" colspan="1000">{i}</td></tr>' for i in range(cells))
    html = f"<html><body><h1>政府信息公开工作年度报告</h1><table>{rows}</table></body></html>"
    return write(folder, f"span_bomb_{cells}.html", html.encode("utf-8"))


def backtracking_text(folder: Path, size: int = 100_000) -> Path:
    """A long `a|a|…` line, then `-|-|…x`: what made the markdown-table pattern backtrack (70 KB:
    34-52 s)."""
    half = size // 4
    text = "政府信息公开工作年度报告\n" + "a|" * half + "\n" + "-|" * half + "x\n"
    return write(folder, f"backtrack_{size}.txt", text.encode("utf-8"))


def bignum(folder: Path) -> Path:
    return write(folder, "c40_bignum_20digits.txt", case_file("c40_bignum_20digits.txt"))


def encrypted(folder: Path) -> Path:
    return write(folder, "encrypted_small.pdf", case_file("encrypted_small.pdf"))


def shared_span_bomb(folder: Path) -> Path:
    return write(folder, "span_bomb_small.html", case_file("span_bomb_small.html"))


def shared_backtrack(folder: Path) -> Path:
    return write(folder, "c42_md_regex_backtrack.txt", case_file("c42_md_regex_backtrack.txt"))


def wait_for_documents(db: Path, n: int, seconds: float = 60.0) -> int:
    """Wait until a running extract has stored `n` documents in `db` (or `seconds` passed); how
    many it has."""
    deadline, done = time.time() + seconds, 0
    while time.time() < deadline and done < n:
        time.sleep(0.05)
        try:
            with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
                done = conn.execute("select count(*) from documents").fetchone()[0]
        except sqlite3.Error:
            continue
    return done


HOLD = """import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN IMMEDIATE")
c.execute("insert into runs (command) values ('another program')")
print("holding", flush=True)
time.sleep(float(sys.argv[2]))
"""


def hold_write_lock(db: Path, seconds: float) -> subprocess.Popen:
    """Another program holding a write transaction on `db` for `seconds` (kill it when done)."""
    command = [sys.executable, "-c", HOLD, str(db), str(seconds)]
    holder = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "holding"
    return holder
