"""Synthetic records for the stress corpus: the templates' table shapes as data, random records
that satisfy the template's identities (勾稽关系), a checker for those identities, and the text
of each value's cell with the tricks that change it (blank totals, `&nbsp;` zeros, OCR
confusions, split numbers), each also setting the truth a careful reader would record.

Pure library: no I/O. The layouts that render a record into a report are in ``synth.py``.
"""

from __future__ import annotations

import random
import re

from .spec import TEMPLATES as TEMPLATE_NAMES
from .spec import keys_for
from .synth_readings import INT, MONEY, SIGNED, splits
from .template import row_identity, template

TEMPLATES = TEMPLATE_NAMES
_T3 = template("2021").tables["t3"]  # the columns are the same in both formats
_T4 = template("2021").tables["t4"]
COLS = tuple(c.id for c in _T3.columns)
APPLICANTS = COLS[:-1]  # the row's 总计 is its last column (T3-B)
T4_GROUPS = tuple(r.id for r in _T4.rows)
T4_RESULTS = tuple(c.id for c in _T4.columns)[:-1]  # and 总计 (T4)
T4_KEYS = _T4.keys
LATEST_YEAR = 2024  # the last year the synthetic reports are dated
YEARS = {name: tuple(range(template(name).first_year,
                           (template(name).last_year or LATEST_YEAR) + 1)) for name in TEMPLATES}


# -------------------------------------------------------- table 3: rows and their label cells
def _level(enumerator: str) -> int:
    """The label column (一级, 二级, 三级) an enumerator prints in: 一、 (0), （一） (1), 1. (2)."""
    if enumerator.endswith("、"):
        return 0
    return 1 if enumerator.startswith(("（", "(")) else 2


def t3_rows(name: str) -> list[tuple[str, list[str]]]:
    """Table 3's rows in template order with their label cells as the template prints them: three
    slots (一级, 二级, 三级), a group's heading in the first row under it, trailing empty slots
    left out (`("denied.state_secret", ["", "（三）不予公开", "1.属于国家秘密"])`). From
    rules/templates.toml; raises UsageError for an unknown template."""
    table = template(name).tables["t3"]
    groups = {g.id: g for g in table.groups}
    parent, top = {}, ""
    for g in table.groups:  # a group headed （三） stands under the last one headed 三、
        if _level(g.enumerator) == 0:
            top = g.id
        else:
            parent[g.id] = top
    printed: set[str] = set()
    out = []
    for row in table.rows:
        cells = ["", "", ""]
        chain = [row.group, parent.get(row.group, "")] if row.group else []
        for gid in reversed([g for g in chain if g]):
            if gid not in printed:
                printed.add(gid)
                cells[_level(groups[gid].enumerator)] = groups[gid].enumerator + groups[gid].label
        if not row.heading_only:
            cells[_level(row.enumerator)] = row.enumerator + row.label
        while cells and not cells[-1]:
            cells.pop()
        out.append((row.id, cells))
    return out


def label_spans(labels: list[list[str]]) -> list[tuple[int, int, str, int, int]]:
    """Table 3's label cells as the template draws them: (row, slot, label, rowspan, colspan) for
    rows' label slots (一级, 二级, 三级; "" where a cell above spans down). A label spans the
    slots to its right that its row leaves empty, and down the rows that leave its slot and those
    left of it empty (三、本年度办理结果 down the first column, a group's heading down the
    second)."""
    grid = [list(row) + [""] * (3 - len(row)) for row in labels]
    out = []
    for i, row in enumerate(grid):
        for j, lab in enumerate(row):
            if not lab:
                continue
            colspan = 3 - j if not any(row[j + 1:]) else 1
            rowspan = 1
            while i + rowspan < len(grid) and not any(grid[i + rowspan][: j + 1]):
                rowspan += 1
            out.append((i, j, lab, rowspan, colspan))
    return out


def t3_detail_rows(name: str) -> list[str]:
    """The rows （一）…（六） whose sum is （七）总计 (T3-C)."""
    return [r.id for r in template(name).tables["t3"].rows if r.detail]


def _t3_header() -> list[list[str]]:
    """Table 3's three header rows, after its three label columns: the note and caption, the
    columns (a group's label over its columns), the grouped columns' own labels."""
    top = [_T3.note, "", "", _T3.caption]
    middle, bottom = ["", "", ""], ["", "", ""]
    for n, c in enumerate(_T3.columns):
        first_of_group = c.group and (n == 0 or _T3.columns[n - 1].group != c.group)
        middle.append(c.group if first_of_group else "" if c.group else c.label)
        bottom.append(c.label if c.group else "")
    return [top, middle, bottom]


