"""Call-log rows are written or kept until they can be: bad values, a refused row, the
database going away and coming back, a stop right after a call ends. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from cti.bus import InProcessBus
from cti.db import create_engine
from cti.state import (
    CallLog,
    CallLogSpool,
    CallLogUnavailable,
    CallNotFound,
    CallTracker,
    StateService,
    WrapupRejected,
)
from cti.state.call_log import TRUNCATED, storable_row
from locator import Locator
from seats import SeatDirectory
from tests.support.calls import a_call
from tests.support.recordings import recording_events
from tests.support.tcp_proxy import TcpProxy
from tests.support.waiting import eventually

CALL = "1795361778.1"  # the answered call in 03-call-answered.ami
NUMBER = "05356683318"
RESIDENTS = ("LS0001", "LS0002")

postgres_only = pytest.mark.parametrize(
    "db_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)


def seats() -> SeatDirectory:
    directory = SeatDirectory()
    directory.login("agent07", "seat07")
    return directory


@contextlib.asynccontextmanager
async def running(
    engine: AsyncEngine, locator: Locator | None, spool: CallLogSpool | None
) -> AsyncIterator[StateService]:
    state = StateService(
        CallTracker(seats()),
        InProcessBus(),
        locator,
        CallLog(engine),
        spool=spool,
        replay_interval_s=0.1,
    )
    writer = asyncio.create_task(state.run())
    try:
        yield state
    finally:
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await writer


async def play_call(state: StateService, traces_dir: Path) -> None:
    for event in recording_events(traces_dir / "03-call-answered.ami"):
        await state.on_event(event)


async def test_long_name_nul_and_long_number_are_stored_cut_and_replaced(
    engine: AsyncEngine,
) -> None:
    log = CallLog(engine)
    calls = [
        (a_call("long-name", caller_name="张" * 300), RESIDENTS),
        (a_call("nul-name", caller_name="王\x00桂兰"), RESIDENTS),
        (a_call("long-number", caller_number="0" * 80), ()),
        (a_call("plain"), RESIDENTS),
    ]
    assert await log.record_many(calls) == 4
    long_name, nul, long_number, plain = [await log.get(r.call_id) for r, _ in calls]
    assert long_name is not None and long_name.caller_name == "张" * 199 + TRUNCATED
    assert nul is not None and nul.caller_name == "王\ufffd桂兰"
    assert long_number is not None and long_number.caller_number == "0" * 63 + TRUNCATED
    assert plain is not None and plain.caller_name == "张先生"


@postgres_only
async def test_a_row_postgresql_refuses_does_not_sink_the_batch(engine: AsyncEngine) -> None:
    good = [storable_row(a_call(f"good-{n}"), RESIDENTS) for n in range(3)]
    bad = dict(good[1], call_id="bad", caller_name="raw\x00nul")  # not through storable
    result = await CallLog(engine).write_rows([good[0], bad, good[1], good[2]])
    assert (result.written, len(result.refused), result.unwritten) == (3, 1, [])
    assert result.refused[0]["call_id"] == "bad"
    # Written again (a replay after a lost commit): skipped, not refused.
    again = await CallLog(engine).write_rows(good)
    assert (again.written, again.duplicates, again.refused) == (0, 3, [])


async def test_a_stop_right_after_a_call_ends_drains_the_queue(
    engine: AsyncEngine, locator: Locator, traces_dir: Path, tmp_path: Path
) -> None:
    spool = CallLogSpool(tmp_path / "spool.jsonl")
    async with running(engine, locator, spool) as state:
        await play_call(state, traces_dir)
        assert await state.drain(5.0)
    entry = await CallLog(engine).get(CALL)
    assert entry is not None and entry.resident_ids == "LS0001 LS0002"
    assert spool.pending == 0


async def test_a_wrapup_right_after_the_call_ends_finds_its_queued_row(
    engine: AsyncEngine, locator: Locator, traces_dir: Path, tmp_path: Path
) -> None:
    async with running(engine, locator, CallLogSpool(tmp_path / "spool.jsonl")) as state:
        await play_call(state, traces_dir)
        await state.save_wrapup(CALL, "agent07", "resolved", "")  # no flush first
    entry = await CallLog(engine).get(CALL)
    assert entry is not None and entry.wrapup_outcome == "resolved"


@pytest.fixture
async def proxied(engine: AsyncEngine) -> AsyncIterator[tuple[TcpProxy, AsyncEngine]]:
    """The same PostgreSQL database reached through a proxy the test can take down."""
    url = make_url(engine.url.render_as_string(hide_password=False))
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.start()
    through = create_engine(url.set(host="127.0.0.1", port=proxy.port).render_as_string(False))
    yield proxy, through
    await through.dispose()
    await proxy.stop()


@postgres_only
async def test_rows_wait_in_the_spool_while_postgresql_is_unreachable_and_are_written_after(
    engine: AsyncEngine,
    locator: Locator,
    proxied: tuple[TcpProxy, AsyncEngine],
    traces_dir: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    proxy, through = proxied
    spool = CallLogSpool(tmp_path / "spool.jsonl")
    async with running(through, locator, spool) as state:
        await state.flush()
        await proxy.stop()
        await play_call(state, traces_dir)  # the pops go on; the row cannot be written
        await state.flush()
        assert spool.pending == 1
        with pytest.raises(CallLogUnavailable):
            await state.save_wrapup(CALL, "agent07", "resolved", "")
        late = a_call("late", caller_name="张" * 300, caller_number="0" * 80)
        await CallLog(through).record_many([(late, ())])  # lost: no spool on this one
        await proxy.start()
        await eventually(lambda: spool.pending == 0)
        await state.save_wrapup(CALL, "agent07", "resolved", "")
    entry = await CallLog(engine).get(CALL)
    assert entry is not None and entry.resident_ids == "LS0001 LS0002"
    assert entry.wrapup_outcome == "resolved"
    assert not (tmp_path / "spool.jsonl").exists()
    assert "database back; 1 spooled call(s) written" in caplog.text
    # The failure logs name calls and counts, never a number or a resident.
    for secret in (NUMBER, *RESIDENTS, "0" * 20, "张"):
        assert secret not in caplog.text


@postgres_only
async def test_calls_left_at_a_stop_with_postgresql_down_are_written_by_the_next_start(
    engine: AsyncEngine,
    locator: Locator,
    proxied: tuple[TcpProxy, AsyncEngine],
    traces_dir: Path,
    tmp_path: Path,
) -> None:
    proxy, through = proxied
    spool_path = tmp_path / "spool.jsonl"
    async with running(through, locator, CallLogSpool(spool_path)) as state:
        await state.flush()
        await proxy.stop()
        await play_call(state, traces_dir)
        await state.drain(1.0)
    assert CallLogSpool(spool_path).pending == 1
    await proxy.start()
    spool = CallLogSpool(spool_path)  # a new process reads what the last one kept
    async with running(through, locator, spool):
        await eventually(lambda: spool.pending == 0)
    assert await CallLog(engine).get(CALL) is not None


@postgres_only
async def test_a_write_cut_off_by_the_stop_is_kept(
    engine: AsyncEngine,
    locator: Locator,
    proxied: tuple[TcpProxy, AsyncEngine],
    traces_dir: Path,
    tmp_path: Path,
) -> None:
    """PostgreSQL that accepts connections but never answers: the stop cannot wait for it."""
    proxy, through = proxied
    spool = CallLogSpool(tmp_path / "spool.jsonl")
    async with running(through, locator, spool) as state:
        await state.flush()
        await proxy.stop()
        proxy.hang = True  # the connection opens, no answer comes
        await proxy.start()
        await play_call(state, traces_dir)
        assert not await state.drain(0.5)
    assert spool.pending == 1
    assert spool.take()[0][0]["call_id"] == CALL


async def test_nul_in_a_wrapup_note_or_call_id_is_refused_not_a_database_error(
    engine: AsyncEngine,
) -> None:
    log = CallLog(engine)
    await log.record(a_call(CALL), RESIDENTS)
    with pytest.raises(WrapupRejected):
        await log.save_wrapup(CALL, "agent01", "resolved", "a\x00b")
    with pytest.raises(CallNotFound):
        await log.save_wrapup(CALL + "\x00", "agent01", "resolved", "")
    await log.save_wrapup(CALL, "agent01", "resolved", "ok")
