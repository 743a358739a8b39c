"""The one retry layer for transport failures, the run's circuit breaker, and secrets kept out of
every error that is stored or printed.

The openai client is built with max_retries=0 and instructor's max_retries only re-asks after a
reply that fails validation, so nothing stacks: each HTTP request goes through `Transport.create`,
which bounds it as a whole (`timeout`: an endpoint that sends a byte every few seconds is cut
off), retries connection errors, timeouts, 429 and 5xx with exponential backoff and jitter
(tenacity, waiting what a Retry-After asks), checks that the answer is a chat completion, and
counts every request, its time and the tokens the endpoint reports.

`RunState` lives as long as the run's configuration: after `breaker` transport failures in a row
(connection refused, timeouts, 5xx, a key refused, an answer that is no chat completion) the
route stops for the rest of the run, and says so once.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import re
import time
from dataclasses import dataclass, field
from typing import Awaitable, Callable

from .errors import EndpointError, RequestTimeout, RouteStopped

MAX_WAIT = 60.0  # seconds: the longest a Retry-After is honoured for, and the backoff's ceiling
TRANSIENT_STATUS = {408, 409, 429} | set(range(500, 600))
REFUSED_STATUS = {
    401,
    403,
    404,
}  # the endpoint refuses the key, or has no such model: no table will do better
log = logging.getLogger("xxgk.llm")


def is_transient(error: BaseException) -> bool:
    import openai

    if isinstance(
        error, (openai.APIConnectionError, RequestTimeout)
    ):  # APIConnectionError includes APITimeoutError
        return True
    return isinstance(error, openai.APIStatusError) and error.status_code in TRANSIENT_STATUS


def is_transport_failure(error: BaseException) -> bool:
    """A failure of the endpoint, not of one table: what the circuit breaker counts."""
    import openai

    if is_transient(error) or isinstance(error, EndpointError):
        return True
    return isinstance(error, openai.APIStatusError) and error.status_code in REFUSED_STATUS


def retry_after(error: BaseException) -> float | None:
    """Seconds the endpoint asked us to wait (Retry-After / retry-after-ms), if it did."""
    response = getattr(error, "response", None)
    headers = getattr(response, "headers", None)
    if not headers:
        return None
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return min(max(float(ms) / 1000, 0.0), MAX_WAIT)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = email.utils.parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return None
    return min(max(seconds, 0.0), MAX_WAIT)


class _Wait:
    """Retry-After when given, else exponential backoff with jitter."""

    def __init__(self) -> None:
        # (the llm extra: a core install reads without it)
        from tenacity import wait_exponential_jitter

        self.backoff = wait_exponential_jitter(initial=1, max=MAX_WAIT, jitter=1)

    def __call__(self, state) -> float:
        outcome = state.outcome
        asked = retry_after(outcome.exception()) if outcome is not None and outcome.failed else None
        return asked if asked is not None else self.backoff(state)


# ---------------------------------------------------------------- the run's state
@dataclass
class RunState:
    """What the route knows across the tables of one run: failures in a row, whether it has
    stopped (and why), and what it has already said once."""

    failures: int = 0  # transport failures in a row
    stopped: str = ""  # why the route stopped for the run ("" while it runs)
    said: set = field(default_factory=set)
    notify: Callable[[str], None] | None = (
        None  # where a warning goes (the CLI: stderr); else the logger
    )

    def failed(self, error: BaseException, threshold: int, secrets: tuple[str, ...] = ()) -> None:
        if not is_transport_failure(error):
            return
        self.failures += 1
        if self.failures >= threshold and not self.stopped:
            self.stopped = (
                f"the LLM route stopped for this run after {self.failures} transport failures in a "
                "row "
                f"(last: {scrub(describe(error), secrets)}); the tables not yet read keep their "
                "marks"
            )
            self.say_once("stopped", self.stopped)

    def succeeded(self) -> None:
        self.failures = 0

    def say_once(self, what: str, message: str) -> None:
        """A warning, once a run: to `notify`, else on the `xxgk.llm` logger (stderr when logging
        is not configured)."""
        if what not in self.said:
            self.said.add(what)
            if self.notify is not None:
                self.notify(f"Warning: {message}")
            else:
                log.warning("Warning: %s", message)


# ---------------------------------------------------------------- requests
@dataclass
class Usage:
    requests: int = 0  # HTTP requests sent (transport retries and validation re-asks included)
    tokens_in: int = 0
    tokens_out: int = 0
    seconds: float = (
        0.0  # time in requests (not in the queue for a free slot, not in backoff waits)
    )
    waits: list[float] = field(default_factory=list)
    estimate_in: int = 0  # tokens of the first request as sent, estimated from its body
    finish: str = ""  # the last reply's finish_reason ("length": cut at max_tokens)
    first: tuple[int, int] | None = (
        None  # (prompt, completion) tokens of the first answered request
    )


class Transport:
    """Wraps `client.chat.completions.create` with the retry layer; give `create` to instructor."""

    def __init__(
        self,
        client,
        retries: int,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        *,
        timeout: float | None = None,
        state: RunState | None = None,
        breaker: int = 3,
        secrets: tuple[str, ...] = (),
        max_tokens: int | None = None,
        estimate: Callable[[dict], int] | None = None,
    ) -> None:
        self.client = client
        self.retries = retries
        self.sleep = sleep or asyncio.sleep
        self.timeout = timeout
        self.state = state or RunState()
        self.breaker = breaker
        self.secrets = secrets
        self.max_tokens = max_tokens
        self.estimate = estimate
        self.usage = Usage()

    async def _sleep(self, seconds: float) -> None:
        self.usage.waits.append(seconds)
        await self.sleep(seconds)

    async def create(self, *args, **kwargs):
        if self.max_tokens and "max_tokens" not in kwargs:
            kwargs["max_tokens"] = self.max_tokens
        # reading, not writing: the likeliest reading, every run
        kwargs.setdefault("temperature", 0)
        if self.estimate and not self.usage.requests:
            self.usage.estimate_in = self.estimate(kwargs)
        from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt

        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.retries + 1),
            wait=_Wait(),
            sleep=self._sleep,
            reraise=True,
            retry=retry_if_exception(lambda e: is_transient(e) and not self.state.stopped),
        )
        async for attempt in retrying:
            with attempt:
                response = await self._one(*args, **kwargs)
        usage = getattr(response, "usage", None)
        if usage is not None:
            counted = (
                getattr(usage, "prompt_tokens", 0) or 0,
                getattr(usage, "completion_tokens", 0) or 0,
            )
            self.usage.tokens_in += counted[0]
            self.usage.tokens_out += counted[1]
            self.usage.first = self.usage.first or counted
        return response

    async def _one(self, *args, **kwargs):
        """One HTTP request, bounded as a whole; the breaker told how it went."""
        if self.state.stopped:
            raise RouteStopped(self.state.stopped)
        self.usage.requests += 1
        started = time.monotonic()
        try:
            try:
                response = await asyncio.wait_for(
                    self.client.chat.completions.create(*args, **kwargs), self.timeout
                )
            except asyncio.TimeoutError:
                raise RequestTimeout(
                    f"no complete answer within the timeout of {self.timeout:g} s"
                ) from None
            check_completion(response)
        except BaseException as e:
            self.usage.seconds += time.monotonic() - started
            if isinstance(e, Exception):
                self.state.failed(e, self.breaker, self.secrets)
            raise
        self.usage.seconds += time.monotonic() - started
        self.state.succeeded()
        self.usage.finish = getattr(response.choices[0], "finish_reason", "") or ""
        return response


def check_completion(response) -> None:
    """Raise EndpointError, in words, when an answer is not a chat completion with a message."""
    choices = getattr(response, "choices", None)
    if not choices:
        raise EndpointError(
            "the endpoint's answer is not a chat completion (it has no choices): is the endpoint "
            "an OpenAI-compatible /v1 URL?"
        )
    message = getattr(choices[0], "message", None)
    if message is None:
        raise EndpointError("the endpoint's answer has no message in its first choice")
    if not getattr(message, "content", None) and not getattr(message, "tool_calls", None):
        raise EndpointError("the endpoint's answer is empty (no content, no tool call)")


# ---------------------------------------------------------------- errors in words, without secrets
def describe(error: BaseException) -> str:
    """A one-line account of why a call failed, for findings and the call log."""
    cause = error
    seen = set()
    while (deeper := cause.__cause__) is not None and id(cause) not in seen:
        seen.add(id(cause))
        if _is_api_error(cause) or isinstance(cause, EndpointError):
            break
        cause = deeper
    if isinstance(cause, EndpointError):
        return str(cause)
    status = getattr(cause, "status_code", None)
    text = str(cause).splitlines()[0] if str(cause) else type(cause).__name__
    return f"{type(cause).__name__}" + (f" {status}" if status else "") + f": {text[:200]}"


def _is_api_error(error: BaseException) -> bool:
    import openai

    return isinstance(error, openai.APIError)


SECRET_PATTERNS = (
    re.compile(
        r"(?i)\b(authorization|proxy-authorization)"
        r"(['\"]?\s*[:=]\s*['\"]?)(bearer\s+|basic\s+)?[^\s'\",}]+"
    ),
    re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+"),
    re.compile(
        r"(?i)\b(api[_-]?key|access[_-]?token|x-api-key)(['\"]?\s*[:=]\s*['\"]?)[^\s'\",}]+"
    ),
    re.compile(r"\bsk-[A-Za-z0-9_*.-]{6,}"),
)
WORD = re.compile(r"[A-Za-z0-9_.*+/=-]{8,}")
WINDOW = 8  # characters of the key that make a word of an error its part


def scrub(text: str | None, secrets: tuple[str, ...] = ()) -> str | None:
    """The text with the API key (whole or any 8 characters of it), Authorization headers, bearer
    tokens and key-like values replaced by `[redacted]`."""
    if not text:
        return text
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[redacted]")
    for pattern in SECRET_PATTERNS:
        text = pattern.sub(
            lambda m: (
                (m.group(1) + m.group(2) + "[redacted]")
                if m.lastindex and m.lastindex >= 2
                else "[redacted]"
            ),
            text,
        )
    windows = {
        s[i : i + WINDOW]
        for s in secrets
        if s and len(s) >= WINDOW
        for i in range(len(s) - WINDOW + 1)
    }
    if windows:
        text = WORD.sub(
            lambda m: "[redacted]" if any(w in m.group() for w in windows) else m.group(), text
        )
    return text
