"""What a full pass of Python's cyclic collector costs the server, with and without
`settle_heap` (cti/tasks.py: `gc.freeze` once started).

The server's modules imported and the residents' index built over a generated registry of
`--residents` people (SQLite), as `cti serve` has them once started; then full passes
(`gc.collect(2)`, the event loop would be stopped for each) timed as they are, and again after
`settle_heap`. A full pass comes whenever enough objects have outlived the young
generations (sessions, call state, the bus's history): a few times a day on a busy hotline.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path


def _full_passes(count: int) -> list[float]:
    times = []
    for _ in range(count):
        t0 = time.perf_counter()
        gc.collect(2)
        times.append((time.perf_counter() - t0) * 1e3)
    return times


async def _run(residents: int, passes: int) -> int:
    import cti.server  # noqa: F401 (the whole server's modules, as `cti serve` imports them)
    from cti.db import create_engine, upgrade
    from cti.settings import LocatorSettings
    from cti.tasks import settle_heap
    from locator import Locator, save_residents
    from locator.generate import generate_residents

    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite+aiosqlite:///{Path(tmp) / 'heap.sqlite3'}")
        await upgrade(engine)
        await save_residents(engine, list(generate_residents(residents, 1)))
        locator = await Locator.open(engine, LocatorSettings())
        tracked = len(gc.get_objects())
        before = _full_passes(passes)
        settle_heap()
        after = _full_passes(passes)
        print(f"{residents:,} residents, {tracked:,} objects tracked once started")
        print(f"full pass as started (baseline)  p50 {statistics.median(before):.2f} ms")
        print(f"full pass after settle_heap      p50 {statistics.median(after):.2f} ms", end="")
        print(f"  ({gc.get_freeze_count():,} objects frozen)")
        base = statistics.median(before)
        ratio = statistics.median(after) / base if base else 0.0
        print(f"ratio to baseline x{ratio:.3f}")
        gc.unfreeze()
        await locator.close()
        await engine.dispose()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """`scripts/bench-heap [--residents 10000] [--passes 5]`."""
    parser = argparse.ArgumentParser(prog="bench-heap")
    parser.add_argument("--residents", type=int, default=10_000)
    parser.add_argument("--passes", type=int, default=5)
    args = parser.parse_args(argv)
    return asyncio.run(_run(args.residents, args.passes))


if __name__ == "__main__":
    raise SystemExit(main())
