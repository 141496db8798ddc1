"""The Locator: an in-memory index of the registry, so a ring never waits on a query.

Keeping in step with the database:
- In this process, `locator.store.save_residents` (import, generate) calls
  `locator.changes.notify_registry_changed(engine)` after its commit, which refreshes every
  open Locator on the same database before returning.
- Another process's change bumps `registry_version` (one row). Run `await locator.watch()` as
  an owned background task (e.g. in the server's cleanup_ctx): every `interval_s` (5 s) it
  reads that one integer and rebuilds the index only when it moved (or the day changed, so
  ages stay right). A rebuild happens beside the live index and is swapped in whole:
  lookups never see a half-built index.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime

import phonenumbers
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from cti.settings import LocatorSettings
from locator.callerid import (
    CallerId,
    caller_facts,
    candidate_e164,
    mask_number,
    normalize_caller_id,
    to_e164,
)
from locator.cards import FLAG_ORDER, Flag, KinCard, Match, ResidentCard, age_on
from locator.changes import listen, unlisten
from locator.models import NextOfKin, Resident, ResidentPhone, ResidentView
from locator.store import registry_version

log = logging.getLogger(__name__)

_PARTITION = 10_000

Index = dict[str, tuple[ResidentCard, ...]]


class Locator:
    """Caller ID → residents, served from memory. Create with `await Locator.open(...)`."""

    def __init__(self, engine: AsyncEngine, settings: LocatorSettings) -> None:
        self._engine = engine
        self._settings = settings
        self._index: Index = {}
        self._residents = 0
        self._version = -1
        self._built_on: date | None = None
        self._lock = asyncio.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    async def open(cls, engine: AsyncEngine, settings: LocatorSettings) -> Locator:
        """Build the index from the database (migrated to at least `0001_registry`)."""
        locator = cls(engine, settings)
        locator._loop = asyncio.get_running_loop()
        await locator.refresh()
        listen(locator)
        return locator

    @property
    def engine(self) -> AsyncEngine:
        """The database the index is built from."""
        return self._engine

    @property
    def version(self) -> int:
        """The registry version the index was built from."""
        return self._version

    @property
    def resident_count(self) -> int:
        """How many residents the index holds."""
        return self._residents

    @property
    def phone_count(self) -> int:
        """How many distinct numbers the index knows."""
        return len(self._index)

    def normalize(self, raw_caller_id: str | None) -> CallerId:
        """`normalize_caller_id` with this Locator's settings."""
        return normalize_caller_id(raw_caller_id, self._settings)

    def lookup(self, raw_caller_id: str | None) -> Match:
        """The residents reachable on `raw_caller_id` (a household gives several); never raises.

        Residents come in id order. An unknown or unlisted caller gives an empty list. A
        registered number is found without the numbering-plan check (the index only holds
        valid numbers), so the ring of a resident costs a few microseconds.
        """
        raw = "" if raw_caller_id is None else str(raw_caller_id)
        settings = self._settings
        guess = candidate_e164(raw, settings.region, settings.home_area_code)
        cards = self._index.get(guess) if guess is not None else None
        if cards is not None and guess is not None:
            caller = CallerId(raw, guess, *caller_facts(guess, settings.region))
        else:
            caller = normalize_caller_id(raw, settings)
            if caller.normalized is None:
                return Match(caller, [])
            cards = self._index.get(caller.normalized, ())
        if log.isEnabledFor(logging.DEBUG):
            log.debug("lookup %s: %d resident(s)", mask_number(caller.normalized or ""), len(cards))
        return Match(caller, list(cards))

    def search(self, query: str, limit: int = 10) -> list[ResidentCard]:
        """Residents an agent may be looking for: `query` is a resident id, part of a name,
        community or address, or any phone number (the resident's own or a next of kin's).

        In memory, id order, at most `limit`; a blank query finds nobody. No audit here: the
        caller records what it shows (`record_view`).
        """
        text = "".join(query.split()).casefold()
        if not text:
            return []
        e164 = None
        if sum(ch.isdigit() for ch in text) >= 5:
            e164 = normalize_caller_id(query, self._settings).normalized
        found: dict[str, ResidentCard] = {}
        for cards in self._index.values():
            for card in cards:
                if card.id in found:
                    continue
                if (
                    card.id.casefold() == text
                    or text in "".join(card.name.split()).casefold()
                    or text in "".join(card.address.split()).casefold()
                    or text in card.community.casefold()
                    or (e164 is not None and _reachable(card, e164))
                ):
                    found[card.id] = card
        return [found[k] for k in sorted(found)][:limit]

    async def refresh(self) -> None:
        """Rebuild the index from the database and swap it in."""
        async with self._lock:
            version = await registry_version(self._engine)
            today = datetime.now(UTC).date()
            index, count = await _build_index(self._engine, today)
            _warm_numbering_plans(index, self._settings)
            self._index, self._residents = index, count
            self._version, self._built_on = version, today
        log.info("registry index built: %d residents, version %d", count, version)

    async def on_registry_changed(self) -> None:
        """Called after a save in this process: rebuild now if we live on the same loop.

        A Locator on another thread's loop is left to its version poll (`watch`).
        """
        if asyncio.get_running_loop() is self._loop:
            await self.refresh()

    async def refresh_if_changed(self) -> bool:
        """Rebuild when another process changed the registry (or the day changed)."""
        version = await registry_version(self._engine)
        if version == self._version and self._built_on == datetime.now(UTC).date():
            return False
        await self.refresh()
        return True

    async def watch(self, interval_s: float = 5.0) -> None:
        """Poll the registry version forever; run it as an owned background task."""
        while True:
            await asyncio.sleep(interval_s)
            try:
                await self.refresh_if_changed()
            except Exception:
                # The old index keeps serving; the next poll tries again.
                log.exception("registry refresh failed; keeping version %d", self._version)

    async def record_view(
        self, resident_ids: Iterable[str], viewer: str, call_id: str | None
    ) -> None:
        """Write the privacy audit: `viewer` was shown these residents, on `call_id`."""
        await self.record_views([(resident_ids, viewer, call_id)])

    async def record_views(self, views: Sequence[tuple[Iterable[str], str, str | None]]) -> None:
        """`record_view` for several (resident ids, viewer, call id), in one transaction."""
        await _record(
            self._engine, [(rid, viewer, call_id) for ids, viewer, call_id in views for rid in ids]
        )

    async def health_notes(self, resident_id: str, viewer: str, call_id: str | None) -> str | None:
        """A resident's health notes (sensitive): read from the database and audited.

        None when the resident is unknown. Never log what this returns.
        """
        async with self._engine.connect() as conn:
            notes = await conn.scalar(
                select(Resident.health_notes).where(Resident.id == resident_id)
            )
        if notes is None:
            return None
        await _record(self._engine, [(resident_id, viewer, call_id)], "health_notes")
        return str(notes)

    async def close(self) -> None:
        """Stop receiving in-process change notifications and drop the index."""
        unlisten(self)
        self._index = {}


