"""The admin API's typed schemas: what handlers validate with and the OpenAPI document shows."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from cti.conf.model import HotlineConfig


class _Schema(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AdminLogin(_Schema):
    """`POST /api/admin/login`."""

    agent: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class AdminToken(_Schema):
    """An administrator's session token."""

    token: str
    administrator: str


class ChangeRequest(_Schema):
    """A change-set: the whole new configuration and the version it was edited from.

    A `base_version` that is not the current one is a conflict (409): someone else applied
    a change meanwhile, and nothing is overwritten.
    """

    base_version: int = Field(ge=0)
    config: HotlineConfig
    comment: str = Field(default="", max_length=200)


class RollbackRequest(_Schema):
    """Return to an earlier version (as a new version), edited from `base_version`."""

    base_version: int = Field(ge=0)
    comment: str = Field(default="", max_length=200)


class AmiAction(_Schema):
    """An AMI action a change sends (QueueReload), or the reconciler will send for it."""

    action: str
    fields: dict[str, str]
    sender: str = Field(description="apply (sent by the change) or reconciler")


class Requeue(_Schema):
    """A logged-in agent whose queues change (`queue:penalty` items)."""

    agent: str
    seat: str
    before: list[str]
    after: list[str]


class ChangePlan(_Schema):
    """What a change would do: configuration lines, AMI actions, agents requeued."""

    base_version: int
    changes: list[str] = Field(description="what changes in the model, one line each")
    files: dict[str, list[str]] = Field(description="unified diff per changed file")
    actions: list[AmiAction]
    requeues: list[Requeue]
    operator_reloads: list[str] = Field(description="files Asterisk rereads only at a reload")


class ActionOutcome(_Schema):
    """What one step of an apply got: Asterisk's own message."""

    action: str
    ok: bool
    message: str


class VersionSummary(_Schema):
    """One applied version: who, when, what."""

    version: int
    author: str
    at: datetime
    comment: str
    rollback_of: int | None = None
    results: list[ActionOutcome] = []
    asterisk_applied: bool = Field(description="every step of the apply succeeded")


class ConfigView(_Schema):
    """The current configuration and its version."""

    version: int
    config: HotlineConfig
    applied: VersionSummary


class VersionList(_Schema):
    """Every version, newest first."""

    versions: list[VersionSummary]


class ApplyResult(_Schema):
    """An applied change: the new version and what each step got."""

    version: VersionSummary
    plan: ChangePlan


class ShiftView(_Schema):
    """Who is on duty at a moment (China time)."""

    at: datetime
    groups: list[dict[str, object]]


class AgentQueues(_Schema):
    """An agent's queues now (`queue:penalty`), from the duty service."""

    agent: str
    seat: str | None
    queues: list[str]
