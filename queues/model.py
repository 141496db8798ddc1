"""The hotline's queues and seats as data: what administrators edit and Asterisk is given.

One `QueueSpec` per Asterisk queue (language queues, the duty queue for emergencies, expert
queues that come and go), and the seats `seat01`…`seat52`. These typed values are the
source of `queues.conf`, of the dialplan's queue entries (`cti.conf`), of the queue
registry (`queues.registry`) and of the admin API's schemas.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Language = Literal["zh", "en", "ko"]
# The strategies of Asterisk 22's app_queue.
Strategy = Literal[
    "ringall", "leastrecent", "fewestcalls", "random", "rrmemory", "rrordered", "linear", "wrandom"
]
# language: the queue of a language (one per language); duty: the duty officer's queue
# (emergencies: water, heating, power, gas); expert: lawyers, psychologists, police…
QueueKind = Literal["language", "duty", "expert"]
QUEUE_NAME = r"^q-[a-z0-9][a-z0-9-]{0,30}$"
SEAT_NAME = r"^seat\d{2,3}$"
SEAT_COUNT = 52


class QueueSpec(BaseModel):
    """One queue and how it rings.

    `service_level_s` is what Asterisk counts as answered in time (GB/T 33358: 15 s);
    `max_wait_s` is how long a caller waits before the dialplan gives up on the queue;
    `overflow_after_s`: a caller waiting that long also rings agents of a lower level in the
    language (fluent after N s, basic after 2N s), through an Asterisk queue rule.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=QUEUE_NAME, description="Asterisk queue name, e.g. q-zh")
    language: Language
    kind: QueueKind = "language"
    title: str = Field(default="", max_length=60, description="what administrators call it")
    strategy: Strategy = "rrmemory"
    ring_timeout_s: int = Field(default=15, ge=5, le=120, description="ring one seat this long")
    service_level_s: int = Field(default=15, ge=5, le=600)
    max_wait_s: int = Field(default=120, ge=10, le=3600)
    overflow_after_s: int | None = Field(default=None, ge=5, le=1800)
    weight: int = Field(default=0, ge=0, le=100, description="higher rings its members first")
    ends_on: date | None = Field(default=None, description="an expert queue's last day")

    @model_validator(mode="after")
    def _expert_only_ends(self) -> QueueSpec:
        if self.ends_on is not None and self.kind != "expert":
            raise ValueError("only an expert queue has an end date (ends_on)")
        return self

    @property
    def overflow_rule(self) -> str | None:
        """The queuerules.conf rule name for this queue's overflow, or None."""
        return f"overflow-{self.name}" if self.overflow_after_s else None


class SeatSpec(BaseModel):
    """A seat terminal: its name (the PJSIP endpoint) and where it stands in the room."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=SEAT_NAME)
    position: str = Field(default="", max_length=40)


def default_queues() -> tuple[QueueSpec, ...]:
    """The hotline's queues: one per language, and the duty officer's."""
    return (
        QueueSpec(name="q-zh", language="zh", title="中文", overflow_after_s=30),
        QueueSpec(name="q-en", language="en", title="English", overflow_after_s=30),
        QueueSpec(name="q-ko", language="ko", title="한국어", overflow_after_s=30),
        QueueSpec(
            name="q-duty",
            language="zh",
            kind="duty",
            title="值班 duty officer",
            strategy="ringall",
            ring_timeout_s=20,
            weight=10,
            max_wait_s=300,
        ),
    )


def default_seats(count: int = SEAT_COUNT) -> tuple[SeatSpec, ...]:
    """`seat01`…`seat52`, four rows of thirteen desks."""
    return tuple(
        SeatSpec(name=f"seat{n:02d}", position=f"row {(n - 1) // 13 + 1}, desk {(n - 1) % 13 + 1}")
        for n in range(1, count + 1)
    )


def check_queues(queues: tuple[QueueSpec, ...] | list[QueueSpec]) -> list[str]:
    """What is wrong with a set of queues (duplicate names, two queues for one language,
    no duty queue); empty when nothing is."""
    problems: list[str] = []
    names = [q.name for q in queues]
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems.append(f"queue {name} is defined twice")
    languages = [q.language for q in queues if q.kind == "language"]
    for lang in sorted({x for x in languages if languages.count(x) > 1}):
        problems.append(f"two language queues for {lang}")
    if sum(q.kind == "duty" for q in queues) != 1:
        problems.append("there must be exactly one duty queue")
    return problems
