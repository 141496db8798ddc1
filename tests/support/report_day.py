"""A plausible day of the centre in the database (call log, duty periods, callbacks), for the
report's tests and screenshots: ~300 calls shaped like the day, 12 agents, a few callbacks."""

from __future__ import annotations

import json
import random
from datetime import date, datetime, time, timedelta, tzinfo

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from cti.callbacks.models import AttemptRow, CallbackRow
from cti.state import CallLogEntry
from queues.membership.tables import DutyPeriod

AGENTS = {f"a{n:02d}": ("q-ko" if n > 10 else "q-en" if n > 8 else "q-zh") for n in range(1, 13)}
LANGUAGE = {"q-zh": "zh", "q-en": "en", "q-ko": "ko"}
# Calls per hour over the day: quiet at night, busy mornings and afternoons.
SHAPE = [2, 1, 1, 1, 1, 2, 5, 12, 26, 30, 28, 22, 14, 18, 26, 27, 22, 16, 10, 8, 6, 5, 4, 3]


async def seed_day(engine: AsyncEngine, day: date, tz: tzinfo, seed: int = 7) -> int:
    """Write the day; the number of calls written."""
    rng = random.Random(seed)
    midnight = datetime.combine(day, time.min, tzinfo=tz)
    calls, callbacks, attempts = [], [], []
    n = 0
    for hour, count in enumerate(SHAPE):
        for _ in range(count):
            n += 1
            joined = midnight + timedelta(hours=hour, seconds=rng.uniform(0, 3599))
            queue = rng.choices(["q-zh", "q-en", "q-ko"], [85, 8, 7])[0]
            abandoned = rng.random() < 0.08
            waited = rng.expovariate(1 / 9) if not abandoned else rng.uniform(10, 90)
            agents = [a for a, q in AGENTS.items() if q == queue]
            agent = None if abandoned else rng.choice(agents)
            talked = None if abandoned else rng.uniform(40, 420)
            ended = joined + timedelta(seconds=waited + (talked or 0))
            calls.append(
                {
                    "call_id": f"call-{n}",
                    "queue": queue,
                    "language": LANGUAGE[queue],
                    "caller_number": f"0535{rng.randrange(10**7):07d}",
                    "resident_ids": "",
                    "agent": agent,
                    "seat": f"seat{agent[1:]}" if agent else None,
                    "joined_at": joined,
                    "ended_at": ended,
                    "waited_s": waited,
                    "talked_s": talked,
                    "outcome": "abandoned" if abandoned else "answered",
                    "closed_on_resync": False,
                    "rings": json.dumps([]),
                }
            )
            if abandoned:
                elderly = rng.random() < 0.4
                deadline = ended + timedelta(seconds=600 if elderly else 7200)
                placed = ended + timedelta(seconds=rng.uniform(60, 900 if elderly else 9000))
                cb_id = len(callbacks) + 1
                callbacks.append(
                    {
                        "id": cb_id,
                        "call_id": f"call-{n}",
                        "number": calls[-1]["caller_number"],
                        "queue": queue,
                        "language": LANGUAGE[queue],
                        "resident_ids": "R001" if elderly else "",
                        "priority": 1 if elderly else 2,
                        "emergency": False,
                        "abandoned_at": ended,
                        "deadline_at": deadline,
                        "repeats": 0,
                        "status": "done",
                        "first_placed_at": placed,
                        "outcome": "reached",
                        "closed_at": placed + timedelta(minutes=3),
                    }
                )
                by = rng.choice(agents)
                attempts.append(
                    {
                        "callback_id": cb_id,
                        "agent": by,
                        "seat": f"seat{by[1:]}",
                        "number": calls[-1]["caller_number"],
                        "target": "caller",
                        "placed_at": placed,
                        "result": "answered",
                    }
                )
    periods = []
    for agent in AGENTS:
        t = midnight + timedelta(hours=8)
        end = midnight + timedelta(hours=20)
        while t < end:
            status, reason = rng.choices(
                [
                    ("ready", None),
                    ("after_call_work", None),
                    ("paused", "break"),
                    ("paused", "meal"),
                    ("paused", "training"),
                    ("paused", "meeting"),
                ],
                [60, 20, 8, 4, 2, 2],
            )[0]
            length = timedelta(minutes=rng.uniform(2, 40 if reason == "meal" else 15))
            periods.append(
                {
                    "agent": agent,
                    "seat": f"seat{agent[1:]}",
                    "status": status,
                    "reason": reason,
                    "started_at": t,
                    "ended_at": t + length,
                    "seconds": length.total_seconds(),
                }
            )
            t += length
    async with engine.begin() as conn:
        await conn.execute(insert(CallLogEntry), calls)
        await conn.execute(insert(DutyPeriod), periods)
        if callbacks:
            await conn.execute(insert(CallbackRow), callbacks)
            await conn.execute(insert(AttemptRow), attempts)
    return n
