"""The words of the exports and of `findings` in either language: `en` (canonical keys, the
messages as xxgk writes them) or `zh` (the template's labels, and the messages and review reasons
in Chinese, from rules/labels_zh.toml). A text no pattern of that file matches stays as written."""

from __future__ import annotations

import re
import tomllib
from functools import lru_cache

from .errors import UsageError
from .spec import field_by_key, open_rule

LANGUAGES = ("en", "zh")
KEY = re.compile(r"\bt[234]\.[a-z_]+(?:\.[a-z_]+)+\b|\bmeta\.(?:agency|year|template)\b")
IDENTITY = re.compile(r"^(T3-[ABC]|T4)\[([^\]]+)\]$")


@lru_cache(maxsize=1)
def zh() -> dict:
    """rules/labels_zh.toml, its patterns compiled."""
    with open_rule("labels_zh.toml", "rb") as f:
        data = tomllib.load(f)
    for section in ("message", "reason", "suffix"):
        data[section] = [(re.compile(p["en"]), p["zh"]) for p in data[section]]
    return data


def check_language(labels: str) -> None:
    if labels not in LANGUAGES:
        raise UsageError(f"unknown labels {labels!r}: one of {', '.join(LANGUAGES)}")


def column(name: str, labels: str) -> str:
    """A document or finding column's header."""
    return zh()["columns"].get(name, name) if labels == "zh" else name


def key_header(key: str, labels: str) -> str:
    """A canonical key's column header, its unit in brackets when it has one:
    `t2.fees.amount [万元]`, `第二十条第（八）项 行政事业性收费 本年收费金额（万元）`."""
    spec = field_by_key()[key]
    if labels == "zh":
        return spec.label_zh + (f"（{spec.unit}）" if spec.unit else "")
    return key + (f" [{spec.unit}]" if spec.unit else "")


def status(value: str | None, labels: str) -> str | None:
    return zh()["status"].get(value, value) if labels == "zh" and value else value


def kind(value: str | None, labels: str) -> str | None:
    return zh()["kind"].get(value, value) if labels == "zh" and value else value


def check_name(check: str, labels: str) -> str:
    """A check's id, and in Chinese what it checks: `T3-B 表三横向：总计 = 六类申请人之和`."""
    if labels != "zh":
        return check
    what = zh()["checks"].get(check)
    return f"{check} {what}" if what else check


def key_label(key: str) -> str:
    spec = field_by_key().get(key)
    return spec.label_zh if spec else key


def _keys_zh(text: str) -> str:
    return KEY.sub(lambda m: key_label(m.group(0)), text)


def identity_zh(identity: str) -> str:
    """`T3-B[granted]` → `T3-B 三（一）予以公开`: the row, column or group an identity is over."""
    m = IDENTITY.match(identity)
    if not m:
        return identity
    check, part = m.groups()
    if check == "T3-B":
        label = key_label(f"t3.{part}.total").split(" × ")[0]
    elif check == "T4":
        label = key_label(f"t4.{part}.total").rsplit(" ", 1)[0]
    else:
        label = key_label(f"t3.new.{part}").split(" × ")[-1].replace("法人或其他组织 ", "")
    return f"{check} {label}"


def _fill(template: str, m: re.Match) -> str:
    parts = {}
    for name, value in m.groupdict().items():
        value = value or ""
        if name == "identity":
            value = identity_zh(value)
        elif name == "rest":
            value = _suffixes(value)
        elif name == "how":
            value = zh()["how"].get(value, value)
        elif name == "keys":
            value = "、".join(value.split(", "))
        parts[name] = _keys_zh(value)
    return template.format(**parts)


def _suffixes(rest: str) -> str:
    out = []
    while rest:
        for pattern, template in zh()["suffix"]:
            m = pattern.match(rest)
            if m:
                out.append(_fill(template, m))
                rest = rest[m.end():]
                break
        else:
            out.append(rest)
            break
    return "".join(out)


def _translate(text: str | None, section: str) -> str | None:
    if not text:
        return text
    for pattern, template in zh()[section]:
        m = pattern.fullmatch(text)
        if m:
            return _fill(template, m)
    return text


def message(text: str | None, labels: str) -> str | None:
    """A finding's message (a parse finding's is a reason)."""
    if labels != "zh" or not text:
        return text
    out = _translate(text, "message")
    return out if out != text else _translate(text, "reason")


def reason(text: str | None, labels: str) -> str | None:
    """Why a value is marked for review."""
    return _translate(text, "reason") if labels == "zh" else text


def number(x):
    """A stored REAL that is a whole number as an int (55.0 → 55); others as they are."""
    return int(x) if isinstance(x, float) and x.is_integer() else x
