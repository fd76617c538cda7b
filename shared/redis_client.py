"""One Redis client per process, made on first use (after any fork)."""
from __future__ import annotations

import os

import redis

_clients: dict[tuple[int, str], redis.Redis] = {}


def get_redis(url: str) -> redis.Redis:
    key = (os.getpid(), url)
    client = _clients.get(key)
    if client is None:
        client = redis.Redis.from_url(url, decode_responses=True, socket_timeout=5, socket_connect_timeout=3,
                                      health_check_interval=30)
        _clients[key] = client
    return client