_WARM_REGIONS = ("CN", "KR", "US", "GB", "JP")


def _reachable(card: ResidentCard, e164: str) -> bool:
    return e164 in card.phones or any(e164 in kin.phones for kin in card.next_of_kin)


def _warm_numbering_plans(index: Index, settings: LocatorSettings) -> None:
    """Load phonenumbers' lazily read metadata now, not on the first ring from abroad."""
    regions = {settings.region, *_WARM_REGIONS}
    regions.update(r for e164 in index for r in (caller_facts(e164, settings.region)[1],) if r)
    for region in sorted(regions):
        example = phonenumbers.example_number(region)
        if example is not None:
            to_e164(phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164))


async def _record(
    engine: AsyncEngine, views: Sequence[tuple[str, str, str | None]], what: str = "card"
) -> None:
    """One audit row per (resident id, viewer, call id), all at this moment."""
    if not views:
        return
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        await conn.execute(
            insert(ResidentView),
            [
                {
                    "resident_id": rid,
                    "viewer": viewer,
                    "call_id": call_id,
                    "what": what,
                    "viewed_at": now,
                }
                for rid, viewer, call_id in views
            ],
        )


async def _build_index(engine: AsyncEngine, today: date) -> tuple[Index, int]:
    phones: dict[str, list[str]] = {}
    kin: dict[str, list[KinCard]] = {}
    async with engine.connect() as conn:
        result = await conn.stream(
            select(ResidentPhone.resident_id, ResidentPhone.e164).order_by(
                ResidentPhone.resident_id, ResidentPhone.position
            )
        )
        async for part in result.partitions(_PARTITION):
            for rid, e164 in part:
                phones.setdefault(rid, []).append(e164)
        kin_result = await conn.stream(
            select(
                NextOfKin.resident_id, NextOfKin.name, NextOfKin.relation, NextOfKin.phones
            ).order_by(NextOfKin.resident_id, NextOfKin.position)
        )
        async for kin_part in kin_result.partitions(_PARTITION):
            for rid, name, relation, kphones in kin_part:
                kin.setdefault(rid, []).append(KinCard(name, relation, tuple(kphones)))
        res_result = await conn.stream(
            select(
                Resident.id,
                Resident.name,
                Resident.sex,
                Resident.birth_date,
                Resident.community,
                Resident.address,
                Resident.language,
                Resident.lives_alone,
                Resident.empty_nest,
                Resident.lost_only_child,
                Resident.household_id,
            ).order_by(Resident.id)
        )
        index: dict[str, list[ResidentCard]] = {}
        count = 0
        async for res_part in res_result.partitions(_PARTITION):
            for row in res_part:
                on: tuple[bool, bool, bool] = (row.lives_alone, row.empty_nest, row.lost_only_child)
                flags: tuple[Flag, ...] = tuple(
                    f for f, is_on in zip(FLAG_ORDER, on, strict=True) if is_on
                )
                own = tuple(phones.pop(row.id, ()))
                card = ResidentCard(
                    id=row.id,
                    name=row.name,
                    sex=row.sex,
                    age=age_on(row.birth_date, today),
                    birth_date=row.birth_date,
                    community=row.community,
                    address=row.address,
                    phones=own,
                    language=row.language,
                    flags=flags,
                    next_of_kin=tuple(kin.pop(row.id, ())),
                    household_id=row.household_id,
                )
                count += 1
                for e164 in own:
                    index.setdefault(e164, []).append(card)
    return {k: tuple(v) for k, v in index.items()}, count
