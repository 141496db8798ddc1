"""A stand-in for the duty service on the side administration uses: who sits where, requeues."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from queues.membership.models import SeatDuty, Wanted


@dataclass
class FakeDuty:
    """`duties()` and `requeue()` of `cti.cluster.ClusterDuty`, keeping every requeue."""

    seats: dict[str, SeatDuty] = field(default_factory=dict)
    requeued: list[tuple[str, tuple[Wanted, ...]]] = field(default_factory=list)

    def duties(self) -> list[SeatDuty]:
        return list(self.seats.values())

    async def requeue(self, agent: str, queues: Iterable[Wanted]) -> SeatDuty | None:
        duty = self.seats.get(agent)
        if duty is None:
            return None
        self.seats[agent] = replace(duty, queues=tuple(queues))
        self.requeued.append((agent, tuple(queues)))
        return self.seats[agent]
