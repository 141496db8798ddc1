"""Agent accounts: who may log in, with which languages."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from seats.passwords import hash_password, verify_password

LANGUAGES = ("zh", "en", "ko")
_AGENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class AccountError(ValueError):
    """An account field is invalid (bad id, unknown language, empty name)."""


@dataclass(frozen=True, slots=True)
class AgentProfile:
    """What the rest of the system knows about an agent (never the password hash)."""

    id: str
    name: str
    languages: tuple[str, ...]
    home_seat: str | None = None


def parse_languages(text: str | Iterable[str]) -> tuple[str, ...]:
    """`"zh,en"` or `["zh", "en"]` → `("zh", "en")`; raises AccountError for an unknown one."""
    items = text.split(",") if isinstance(text, str) else list(text)
    langs = tuple(dict.fromkeys(item.strip().lower() for item in items if item.strip()))
    unknown = [lang for lang in langs if lang not in LANGUAGES]
    if unknown or not langs:
        raise AccountError(f"languages must be among {','.join(LANGUAGES)}; got {text!r}")
    return langs


def check_agent_id(agent_id: str) -> str:
    """The id unchanged when valid (letters, digits, `_.-`, ≤ 64); raises AccountError."""
    if not _AGENT_ID.match(agent_id):
        raise AccountError(f"invalid agent id {agent_id!r}")
    return agent_id


def new_profile(
    agent_id: str, name: str, languages: str | Iterable[str], home_seat: str | None = None
) -> AgentProfile:
    """The profile of an account being created or changed; raises AccountError when a field
    is invalid (bad id, unknown language, empty name)."""
    profile = AgentProfile(
        check_agent_id(agent_id), name.strip(), parse_languages(languages), home_seat
    )
    if not profile.name:
        raise AccountError("name must not be empty")
    return profile


class AgentAccounts(Protocol):
    """Where agent accounts live (the database, or memory in tests and the demo)."""

    async def authenticate(self, agent_id: str, password: str) -> AgentProfile | None:
        """The agent when the password matches, else None (no hint which part was wrong)."""
        ...

    async def get(self, agent_id: str) -> AgentProfile | None:
        """The agent's profile, or None."""
        ...


class MemoryAgentAccounts:
    """Accounts held in memory: for tests, the demo and benchmarks."""

    def __init__(self) -> None:
        self._agents: dict[str, tuple[AgentProfile, str]] = {}

    def add(
        self,
        agent_id: str,
        name: str,
        languages: str | Iterable[str],
        password: str,
        home_seat: str | None = None,
    ) -> None:
        """Create or replace an account (the password is hashed at once)."""
        profile = new_profile(agent_id, name, languages, home_seat)
        self._agents[agent_id] = (profile, hash_password(password))

    async def authenticate(self, agent_id: str, password: str) -> AgentProfile | None:
        """The agent when the password matches, else None."""
        entry = self._agents.get(agent_id)
        # argon2 takes tens of milliseconds of CPU: keep it off the event loop
        ok = await asyncio.to_thread(verify_password, entry[1] if entry else None, password)
        return entry[0] if entry and ok else None

    async def get(self, agent_id: str) -> AgentProfile | None:
        """The agent's profile, or None."""
        entry = self._agents.get(agent_id)
        return entry[0] if entry else None
