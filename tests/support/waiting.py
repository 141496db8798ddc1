"""Wait for a condition instead of sleeping a fixed time: shared by every tier."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, overload

T = TypeVar("T")


@overload
async def eventually(
    check: Callable[[], Awaitable[T | None]],
    *,
    within_s: float = ...,
    interval_s: float = ...,
    what: str = ...,
) -> T: ...


@overload
async def eventually(
    check: Callable[[], T | None],
    *,
    within_s: float = ...,
    interval_s: float = ...,
    what: str = ...,
) -> T: ...


async def eventually(
    check: Callable[[], Any],
    *,
    within_s: float = 10.0,
    interval_s: float = 0.05,
    what: str = "",
) -> Any:
    """Call `check` (sync or async) until it returns something truthy; return that value.

    An exception raised by `check` counts as "not yet" until the deadline, then it is raised
    (so an assertion inside `check` explains the failure). Without one, AssertionError names
    `what` and the last value seen.
    """
    deadline = time.monotonic() + within_s
    while True:
        try:
            value = check()
            if inspect.isawaitable(value):
                value = await value
            if value:
                return value
            last: object = value
        except Exception as exc:  # not yet: re-raised at the deadline
            if time.monotonic() >= deadline:
                raise
            last = exc
        if time.monotonic() >= deadline:
            raise AssertionError(f"not within {within_s} s: {what or check!r} (last: {last!r})")
        await asyncio.sleep(interval_s)
