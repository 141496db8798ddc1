"""The composition root of `cti serve`: every resource started by its own cleanup context.

`add_services(app)` appends, in start order: the database (migrated), the bus, which node
acts (the cluster lease), the seat directory and sessions, the registry index (and its watch
for other processes' changes), the IVR menu, the call state (tracker, call log writer), the
wallboard, the callback list, then the PBX link (the duty service and the AMI client feeding
them all), the change-sets (their versions read back) and the shift change at each
boundary. aiohttp runs them in order and stops them in reverse; when one fails to start,
those before it are stopped, so nothing is left half-open. Each publishes what it built on a
typed `AppKey` (`cti.web.keys`) for the routes and for the contexts after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from cti import stop_task
from cti.admin import AdminService, SqlVersionStore, run_shift_changes
from cti.admin.keys import ADMIN
from cti.ami import AMIClient
from cti.bus import make_bus
from cti.callbacks import CallbackService, CallbackStore
from cti.callbacks.http import CALLBACKS, seat_of
from cti.cluster import ClusterDuty, LocalLease, NoActingNode, RedisLease
from cti.cluster.ivr import IvrShare
from cti.db import create_engine, sqlite_path, upgrade
from cti.state import CallLog, CallLogSpool, CallTracker, StateService
from cti.wallboard.http import WALLBOARD, wallboard_context
from cti.web.keys import (
    ACCOUNTS,
    AMI,
    BUS,
    DUTY,
    ENGINE,
    IVR,
    LEASE,
    LOCATOR,
    SEATS,
    SESSIONS,
    SETTINGS,
    STATE,
    WRAPUPS,
)
from cti.web.redis_shared import open_seats_and_sessions
from ivr import IvrServer, recogniser
from locator import Locator
from queues import MemberInterfaces, MembershipService, SqlDutyStore
from seats import SqlAgentAccounts

log = logging.getLogger(__name__)

Context = Callable[[web.Application], AsyncIterator[None]]


def add_services(app: web.Application) -> None:
    """Make `app` build, own and stop the real services (see the module docstring)."""
    app.cleanup_ctx.extend(
        (
            database,
            bus,
            cluster,
            seats_and_sessions,
            registry,
            ivr_menu,
            call_state,
            wallboard_context,
            callbacks,
            pbx,
            admin,
            shift_change,
        )
    )


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


async def _stop(task: asyncio.Task[Any]) -> None:
    task.remove_done_callback(_fail_loudly)
    await stop_task(task)


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


async def database(app: web.Application) -> AsyncIterator[None]:
    """The engine, migrated to head, and the agent accounts on it."""
    engine = create_engine(app[SETTINGS].database_url)
    try:
        await upgrade(engine, "head")
        app[ENGINE] = engine
        app[ACCOUNTS] = SqlAgentAccounts(engine)
        yield
    finally:
        await engine.dispose()


async def bus(app: web.Application) -> AsyncIterator[None]:
    """The agents' message bus: in process, or Redis streams with `redis_url`."""
    made = make_bus(app[SETTINGS])
    app[BUS] = made
    try:
        yield
    finally:
        await made.close()


async def cluster(app: web.Application) -> AsyncIterator[None]:
    """Which node acts (drives queues, owns the duty, places callbacks): the Redis lease
    with `redis_url`, else this node alone. Given up on a normal stop, so another node takes
    over at once instead of after the lease's TTL."""
    settings = app[SETTINGS]
    if not settings.redis_url:
        app[LEASE] = LocalLease(settings.node_id)
        yield
        return
    lease = RedisLease.from_url(settings.redis_url, settings.node_id, prefix=settings.redis_prefix)
    app[LEASE] = lease
    task = _owned(lease.run(), "cluster-lease")
    try:
        yield
    finally:
        await _stop(task)
        await lease.release()
        await lease.close()


