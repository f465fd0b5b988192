"""The Redis cache backend (openmodelhub.cache): one redis-py client per connection pool, shared by threads."""

import os
import threading

import pytest

from openmodelhub.cache import RedisCache

REDIS_URL = os.environ.get("REDIS_URL", "")


@pytest.mark.skipif(not REDIS_URL, reason="REDIS_URL is not set")
def test_it_reuses_one_client_across_calls_and_threads():
    backend = RedisCache(REDIS_URL, {"KEY_PREFIX": f"{os.environ['OMH_CACHE_KEY_PREFIX']}-client-reuse"})
    client = backend._cache.get_client(write=True)
    assert backend._cache.get_client() is client and backend._cache.get_client(write=True) is client
    seen, errors = [], []

    def work(n: int) -> None:
        try:
            for i in range(50):
                backend.set(f"k{n}", i)
                assert backend.get(f"k{n}") == i
            seen.append(backend._cache.get_client())
        except Exception as exc:  # pragma: no cover (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and all(c is client for c in seen)
    assert backend.get_many([f"k{n}" for n in range(8)]) == {f"k{n}": 49 for n in range(8)}
    backend.delete_many([f"k{n}" for n in range(8)])
