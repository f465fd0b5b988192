"""Login throttling per account and per client address, counted in the cache (Redis in production).

Every attempt is counted before its password is checked, by an atomic increment, and refused once the
count passes the limit: simultaneous attempts each get their own number, so no more than the limit
ever reach the password hasher. A fixed window opens at the first attempt; while it lasts, refused
attempts keep being refused, even with the right password, so guessing cannot continue. A successful
log-in clears its account's count and gives its address the attempt back (an address counts
failures, so that many people behind one address can still sign in). Refused attempts keep being
counted, but only the one that crosses a limit says so (``Admission.newly_locked``): the lock-out is
audited once per window, not once per refused attempt.

The increments are atomic on Redis (one Lua script: INCR, and EXPIRE when the key has no expiry),
in local memory (a lock) and on memcached (add + incr). The address is openmodelhub.network.client_ip.
"""

import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.redis import RedisCache

_INCREMENT = """
local count = redis.call('INCR', KEYS[1])
if redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count
"""
_GIVE_BACK = """
if tonumber(redis.call('GET', KEYS[1]) or '0') > 0 then return redis.call('DECR', KEYS[1]) end
return 0
"""


def _key(kind: str, value: str) -> str:
    return f"login-failures:{kind}:{hashlib.sha256(value.lower().encode()).hexdigest()}"


def _keys(username: str, ip: str | None) -> list[tuple[str, str, int]]:
    keys = [("account", _key("account", username or ""), settings.LOGIN_FAILURES_PER_ACCOUNT)]
    if ip:
        keys.append(("address", _key("ip", ip), settings.LOGIN_FAILURES_PER_IP))
    return keys


def _run_on_redis(script: str, key: str, *args) -> int | None:
    """Run ``script`` on ``key`` when the cache is Redis; None otherwise."""
    cache = caches[DEFAULT_CACHE_ALIAS]
    if not isinstance(cache, RedisCache):
        return None
    full_key = cache.make_and_validate_key(key)
    return int(cache._cache.get_client(full_key, write=True).eval(script, 1, full_key, *args))


def _increment(key: str) -> int:
    timeout = settings.LOGIN_LOCKOUT_SECONDS
    count = _run_on_redis(_INCREMENT, key, timeout)
    if count is not None:
        return count
    cache = caches[DEFAULT_CACHE_ALIAS]
    while True:
        cache.add(key, 0, timeout=timeout)
        try:
            return cache.incr(key)
        except ValueError:  # expired between add and incr: open a new window
            continue


def _give_back(key: str) -> None:
    if _run_on_redis(_GIVE_BACK, key) is not None:
        return
    try:
        caches[DEFAULT_CACHE_ALIAS].decr(key)
    except ValueError:  # the window has ended
        pass


@dataclass(frozen=True)
class Admission:
    admitted: bool  # False when the account or the address is past its limit
    newly_locked: tuple[str, ...]  # "account" / "address": the limits this very attempt crossed


def admit_attempt(username: str, ip: str | None) -> Admission:
    """Count one attempt on the account and the address. The increments are atomic, so exactly one
    attempt per window sees a count of limit + 1: that one reports the lock-out as new."""
    counts = [(kind, _increment(key), limit) for kind, key, limit in _keys(username, ip)]
    return Admission(
        admitted=all(count <= limit for _, count, limit in counts),
        newly_locked=tuple(kind for kind, count, limit in counts if count == limit + 1),
    )


def register_success(username: str, ip: str | None) -> None:
    caches[DEFAULT_CACHE_ALIAS].delete(_key("account", username or ""))
    if ip:
        _give_back(_key("ip", ip))


def lockout_minutes() -> int:
    return max(1, settings.LOGIN_LOCKOUT_SECONDS // 60)
