"""Agent accounts: who may log in, with which languages."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from seats.passwords import CHECKS, hash_password

LANGUAGES = ("zh", "en", "ko")
# How well an agent speaks a language, and the queue penalty that follows from it: Asterisk
# rings members with the lowest penalty first.
LEVELS: dict[str, int] = {"native": 0, "fluent": 1, "basic": 2}
# What an account may do: take calls (every account); group leaders lead a shift group; duty
# officers take the duty (emergency) queue; supervisors also watch the room (the wallboard)
# and the callback list of every agent; administrators change queues, seats and shifts
# (/admin) and may watch the room; guest experts (lawyers, psychologists, police...) serve an
# expert queue until an end date.
ROLES = ("agent", "supervisor", "group_leader", "duty_officer", "administrator", "guest_expert")
# A guest expert's last day is a day in the centre's time (China, no daylight saving).
_CENTRE_TIME = ZoneInfo("Asia/Shanghai")
_AGENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class AccountError(ValueError):
    """An account field is invalid (bad id, unknown language, empty name)."""


@dataclass(frozen=True, slots=True)
class LanguageSkill:
    """One language an agent takes calls in, and how well (`native`, `fluent`, `basic`)."""

    language: str
    level: str

    @property
    def penalty(self) -> int:
        """The queue penalty for this language: native 0, fluent 1, basic 2."""
        return LEVELS[self.level]

    def __str__(self) -> str:
        return f"{self.language}:{self.level}"


@dataclass(frozen=True, slots=True)
class AgentProfile:
    """What the rest of the system knows about an agent (never the password hash).

    `languages` are the language codes in the agent's order; `skills` the same languages
    with a level each (when not given: the first native, the others fluent).
    """

    id: str
    name: str
    languages: tuple[str, ...]
    home_seat: str | None = None
    skills: tuple[LanguageSkill, ...] = ()
    role: str = "agent"  # one of ROLES
    ends_on: date | None = None  # a guest expert's last day on the line (inclusive)

    def ended(self, moment: datetime) -> bool:
        """Whether the account's last day (`ends_on`, in China time) is over at `moment`:
        it may not log in, and its seat leaves its queues."""
        return self.ends_on is not None and moment.astimezone(_CENTRE_TIME).date() > self.ends_on

    @property
    def is_supervisor(self) -> bool:
        """Whether the account may open the wallboard."""
        return self.role in ("supervisor", "administrator")

    @property
    def is_administrator(self) -> bool:
        """Whether the account may change queues, seats and shifts (/admin)."""
        return self.role == "administrator"

    def __post_init__(self) -> None:
        if not self.skills:
            default = default_skills(self.languages)
            object.__setattr__(self, "skills", default)


def default_skills(languages: Iterable[str]) -> tuple[LanguageSkill, ...]:
    """The first language native, the others fluent (the account named no levels)."""
    return tuple(
        LanguageSkill(lang, "native" if i == 0 else "fluent") for i, lang in enumerate(languages)
    )


def parse_skills(text: str | Iterable[str]) -> tuple[LanguageSkill, ...]:
    """`"zh,en"`, `"zh:native,en:basic"` or a list of such items → skills in that order.

    An item without a level gets the default (the first native, the others fluent).
    Raises AccountError naming an unknown language or level, or an empty list.
    """
    items = text.split(",") if isinstance(text, str) else list(text)
    skills: dict[str, LanguageSkill] = {}
    for item in (i.strip().lower() for i in items):
        if not item:
            continue
        lang, _, level = item.partition(":")
        lang, level = lang.strip(), level.strip() or ("native" if not skills else "fluent")
        if lang not in LANGUAGES:
            raise AccountError(f"languages must be among {','.join(LANGUAGES)}; got {text!r}")
        if level not in LEVELS:
            raise AccountError(f"language level must be one of {', '.join(LEVELS)}; got {item!r}")
        skills.setdefault(lang, LanguageSkill(lang, level))
    if not skills:
        raise AccountError(f"languages must be among {','.join(LANGUAGES)}; got {text!r}")
    return tuple(skills.values())


def parse_languages(text: str | Iterable[str]) -> tuple[str, ...]:
    """`"zh,en"` or `["zh", "en"]` → `("zh", "en")`; raises AccountError for an unknown one.

    Levels (`zh:native`) are accepted and dropped; `parse_skills` keeps them.
    """
    return tuple(skill.language for skill in parse_skills(text))


def check_agent_id(agent_id: str) -> str:
    """The id unchanged when valid (letters, digits, `_.-`, ≤ 64); raises AccountError."""
    if not _AGENT_ID.match(agent_id):
        raise AccountError(f"invalid agent id {agent_id!r}")
    return agent_id


def new_profile(
    agent_id: str,
    name: str,
    languages: str | Iterable[str],
    home_seat: str | None = None,
    role: str = "agent",
    ends_on: date | None = None,
) -> AgentProfile:
    """The profile of an account being created or changed; raises AccountError when a field
    is invalid (bad id, unknown language, empty name, unknown role, an end date on an
    account that is not a guest expert's)."""
    skills = parse_skills(languages)
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}; got {role!r}")
    if ends_on is not None and role != "guest_expert":
        raise AccountError(f"only a guest_expert has an end date; got role {role!r}")
    profile = AgentProfile(
        check_agent_id(agent_id),
        name.strip(),
        tuple(s.language for s in skills),
        home_seat,
        skills,
        role,
        ends_on,
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
        role: str = "agent",
        ends_on: date | None = None,
    ) -> None:
        """Create or replace an account (the password is hashed at once)."""
        profile = new_profile(agent_id, name, languages, home_seat, role, ends_on)
        self._agents[agent_id] = (profile, hash_password(password))

    async def authenticate(self, agent_id: str, password: str) -> AgentProfile | None:
        """The agent when the password matches, else None."""
        entry = self._agents.get(agent_id)
        # argon2 takes a CPU for a while: off the event loop, bounded (seats.passwords)
        ok = await CHECKS.verify(entry[1] if entry else None, password)
        return entry[0] if entry and ok else None

    async def get(self, agent_id: str) -> AgentProfile | None:
        """The agent's profile, or None."""
        entry = self._agents.get(agent_id)
        return entry[0] if entry else None
