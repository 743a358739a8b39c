"""Real exchanges with small local models, replayed (tests/data/llm/, from ../shared/cases/llm/).

Qwen2.5-Coder 0.5B and 1.5B (Q4_K_M) on llama.cpp, two CPU cores, through every instructor mode,
asked for a garbled table 3 (every cell an `O`, rows misprinted: 结鞍, 予以公幵). Each recorded
request gives the table's text, put in place of table 3 of a seed; each recorded answer (status,
finish_reason, usage and all) goes back through the real client, instructor and the validators.
Each must be refused for the reason a person would give, and none may leave an LLM value
unmarked."""

import asyncio
import json
from pathlib import Path

import pytest
from fake_openai import FakeEndpoint, Raw
from test_llm import SEED, Sleeps, config

from extractor.llm import fill_with_llm
from extractor.pipeline import extract

CASES = Path(__file__).parent / "data" / "llm"

# file → the words of the refusal, per recorded exchange (in file order; None: a client gone)
EXPECTED = {
    "qwen2.5-coder-0.5b-JSON+JSON_SCHEMA.jsonl": [
        "row '一' is not a row of this table",  # json_object: rows named 一 二 三, one value each
        "row '一' is not a row of this table",
        "row '一' is not a row of this table",
        "row '一' is not a row of this table",
        # json_schema: 7 zeros for 8 printed Os
        "the row prints O O O O O O O O and the reply leaves 0 out",
        # the re-ask: 8,050 tokens of prompt, the reply cut at the context's end
        "cut at its max_tokens",
        "the row prints O O O O O O O O and the reply leaves 0 out",
        "cut at its max_tokens",
    ],
    "qwen2.5-coder-0.5b-MD_JSON.jsonl": ["a list of numbers"] * 4,  # the code block parsed to [1]
    "qwen2.5-coder-0.5b-TOOLS.jsonl": ["answered in text instead of calling the tool"] * 2,
    "qwen2.5-coder-1.5b-JSON.jsonl": ["cut at its max_tokens"]
    * 2,  # looped on "O" strings to 3,000 tokens
    "qwen2.5-coder-1.5b-JSON_SCHEMA-fixedwidth.jsonl": [
        "no value read: every row is null"
    ],  # 25 rows of 7 nulls
    "qwen2.5-coder-1.5b-JSON_SCHEMA.jsonl": ["cut at its max_tokens"] * 2,
}


def exchanges():
    for path in sorted(CASES.glob("*.jsonl")):
        recorded = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        for i, exchange in enumerate(e for e in recorded if "request" in e):
            yield pytest.param(path.name, i, exchange, id=f"{path.stem}-{i}")


def mode_of(request: dict, name: str) -> str:
    if request.get("tools"):
        return "TOOLS"
    kind = (request.get("response_format") or {}).get("type")
    return {"json_schema": "JSON_SCHEMA", "json_object": "JSON"}.get(
        kind, "MD_JSON" if "MD_JSON" in name else "JSON"
    )


def the_report(request: dict) -> str:
    """The seed with its table 3 replaced by the table the recorded request carried."""
    user = next(m["content"] for m in request["messages"] if m["role"] == "user")
    table = user.split("\n", 1)[1].rsplit("SECTION", 1)[0].strip("\n")
    seed = SEED.read_text(encoding="utf-8")
    start, end = extract(seed.encode("utf-8"), SEED.name).regions["t3"]
    return seed[:start] + table + "\n\n" + seed[end:]


def test_every_recorded_file_is_replayed():
    assert sorted(p.name for p in CASES.glob("*.jsonl")) == sorted(EXPECTED)
    for name, expected in EXPECTED.items():
        lines = [json.loads(x) for x in (CASES / name).read_text(encoding="utf-8").splitlines()]
        assert len([x for x in lines if "request" in x]) == len(expected), name


@pytest.mark.parametrize("name, i, exchange", list(exchanges()))
def test_a_recorded_reply_is_refused_for_the_right_reason(name, i, exchange):
    text = the_report(exchange["request"])
    record = extract(text.encode("utf-8"), name)
    before = {k: (f.value, f.review) for k, f in record.fields.items() if k.startswith("t3.")}
    endpoint = FakeEndpoint([Raw(exchange["response"])] * 3)
    cfg = config(mode=mode_of(exchange["request"], name), reasks=0, retries=0)
    [outcome] = asyncio.run(
        fill_with_llm([(record, text)], cfg, endpoint.client(cfg), sleep=Sleeps())
    )
    [section] = outcome.sections
    assert section.status == "invalid", section
    assert EXPECTED[name][i] in section.error, section.error
    for bad in ("NoneType", "input_value", "Traceback"):
        assert bad not in section.error
    # nothing merged from a refused reply: every table-3 value as the rules left it, and flagged
    assert {
        k: (f.value, f.review) for k, f in record.fields.items() if k.startswith("t3.")
    } == before
    assert not [k for k, f in record.fields.items() if f.route == "llm" and not f.review]
    assert record.status == "flagged" and any(f.kind == "llm_failed" for f in record.findings)
