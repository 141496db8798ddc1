"""The hotline's configuration as one typed document: queues, seats, shift groups, and
per-agent queue overrides. Administrators change it (change-sets, `cti.admin`); Asterisk's
files are rendered from it (`cti.conf.render`)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field, model_validator

from queues.model import (
    QUEUE_NAME,
    QueueSpec,
    SeatSpec,
    check_queues,
    default_queues,
    default_seats,
)
from seats.shifts import AGENT_ID, ShiftPlan, default_plan


class QueueSkill(BaseModel):
    """An agent serves `queue` at `penalty` (0 rings first)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    queue: str = Field(pattern=QUEUE_NAME)
    penalty: int = Field(default=0, ge=0, le=9)


class AgentOverride(BaseModel):
    """An administrator's word on one agent: the queues instead of those of the languages
    (None: follow the languages), and a guest expert's last day."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    agent: str = Field(pattern=AGENT_ID)
    queues: tuple[QueueSkill, ...] | None = None
    expires_on: date | None = None


class HotlineConfig(BaseModel):
    """Everything an administrator configures, validated as a whole."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    queues: tuple[QueueSpec, ...] = Field(default_factory=default_queues, min_length=1)
    seats: tuple[SeatSpec, ...] = Field(default_factory=default_seats, min_length=1)
    shifts: ShiftPlan = Field(default_factory=default_plan)
    agents: tuple[AgentOverride, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> HotlineConfig:
        problems = check_queues(self.queues)
        names = [s.name for s in self.seats]
        if len(set(names)) != len(names):
            problems.append("a seat is listed twice")
        known = {q.name for q in self.queues}
        agents = [a.agent for a in self.agents]
        if len(set(agents)) != len(agents):
            problems.append("an agent has two overrides")
        for override in self.agents:
            for skill in override.queues or ():
                if skill.queue not in known:
                    problems.append(f"agent {override.agent}: no queue {skill.queue}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def queue(self, name: str) -> QueueSpec | None:
        """The queue called `name`, or None."""
        return next((q for q in self.queues if q.name == name), None)

    def override_of(self, agent: str) -> AgentOverride | None:
        """The administrator's override for `agent`, or None."""
        return next((a for a in self.agents if a.agent == agent), None)

    @property
    def duty_queue(self) -> QueueSpec:
        """The duty officer's queue (there is exactly one)."""
        return next(q for q in self.queues if q.kind == "duty")
