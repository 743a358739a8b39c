"""The versioned prompts in prompts/ and what one table's request holds: the rows asked, the
messages, the validation context (with the grounds the reply is checked against), the reply's
bound (`max_tokens`), the cost estimate and the cache key."""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .llm_cache import cache_key
from .llm_schema import (
    Grounds,
    as_cells,
    printed_numbers,
    reply_model,
    row_specs,
    rows_printed,
    rows_table,
)

PROMPTS = {"t2": "t2.v3", "t3": "t3.v3", "t4": "t4.v3"}  # the version each section uses
USER_SPLIT = "=== user ==="
CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f]")
SPACE_RUN = re.compile(r"\s+")
CELL_SEP = re.compile(r"[\t\n|]")  # between a row's cells (tabs, lines, markdown's |)
# Tokens of a reply, per row and per value, at most: `{"row": "granted", "values": [11, 1, …]},`
# pretty-printed (a value a line) as small models do. The bound stops a reply that loops.
REPLY_ROW, REPLY_VALUE, REPLY_FIXED = 16, 4, 16
MAX_ROW_TEXT = (
    300  # characters of a row's text shown beside its id (a longer span is no single row)
)


def prompts_dir() -> Path:
    """$XXGK_PROMPTS_DIR, else the package's prompts (spec.package_data: the top-level
    prompts/ in a checkout, extractor/prompts in a wheel)."""
    from .spec import package_data

    override = os.environ.get("XXGK_PROMPTS_DIR")
    return Path(override) if override else package_data("prompts")


@lru_cache(maxsize=16)
def _load(path: str) -> tuple[str, str]:
    text = Path(path).read_text(encoding="utf-8")
    if USER_SPLIT not in text:
        raise ValueError(f"{path}: no line {USER_SPLIT!r} between the system and the user message")
    system, user = text.split(USER_SPLIT, 1)
    return system.strip(), user.strip()


def load_prompt(version: str) -> tuple[str, str]:
    """(system, user) templates of a prompt version such as "t3.v2"."""
    return _load(str(prompts_dir() / f"{version}.md"))


def estimate_tokens(text: str) -> int:
    """Tokens a text costs, roughly: 0.55 a CJK character, 1.5 a digit, 0.8 a run of white space,
    0.2 any other character. Fitted to Qwen2.5's tokenizer (llama.cpp's /tokenize) over the
    requests of eval/live_llm.py in three modes: median error 5 %, at most 20 %. Digits weigh
    most: such tokenizers split numbers digit by digit, and tables are mostly numbers and cells."""
    cjk = len(CJK.findall(text))
    digits = sum(c.isdigit() for c in text)
    spaces = len(SPACE_RUN.findall(text))
    other = len(text) - cjk - digits - sum(c.isspace() for c in text)
    return int(0.55 * cjk + 1.5 * digits + 0.8 * spaces + 0.2 * other) + 1


def request_tokens(kwargs: dict) -> int:
    """Tokens of a request as sent: every message, and the schema when it goes as tools or as
    the response format (instructor puts it in the system message in JSON modes)."""
    sent = [
        m.get("content") or ""
        for m in kwargs.get("messages", ())
        if isinstance(m.get("content") or "", str)
    ]
    for extra in ("tools", "response_format"):
        if kwargs.get(extra) and kwargs[extra] != {"type": "json_object"}:
            sent.append(json.dumps(kwargs[extra], ensure_ascii=False, separators=(",", ":")))
    return sum(estimate_tokens(s) for s in sent) + 4 * len(kwargs.get("messages", ()))


@dataclass
class Request:
    """One table of one document, ready to send."""

    section: str
    template: str
    prompt: str  # version, "t3.v2"
    text: str  # the table's text (its region)
    offset: int  # where it stands in the document
    asked: tuple[str, ...]  # the row ids to read
    messages: list[dict]
    context: dict  # instructor's validation (and Jinja templating) context
    schema: dict
    estimate_in: int  # tokens sent (instructions and schema included), estimated before the call
    estimate_out: int  # tokens the reply will take, roughly
    max_tokens: int  # the reply's bound
    key: str  # cache key

    @property
    def estimate(self) -> int:
        return self.estimate_in + self.estimate_out

    @property
    def response_model(self):
        return reply_model(self.section, self.template, self.asked)


