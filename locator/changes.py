"""In-process change notification: a save refreshes every open index on the same database."""

from __future__ import annotations

import logging
import weakref
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)


class Refreshable(Protocol):
    """What listens: something that reads `engine` and can rebuild itself."""

    @property
    def engine(self) -> AsyncEngine: ...

    async def on_registry_changed(self) -> None: ...


_LISTENERS: weakref.WeakSet[Refreshable] = weakref.WeakSet()


def listen(listener: Refreshable) -> None:
    """Refresh `listener` whenever this process saves to its database (held weakly)."""
    _LISTENERS.add(listener)


def unlisten(listener: Refreshable) -> None:
    """Stop refreshing `listener`."""
    _LISTENERS.discard(listener)


def _same_database(a: AsyncEngine, b: AsyncEngine) -> bool:
    return a is b or a.url.render_as_string(False) == b.url.render_as_string(False)


async def notify_registry_changed(engine: AsyncEngine) -> None:
    """Refresh every listener that reads the same database as `engine`, before returning."""
    for listener in list(_LISTENERS):
        if _same_database(listener.engine, engine):
            try:
                await listener.on_registry_changed()
            except Exception:
                # The save is committed; a stale index catches up on its next version poll.
                log.exception("refreshing an index after a registry change failed")
