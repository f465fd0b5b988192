"""Login throttling per account and per client IP, counted in the cache (Redis in production).

A fixed window opens at the first failure; once an account or an IP reaches its limit within the
window, further attempts are refused with a clear message until the window ends — even with the
right password, so that guessing cannot continue.
"""

import hashlib

from django.conf import settings
from django.core.cache import cache


def _key(kind: str, value: str) -> str:
    return f"login-failures:{kind}:{hashlib.sha256(value.lower().encode()).hexdigest()}"


def _keys(username: str, ip: str | None) -> list[tuple[str, int]]:
    keys = [(_key("account", username or ""), settings.LOGIN_FAILURES_PER_ACCOUNT)]
    if ip:
        keys.append((_key("ip", ip), settings.LOGIN_FAILURES_PER_IP))
    return keys


def is_locked_out(username: str, ip: str | None) -> bool:
    return any((cache.get(key) or 0) >= limit for key, limit in _keys(username, ip))


def register_failure(username: str, ip: str | None) -> None:
    for key, _ in _keys(username, ip):
        cache.add(key, 0, timeout=settings.LOGIN_LOCKOUT_SECONDS)
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=settings.LOGIN_LOCKOUT_SECONDS)


def clear_account(username: str) -> None:
    cache.delete(_key("account", username or ""))


def lockout_minutes() -> int:
    return max(1, settings.LOGIN_LOCKOUT_SECONDS // 60)
