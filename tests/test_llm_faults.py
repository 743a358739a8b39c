"""The LLM route under faults (issue 13): a whole-request timeout and a whole-table deadline, a
circuit breaker after repeated transport failures, secrets scrubbed from everything stored or
printed, replies of the wrong shape reported in words. Through the fake endpoint under the real
client, and once through the CLI against a local HTTP endpoint."""

import asyncio
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import sqlite_utils
from click.testing import CliRunner
from fake_openai import Drip, FakeEndpoint, Raw, Refused, Reply, Status
from test_llm import RIGHT, Sleeps, config, garbled, garbled_text

from extractor.cli import main
from extractor.llm import fill_with_llm
from extractor.llm_transport import scrub

KEY = "sk-test-0123456789abcdefSECRET"


def run(endpoint, pairs, cfg, db=None):
    return asyncio.run(fill_with_llm(pairs, cfg, endpoint.client(cfg), db=db, sleep=Sleeps()))


def test_a_reply_that_drips_is_cut_off_by_the_timeout_on_the_whole_request():
    record, text = garbled()
    endpoint = FakeEndpoint([Drip(every=0.2, count=100)])
    started = time.monotonic()
    [outcome] = run(endpoint, [(record, text)], config(timeout=1, retries=0))
    assert (
        time.monotonic() - started < 5
    )  # 100 bytes at 0.2 s would take 20 s; no read ever waited 1 s
    assert (
        outcome.sections[0].status == "failed"
        and "within the timeout of 1 s" in outcome.sections[0].error
    )
    assert record.fields["t3.granted.natural"].review


def test_the_table_deadline_bounds_retries_and_waits():
    record, text = garbled()
    endpoint = FakeEndpoint([Drip(every=0.2, count=100)] * 10)
    started = time.monotonic()
    cfg = config(timeout=0.6, retries=10, deadline=1.5, breaker=100)
    [outcome] = asyncio.run(
        fill_with_llm([(record, text)], cfg, endpoint.client(cfg))
    )  # real backoff sleeps
    assert time.monotonic() - started < 4
    assert (
        outcome.sections[0].status == "failed" and "deadline of 1.5 s" in outcome.sections[0].error
    )


def test_the_breaker_stops_the_route_for_the_run_and_says_so_once(caplog, tmp_path):
    pairs = [garbled(name=f"doc{i}.txt") for i in range(8)]
    endpoint = FakeEndpoint(lambda body: Refused())
    cfg = config(retries=3, concurrency=1, breaker=3)
    outcomes = run(endpoint, pairs[:4], cfg, db=tmp_path / "llm.db")
    # 3 refused connections (the first table's request and 2 retries), then nothing more
    assert endpoint.calls == 3
    assert [o.sections[0].status for o in outcomes] == ["failed", "stopped", "stopped", "stopped"]
    # a later batch of the same run (the same configuration) asks nothing either
    more = run(endpoint, pairs[4:], cfg, db=tmp_path / "llm.db")
    assert endpoint.calls == 3 and all(o.sections[0].status == "stopped" for o in more)
    said = [r.getMessage() for r in caplog.records if "stopped for this run" in r.getMessage()]
    assert len(said) == 1 and "3 transport failures in a row" in said[0]
    for record, _ in pairs:
        assert record.status == "flagged" and record.fields["t3.granted.natural"].review
        [failed] = [f for f in record.findings if f.kind == "llm_failed"]
    rows = list(sqlite_utils.Database(tmp_path / "llm.db")["llm_calls"].rows)
    assert [r["status"] for r in rows].count("stopped") == 7


def test_a_success_resets_the_count_of_failures():
    pairs = [garbled(name=f"doc{i}.txt") for i in range(3)]
    endpoint = FakeEndpoint(
        [Refused(), Refused(), Reply(RIGHT), Refused(), Refused(), Reply(RIGHT), Reply(RIGHT)]
    )
    outcomes = run(endpoint, pairs, config(retries=2, concurrency=1, breaker=3))
    assert [o.sections[0].status for o in outcomes] == ["filled", "filled", "filled"]


def test_a_key_refused_stops_the_route_at_once_and_the_key_is_never_stored(tmp_path, caplog):
    message = "Incorrect API key provided: " + KEY + ". Header was {auth}"
    pairs = [garbled(name=f"doc{i}.txt") for i in range(3)]
    endpoint = FakeEndpoint(lambda body: Status(401, message=message))
    cfg = config(api_key=KEY, breaker=1, concurrency=1)
    outcomes = run(endpoint, pairs, cfg, db=tmp_path / "llm.db")
    assert endpoint.calls == 1 and [o.sections[0].status for o in outcomes] == [
        "failed",
        "stopped",
        "stopped",
    ]
    stored = json.dumps(list(sqlite_utils.Database(tmp_path / "llm.db")["llm_calls"].rows))
    stored += json.dumps([r.to_json() for r, _ in pairs], ensure_ascii=False)
    assert "401" in stored and "[redacted]" in stored
    assert KEY not in stored and KEY[3:15] not in stored and "Bearer sk" not in stored
    logged = " ".join(r.getMessage() for r in caplog.records)  # instructor's own log lines too
    assert "401" in logged and KEY[3:15] not in logged


