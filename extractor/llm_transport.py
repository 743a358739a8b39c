"""The one retry layer for transport failures: connection errors, timeouts, 429 and 5xx.

The openai client is built with max_retries=0 and instructor's max_retries only re-asks after a
reply that fails validation, so nothing stacks: each HTTP request goes through `Transport.create`,
which retries with exponential backoff and jitter (tenacity), waiting what a Retry-After header
asks for when the endpoint sends one. It counts every request and the tokens the endpoint reports.
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from dataclasses import dataclass, field
from typing import Awaitable, Callable

from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

MAX_WAIT = 60.0  # seconds: the longest a Retry-After is honoured for, and the backoff's ceiling
TRANSIENT_STATUS = {408, 409, 429} | set(range(500, 600))


def is_transient(error: BaseException) -> bool:
    import openai

    if isinstance(error, openai.APIConnectionError):  # includes APITimeoutError
        return True
    return isinstance(error, openai.APIStatusError) and error.status_code in TRANSIENT_STATUS


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
        self.backoff = wait_exponential_jitter(initial=1, max=MAX_WAIT, jitter=1)

    def __call__(self, state) -> float:
        outcome = state.outcome
        asked = retry_after(outcome.exception()) if outcome is not None and outcome.failed else None
        return asked if asked is not None else self.backoff(state)


@dataclass
class Usage:
    requests: int = 0  # HTTP requests sent (transport retries and validation re-asks included)
    tokens_in: int = 0
    tokens_out: int = 0
    waits: list[float] = field(default_factory=list)


class Transport:
    """Wraps `client.chat.completions.create` with the retry layer; give `create` to instructor."""

    def __init__(self, client, retries: int, sleep: Callable[[float], Awaitable[None]] | None = None) -> None:
        self.client = client
        self.retries = retries
        self.sleep = sleep or asyncio.sleep
        self.usage = Usage()

    async def _sleep(self, seconds: float) -> None:
        self.usage.waits.append(seconds)
        await self.sleep(seconds)

    async def create(self, *args, **kwargs):
        retrying = AsyncRetrying(stop=stop_after_attempt(self.retries + 1), wait=_Wait(), retry=retry_if_exception(is_transient),
                                 sleep=self._sleep, reraise=True)
        async for attempt in retrying:
            with attempt:
                self.usage.requests += 1
                response = await self.client.chat.completions.create(*args, **kwargs)
        usage = getattr(response, "usage", None)
        if usage is not None:
            self.usage.tokens_in += usage.prompt_tokens or 0
            self.usage.tokens_out += usage.completion_tokens or 0
        return response


def describe(error: BaseException) -> str:
    """A one-line account of why a call failed, for findings and the call log."""
    cause = error
    seen = set()
    while getattr(cause, "__cause__", None) is not None and id(cause) not in seen:
        seen.add(id(cause))
        if _is_api_error(cause):
            break
        cause = cause.__cause__
    status = getattr(cause, "status_code", None)
    text = str(cause).splitlines()[0] if str(cause) else type(cause).__name__
    return f"{type(cause).__name__}" + (f" {status}" if status else "") + f": {text[:200]}"


def _is_api_error(error: BaseException) -> bool:
    import openai

    return isinstance(error, openai.APIError)
