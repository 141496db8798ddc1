"""Agents, seats and shift groups: accounts, the seat directory, seat names."""

from seats.accounts import (
    LANGUAGES,
    LEVELS,
    ROLES,
    AccountError,
    AgentAccounts,
    AgentProfile,
    LanguageSkill,
    MemoryAgentAccounts,
    check_agent_id,
    parse_languages,
    parse_skills,
)
from seats.directory import SeatChange, SeatDirectory
from seats.interfaces import seat_of_interface
from seats.models import Agent
from seats.passwords import hash_password, verify_password
from seats.redis_directory import RedisSeatDirectory
from seats.store import SqlAgentAccounts

__all__ = [
    "LANGUAGES",
    "LEVELS",
    "ROLES",
    "AccountError",
    "Agent",
    "AgentAccounts",
    "AgentProfile",
    "LanguageSkill",
    "MemoryAgentAccounts",
    "RedisSeatDirectory",
    "SeatChange",
    "SeatDirectory",
    "SqlAgentAccounts",
    "check_agent_id",
    "hash_password",
    "parse_languages",
    "parse_skills",
    "seat_of_interface",
    "verify_password",
]