T3_HEADER = _t3_header()

# ---------------------------------------------------------------- table 2: sections, headers, rows
_UNIT = re.compile(r"（单位：[^）]*）$")


def t2_spec(name: str, fee_unit: str = "（单位：万元）",
            proc_unit: str = "（单位：万元）") -> list[tuple]:
    """("section", text) | ("header", [cells]) | ("row", label, [keys]) in template order, from
    rules/templates.toml; a money column's header states `fee_unit` (收费) or `proc_unit` (采购)."""
    table = template(name).tables["t2"]
    out: list[tuple] = []
    for n, block in enumerate(table.blocks):
        rows = [r for r in table.rows if r.block == n]
        header = list(block.header)
        for r in rows:
            for c in (c for c in r.money if c in r.columns):
                at = r.columns.index(c) + 1  # after 信息内容
                header[at] = _UNIT.sub("", header[at]) + (fee_unit if r.id == "fees" else proc_unit)
        out += [("section", block.item), ("header", header)]
        out += [("row", r.label, list(r.keys)) for r in rows]
    return out


def _t4_header() -> list[list[str]]:
    """Table 4's three header rows: 行政复议 and 行政诉讼, the results (and the two kinds of
    suit), the suits' results. A row's label `行政诉讼 复议后起诉` is its group and its own."""
    results = [c.label for c in _T4.columns]
    width = len(results)
    review, *suits = _T4.rows
    court = suits[0].label.split()[0]
    top = [review.label] + [""] * (width - 1) + [court]
    middle = results + [x for s in suits for x in [s.label.split()[-1]] + [""] * (width - 1)]
    bottom = [""] * width + results * len(suits)
    return [top, _trimmed(middle), bottom]


def _trimmed(cells: list[str]) -> list[str]:
    while cells and not cells[-1]:
        cells = cells[:-1]
    return cells


T4_HEADER = _t4_header()
MONEY_KEYS = tuple(sorted({f"t2.{r.id}.{c}" for name in TEMPLATES
                           for r in template(name).tables["t2"].rows
                           for c in r.money if c in r.columns}))

# ---------------------------------------------------------------- agencies
REGIONS = ["东湖区", "西工区", "洛江区", "青山区", "南湖区", "孟津区", "江宁区", "高新区", "新城区",
           "平湖市", "临安市", "安吉县", "德清县", "宁乡县", "海州区", "金水区"]
CITIES = ["洛阳市", "泉州市", "嘉兴市", "宜昌市", "株洲市", "绵阳市", "扬州市", "赣州市"]
BUREAUS = [
    "财政局", "教育局", "民政局", "司法局", "交通运输局", "农业农村局", "自然资源局", "生态环境局",
    "卫生健康委员会", "市场监督管理局", "人力资源和社会保障局", "住房和城乡建设局", "应急管理局",
    "统计局", "审计局", "水利局", "文化和旅游局",
]


def random_agency(rng: random.Random) -> str:
    return rng.choice(REGIONS if rng.random() < 0.7 else CITIES) + rng.choice(BUREAUS)


# ---------------------------------------------------------------- random values
# How likely each detail row is to be used at all, and each applicant column within a used row.
_ROW_WEIGHT = {
    "granted": 0.9, "partial": 0.35, "unable.not_held": 0.6, "unable.needs_creation": 0.15,
    "unable.unclear": 0.15, "ignored.complaint": 0.25, "ignored.repeated": 0.15,
    "denied.third_party": 0.08, "denied.process_info": 0.08, "denied.admin_query": 0.1,
    "other": 0.3, "other.no_correction": 0.2, "other.other": 0.2, "other.no_fee": 0.03,
}
_COL_WEIGHT = {
    "natural": 0.92, "commercial": 0.3, "research": 0.04, "social": 0.05, "legal": 0.12,
    "other_org": 0.12,
}


def _count(rng: random.Random, busy: bool) -> int:
    """A positive count: mostly small, some tens, occasionally hundreds (more so when busy)."""
    r = rng.random()
    if r < (0.55 if busy else 0.8):
        return rng.randint(1, 9)
    if r < (0.92 if busy else 0.97):
        return rng.randint(10, 99)
    return rng.randint(100, 999)


def _sparse(rng: random.Random, p: float, busy: bool = False) -> int:
    return _count(rng, busy) if rng.random() < p else 0


def _money(rng: random.Random) -> float:
    """万元 with up to four decimals; zero half of the time."""
    if rng.random() < 0.5:
        return 0.0
    return round(rng.uniform(0.01, 10 ** rng.uniform(0, 4)), rng.choice([0, 1, 2, 4]))


