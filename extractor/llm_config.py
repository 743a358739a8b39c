"""The LLM route's configuration, resolved in one place: CLI flag, then environment, then default.

Nothing is read at import time: `resolve_config(**cli_overrides)` reads the environment when it
is called. With no API key and no endpoint configured the route is off (`enabled` False) and
`reason` says why, so the caller can say so once; extraction runs on the rules alone.

| setting | CLI override (keyword) | environment, first found | default |
| --- | --- | --- | --- |
| endpoint | base_url | XXGK_LLM_BASE_URL, OPENAI_BASE_URL | OpenAI's (https://api.openai.com/v1) |
| API key | api_key | XXGK_LLM_API_KEY, OPENAI_API_KEY | none (1) |
| model | model | XXGK_LLM_MODEL | gpt-4o-mini |
| profile (the defaults below) | profile | XXGK_LLM_PROFILE | hosted (or local: a model on a CPU) |
| instructor mode | mode | XXGK_LLM_MODE | (2) |
| concurrent calls | concurrency | XXGK_LLM_CONCURRENCY | 4 (local: 1) |
| one request, whole (s) | timeout | XXGK_LLM_TIMEOUT | 60 (local: 240) |
| one table, whole (s) (3) | deadline | XXGK_LLM_DEADLINE | timeout × (re-asks + 2) |
| token budget per document | token_budget | XXGK_LLM_TOKEN_BUDGET | 20000 |
| transport retries (429, 5xx, timeouts) | retries | XXGK_LLM_RETRIES | 3 (local: 1) |
| validation re-asks | reasks | XXGK_LLM_REASKS | 1 (at most 2) |
| transport failures in a row that stop the route for the run | breaker | XXGK_LLM_BREAKER | 3 |

(1) "not-needed" is sent to a keyless local endpoint. (2) TOOLS on OpenAI's endpoint, JSON_SCHEMA
on a local one (llama.cpp, vLLM, Ollama), JSON elsewhere. (3) retries, waits, re-asks.

The timeout bounds a request as a whole (an endpoint that sends a byte every few seconds is cut
off), not the gap between bytes. `state` is the run's: the circuit breaker, and what was said once.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from typing import Any, Mapping
from urllib.parse import urlsplit

from .errors import LLMConfigError
from .llm_transport import RunState

MODES = ("TOOLS", "JSON", "JSON_SCHEMA", "MD_JSON")
PROFILES: dict[str, dict[str, Any]] = {
    "hosted": {"concurrency": 4, "timeout": 60.0, "retries": 3},
    # A small model on a CPU (llama.cpp, Ollama): one request at a time, minutes allowed for one.
    "local": {"concurrency": 1, "timeout": 240.0, "retries": 1, "mode": "JSON_SCHEMA"},
}
LOCAL_PORTS = {8000, 8080, 11434}  # vLLM, llama.cpp's server, Ollama
OPENAI_URL = "https://api.openai.com/v1"
KEYLESS = "not-needed"  # local endpoints (vLLM, Ollama) take any key; the client needs one


@dataclass(frozen=True)
class LLMConfig:
    enabled: bool
    reason: str  # why the route is off (empty when on)
    base_url: str | None  # None: OpenAI's endpoint
    api_key: str | None = field(repr=False)
    model: str
    mode: str  # one of MODES (an instructor.Mode name)
    concurrency: int
    timeout: float  # seconds for one request, whole
    token_budget: int
    retries: int
    reasks: int
    profile: str = "hosted"
    deadline: float = 0.0  # seconds for one table, whole (0: timeout × (reasks + 2))
    breaker: int = 3  # transport failures in a row that stop the route for the run
    sources: dict[str, str] = field(
        default_factory=dict, compare=False
    )  # setting -> where it came from
    state: RunState = field(
        default_factory=RunState, compare=False, repr=False
    )  # the run's breaker

    @property
    def table_deadline(self) -> float:
        return self.deadline or self.timeout * (self.reasks + 2)

    def describe(self) -> str:
        """One line for the user, never showing the key."""
        if not self.enabled:
            return f"LLM route off: {self.reason}"
        key = f"key from {self.sources.get('api_key')}" if self.api_key else "no key"
        return (
            f"LLM route on: {self.model} at {self.base_url or OPENAI_URL} (mode {self.mode}, "
            f"{key}, profile "
            f"{self.profile}, {self.concurrency} concurrent, {self.timeout:g} s a request, budget "
            f"{self.token_budget} tokens per document)"
        )


_ENV = {
    "profile": ("XXGK_LLM_PROFILE",),
    "base_url": ("XXGK_LLM_BASE_URL", "OPENAI_BASE_URL"),
    "api_key": ("XXGK_LLM_API_KEY", "OPENAI_API_KEY"),
    "model": ("XXGK_LLM_MODEL",),
    "mode": ("XXGK_LLM_MODE",),
    "concurrency": ("XXGK_LLM_CONCURRENCY",),
    "timeout": ("XXGK_LLM_TIMEOUT",),
    "token_budget": ("XXGK_LLM_TOKEN_BUDGET",),
    "retries": ("XXGK_LLM_RETRIES",),
    "reasks": ("XXGK_LLM_REASKS",),
    "deadline": ("XXGK_LLM_DEADLINE",),
    "breaker": ("XXGK_LLM_BREAKER",),
}
_DEFAULTS: dict[str, Any] = {
    "profile": "hosted",
    "model": "gpt-4o-mini",
    "token_budget": 20000,
    "reasks": 1,
    "deadline": 0.0,
    "breaker": 3,
}
_NUMBERS = {
    "concurrency": (int, 1, 256),
    "timeout": (float, 0.1, 3600),
    "token_budget": (int, 0, 10**9),
    "retries": (int, 0, 10),
    "reasks": (int, 0, 2),
    "deadline": (float, 0, 36000),
    "breaker": (int, 1, 1000),
}


def resolve_config(
    env: Mapping[str, str] | None = None, enabled: bool | None = None, **cli_overrides
) -> LLMConfig:
    """The configuration in force: each setting from its CLI override (None: not given), else the
    environment, else the default. `enabled=False` (a `--no-llm` flag) turns the route off."""
    env = os.environ if env is None else env
    unknown = set(cli_overrides) - set(_ENV)
    if unknown:
        raise TypeError(f"unknown LLM settings: {', '.join(sorted(unknown))}")
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for name, names in _ENV.items():
        given = cli_overrides.get(name)
        if given is not None and given != "":
            values[name], sources[name] = given, "flag"
            continue
        for var in names:
            if env.get(var, "").strip():
                values[name], sources[name] = env[var].strip(), var
                break
        else:
            values[name], sources[name] = _DEFAULTS.get(name), "default"
    values["profile"] = _profile(values["profile"], sources)
    for name, value in PROFILES[values["profile"]].items():
        if sources[name] == "default":
            values[name], sources[name] = value, f"profile {values['profile']}"
    for name, (kind, low, high) in _NUMBERS.items():
        values[name] = _number(name, values[name], kind, low, high, sources[name])
    values["base_url"] = str(values["base_url"]).rstrip("/") if values["base_url"] else None
    values["mode"] = _mode(values["mode"], values["base_url"], sources)
    if enabled is False:
        on, reason = False, "turned off (--no-llm)"
    elif not values["api_key"] and not values["base_url"]:
        on, reason = (
            False,
            "no API key or endpoint configured (set OPENAI_API_KEY, or XXGK_LLM_BASE_URL for a "
            "local endpoint)",
        )
    else:
        on, reason = True, ""
    return LLMConfig(on, reason, sources=sources, **values)


def _number(name: str, value, kind, low, high, source: str):
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise LLMConfigError(f"{name} must be a number, got {value!r} (from {source})") from None
    if not low <= number <= high:
        raise LLMConfigError(
            f"{name} must be between {low} and {high}, got {value!r} (from {source})"
        )
    return number


def _profile(value, sources: dict[str, str]) -> str:
    profile = str(value).strip().lower()
    if profile not in PROFILES:
        raise LLMConfigError(
            f"profile must be one of {', '.join(PROFILES)}, got {value!r} (from "
            f"{sources['profile']})"
        )
    return profile


def is_local(base_url: str | None) -> bool:
    """An endpoint on this machine or the local network, or on the port of llama.cpp's server,
    vLLM or Ollama: one that decodes under a grammar (JSON_SCHEMA)."""
    if not base_url:
        return False
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    try:
        address = ipaddress.ip_address(host)
        local = address.is_loopback or address.is_private or address.is_unspecified
    except ValueError:
        local = host == "localhost" or host.endswith((".local", ".localhost"))
    try:
        port = parts.port
    except ValueError:
        port = None
    return local or port in LOCAL_PORTS


def _mode(value, base_url: str | None, sources: dict[str, str]) -> str:
    if value is None:
        sources["mode"] = "default"
        if base_url in (None, OPENAI_URL):
            return "TOOLS"
        return "JSON_SCHEMA" if is_local(base_url) else "JSON"
    mode = str(value).strip().upper().replace("-", "_")
    if mode not in MODES:
        raise LLMConfigError(
            f"mode must be one of {', '.join(MODES)}, got {value!r} (from {sources['mode']})"
        )
    return mode


def build_client(config: LLMConfig, http_client=None):
    """The AsyncOpenAI client for this configuration. Its own retries are 0: the route's single
    retry layer (llm_transport) handles 429, 5xx and timeouts. `http_client` lets tests put a
    fake transport underneath (an AsyncClient of the HTTP library the openai package uses)."""
    from openai import AsyncOpenAI

    return AsyncOpenAI(
        api_key=config.api_key or KEYLESS,
        base_url=config.base_url or OPENAI_URL,
        timeout=config.timeout,
        max_retries=0,
        http_client=http_client,
    )


def instructor_mode(config: LLMConfig):
    import instructor

    return instructor.Mode[config.mode]
