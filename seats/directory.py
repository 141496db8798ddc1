"""Which agent is logged in at which seat."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SeatChange:
    """The outcome of a login: who was displaced from the seat and which seat the agent left."""

    displaced_agent: str | None
    previous_seat: str | None


class SeatDirectory:
    """The seat ↔ agent map of one CTI node, updated by the web login.

    One agent sits at one seat and one seat holds one agent: the latest login wins, so an
    agent who forgot to log out does not lock a seat for the next shift. The state machine
    asks `agent_at(seat)` when a queue rings a member: always a dict lookup, never I/O.

    The web login calls `claim` / `release` (async). Here they change this node's map;
    `seats.RedisSeatDirectory` overrides them to change the map shared by every CTI node,
    and keeps this map as its local mirror. `login` / `logout` change this node's map only.
    """

    def __init__(self) -> None:
        self._agent_at: dict[str, str] = {}
        self._seat_of: dict[str, str] = {}

    def agent_at(self, seat: str) -> str | None:
        """The agent logged in at `seat`, or None when nobody is."""
        return self._agent_at.get(seat)

    def seat_of(self, agent: str) -> str | None:
        """The seat `agent` is logged in at, or None."""
        return self._seat_of.get(agent)

    def login(self, agent: str, seat: str) -> SeatChange:
        """Put `agent` at `seat`; says who was displaced and which seat the agent left."""
        previous_seat = self._seat_of.pop(agent, None)
        if previous_seat is not None and previous_seat != seat:
            self._agent_at.pop(previous_seat, None)
        displaced = self._agent_at.get(seat)
        if displaced == agent:
            displaced = None
        if displaced is not None:
            self._seat_of.pop(displaced, None)
        self._agent_at[seat] = agent
        self._seat_of[agent] = seat
        return SeatChange(
            displaced_agent=displaced,
            previous_seat=previous_seat if previous_seat != seat else None,
        )

    def logout(self, agent: str) -> str | None:
        """Take `agent` off their seat; returns the seat they left, or None."""
        seat = self._seat_of.pop(agent, None)
        if seat is not None and self._agent_at.get(seat) == agent:
            del self._agent_at[seat]
        return seat

    def occupied(self) -> dict[str, str]:
        """A snapshot: seat → agent for every occupied seat."""
        return dict(self._agent_at)

    def replace(self, occupied: dict[str, str]) -> None:
        """Take `occupied` (seat → agent) as the whole map (a mirror reloading its source)."""
        self._agent_at = dict(occupied)
        self._seat_of = {agent: seat for seat, agent in occupied.items()}

    async def claim(self, agent: str, seat: str) -> SeatChange:
        """Log `agent` in at `seat` (the newest login wins); says who was displaced."""
        return self.login(agent, seat)

    async def release(self, agent: str, seat: str) -> bool:
        """Free `seat` if `agent` still holds it (a logout); False when someone else took it."""
        if self._agent_at.get(seat) != agent:
            return False
        self.logout(agent)
        return True

    async def close(self) -> None:
        """Nothing to release for a map held in this process."""
