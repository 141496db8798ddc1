"""Agent accounts in the database (the `agent` table)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from seats.accounts import AgentProfile, new_profile, parse_skills
from seats.models import Agent
from seats.passwords import CHECKS, hash_password, needs_rehash


def _profile(row: Agent) -> AgentProfile:
    skills = parse_skills(row.languages)
    languages = tuple(s.language for s in skills)
    return AgentProfile(row.id, row.name, languages, row.home_seat, skills, row.role, row.ends_on)


class SqlAgentAccounts:
    """`AgentAccounts` over the `agent` table."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    async def add(
        self,
        agent_id: str,
        name: str,
        languages: str | Iterable[str],
        password: str,
        home_seat: str | None = None,
        role: str = "agent",
        ends_on: date | None = None,
    ) -> tuple[AgentProfile, bool]:
        """Create the account, or update name/languages/password/role/end date; True when it
        was new."""
        profile = new_profile(agent_id, name, languages, home_seat, role, ends_on)
        password_hash = hash_password(password)
        async with self._sessions.begin() as session:
            row = await session.get(Agent, profile.id)
            created = row is None
            if row is None:
                row = Agent(id=agent_id)
                session.add(row)
            row.name = profile.name
            row.languages = ",".join(str(skill) for skill in profile.skills)
            row.password_hash = password_hash
            row.home_seat = home_seat
            row.role = profile.role
            row.ends_on = profile.ends_on
            row.active = True
        return profile, created

    async def authenticate(self, agent_id: str, password: str) -> AgentProfile | None:
        """The active agent when the password matches, else None."""
        # No database connection is held while the check waits its turn: during a login
        # flood the call log needs the pool.
        async with self._sessions() as session:
            row = await session.get(Agent, agent_id)
        stored = row.password_hash if row is not None and row.active else None
        # argon2 takes a CPU for a while: off the event loop, bounded (seats.passwords)
        if not await CHECKS.verify(stored, password) or row is None or stored is None:
            return None
        if needs_rehash(stored):
            new_hash = await CHECKS.hash(password)
            async with self._sessions.begin() as session:
                fresh = await session.get(Agent, agent_id)
                if fresh is not None and fresh.password_hash == stored:
                    fresh.password_hash = new_hash
        return _profile(row)

    async def get(self, agent_id: str) -> AgentProfile | None:
        """The active agent's profile, or None."""
        async with self._sessions() as session:
            row = await session.scalar(
                select(Agent).where(Agent.id == agent_id, Agent.active.is_(True))
            )
            return _profile(row) if row is not None else None