def _t2_2021(rng: random.Random) -> dict:
    v: dict[str, int | float] = {}
    for row, p_new in (("rules", 0.12), ("normative", 0.5)):
        issued = _sparse(rng, p_new)
        v[f"t2.{row}.issued"] = issued
        v[f"t2.{row}.repealed"] = _sparse(rng, p_new / 2)
        v[f"t2.{row}.in_force"] = issued + _sparse(rng, 0.6)
    for row, p in (("license", 0.5), ("penalty", 0.45), ("coercion", 0.1)):
        v[f"t2.{row}.decisions"] = _sparse(rng, p, busy=True)
    v["t2.fees.amount"] = _money(rng)
    return v


def _t2_2019(rng: random.Random) -> dict:
    v: dict[str, int | float] = {}
    for row, p_new in (("rules", 0.12), ("normative", 0.5)):
        made = _sparse(rng, p_new)
        v[f"t2.{row}.new_made"] = made
        v[f"t2.{row}.new_published"] = made if rng.random() < 0.85 else rng.randint(0, made)
        v[f"t2.{row}.total_published"] = v[f"t2.{row}.new_published"] + _sparse(rng, 0.6)
    for row, p in (("license", 0.6), ("other_services", 0.4), ("penalty", 0.55), ("coercion", 0.2)):
        prev = _sparse(rng, p, busy=True)
        v[f"t2.{row}.prev_items"] = prev
        v[f"t2.{row}.change"] = (
            rng.randint(-min(prev, 20), 20) if prev and rng.random() < 0.4 else 0
        )
        v[f"t2.{row}.decisions"] = _sparse(rng, p * 0.8, busy=True)
    prev = _sparse(rng, 0.4)
    v["t2.fees.prev_items"] = prev
    v["t2.fees.change"] = rng.randint(-prev, 3) if prev and rng.random() < 0.3 else 0
    items = _sparse(rng, 0.45)
    v["t2.procurement.items"] = items
    v["t2.procurement.amount"] = _money(rng) if items else 0.0
    return v


def _t3(rng: random.Random, template: str) -> dict:
    level = rng.random()
    idle, busy = level < 0.35, level > 0.85
    scale = 0.0 if idle else (1.6 if busy else 0.8)
    rows: dict[str, list[int]] = {}
    for row in t3_detail_rows(template):
        weight = _ROW_WEIGHT.get(row, 0.04)
        # rare rows stay small
        used, big = rng.random() < min(1.0, weight * scale), busy and weight >= 0.3
        six = [_sparse(rng, _COL_WEIGHT[c], big) if used else 0 for c in APPLICANTS]
        if used and not any(six):
            six[0] = _count(rng, big)
        rows[row] = six
    total = [sum(r[i] for r in rows.values()) for i in range(6)]
    forward = [0 if idle else _sparse(rng, 0.2) for _ in range(6)]
    carried = [min(0 if idle else _sparse(rng, 0.25), total[i] + forward[i]) for i in range(6)]
    rows.update(total=total, carried_forward=forward, carried_over=carried,
                new=[total[i] + forward[i] - carried[i] for i in range(6)])
    out = {}
    for row, six in rows.items():
        for col, val in zip(COLS, six + [sum(six)]):
            out[f"t3.{row}.{col}"] = val
    return out


def _t4(rng: random.Random) -> dict:
    out = {}
    for g, p in zip(T4_GROUPS, (0.2, 0.12, 0.06)):
        used = rng.random() < p
        four = [_sparse(rng, 0.45) if used else 0 for _ in T4_RESULTS]
        for r, val in zip(T4_RESULTS + ("total",), four + [sum(four)]):
            out[f"t4.{g}.{r}"] = val
    return out


def random_record(rng: random.Random, template: str) -> dict:
    """A random record of `template` ("2019" or "2021") with exactly its keys, identities
    satisfied."""
    if template not in TEMPLATES:
        raise ValueError(f"unknown template {template!r}")
    rec = {
        "meta.agency": random_agency(rng),
        "meta.year": rng.choice(YEARS[template]),
        "meta.template": template,
    }
    rec.update(_t2_2021(rng) if template == "2021" else _t2_2019(rng))
    rec.update(_t3(rng, template))
    rec.update(_t4(rng))
    return {k: rec[k] for k in keys_for(template)}


# Two applicant columns side by side whose digits, run together with the row's total, cut another
# way that also adds up (2 | 20 | … | 22 or 22 | 0 | … | 22; 1 | 11 or 11 | 1 or 1 | 1 | 10).
AMBIGUOUS_PAIRS = ((1, 11), (11, 1), (2, 20), (20, 2), (1, 10), (2, 22), (12, 1), (1, 12), (3, 30),
                   (11, 11))
