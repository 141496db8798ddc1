"""Fault figures for docs/reliability.md: the call log with PostgreSQL away, and GBK names.

Run from the repository root (needs PostgreSQL on 127.0.0.1:5432, database `test`):
    .venv/bin/python -m tests.faults.call_log_outage [--calls 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from cti.ami import AMIParser, Event, server_bytes
from cti.bus import InProcessBus
from cti.db import create_engine, upgrade
from cti.state import CallLog, CallLogEntry, CallLogSpool, CallTracker, StateService
from cti.state.call_log import storable_row
from cti.state.service import _LogCall
from seats import SeatDirectory
from tests.conftest import TRACES
from tests.support.calls import a_call
from tests.support.gbk import gbk_recording
from tests.support.postgres import create_pg_database, drop_pg_database, pg_url
from tests.support.tcp_proxy import TcpProxy


async def count(engine: object) -> int:
    async with engine.connect() as conn:  # type: ignore[attr-defined]
        return int((await conn.execute(select(func.count()).select_from(CallLogEntry))).scalar())


async def outage(calls: int) -> None:
    name = await create_pg_database("fault")
    direct = create_engine(pg_url(name))
    await upgrade(direct)
    url = make_url(pg_url(name))
    proxy = TcpProxy("127.0.0.1", url.port or 5432)
    await proxy.start()
    through = create_engine(url.set(host="127.0.0.1", port=proxy.port).render_as_string(False))
    with tempfile.TemporaryDirectory() as tmp:
        spool = CallLogSpool(Path(tmp) / "spool.jsonl")
        state = StateService(
            CallTracker(SeatDirectory()), InProcessBus(), None, CallLog(through), spool=spool
        )
        writer = asyncio.create_task(state.run())
        await proxy.stop()
        started = time.perf_counter()
        for n in range(calls):
            await state._enqueue(_LogCall(a_call(f"down-{n}"), ("LS0001", "LS0002")))
        await state.flush()
        kept_s = time.perf_counter() - started
        size = spool.path.stat().st_size
        print(
            f"PostgreSQL down: {calls} calls kept in the spool in {kept_s * 1000:.0f} ms,"
            f" {spool.pending} waiting, {size / 1024:.0f} KiB on disk"
        )
        await proxy.start()
        back = time.perf_counter()
        while spool.pending:  # noqa: ASYNC110  (the spool has no event to wait on)
            await asyncio.sleep(0.05)
        print(
            f"PostgreSQL back: spool written {time.perf_counter() - back:.2f} s later"
            f" (replay every 5 s); rows in call_log: {await count(direct)} of {calls}"
        )
        # A stop with a full queue: drain() writes it before the task is cancelled.
        for n in range(calls):
            await state._enqueue(_LogCall(a_call(f"stop-{n}"), ()))
        started = time.perf_counter()
        drained = await state.drain(10.0)
        print(
            f"stop with {calls} calls queued: drained={drained} in"
            f" {(time.perf_counter() - started) * 1000:.0f} ms;"
            f" rows: {await count(direct)} of {2 * calls}"
        )
        writer.cancel()
        await asyncio.gather(writer, return_exceptions=True)
    # Bad values in a batch: all stored, cut or replaced.
    bad = [
        (a_call(f"bad-{n}", caller_name="张" * 300, caller_number="0" * 80), ())
        for n in range(calls // 100)
    ]
    good = [(a_call(f"good-{n}", caller_name="王\x00桂兰"), ()) for n in range(calls)]
    started = time.perf_counter()
    written = await CallLog(direct).record_many(bad + good)
    print(
        f"{len(bad)} over-long + {len(good)} NUL names in one batch: {written} written in"
        f" {(time.perf_counter() - started) * 1000:.0f} ms"
    )
    raw = [storable_row(a_call(f"mixed-{n}"), ()) for n in range(50)]
    raw[25] = dict(raw[25], call_id="raw-nul", caller_name="raw\x00")
    started = time.perf_counter()
    result = await CallLog(direct).write_rows(raw)
    print(
        f"a batch of 50 with one row PostgreSQL refuses: written={result.written}"
        f" duplicates={result.duplicates} refused={len(result.refused)} in"
        f" {(time.perf_counter() - started) * 1000:.0f} ms (row by row)"
    )
    await through.dispose()
    await direct.dispose()
    await proxy.stop()
    await drop_pg_database(name)


def gbk_parse(repeat: int = 100) -> None:
    """03-call-answered (the caller 张先生) repeated, as recorded and with the name in GBK."""
    greeting, _, body = server_bytes((TRACES / "03-call-answered.ami").read_bytes()).partition(
        b"\r\n"
    )
    gbk_body = server_bytes(gbk_recording(TRACES)).partition(b"\r\n")[2]
    for label, one in (("UTF-8 name", body), ("GBK name", gbk_body)):
        stream = greeting + b"\r\n" + one * repeat
        best = 1e9
        for _ in range(5):
            parser = AMIParser()
            started = time.perf_counter()
            parser.feed(stream)
            events = [m for m in parser.messages() if isinstance(m, Event)]
            best = min(best, time.perf_counter() - started)
        replaced = sum("\ufffd" in v for e in events for _, v in e.headers)
        print(
            f"03 x{repeat}, {label}: {len(events)} events in {best * 1000:.0f} ms"
            f" ({len(events) / best:,.0f} events/s), {replaced} values with U+FFFD"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=1000)
    args = parser.parse_args()
    gbk_parse()
    asyncio.run(outage(args.calls))


if __name__ == "__main__":
    main()
