"""The shift change: at every shift boundary, the on-duty agents' queues are applied.

An owned task (`cti serve` starts it in its own cleanup context). It sleeps until the next
shift start or end of the configuration in force (`seats.shifts.next_change`), never more
than `max_sleep_s` at a time so that an administrator's new shift times are followed, then
asks the admin service to requeue the agents whose group starts or stops working there
(`AdminService.shift_change`). Nothing is applied at start: the agents logged in then are
working, whatever the groups say, until their group's next boundary.

Midnight (China time) is a boundary too, and so is the start: the seated agents whose last
day is over (guest experts past their end date) leave their queues
(`AdminService.end_accounts`).

With several nodes every node keeps the time, and only the acting one (`acting()`, the
cluster lease) applies a boundary, so the requeues are sent once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from cti.admin.service import AdminService
from seats.shifts import CHINA, next_change

log = logging.getLogger(__name__)


async def run_shift_changes(
    admin: AdminService,
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    max_sleep_s: float = 60.0,
    acting: Callable[[], bool] = lambda: True,
) -> None:
    """Apply the groups that start or stop working at every shift boundary, and end the
    accounts whose last day is over at start and every midnight, forever."""
    applied = clock()
    if acting():
        await admin.end_accounts(applied)
    while True:
        now = max(clock(), applied)
        boundary = min(next_change(admin.current.config.shifts, now), next_midnight(now))
        left = (boundary - now).total_seconds()
        if left > max_sleep_s:
            await sleep(max_sleep_s)
            continue  # the boundary again: the shift times may have changed meanwhile
        await sleep(max(left, 0.0))
        # A clock a little behind the boundary still means the boundary's shifts.
        applied = max(clock(), boundary)
        if not acting():
            log.info("shift boundary %s: applied by the acting node", boundary.isoformat())
            continue
        log.info("shift boundary %s", boundary.isoformat())
        await admin.shift_change(applied, before=boundary - timedelta(seconds=1))
        await admin.end_accounts(applied)


def next_midnight(moment: datetime) -> datetime:
    """The first 00:00 China time after `moment` (when a last day is over)."""
    local = moment.astimezone(CHINA)
    day = local.date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, tzinfo=CHINA)
