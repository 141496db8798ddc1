"""The centre's 52 seats and which language queue each sits in (as in 08-burst-60-calls)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SeatPlan:
    """Seat name, queue and member interface for one seat."""

    seat: str
    queue: str
    interface: str


def seat_plan(count: int = 52, shape: str = "local") -> list[SeatPlan]:
    """Seats `seat01`… split like the recorded centre: the last 12 are 6 English and 6
    Korean, the rest Chinese. `shape` is `local` (`Local/seatNN@agents/n`) or `pjsip`."""
    plan = []
    for n in range(1, count + 1):
        seat = f"seat{n:02d}"
        from_end = count - n
        queue = "q-ko" if from_end < 6 else "q-en" if from_end < 12 else "q-zh"
        interface = f"Local/{seat}@agents/n" if shape == "local" else f"PJSIP/{seat}"
        plan.append(SeatPlan(seat, queue, interface))
    return plan