def build_request(
    section: str, template: str, grounds: Grounds, asked: tuple[str, ...], model: str, mode: str
) -> Request:
    """The request for the rows `asked` of one table. The table's text goes in only as a Jinja
    variable of instructor's templating, between markers derived from its hash: never rendered as
    a template, never mistaken for instructions."""
    version = PROMPTS[section]
    system, user = load_prompt(version)
    start, end = grounds.table
    text = grounds.text[start:end]
    width = {s.id: len(s.columns) for s in row_specs(section, template) if s.id in asked}
    printed = {
        r: _as_printed(grounds.text, s, sum(width[o] for o, t in grounds.rows.items() if t == s))
        for r, s in grounds.rows.items()
        if s and s[1] - s[0] <= MAX_ROW_TEXT
    }
    context = {
        "section_text": text,
        "marker": hashlib.sha256(text.encode("utf-8")).hexdigest()[:12],
        "rows_table": rows_table(section, template, asked),
        "rows_printed": rows_printed(printed),
        "section": section,
        "template": template,
        "grounds": grounds,
    }
    messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
    response_model = reply_model(section, template, asked)
    schema = response_model.model_json_schema()
    rendered = [{"role": m["role"], "content": _render(m["content"], context)} for m in messages]
    estimate_in = request_tokens(_as_sent(response_model, mode, rendered))
    spans = {r: grounds.text[s[0] : s[1]] if s else None for r, s in grounds.rows.items()}
    key = cache_key(
        model,
        mode,
        version,
        rendered[0]["content"] + USER_SPLIT + user,
        schema,
        text + json.dumps(spans, ensure_ascii=False, sort_keys=True),
    )
    specs = [s for s in row_specs(section, template) if s.id in asked]
    max_tokens = REPLY_FIXED + sum(REPLY_ROW + REPLY_VALUE * len(s.columns) for s in specs)
    estimate_out = REPLY_FIXED + sum(8 + 2 * len(s.columns) for s in specs)
    return Request(
        section,
        template,
        version,
        text,
        start,
        asked,
        messages,
        context,
        schema,
        estimate_in,
        estimate_out,
        max_tokens,
        key,
    )


def _as_printed(text: str, span: tuple[int, int], columns: int) -> str:
    """A row's text for the model: its label apart from its numbers (a small model takes an
    enumerator such as `4.` for a value), the numbers it prints and what they leave to do for its
    `columns`; when it prints fewer numbers than columns, its cells too, a blank one as `_`:
    `4. 保护第三方合法权益 => numbers: 0 0 0 0 0 0 0 (7 numbers, 7 columns: one a column)`."""
    tokens = printed_numbers(text, *span)
    if not tokens:
        return as_cells(text[span[0] : span[1]])
    head = CELL_SEP.split(text[span[0] : tokens[0].start])
    label = " | ".join(c.strip() for c in head if c.strip())
    numbers = [t.digits for t in tokens]  # as the tool reads them (an OCR's `O` as 0)
    count = f"{len(numbers)} number{'s' if len(numbers) != 1 else ''}, {columns} columns"
    if any(t.glued and len(t.digits) > 1 for t in tokens) or len(numbers) > columns:
        todo = "digits run together: cut them, one value a column"
    elif len(numbers) == columns:
        todo = "one a column"
    elif len("".join(numbers)) >= columns:  # `1110000 12`: numbers, or cells run together
        todo = f"{columns - len(numbers)} blank, null there; or digits run together: cut them"
    else:
        todo = f"{columns - len(numbers)} blank, null there"
    line = f"{label} => numbers: {' '.join(numbers)} ({count}: {todo})"
    trailing = 0  # empty pieces after the label: the last one ends where the first number starts
    while trailing < len(head) - 1 and not head[-1 - trailing].strip():
        trailing += 1
    body = [c.strip() for c in CELL_SEP.split(text[tokens[0].start : span[1]].strip())]
    cells = ["_"] * max(trailing - 1, 0) + [SPACE_RUN.sub(" ", c) or "_" for c in body]
    if len(numbers) < columns and "_" in cells:
        line += f"; cells: {' | '.join(cells)}"
    return line


def _as_sent(response_model, mode: str, messages: list[dict]) -> dict:
    """The request's keyword arguments as instructor will send them in this mode."""
    import importlib

    import instructor

    try:
        response = importlib.import_module("instructor.v2.core.response")
    except ImportError:  # instructor before 1.15
        response = importlib.import_module("instructor.process_response")
    _, kwargs = response.handle_response_model(
        response_model, instructor.Mode[mode], messages=[dict(m) for m in messages]
    )
    return kwargs


def _render(template: str, context: dict) -> str:
    out = template
    for name, value in context.items():
        if isinstance(value, str):
            out = out.replace("{{ %s }}" % name, value)
    return out