async def seats_and_sessions(app: web.Application) -> AsyncIterator[None]:
    """Who sits where and the login sessions (Redis-shared with `redis_url`)."""
    seats, sessions = await open_seats_and_sessions(app[SETTINGS])
    app[SEATS] = seats
    app[SESSIONS] = sessions
    try:
        yield
    finally:
        await sessions.close()
        await seats.close()


async def registry(app: web.Application) -> AsyncIterator[None]:
    """The residents' in-memory index, following other processes' imports."""
    settings = app[SETTINGS]
    locator = await Locator.open(app[ENGINE], settings.locator)
    app[LOCATOR] = locator
    interval_s = settings.locator.refresh_interval_s
    # Another process's `cti registry import` reaches the index within one interval.
    watch = _restarting(lambda: locator.watch(interval_s), "registry-watch")
    try:
        yield
    finally:
        await _stop(watch)
        await locator.close()


async def ivr_menu(app: web.Application) -> AsyncIterator[None]:
    """The FastAGI language menu (`agi://HOST:PORT/language-menu`); the pops read its notes.

    Owned; a taken port is retried, not fatal (Asterisk's dialplan falls back meanwhile).
    """
    settings = app[SETTINGS].ivr
    server = IvrServer(recogniser(app[LOCATOR]), host=settings.host, port=settings.port)
    app[IVR] = server
    with contextlib.suppress(OSError):
        await server.start()  # listening before the app is up; else serve() says why, retries
    task = _owned(server.serve(), "ivr")
    share = shared = None
    node = app[SETTINGS]
    if node.redis_url:  # the pop may be another node's: it needs these notes too
        share = IvrShare.from_url(
            node.redis_url, server.notes, node_id=node.node_id, prefix=node.redis_prefix
        )
        shared = _restarting(share.run, "ivr-share")
    try:
        yield
    finally:
        if shared is not None:
            await _stop(shared)
        if share is not None:
            await share.close()
        await _stop(task)


async def call_state(app: web.Application) -> AsyncIterator[None]:
    """The call tracker and its shell: pops, the call log and the audit, written off the
    hot path; on stop, what is queued is written (or spooled) before the database closes."""
    settings = app[SETTINGS]
    # Calls the database cannot take yet (down, restarting) wait on disk, replayed when it
    # is back: beside a SQLite file, else in var/ as the default SQLite file is.
    db_file = sqlite_path(settings.database_url)
    spool = CallLogSpool((db_file.parent if db_file else Path("var")) / "call-log-spool.jsonl")
    engine = app[ENGINE]
    state = StateService(
        CallTracker(app[SEATS]),
        app[BUS],
        app[LOCATOR],
        CallLog(engine),
        spool=spool,
        ivr=app[IVR].notes,
        acting=lambda: app[LEASE].held,
    )
    app[STATE] = state
    app[WRAPUPS] = state
    writer = _owned(state.run(), "state-writer")
    try:
        yield
    finally:
        # No event comes in any more (the PBX link stopped first): write what is queued (a
        # call that ended just before SIGTERM), so its row is there for the wrap-up.
        await state.drain()
        await _stop(writer)


async def callbacks(app: web.Application) -> AsyncIterator[None]:
    """The callback list: abandoned calls from the call state; the PBX link attaches the
    AMI client (placing and results) when it starts. Its writes run in an owned task."""
    settings = app[SETTINGS]
    service = CallbackService(
        CallbackStore(app[ENGINE]),
        None,
        settings.callbacks,
        locator=app[LOCATOR],
        seat_of=lambda agent: seat_of(app, agent),
        hold=lambda agent, on: _hold_for_callback(app, agent, on),
        region=settings.locator.region,
    )
    app[STATE].on_call_finished(service.on_call_finished)
    app[CALLBACKS] = service
    task = _owned(service.run(), "callbacks")
    try:
        yield
    finally:
        await _stop(task)


async def _hold_for_callback(app: web.Application, agent: str, on: bool) -> None:
    if DUTY not in app:
        return
    try:
        if on:
            await app[DUTY].hold(agent, "callback")
        else:
            await app[DUTY].release(agent, "callback")
    except NoActingNode:
        # A failover meanwhile: the callback goes on; the queue may ring the seat (Asterisk
        # rings a busy seat's phone no more than it rings any busy member).
        log.warning("callback hold %s not applied: agent=%s (no acting node)", on, agent)