def test_scrub_takes_out_the_key_its_parts_and_authorization_headers():
    text = (
        f"bad key {KEY[:-3]}*** (Authorization: Bearer {KEY}) api_key={KEY} token sk-abcdef123456"
    )
    clean = scrub(text, (KEY,))
    assert KEY[3:15] not in clean and "abcdef123456" not in clean and "Bearer" not in clean
    assert clean.startswith("bad key [redacted]") and "Authorization: [redacted]" in clean
    assert scrub("no secret here, 12 rows", (KEY,)) == "no secret here, 12 rows"


def test_replies_of_the_wrong_shape_are_reported_in_words():
    cases = [
        (
            Raw({"id": "x", "object": "chat.completion", "choices": None, "usage": None}),
            "not a chat completion",
        ),
        (Raw({"error": "overloaded"}), "not a chat completion"),
        (Reply("null"), "not null"),
        (Reply([1]), "must be one JSON object"),
    ]
    for step, words in cases:
        record, text = garbled()
        endpoint = FakeEndpoint([step] * 6)
        [outcome] = run(endpoint, [(record, text)], config(retries=0, breaker=100))
        error = outcome.sections[0].error
        assert words in error, (step, error)
        for bad in (
            "NoneType",
            "not subscriptable",
            "has no attribute",
            "Traceback",
            "input_value",
        ):
            assert bad not in error, (step, error)
        [failed] = [f for f in record.findings if f.kind == "llm_failed"]
        assert words in failed.message


def test_tools_mode_with_a_model_that_answers_in_text_says_which_mode_to_use():
    record, text = garbled()

    def text_answer(body):
        from fake_openai import completion

        return Raw(
            completion({}, Reply('```json\n{"name": "Table3", "arguments": {"rows": []}}\n```'))
        )

    endpoint = FakeEndpoint(text_answer)
    [outcome] = run(endpoint, [(record, text)], config(mode="TOOLS", retries=0))
    assert outcome.sections[0].status == "invalid"
    assert "use --llm-mode JSON_SCHEMA" in outcome.sections[0].error


# ------------------------------------------------------------ through the CLI, on a local endpoint
class Endpoint:
    """An OpenAI-compatible endpoint on 127.0.0.1 that refuses the key, repeating it."""

    def __init__(self):
        self.calls = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                outer.calls += 1
                self.rfile.read(int(self.headers.get("content-length", 0)))
                body = json.dumps(
                    {
                        "error": {
                            "message": f"Incorrect API key provided: {KEY}. Header was "
                            f"{self.headers.get('authorization')}"
                        }
                    }
                ).encode()
                self.send_response(401)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_cli_run_against_an_endpoint_that_refuses_the_key(tmp_path):
    endpoint = Endpoint()
    try:
        folder = tmp_path / "in"
        folder.mkdir()
        for i in range(10):
            (folder / f"garbled{i}.txt").write_text(
                garbled_text().replace("财政局", f"第{i}财政局", 1), encoding="utf-8"
            )
        db, jl = tmp_path / "r.db", tmp_path / "r.jsonl"
        result = CliRunner().invoke(
            main,
            [
                "extract",
                str(folder),
                "--db",
                str(db),
                "--jsonl",
                str(jl),
                "-w",
                "1",
                "--llm-base-url",
                endpoint.url,
                "--llm-api-key",
                KEY,
                "--llm-mode",
                "JSON",
            ],
        )
    finally:
        endpoint.server.shutdown()
    assert result.exit_code == 0, result.output
    # the breaker's default: 3 failures in a row, then no more requests (4 may be in flight at once)
    assert 3 <= endpoint.calls <= 3 + 4 - 1
    output = result.output  # stdout and stderr, as a terminal shows them
    assert output.count("stopped for this run") == 1  # said once, on stderr
    stored = db.read_bytes() + jl.read_bytes() + output.encode()
    assert KEY.encode() not in stored and KEY[3:15].encode() not in stored
    assert "10 documents read: 0 ok, 10 flagged" in output


def test_cli_takes_the_local_profile_and_refuses_an_unknown_one(tmp_path):
    path = tmp_path / "r.txt"
    path.write_text(garbled_text(), encoding="utf-8")
    bad = CliRunner().invoke(main, ["extract", str(path), "--jsonl", "-", "--llm-profile", "laptop",
                                    "--llm-base-url", "http://127.0.0.1:9/v1"])
    assert bad.exit_code != 0 and "profile must be one of hosted, local" in bad.output
    ok = CliRunner().invoke(
        main,
        [
            "extract", str(path), "--jsonl", str(tmp_path / "o.jsonl"), "--llm-profile", "local",
            "--llm-base-url", "http://127.0.0.1:9/v1",
        ],
    )
    assert (
        "profile local, 1 concurrent, 240 s a request" in ok.output
        and "mode JSON_SCHEMA" in ok.output
    )
