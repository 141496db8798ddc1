"""The real collaborators of `cti serve`, built and owned by the app's cleanup context.

Order on start: database (migrated), bus, seat directory, locator index (and its watch for
other processes' registry changes), state service and its call-log writer, then the AMI client
feeding the state service. Stopped in reverse.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from cti import stop_task
from cti.ami import AMIClient
from cti.bus import Bus, make_bus
from cti.db import create_engine, sqlite_path, upgrade
from cti.settings import Settings
from cti.state import CallLog, CallLogSpool, CallTracker, StateService
from cti.web.keys import ACCOUNTS, AMI, BUS, DUTY, LOCATOR, SEATS, SESSIONS, SETTINGS, WRAPUPS
from cti.web.redis_shared import open_seats_and_sessions
from locator import Locator
from queues import MemberInterfaces, MembershipService, SqlDutyStore
from seats import SeatDirectory, SqlAgentAccounts

log = logging.getLogger(__name__)


def _fail_loudly(task: asyncio.Task[Any]) -> None:
    """A background task that ends by itself takes the service down, never silently."""
    if task.cancelled():
        return
    exc = task.exception()
    log.critical("background task %s ended (%r): stopping the server", task.get_name(), exc)
    # run_app turns SIGTERM into a graceful shutdown; an exception raised here would only
    # be logged by the loop and the server would go on half-alive.
    os.kill(os.getpid(), signal.SIGTERM)


def _owned(coro: Awaitable[Any], name: str) -> asyncio.Task[Any]:
    async def run() -> None:
        await coro

    task = asyncio.create_task(run(), name=name)
    task.add_done_callback(_fail_loudly)
    return task


def _restarting(
    factory: Callable[[], Awaitable[Any]], name: str, *, pause_s: float = 1.0
) -> asyncio.Task[Any]:
    """Run `factory()` as an owned task; when it raises or returns, log it and start it again.

    For work whose loss would go unnoticed (an index that silently stops following the
    database) but which the server can live without for a moment.
    """

    async def run() -> None:
        while True:
            try:
                await factory()
            except Exception:
                log.exception("background task %s failed; restarting in %.1f s", name, pause_s)
            else:
                log.error("background task %s ended; restarting in %.1f s", name, pause_s)
            await asyncio.sleep(pause_s)

    task = asyncio.create_task(run(), name=name)
    task.add_done_callback(_fail_loudly)  # only if the restart loop itself breaks
    return task


async def run_services(app: web.Application) -> AsyncIterator[None]:
    """Start the database, bus, locator, state service and AMI client; stop them on exit."""
    settings = app[SETTINGS]
    engine = create_engine(settings.database_url)
    await upgrade(engine, "head")
    bus = make_bus(settings)
    seats, sessions = await open_seats_and_sessions(settings)  # Redis-shared with redis_url
    locator = await Locator.open(engine, settings.locator)
    # Calls the database cannot take yet (down, restarting) wait on disk, replayed when it
    # is back: beside a SQLite file, else in var/ as the default SQLite file is.
    db_file = sqlite_path(settings.database_url)
    spool = CallLogSpool((db_file.parent if db_file else Path("var")) / "call-log-spool.jsonl")
    state = StateService(CallTracker(seats), bus, locator, CallLog(engine), spool=spool)
    app[LOCATOR] = locator
    app[ACCOUNTS] = SqlAgentAccounts(engine)
    app[BUS] = bus
    app[WRAPUPS] = state
    app[SEATS] = seats
    app[SESSIONS] = sessions
    interval_s = settings.locator.refresh_interval_s
    tasks = [
        _owned(state.run(), "state-writer"),
        # Another process's `cti registry import` reaches the index within one interval.
        _restarting(lambda: locator.watch(interval_s), "registry-watch"),
    ]
    ami = AMIClient(settings.ami)
    duty = _duty_service(settings, ami, bus, engine, seats)
    for restored in await duty.restore():
        # A restart of this server keeps who sits where: pops reach them before they log in
        # again (their old page is asked to, its token having died with the process).
        if seats.agent_at(restored.seat) is None:
            await seats.claim(restored.agent, restored.seat)
    app[AMI] = ami
    app[DUTY] = duty
    tasks.append(_owned(duty.run(), "duty"))
    await _start_ami(ami, state, duty)
    log.info(
        "services up: node=%s ami=%s:%s", settings.node_id, settings.ami.host, settings.ami.port
    )
    try:
        yield
    finally:
        await ami.stop()
        # No event comes in any more: write what is queued (a call that ended just before
        # SIGTERM), so its row is there when the agent saves the wrap-up after a restart.
        await state.drain()
        await duty.drained(timeout_s=5.0)  # the last pause or logout is saved, not lost
        for task in tasks:
            task.remove_done_callback(_fail_loudly)
        await asyncio.gather(*(stop_task(task) for task in tasks))
        await locator.close()
        await sessions.close()
        await seats.close()
        await bus.close()
        await engine.dispose()


def _duty_service(
    settings: Settings, ami: AMIClient, bus: Bus, engine: AsyncEngine, seats: SeatDirectory
) -> MembershipService:
    members = settings.members
    return MembershipService(
        ami,
        bus,
        SqlDutyStore(engine),
        interfaces=MemberInterfaces(members.interface, members.state_interface),
        acw_timeout_s=members.acw_timeout_s,
        retry_s=members.retry_s,
        # With several nodes, a seat logged in through another node is that node's to drive.
        keep_seat=lambda seat: seats.agent_at(seat) is not None,
    )


async def _start_ami(ami: AMIClient, state: StateService, duty: MembershipService) -> None:
    """Feed the state and duty services (in that order); reconnects by itself until stopped."""
    ami.subscribe(state.on_event)
    ami.subscribe(duty.on_event)
    ami.on_resynced(state.on_resynced)
    ami.on_resynced(duty.on_resynced)
    ami.on_link(duty.on_link)
    await ami.start()
