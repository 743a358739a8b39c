"""A fake OpenAI-compatible endpoint for tests: an HTTP mock transport driven by scripted replies.

It plugs in under the real AsyncOpenAI client (`http_client=`), so requests go through openai,
instructor and the retry layer exactly as they would over the network. The transport comes from
whichever HTTP library the installed openai package uses (httpx for openai 2.x, httpx2 for 3.x).
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass, field
from typing import Any, Callable


def http_module():
    base = importlib.import_module("openai._base_client")
    return getattr(base, "httpx2", None) or getattr(base, "httpx")


@dataclass
class Reply:
    """A 200 chat completion whose message is `content` (a dict is sent as its JSON)."""

    content: Any
    tokens_in: int = 100
    tokens_out: int = 50


@dataclass
class Status:
    """An error status, e.g. Status(429, {"retry-after": "2"}); `message` is the error's text
    (`{auth}` in it is replaced by the request's Authorization header, as some endpoints echo
    it)."""

    code: int
    headers: dict = field(default_factory=dict)
    message: str = ""


class Timeout:
    """The request times out (the transport raises the HTTP library's ReadTimeout)."""


class Refused:
    """Nothing listens: the connection is refused (the HTTP library's ConnectError)."""


@dataclass
class Raw:
    """A 200 whose body is this JSON as it stands (not a chat completion, or a broken one)."""

    body: Any


@dataclass
class Drip:
    """A 200 whose body comes a byte every `every` seconds, `count` bytes in all: no read ever
    waits long enough to time out, so only a bound on the whole request stops it."""

    every: float = 0.5
    count: int = 1000


class FakeEndpoint:
    """Replies to each request with the next scripted step, or with `respond(body)` when given a
    function (for concurrent runs whose order is not fixed). Records every request body."""

    def __init__(self, script: list | Callable[[dict], Any] = (), delay: float = 0.0):
        self.script = script if callable(script) else list(script)
        self.requests: list[dict] = []
        self.delay = delay
        self.in_flight = 0
        self.max_in_flight = 0

    async def handle(self, request):
        import asyncio

        hx = http_module()
        body = json.loads(request.content)
        self.requests.append(body)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            step = (
                self.script(body)
                if callable(self.script)
                else (self.script.pop(0) if self.script else None)
            )
        finally:
            self.in_flight -= 1
        if step is None:
            return hx.Response(
                500, json={"error": {"message": "the fake endpoint has no reply scripted"}}
            )
        if isinstance(step, Timeout):
            raise hx.ReadTimeout("timed out", request=request)
        if isinstance(step, Refused):
            raise hx.ConnectError("connection refused", request=request)
        if isinstance(step, Status):
            message = (step.message or f"status {step.code}").replace(
                "{auth}", request.headers.get("authorization", "")
            )
            return hx.Response(
                step.code,
                headers=step.headers,
                json={"error": {"message": message, "type": "fake"}},
            )
        if isinstance(step, Raw):
            return hx.Response(200, json=step.body)
        if isinstance(step, Drip):
            return hx.Response(
                200, headers={"content-type": "application/json"}, content=_drip(step)
            )
        return hx.Response(200, json=completion(body, step))

    def client(self, config=None):
        """An AsyncOpenAI on this endpoint, built by the route's own build_client."""
        from extractor.llm_config import build_client, resolve_config

        hx = http_module()
        config = config or resolve_config(
            env={}, base_url="http://fake.test/v1", api_key="test-key"
        )
        return build_client(
            config, http_client=hx.AsyncClient(transport=hx.MockTransport(self.handle))
        )

    @property
    def calls(self) -> int:
        return len(self.requests)


async def _drip(step: Drip):
    import asyncio

    for _ in range(step.count):
        await asyncio.sleep(step.every)
        yield b" "


def completion(body: dict, reply: Reply) -> dict:
    content = (
        reply.content
        if isinstance(reply.content, str)
        else json.dumps(reply.content, ensure_ascii=False)
    )
    message: dict = {"role": "assistant", "content": content}
    if body.get("tools"):  # TOOLS mode: the reply comes as a call of the one tool offered
        name = body["tools"][0]["function"]["name"]
        message = {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": name, "arguments": content},
                }
            ],
        }
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 0,
        "model": body.get("model", "fake"),
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": {
            "prompt_tokens": reply.tokens_in,
            "completion_tokens": reply.tokens_out,
            "total_tokens": reply.tokens_in + reply.tokens_out,
        },
    }


def section_of(body: dict) -> str:
    """Which table a request asks for, from its system message."""
    system = body["messages"][0]["content"]
    for section, words in (("t2", "table 2 ("), ("t3", "table 3 ("), ("t4", "table 4 (")):
        if words in system:
            return section
    raise AssertionError("not a request of the LLM route")


def user_text(body: dict) -> str:
    return next(m["content"] for m in body["messages"] if m["role"] == "user")
