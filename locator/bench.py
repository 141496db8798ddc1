"""Benchmark of `Locator.lookup`: p50/p99 per lookup, index build time and memory.

For each database kind and registry size: a synthetic registry (`generate_residents`) is saved,
the index is built (time and resident-set growth measured), then a mix of caller IDs is looked
up one by one (60 % residents in every spelling Asterisk uses, 25 % unlisted numbers, 15 %
`<unknown>`/Anonymous/garbage), nearly all distinct so the normaliser's cache does not flatter
the figures. The baseline, measured in the same run on the same database, is what the index
replaces: one indexed SQL query per ring (normalise, then SELECT the residents on that number).

Usage: scripts/bench-lookup [--sizes 10000,1000000] [--backends sqlite,postgresql]
                            [--lookups 200000] [--baseline-lookups 2000] [--seed 1]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import statistics
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from cti.db import create_engine, upgrade
from cti.settings import LocatorSettings
from locator.callerid import _normalize, normalize_caller_id
from locator.generate import generate_residents
from locator.models import Resident, ResidentPhone
from locator.records import ResidentRecord
from locator.service import Locator
from locator.store import save_residents

SETTINGS = LocatorSettings()
PG_ADMIN = os.environ.get("CTI_BENCH_PG_URL", "postgresql+asyncpg://root@127.0.0.1:5432/test")


@dataclass(frozen=True)
class Result:
    """One size × database run."""

    backend: str
    size: int
    load_s: float
    build_s: float
    index_mb: float
    p50_us: float
    p99_us: float
    max_us: float
    base_p50_us: float
    base_p99_us: float
    hit_rate: float


async def _index_memory_mb(engine: AsyncEngine) -> float:
    """Python memory a built index keeps (tracemalloc: exact, but slows the build it watches)."""
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        locator = await Locator.open(engine, SETTINGS)
        gc.collect()
        kept = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    await locator.close()
    del locator
    gc.collect()
    return kept / 2**20


def _spellings(e164: str, rng: random.Random) -> str:
    """One of the ways a trunk or Asterisk writes `e164`."""
    national = "0" + e164[3:] if e164.startswith("+86") and e164[3] != "1" else e164[3:]
    if not e164.startswith("+86"):
        return rng.choice([e164, "00" + e164[1:]])
    forms = [e164, e164[1:], "00" + e164[1:], national]
    if national.startswith("0535"):
        forms += [national[4:], f"{national[:4]}-{national[4:]}", f"({national[:4]}){national[4:]}"]
    return rng.choice(forms)


def workload(records: Sequence[ResidentRecord], count: int, seed: int) -> list[str]:
    """`count` caller IDs: residents in many spellings, unlisted numbers, garbage."""
    rng = random.Random(seed)
    phones = [p for r in records for p in (*r.landlines, *r.mobiles)]
    out: list[str] = []
    for i in range(count):
        roll = rng.random()
        if roll < 0.60:
            out.append(_spellings(rng.choice(phones), rng))
        elif roll < 0.85:
            out.append(f"1{rng.choice('3578')}9{i:08d}"[-11:])  # unlisted mobiles
        else:
            out.append(rng.choice(["<unknown>", "Anonymous", "restricted", "", f"x{i}"]))
    return out


async def _make_db(backend: str, tmp: Path) -> tuple[str, str | None]:
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{tmp / f'bench-{uuid.uuid4().hex[:8]}.sqlite3'}", None
    name = f"bench_lookup_{uuid.uuid4().hex[:10]}"
    await _admin(f'CREATE DATABASE "{name}"')
    return f"{PG_ADMIN.rsplit('/', 1)[0]}/{name}", name


async def _admin(sql: str) -> None:
    # CREATE/DROP DATABASE cannot run inside a transaction.
    engine = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(sql))
    finally:
        await engine.dispose()


async def _drop_db(name: str) -> None:
    await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _percentile(sorted_ns: list[int], q: float) -> float:
    return sorted_ns[min(len(sorted_ns) - 1, int(q * len(sorted_ns)))] / 1000


async def _baseline(engine: AsyncEngine, queries: Sequence[str]) -> list[int]:
    """Per-ring SQL lookups (what the index replaces), in ns."""
    times: list[int] = []
    async with engine.connect() as conn:
        for raw in queries:
            t0 = time.perf_counter_ns()
            caller = normalize_caller_id(raw, SETTINGS)
            if caller.normalized is not None:
                rows = await conn.execute(
                    select(Resident.id, Resident.name, Resident.address)
                    .join(ResidentPhone, ResidentPhone.resident_id == Resident.id)
                    .where(ResidentPhone.e164 == caller.normalized)
                )
                rows.all()
            times.append(time.perf_counter_ns() - t0)
    return times


async def run_one(backend: str, size: int, args: argparse.Namespace, tmp: Path) -> Result:
    """Load `size` residents into a fresh `backend` database and measure."""
    url, pg_name = await _make_db(backend, tmp)
    engine = create_engine(url)
    try:
        await upgrade(engine)
        records = list(generate_residents(size, args.seed))
        t0 = time.perf_counter()
        await save_residents(engine, records)
        load_s = time.perf_counter() - t0
        if pg_name is not None:
            # Fresh statistics, as autovacuum would give a real server, so the SQL baseline
            # uses the phone index.
            async with engine.connect() as conn:
                await conn.execute(text("ANALYZE"))
                await conn.commit()
        queries = workload(records, args.lookups, args.seed + 1)
        _normalize.cache_clear()  # each run starts cold: no flattering from a previous one
        base_queries = workload(records, args.baseline_lookups, args.seed + 2)
        del records
        index_mb = await _index_memory_mb(engine)
        gc.collect()
        t0 = time.perf_counter()
        locator = await Locator.open(engine, SETTINGS)
        build_s = time.perf_counter() - t0
        lookup = locator.lookup
        times: list[int] = []
        hits = 0
        gc.disable()  # a collection pause is real, but not the lookup's: measured apart
        try:
            for raw in queries:
                t = time.perf_counter_ns()
                match = lookup(raw)
                times.append(time.perf_counter_ns() - t)
                hits += bool(match.residents)
        finally:
            gc.enable()
        times.sort()
        base = sorted(await _baseline(engine, base_queries))
        await locator.close()
        return Result(
            backend,
            size,
            load_s,
            build_s,
            index_mb,
            _percentile(times, 0.50),
            _percentile(times, 0.99),
            times[-1] / 1000,
            _percentile(base, 0.50),
            _percentile(base, 0.99),
            hits / len(queries),
        )
    finally:
        await engine.dispose()
        if pg_name is not None:
            await _drop_db(pg_name)


def _print(r: Result) -> None:
    print(
        f"| {r.backend:10} | {r.size:>9,} | {r.load_s:7.1f} s | {r.build_s:7.2f} s "
        f"| {r.index_mb:7.0f} MB | {r.p50_us:6.1f} µs | {r.p99_us:6.1f} µs | {r.max_us:8.0f} µs "
        f"| {r.base_p50_us:7.0f} µs | {r.base_p99_us:7.0f} µs "
        f"| {r.base_p50_us / r.p50_us:5.0f}x | {r.hit_rate:4.0%} |",
        flush=True,
    )


async def main(argv: Sequence[str] | None = None) -> int:
    """Run every requested size on every requested database; print a markdown table."""
    parser = argparse.ArgumentParser(prog="bench-lookup")
    parser.add_argument("--sizes", default="10000,1000000")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--lookups", type=int, default=200_000)
    parser.add_argument("--baseline-lookups", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    backends = args.backends.split(",")
    print(
        "| database   |  residents |      load |   index build | index memory |    p50 |    p99 "
        "|       max | SQL p50 | SQL p99 | SQL/index p50 | hits |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-lookup-") as tmp:
        for size in sizes:
            for backend in backends:
                result = await run_one(backend, size, args, Path(tmp))
                results.append(result)
                _print(result)
    worst = {s: max(r.p99_us for r in results if r.size == s) for s in sizes}
    print("worst p99 per size: " + ", ".join(f"{s:,}: {v:.1f} µs" for s, v in worst.items()))
    print(f"median of p50s: {statistics.median(r.p50_us for r in results):.1f} µs")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
