"""SIGKILL right after calls end loses no call-log row (issue 10's "SIGKILL mid-burst").

A child process plays 03's answered call into a real StateService whose database write
hangs (the row waits in memory, as it would behind a slow database), says the call ended and
is killed with SIGKILL: no drain, no spool at a stop. The next server, on the same files,
writes the row: every finished call was noted on disk before it waited in memory.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import textwrap
from pathlib import Path

from cti.bus import InProcessBus
from cti.db import create_engine, upgrade
from cti.state import CallLog, CallLogSpool, CallTracker, StateService
from seats import SeatDirectory
from tests.support.waiting import eventually

CALL = "1795361778.1"  # the answered call in 03-call-answered.ami
ROOT = Path(__file__).resolve().parents[3]  # the checkout: the child imports from it

CHILD = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from cti.bus import InProcessBus
    from cti.db import create_engine
    from cti.state import CallLog, CallLogSpool, CallTracker, StateService
    from seats import SeatDirectory
    from tests.support.recordings import recording_events

    class Stuck(CallLog):
        async def write_rows(self, rows):
            await asyncio.Event().wait()  # the database never answers before the kill

    async def main(db, spool, trace):
        seats = SeatDirectory()
        seats.login("agent07", "seat07")
        state = StateService(
            CallTracker(seats), InProcessBus(), None, Stuck(create_engine(db)),
            spool=CallLogSpool(Path(spool)),
        )
        asyncio.create_task(state.run())
        for event in recording_events(Path(trace)):
            await state.on_event(event)
        print("ENDED", flush=True)
        await asyncio.Event().wait()

    asyncio.run(main(*sys.argv[1:]))
    """
)


async def test_sigkill_after_a_call_ends_loses_no_call_log_row(
    tmp_path: Path, traces_dir: Path
) -> None:
    db = f"sqlite+aiosqlite:///{tmp_path / 'cti.sqlite3'}"
    engine = create_engine(db)
    await upgrade(engine, "head")
    spool = tmp_path / "call-log-spool.jsonl"
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        CHILD,
        db,
        str(spool),
        str(traces_dir / "03-call-answered.ami"),
        stdout=asyncio.subprocess.PIPE,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert child.stdout is not None
        line = await asyncio.wait_for(child.stdout.readline(), 60)
        assert line.strip() == b"ENDED"
    finally:
        child.send_signal(signal.SIGKILL)
        await child.wait()
    assert await CallLog(engine).get(CALL) is None  # not written by the killed server

    seats = SeatDirectory()
    state = StateService(
        CallTracker(seats),
        InProcessBus(),
        None,
        CallLog(engine),
        spool=CallLogSpool(spool),
        replay_interval_s=0.1,
    )
    runner = asyncio.create_task(state.run())
    try:
        entry = await eventually(lambda: CallLog(engine).get(CALL), what="the row written")
        assert entry.outcome == "answered"
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
        await engine.dispose()
