"""The model behind the agent, reached through the ``openai`` client (any compatible server works)."""

from __future__ import annotations

import re
from functools import lru_cache

import openai
from django.conf import settings


class NotConfigured(Exception):
    """No OPENAI_API_KEY: the agent is switched off."""


class LLMFailed(Exception):
    """The model could not be reached or gave no usable answer."""


def is_configured() -> bool:
    return bool(settings.OPENAI_API_KEY)


def model_name() -> str:
    return settings.OPENAI_MODEL


def client() -> openai.OpenAI:
    if not is_configured():
        raise NotConfigured("The agent is not configured (OPENAI_API_KEY is not set).")
    return _client(
        settings.OPENAI_API_KEY,
        settings.OPENAI_BASE_URL or None,
        float(settings.AGENT_LLM_TIMEOUT_SECONDS),
        int(settings.AGENT_LLM_MAX_RETRIES),
    )


@lru_cache(maxsize=4)
def _client(api_key: str, base_url: str | None, timeout: float, max_retries: int) -> openai.OpenAI:
    # One client per configuration: building one (HTTP pool, TLS context) costs more than a call.
    return openai.OpenAI(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=max_retries)


_FENCE = re.compile(r"```(?:sql|postgresql|sqlite)?\s*\n?(.*?)```", re.IGNORECASE | re.DOTALL)


def extract_sql(text: str) -> str:
    """The SQL in a reply: the first fenced block if there is one, else the whole reply."""
    match = _FENCE.search(text or "")
    sql = (match.group(1) if match else text or "").strip()
    return sql


def complete(messages: list[dict]) -> str:
    """The SQL the model proposes for this conversation."""
    try:
        response = client().chat.completions.create(model=model_name(), messages=messages, temperature=0)
    except openai.OpenAIError as exc:
        raise LLMFailed(f"The language model could not be reached: {type(exc).__name__}: {exc}") from None
    choices = getattr(response, "choices", None) or []
    content = choices[0].message.content if choices and choices[0].message else None
    sql = extract_sql(content or "")
    if not sql:
        raise LLMFailed("The language model gave an empty answer.")
    return sql
