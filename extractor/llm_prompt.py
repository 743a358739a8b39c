"""The versioned prompts in prompts/ and what one section's request holds: messages, validation
context, the cost estimate and the cache key."""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .llm_cache import cache_key
from .llm_schema import reply_model, rows_table

PROMPTS = {"t2": "t2.v1", "t3": "t3.v1", "t4": "t4.v1"}  # the version each section uses
USER_SPLIT = "=== user ==="
CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f]")


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
    """(system, user) templates of a prompt version such as "t3.v1"."""
    return _load(str(prompts_dir() / f"{version}.md"))


def estimate_tokens(text: str) -> int:
    """Tokens a text costs, roughly: a CJK character about 1/1.5 token, other characters 1/4."""
    cjk = len(CJK.findall(text))
    return int(cjk / 1.5 + (len(text) - cjk) / 4) + 1


@dataclass
class Request:
    """One section of one document, ready to send."""

    section: str
    template: str
    prompt: str  # version, "t3.v1"
    text: str  # the section text
    offset: int  # where it stands in the document
    messages: list[dict]
    context: dict  # instructor's validation (and Jinja templating) context
    schema: dict
    estimate_in: int  # tokens sent, estimated before the call
    estimate_out: int  # tokens the reply will take, roughly
    key: str  # cache key

    @property
    def estimate(self) -> int:
        return self.estimate_in + self.estimate_out

    @property
    def response_model(self):
        return reply_model(self.section, self.template)


def build_request(section: str, template: str, text: str, offset: int, model: str, mode: str) -> Request:
    """The section text goes in only as a Jinja variable of instructor's templating, between
    markers derived from its hash: never rendered as a template, never mistaken for instructions."""
    version = PROMPTS[section]
    system, user = load_prompt(version)
    context = {"section_text": text, "marker": hashlib.sha256(text.encode("utf-8")).hexdigest()[:12],
               "rows_table": rows_table(section, template), "section": section, "template": template}
    messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
    schema = reply_model(section, template).model_json_schema()
    rendered = [_render(m["content"], context) for m in messages]
    schema_text = json.dumps(schema, ensure_ascii=False, separators=(",", ":"))
    estimate_in = sum(estimate_tokens(r) for r in rendered) + estimate_tokens(schema_text)
    key = cache_key(model, mode, version, rendered[0] + USER_SPLIT + user, schema, text)
    return Request(section, template, version, text, offset, messages, context, schema, estimate_in, _estimate_out(section, template, text), key)


def _render(template: str, context: dict) -> str:
    out = template
    for name, value in context.items():
        out = out.replace("{{ %s }}" % name, str(value))
    return out


def _estimate_out(section: str, template: str, text: str) -> int:
    """The reply quotes the rows it reads (most of the section text again) plus JSON around each row."""
    from .llm_schema import row_specs

    return int(estimate_tokens(text) * 0.8) + 12 * len(row_specs(section, template))