AMBIGUOUS_T4 = ((1, 11, 0, 0), (11, 1, 0, 0), (2, 20, 0, 0), (1, 0, 10, 0), (0, 1, 11, 0))


def ambiguous_record(rng: random.Random, template: str) -> dict:
    """A random record drawn so that rows run together read several ways (the solver's cases):
    one to three detail rows of table 3 hold a pair of AMBIGUOUS_PAIRS in two neighbouring
    applicant columns, half the time a further row holds the mirrored pair in the same columns
    (then the columns' sums cannot tell the two rows' readings apart); a group of table 4 may do
    the same. Totals are recomputed: the identities hold."""
    rec = random_record(rng, template)
    rows = t3_detail_rows(template)
    picks = rng.sample(rows, rng.randint(1, 3))
    col = rng.randrange(5)
    pair = rng.choice(AMBIGUOUS_PAIRS)
    for n, row in enumerate(picks):
        a, b = pair if n == 0 else rng.choice(AMBIGUOUS_PAIRS)
        at = col if n == 0 else rng.randrange(5)
        _set_row(rec, row, at, (a, b))
    if rng.random() < 0.5:
        _set_row(rec, rng.choice([r for r in rows if r not in picks]), col, pair[::-1])
    _refresh_t3(rec, template)
    if rng.random() < 0.5:
        g = rng.choice(T4_GROUPS)
        four = rng.choice(AMBIGUOUS_T4)
        for r, v in zip(T4_RESULTS + ("total",), four + (sum(four),)):
            rec[f"t4.{g}.{r}"] = v
    return rec


def _set_row(rec: dict, row: str, at: int, pair: tuple[int, int]) -> None:
    six = [0] * 6
    six[at], six[at + 1] = pair
    for c, v in zip(APPLICANTS, six):
        rec[f"t3.{row}.{c}"] = v


def _refresh_t3(rec: dict, template: str) -> None:
    """Every row's total, the （七）总计 row and 一 recomputed from the detail rows (二 and 四
    kept, 二 cut down where 一 would go negative)."""
    details = t3_detail_rows(template)
    for c in APPLICANTS:
        total = sum(rec[f"t3.{r}.{c}"] for r in details)
        fwd = rec[f"t3.carried_forward.{c}"]
        carried = min(rec[f"t3.carried_over.{c}"], total + fwd)
        rec[f"t3.total.{c}"], rec[f"t3.carried_over.{c}"] = total, carried
        rec[f"t3.new.{c}"] = total + fwd - carried
    for row, _ in t3_rows(template):
        rec[f"t3.{row}.total"] = sum(rec[f"t3.{row}.{c}"] for c in APPLICANTS)


def template_of(record: dict) -> str:
    """The template of a record: its meta.template, else told by its keys."""
    tpl = record.get("meta.template")
    if tpl in TEMPLATES:
        return tpl
    return "2019" if "t2.procurement.items" in record or "t3.other.total" in record else "2021"


def identity_violations(record: dict, name: str | None = None) -> list[str]:
    """The template's identities (rules/templates.toml) that the record breaks, as
    `T3-B[granted] (总计 = the six applicant columns): 11 != 10`; one with a null is skipped."""
    bad = []
    for eq in template(name or template_of(record)).identities:
        values = [record.get(k) for k in eq.keys]
        present = [v for v in values if v is not None]
        if len(present) < len(values):
            continue
        left, right = sum(present[: len(eq.left)]), sum(present[len(eq.left) :])
        if left != right:
            bad.append(f"{eq.name} ({eq.says}): {left} != {right}")
    return bad


OCR_SWAPS = {"0": "O", "1": "l", "3": "ε"}  # what OCR prints for 0, 1, 3


# ---------------------------------------------------------------- cell texts (for synth.render)
def _num(v, thousands: bool = False, places: int | None = None) -> str:
    if isinstance(v, float):
        s = f"{v:.{places}f}" if places is not None else f"{v:.4f}".rstrip("0").rstrip(".")
    else:
        s = str(v)
    if thousands and abs(v) >= 1000:
        whole, _, frac = s.partition(".")
        s = f"{int(whole):,}" + ("." + frac if frac else "")
    return s


