"""Redis clients for the shared stores: a pool that waits for a free connection.

redis-py's default pool fails a command at once (`MaxConnectionsError`) when every
connection is busy: a shift change or a reconnect storm that logs in hundreds of agents at
once would get 503s for nothing. These pools queue the command for up to `wait_s` instead.
"""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis

MAX_CONNECTIONS = 64
WAIT_S = 20.0


def shared_client(
    url: str, *, max_connections: int = MAX_CONNECTIONS, wait_s: float = WAIT_S, **kwargs: Any
) -> aioredis.Redis:
    """A client on its own bounded, waiting pool for `url` (`redis://127.0.0.1:6379/0`)."""
    pool = aioredis.BlockingConnectionPool.from_url(
        url, max_connections=max_connections, timeout=wait_s, **kwargs
    )
    return aioredis.Redis(connection_pool=pool)


# What a command raises when Redis is away (refused, reset, timed out): the store is down.
STORE_DOWN = (aioredis.RedisError, OSError)


async def get_resent(client: aioredis.Redis, key: str) -> Any:
    """GET `key`; a pooled connection that a Redis restart cut fails once, so the GET is sent
    once more on a fresh one (a GET is safe to send again)."""
    try:
        return await client.get(key)
    except aioredis.ConnectionError:
        return await client.get(key)