async def pbx(app: web.Application) -> AsyncIterator[None]:
    """The AMI client and the duty service: who takes calls, driven and watched."""
    settings = app[SETTINGS]
    ami = AMIClient(settings.ami)
    duty = _duty_service(app, ami)
    seats = app[SEATS]
    # The acting node (the lease holder) drives the duty and restores it; the others
    # forward their agents' commands to it and read a mirror of the saved duties.
    cluster_duty = _cluster_duty(app, duty)
    restored = await cluster_duty.start()
    if not settings.redis_url:
        for seated in restored:
            # A restart of this server keeps who sits where: pops reach them before they
            # log in again (their old page is asked to, its token died with the process).
            if seats.agent_at(seated.seat) is None:
                await seats.claim(seated.agent, seated.seat)
    app[AMI] = ami
    app[DUTY] = cluster_duty
    runner = _owned(duty.run(), "duty")
    cluster_runner = _owned(cluster_duty.run(), "cluster-duty")
    state = app[STATE]
    # The state service first: a call's pop is never behind its after-call-work pause.
    ami.subscribe(state.on_event)
    ami.subscribe(duty.on_event)
    ami.on_resynced(state.on_resynced)
    ami.on_resynced(duty.on_resynced)
    ami.on_link(duty.on_link)
    if WALLBOARD in app:  # the supervisors' board counts the same stream, after them
        app[WALLBOARD].attach(ami)
    if CALLBACKS in app:  # places callbacks, follows their results
        app[CALLBACKS].attach(ami, ami)
    await ami.start()
    log.info(
        "services up: node=%s ami=%s:%s", settings.node_id, settings.ami.host, settings.ami.port
    )
    try:
        yield
    finally:
        await ami.stop()
        await _stop(cluster_runner)
        await duty.drained(timeout_s=5.0)  # the last pause or logout is saved, not lost
        await _stop(runner)
        await cluster_duty.close()


async def admin(app: web.Application) -> AsyncIterator[None]:
    """The change-sets, their versions read back from the database (the latest in force)."""
    service = AdminService(
        app[SETTINGS],
        app[ACCOUNTS],
        duty=app[DUTY],
        sender=app[AMI],
        store=SqlVersionStore(app[ENGINE]),
    )
    await service.load()
    app[ADMIN] = service
    yield


async def shift_change(app: web.Application) -> AsyncIterator[None]:
    """At each shift boundary the on-duty agents' queues are applied (an owned task)."""
    lease = app[LEASE]  # every node keeps the time; the acting one applies the boundaries
    task = _restarting(
        lambda: run_shift_changes(app[ADMIN], acting=lambda: lease.held), "shift-change"
    )
    try:
        yield
    finally:
        await _stop(task)


def _duty_service(app: web.Application, ami: AMIClient) -> MembershipService:
    members = app[SETTINGS].members
    seats = app[SEATS]
    lease = app[LEASE]
    return MembershipService(
        ami,
        app[BUS],
        SqlDutyStore(app[ENGINE]),
        interfaces=MemberInterfaces(members.interface, members.state_interface),
        acw_timeout_s=members.acw_timeout_s,
        retry_s=members.retry_s,
        # A seat someone sits at is never removed, even without a duty yet (a login while
        # no node acted, seated by the next takeover).
        keep_seat=lambda seat: seats.agent_at(seat) is not None,
        acting=lambda: lease.held,
    )


def _cluster_duty(app: web.Application, service: MembershipService) -> ClusterDuty:
    settings = app[SETTINGS]
    if not settings.redis_url:
        return ClusterDuty(service, app[LEASE])
    return ClusterDuty.from_url(
        settings.redis_url,
        service,
        app[LEASE],
        prefix=settings.redis_prefix,
        seats=app[SEATS],
        profile_of=app[ACCOUNTS].get,
    )
