"""Change-sets: dry-run, apply (files + QueueReload, agents requeued through the duty
service), rollback to any earlier version; every version says who, when, what, and what
Asterisk answered. No HTTP here."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from cti.admin.models import (
    ActionOutcome,
    AmiAction,
    ChangePlan,
    Requeue,
    VersionSummary,
)
from cti.admin.store import MemoryVersionStore, VersionStore
from cti.conf.live import (
    LIVE_FILES,
    ActionSender,
    apply_files,
    diff_files,
    operator_reloads,
    reload_actions,
)
from cti.conf.model import HotlineConfig
from cti.conf.render import RenderOptions, render
from cti.settings import Settings
from queues import registry
from queues.membership.models import SeatDuty, Wanted
from seats.accounts import AgentProfile
from seats.shifts import on_duty_agents

log = logging.getLogger(__name__)
# Written by an apply: the files QueueReload rereads, and the dialplan (no secret in it).
APPLY_FILES = (*LIVE_FILES, "extensions.conf")


class VersionConflict(Exception):
    """The change was edited from an older version than the current one."""

    def __init__(self, base: int, current: int) -> None:
        super().__init__(f"edited from version {base}, but version {current} is current")
        self.base = base
        self.current = current


class UnknownVersion(LookupError):
    """No such version to roll back to."""


class Duty(Protocol):
    """The duty service as change-sets use it (`cti.cluster.ClusterDuty`: the acting node
    carries a requeue out, whichever node asks)."""

    def duties(self) -> list[SeatDuty]: ...

    async def requeue(self, agent: str, queues: Iterable[Wanted]) -> SeatDuty | None: ...


class Profiles(Protocol):
    """Agent accounts as change-sets read them."""

    async def get(self, agent_id: str) -> AgentProfile | None: ...


@dataclass(frozen=True, slots=True)
class Version:
    """One applied configuration."""

    config: HotlineConfig
    summary: VersionSummary


def wanted_for(config: HotlineConfig, profile: AgentProfile) -> tuple[Wanted, ...]:
    """The queues `profile` serves under `config`: the administrator's override when there
    is one, else one language queue per language at the level's penalty; a duty officer
    also serves the duty queue first."""
    override = config.override_of(profile.id)
    if override is not None and override.queues is not None:
        return tuple(Wanted(s.queue, s.penalty) for s in override.queues)
    by_language = {q.language: q.name for q in config.queues if q.kind == "language"}
    wanted = [
        Wanted(by_language[s.language], s.penalty)
        for s in profile.skills
        if s.language in by_language
    ]
    if profile.role == "duty_officer":
        wanted.insert(0, Wanted(config.duty_queue.name, 0))
    return tuple(wanted)


def wanted_at(config: HotlineConfig, profile: AgentProfile, moment: datetime) -> tuple[Wanted, ...]:
    """The queues `profile` serves at `moment`: none when they belong to a shift group that
    is not working then, or when their last day is over (a guest expert's end date); else
    `wanted_for` (an agent in no group is never emptied, so unconfigured groups cannot take
    every agent out of every queue)."""
    if profile.ended(moment):
        return ()
    plan = config.shifts
    if plan.group_of(profile.id) is not None and profile.id not in on_duty_agents(plan, moment):
        return ()
    return wanted_for(config, profile)


def _label(queues: Sequence[Wanted]) -> list[str]:
    return [f"{w.queue}:{w.penalty}" for w in queues]


def member_actions(requeue: Requeue, interface: Callable[[str], str]) -> list[AmiAction]:
    """The member actions the reconciler will send for one requeue (for the dry-run)."""
    before = dict(item.split(":") for item in requeue.before)
    after = dict(item.split(":") for item in requeue.after)
    iface = interface(requeue.seat)
    actions = []
    for queue, penalty in after.items():
        if queue not in before:
            fields = {"Queue": queue, "Interface": iface, "Penalty": penalty}
            actions.append(AmiAction(action="QueueAdd", fields=fields, sender="reconciler"))
        elif before[queue] != penalty:
            fields = {"Queue": queue, "Interface": iface, "Penalty": penalty}
            actions.append(AmiAction(action="QueuePenalty", fields=fields, sender="reconciler"))
    for queue in before:
        if queue not in after:
            fields = {"Queue": queue, "Interface": iface}
            actions.append(AmiAction(action="QueueRemove", fields=fields, sender="reconciler"))
    return actions


def model_changes(old: HotlineConfig, new: HotlineConfig) -> list[str]:
    """The differences between two configurations, one readable line each (queue
    parameters, queues added/removed, group moves, agent overrides)."""
    lines: list[str] = []
    before = {q.name: q for q in old.queues}
    after = {q.name: q for q in new.queues}
    for name in sorted(set(before) | set(after)):
        if name not in after:
            lines.append(f"queue {name} removed")
        elif name not in before:
            lines.append(f"queue {name} added ({after[name].kind}, {after[name].language})")
        else:
            a, b = before[name].model_dump(), after[name].model_dump()
            lines += [f"queue {name}: {k} {a[k]} → {b[k]}" for k in a if a[k] != b[k]]
    was = {m: g.name for g in old.shifts.groups for m in g.members}
    now = {m: g.name for g in new.shifts.groups for m in g.members}
    for agent in sorted(set(was) | set(now)):
        if was.get(agent) != now.get(agent):
            lines.append(f"agent {agent}: group {was.get(agent, '-')} → {now.get(agent, '-')}")
    if old.shifts.model_dump(exclude={"groups"}) != new.shifts.model_dump(exclude={"groups"}):
        lines.append("shift times or rotation changed")
    old_ov = {o.agent: o for o in old.agents}
    new_ov = {o.agent: o for o in new.agents}
    for agent in sorted(set(old_ov) | set(new_ov)):
        if old_ov.get(agent) != new_ov.get(agent):
            lines.append(f"agent {agent}: queue override changed")
    return lines


class AdminService:
    """The configuration's versions and the change-sets between them (one per process; a
    lock makes applies one at a time)."""

    def __init__(
        self,
        settings: Settings,
        profiles: Profiles,
        *,
        duty: Duty | None = None,
        sender: ActionSender | None = None,
        store: VersionStore | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._settings = settings
        self._profiles = profiles
        self._duty = duty
        self._sender = sender
        self._clock = clock
        self._store: VersionStore = store if store is not None else MemoryVersionStore()
        self._lock = asyncio.Lock()
        first = VersionSummary(
            version=0, author="system", at=clock(), comment="built-in", asterisk_applied=True
        )
        self._versions: list[Version] = [Version(HotlineConfig(), first)]
        registry.install(self.current.config.queues)

    async def load(self) -> None:
        """Read the stored versions (after a restart the latest one is in force again)."""
        stored = [Version(config, summary) for config, summary in await self._store.load()]
        if stored:
            self._versions = [self._versions[0], *stored]
            registry.install(self.current.config.queues)
            log.info("admin: version %d in force (stored)", self.current.summary.version)

    @property
    def current(self) -> Version:
        """The version in force."""
        return self._versions[-1]

    def history(self) -> list[VersionSummary]:
        """Every version, newest first."""
        return [v.summary for v in reversed(self._versions)]

    def _rendered(self, config: HotlineConfig) -> dict[str, str]:
        placeholders = self._settings.conf.seat_secret_key is None
        return render(config, self._settings, RenderOptions(placeholders=placeholders))

    async def plan(self, base_version: int, config: HotlineConfig) -> ChangePlan:
        """What applying `config` would do; VersionConflict when `base_version` is stale."""
        current = self.current
        if base_version != current.summary.version:
            raise VersionConflict(base_version, current.summary.version)
        # The diff never shows secrets: both sides with placeholders.
        template = RenderOptions(placeholders=True)
        files = diff_files(
            render(current.config, self._settings, template),
            render(config, self._settings, template),
        )
        actions = [
            AmiAction(action=a.action, fields=a.fields, sender="apply")
            for a in reload_actions(files)
        ]
        requeues = await self._requeues(config, self._clock())
        iface = self._settings.members.interface
        for requeue in requeues:
            actions += member_actions(requeue, lambda seat: iface.format(seat=seat))
        return ChangePlan(
            base_version=base_version,
            changes=model_changes(current.config, config),
            files=files,
            actions=actions,
            requeues=requeues,
            operator_reloads=operator_reloads(files),
        )

    async def _requeues(self, config: HotlineConfig, moment: datetime) -> list[Requeue]:
        if self._duty is None:
            return []
        requeues = []
        for duty in sorted(self._duty.duties(), key=lambda d: d.seat):
            profile = await self._profiles.get(duty.agent)
            if profile is None:
                continue
            after = wanted_at(config, profile, moment)
            if after != duty.queues:
                requeues.append(
                    Requeue(
                        agent=duty.agent,
                        seat=duty.seat,
                        before=_label(duty.queues),
                        after=_label(after),
                    )
                )
        return requeues

    async def apply(
        self,
        base_version: int,
        config: HotlineConfig,
        author: str,
        comment: str = "",
        *,
        rollback_of: int | None = None,
    ) -> tuple[VersionSummary, ChangePlan]:
        """Apply `config` as the next version: the registry, the files and QueueReload,
        then the requeues (the reconciler sends the member actions). Each step's outcome is
        recorded; a failed AMI action does not undo the version (the stored state says
        what Asterisk has: `asterisk_applied` false, the failed step named)."""
        async with self._lock:
            plan = await self.plan(base_version, config)
            registry.install(config.queues)
            new_files = self._rendered(config)
            files = {n: new_files[n] for n in APPLY_FILES if n in plan.files}
            reloads = reload_actions(plan.files)
            steps = []
            if files:
                steps = await apply_files(
                    files, reloads, self._settings.conf.asterisk_dir, self._sender
                )
            results = [ActionOutcome(action=s.action, ok=s.ok, message=s.message) for s in steps]
            for requeue in plan.requeues:
                wanted = [Wanted(q, int(p)) for q, p in (i.split(":") for i in requeue.after)]
                done = await self._duty.requeue(requeue.agent, wanted) if self._duty else None
                results.append(
                    ActionOutcome(
                        action=f"requeue {requeue.agent}",
                        ok=done is not None,
                        message="the reconciler follows" if done else "not at a seat any more",
                    )
                )
            summary = VersionSummary(
                version=self.current.summary.version + 1,
                author=author,
                at=self._clock(),
                comment=comment,
                rollback_of=rollback_of,
                results=results,
                asterisk_applied=all(r.ok for r in results),
            )
            await self._store.save(config, summary)
            self._versions.append(Version(config, summary))
            log.info(
                "admin: version %d by %s (%s): %s",
                summary.version,
                author,
                comment or "-",
                [(r.action, r.ok) for r in results],
            )
            return summary, plan

    async def rollback(
        self, to_version: int, base_version: int, author: str, comment: str = ""
    ) -> tuple[VersionSummary, ChangePlan]:
        """Apply the configuration of `to_version` again, as a new version."""
        target = next((v for v in self._versions if v.summary.version == to_version), None)
        if target is None:
            raise UnknownVersion(to_version)
        note = comment or f"rollback to version {to_version}"
        return await self.apply(base_version, target.config, author, note, rollback_of=to_version)

    async def on_login(self, profile: AgentProfile) -> None:
        """An agent just took a seat: give them the queues of the current configuration
        when they differ from those of their languages (override, duty officer).

        Whatever their group's hours: an agent who logs in is there to take calls (covering
        for a colleague at 3 a.m.), and a seat that rings nobody while someone sits at it is
        the worse mistake. Their group's next boundary, or an administrator, applies the
        groups again."""
        if self._duty is None:
            return
        wanted = wanted_for(self.current.config, profile)
        plan = self.current.config.shifts
        if plan.group_of(profile.id) is not None and profile.id not in on_duty_agents(
            plan, self._clock()
        ):
            log.info("login off shift: agent=%s takes calls until a boundary", profile.id)
        duty = next((d for d in self._duty.duties() if d.agent == profile.id), None)
        if duty is not None and duty.queues != wanted:
            await self._duty.requeue(profile.id, wanted)

    async def end_accounts(self, moment: datetime) -> list[str]:
        """Take every seated agent whose last day is over at `moment` (a guest expert past
        their end date) out of all their queues; the reconciler sends the QueueRemoves, a
        seat on a call leaves after the call. The agents taken out, by id."""
        if self._duty is None:
            return []
        ended = []
        async with self._lock:
            for duty in sorted(self._duty.duties(), key=lambda d: d.seat):
                if not duty.queues:
                    continue
                profile = await self._profiles.get(duty.agent)
                if profile is not None and profile.ended(moment):
                    await self._duty.requeue(duty.agent, ())
                    ended.append(duty.agent)
        for agent in ended:
            log.info("account ended: agent=%s out of every queue", agent)
        return ended

    async def shift_change(self, moment: datetime, before: datetime) -> list[Requeue]:
        """At a shift boundary (`before` is a moment just before it): the agents of a group
        that starts working get their queues, those of a group that stops get none; agents
        whose group does not change at this boundary (one who logged in to cover) and
        agents in no group are left alone. The reconciler sends the member actions (a seat
        on a call leaves after the call)."""
        if self._duty is None:
            return []
        async with self._lock:  # not in the middle of an apply
            config = self.current.config
            plan = config.shifts
            was, now = on_duty_agents(plan, before), on_duty_agents(plan, moment)
            flipped = {agent for agent in was ^ now if plan.group_of(agent) is not None}
            requeues = [r for r in await self._requeues(config, moment) if r.agent in flipped]
            for requeue in requeues:
                wanted = [Wanted(q, int(p)) for q, p in (i.split(":") for i in requeue.after)]
                await self._duty.requeue(requeue.agent, wanted)
        if requeues:
            log.info(
                "shift change at %s: %s",
                moment.isoformat(),
                [(r.agent, r.before, r.after) for r in requeues],
            )
        return requeues
