"""Agents, seats and shift groups: accounts, the seat directory, seat names."""

from seats.accounts import (
    LANGUAGES,
    AccountError,
    AgentAccounts,
    AgentProfile,
    MemoryAgentAccounts,
    check_agent_id,
    parse_languages,
)
from seats.directory import SeatChange, SeatDirectory
from seats.interfaces import seat_of_interface
from seats.passwords import hash_password, verify_password

__all__ = [
    "LANGUAGES",
    "AccountError",
    "AgentAccounts",
    "AgentProfile",
    "MemoryAgentAccounts",
    "SeatChange",
    "SeatDirectory",
    "check_agent_id",
    "hash_password",
    "parse_languages",
    "seat_of_interface",
    "verify_password",
]
