"""The bus: agent messages with per-agent seq, bounded history and bounded subscribers.

`InProcessBus` for one node (the default); `RedisBus` (Redis streams + pub/sub) when CTI
nodes share agents. `make_bus(settings)` picks one from `settings.redis_url`.
"""

from __future__ import annotations

from cti.bus.base import (
    BROADCAST,
    DEFAULT_HISTORY,
    Bus,
    BusError,
    History,
    HistoryLost,
    Message,
    SlowSubscriber,
)
from cti.bus.memory import InProcessBus
from cti.bus.redis import RedisBus
from cti.settings import Settings


def make_bus(settings: Settings) -> Bus:
    """RedisBus on `settings.redis_url` (keys under `settings.redis_prefix`), else in process."""
    if settings.redis_url:
        return RedisBus.from_url(settings.redis_url, prefix=settings.redis_prefix)
    return InProcessBus()


__all__ = [
    "BROADCAST",
    "DEFAULT_HISTORY",
    "Bus",
    "BusError",
    "History",
    "HistoryLost",
    "InProcessBus",
    "Message",
    "RedisBus",
    "SlowSubscriber",
    "make_bus",
]
