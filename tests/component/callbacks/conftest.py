"""A migrated SQLite database, a small registry double and callback records."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from cti.db import create_engine, upgrade
from cti.state import CallRecord


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """Every revision applied to a fresh SQLite file."""
    made = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'cti.sqlite3'}")
    await upgrade(made)
    yield made
    await made.dispose()


@dataclass(frozen=True)
class Kin:
    name: str
    relation: str
    phones: tuple[str, ...]


@dataclass(frozen=True)
class Resident:
    id: str
    name: str
    age: int | None
    address: str
    flags: tuple[str, ...]
    next_of_kin: tuple[Kin, ...]


@dataclass(frozen=True)
class Caller:
    raw: str
    normalized: str | None = None
    kind: str = "domestic"
    region: str | None = "CN"


@dataclass(frozen=True)
class Match:
    caller: Caller
    residents: list[Resident] = field(default_factory=list)


class Registry:
    """`lookup(number)` as `locator.Locator` answers it, for a few numbers."""

    def __init__(self, residents: dict[str, list[Resident]]) -> None:
        self._residents = residents

    def lookup(self, raw: str | None) -> Match:
        return Match(Caller(raw or ""), list(self._residents.get(raw or "", [])))


ALONE = Resident(
    "R001",
    "张桂英",
    82,
    "莱山区观海路 1 号",
    ("lives_alone",),
    (
        Kin("李强", "son", ("+8613912345678", "+865356000001")),
        Kin("李梅", "daughter", ("+8613700000002",)),
    ),
)
WITH_FAMILY = Resident("R002", "王建国", 75, "莱山区港城东大街 2 号", (), ())


def record(
    call_id: str,
    number: str | None,
    *,
    outcome: str = "abandoned",
    queue: str = "q-zh",
    at: float | None = None,
) -> CallRecord:
    """A finished call as the tracker hands it over."""
    ended = at if at is not None else time.time()
    return CallRecord(
        call_id=call_id,
        queue=queue,
        language="zh",
        caller_number=number,
        caller_name=None,
        agent_id=None if outcome != "answered" else "a07",
        seat=None,
        joined_at=ended - 30,
        ended_at=ended,
        waited_s=30.0,
        talked_s=None,
        outcome=outcome,  # type: ignore[arg-type]
    )