def cell_texts(truth: dict, o: dict, rng: random.Random) -> dict[str, list[str]]:
    """key -> the cell(s) printed for it: normally one, two for a number split across cells."""
    out = {}
    for k, v in truth.items():
        if k.startswith("meta."):
            continue
        if v is None:
            out[k] = [o["null"]]
        elif k in MONEY_KEYS:
            if o["yuan"]:
                out[k] = [_num(round(v * 10000, 2), o["thousands"])]
            else:
                out[k] = [_num(v, o["thousands"], 2 if v == int(v) and o["money_places"] else None)]
        else:
            out[k] = [_num(v, o["thousands"])]
    return out


# ------------------------------------------------------ tricks on cells (they also set the truth)
def nbsp_zeros(texts, truth, rng, info):
    mode = rng.choice(["zeros shown", "all zeros &nbsp;", "some rows' zeros &nbsp;"])
    info["details"].append(mode)
    if mode == "zeros shown":
        return
    # in order: a set's order changes with the hash seed
    rows = dict.fromkeys(k.rsplit(".", 1)[0] for k in texts)
    blank_rows = {r for r in rows if mode.startswith("all") or rng.random() < 0.5}
    for k, v in truth.items():
        if k in texts and v == 0 and k.rsplit(".", 1)[0] in blank_rows:
            texts[k], truth[k] = [""], None


def cell_pattern(key: str) -> str:
    """The shape of a cell's number as printed (synth_readings): money, a signed change, a count."""
    return MONEY if key in MONEY_KEYS else SIGNED if key.endswith(".change") else INT


def _short(run: str, keys: list[str]) -> bool:
    """A run too short for its row: no cut of it fills every cell (and, in table 3, adds up)."""
    row_sum = row_identity("2021", "t3")  # T3-B, alike in both formats
    checks = {len(keys): lambda v: row_sum(v) is True} if keys[0].startswith("t3.") else None
    return splits(run, [cell_pattern(k) for k in keys], checks) == []


def vanish_blanks(texts: dict[str, list[str]], truth: dict, rng: random.Random,
                  info: dict) -> None:
    """A crawler's text of a page whose zero cells were blank: the blank leaves nothing. Either the
    rows that are all zeros vanish whole (their label followed by the next), or some rows' zero
    cells vanish while their other numbers stay, where the run left is too short for its row (a
    careful reader sees cells are missing but not which; a run that still fills the row would
    fool any reader, so such a row keeps its zeros)."""
    whole = rng.random() < 0.5
    info["details"].append("zero rows blank" if whole else "some rows' zeros blank")
    rows: dict[str, list[str]] = {}
    for k in texts:
        if k.startswith(("t2.", "t3.")):
            rows.setdefault(k.rsplit(".", 1)[0], []).append(k)
    for keys in rows.values():
        zeros = [k for k in keys if truth[k] == 0]
        if rng.random() >= 0.5 or not zeros or (len(zeros) == len(keys)) != whole:
            continue
        if not whole and not _short("".join(texts[k][0] for k in keys if k not in zeros), keys):
            continue
        for k in zeros:
            texts[k], truth[k] = [""], None


def blank_totals(texts, truth, rng, info):
    tpl = truth["meta.template"]
    keys = [f"t3.{r}.total" for r, _ in t3_rows(tpl) if rng.random() < 0.3]
    if rng.random() < 0.4:
        keys += [f"t3.total.{c}" for c in COLS]
    if rng.random() < 0.5 or not keys:
        keys += [k for k in T4_KEYS if k.endswith(".total")]
    for k in dict.fromkeys(keys):
        texts[k], truth[k] = [""], None
    info["details"].append(f"{len(set(keys))} total cells blank")


def ocr_confusions(texts, truth, rng, info):
    cands = [k for k, t in texts.items() if len(t) == 1 and any(c in t[0] for c in OCR_SWAPS)]
    for k in rng.sample(cands, min(len(cands), rng.randint(1, 4))):
        s = texts[k][0]
        i = rng.choice([i for i, c in enumerate(s) if c in OCR_SWAPS])
        texts[k] = [s[:i] + OCR_SWAPS[s[i]] + s[i + 1:]]
        info["details"].append(f"{k}: {s}->{texts[k][0]}")


def split_numbers(texts, truth, rng, info):
    cands = [
        k
        for k, t in texts.items()
        if k not in MONEY_KEYS and len(t) == 1 and re.fullmatch(r"\d{2,}", t[0])
    ]
    for k in rng.sample(cands, min(len(cands), rng.randint(1, 2))):
        s = texts[k][0]
        cut = rng.randint(1, len(s) - 1)
        texts[k] = [s[:cut], s[cut:]]
        info["details"].append(f"{k}: {s}->{s[:cut]}|{s[cut:]}")
    if not cands:
        info["details"].append("no multi-digit count to split")
