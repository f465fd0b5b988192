"""Django's Redis cache backend, with one redis-py client per connection pool rather than one per call.

Django's ``RedisCacheClient.get_client`` builds a new ``redis.Redis`` for every cache operation, and
redis-py's constructor copies its ~200 response callbacks into a case-insensitive dict each time: about
a quarter of a millisecond of CPU per operation, most of the CPU of a request answered from the cache
(a throttle's read and write, the response cache's read: bench/README.md). A ``redis.Redis`` is safe to
share between threads (each command takes a connection from the pool), so each pool gets one, made on
first use; the pools are Django's, as before (redis-py resets them in a forked child).
"""

from __future__ import annotations

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient


class ReusedRedisCacheClient(RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients: dict[int, object] = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            if index not in self._pools:  # as Django's _get_connection_pool, for this index
                self._pools[index] = self._pool_class.from_url(self._servers[index], **self._pool_options)
            client = self._clients.setdefault(index, self._client(connection_pool=self._pools[index]))
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ReusedRedisCacheClient
