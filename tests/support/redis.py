"""The test Redis (127.0.0.1:6379): each test uses its own key prefix and removes its keys."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

REDIS_URL = "redis://127.0.0.1:6379/0"


async def delete_keys(prefix: str, url: str = REDIS_URL) -> None:
    """Delete every key under `prefix` (what a test's buses and stores left behind)."""
    client = aioredis.Redis.from_url(url)
    try:
        keys = [k async for k in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@pytest.fixture
async def prefix() -> AsyncIterator[str]:
    """A key prefix of this test's own on the test Redis; its keys are deleted afterwards."""
    made = f"test:{uuid.uuid4().hex}:"
    yield made
    await delete_keys(made)
