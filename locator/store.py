"""Writing the registry: idempotent upsert by archive id, households, the version counter.

Everything one call saves happens in one transaction: a file commits whole or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from typing import Any, TypeVar

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from locator.changes import notify_registry_changed
from locator.models import Household, NextOfKin, RegistryVersion, Resident, ResidentPhone
from locator.records import KinRecord, ResidentRecord, split_address

_CHUNK = 2000
T = TypeVar("T")

ProgressFn = Callable[[int], object]


@dataclass(frozen=True, slots=True)
class SaveResult:
    """How many residents were new, changed, or already exactly as given."""

    inserted: int
    updated: int
    unchanged: int

    @property
    def changed(self) -> bool:
        """True when the database is different after the save."""
        return bool(self.inserted or self.updated)


def _chunks(items: Iterable[T], size: int = _CHUNK) -> Iterable[list[T]]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


async def save_residents(
    engine: AsyncEngine,
    records: Sequence[ResidentRecord],
    progress: ProgressFn | None = None,
) -> SaveResult:
    """Insert or update `records` by id in one transaction; unchanged ones are not touched.

    Bumps the registry version when anything changed (so every Locator reloads). `progress`
    is called with the number of records handled after each chunk.
    """
    inserted = updated = unchanged = 0
    async with engine.begin() as conn:
        for chunk in _chunks(records):
            existing = await _load_records(conn, [r.id for r in chunk])
            new = [r for r in chunk if r.id not in existing]
            changed = [r for r in chunk if r.id in existing and existing[r.id] != r]
            unchanged += len(chunk) - len(new) - len(changed)
            if changed:
                ids = [r.id for r in changed]
                await conn.execute(delete(ResidentPhone).where(ResidentPhone.resident_id.in_(ids)))
                await conn.execute(delete(NextOfKin).where(NextOfKin.resident_id.in_(ids)))
                await conn.execute(
                    update(Resident).where(Resident.id == bindparam("rid")),
                    [{"rid": r.id, **_resident_row(r, with_id=False)} for r in changed],
                )
                await _insert_children(conn, changed)
            if new:
                await conn.execute(insert(Resident), [_resident_row(r) for r in new])
                await _insert_children(conn, new)
            inserted += len(new)
            updated += len(changed)
            if progress is not None:
                progress(len(chunk))
        result = SaveResult(inserted, updated, unchanged)
        if result.changed:
            await recompute_households(conn)
            await bump_version(conn)
    if result.changed:
        await notify_registry_changed(engine)
    return result


def _resident_row(r: ResidentRecord, with_id: bool = True) -> dict[str, Any]:
    parts = split_address(r.address)
    row: dict[str, Any] = {
        "name": r.name,
        "sex": r.sex,
        "birth_date": r.birth_date,
        "community": r.community,
        "address": r.address,
        "addr_district": parts.district,
        "addr_street": parts.street,
        "addr_number": parts.number,
        "addr_unit": parts.unit,
        "addr_room": parts.room,
        "language": r.language,
        "lives_alone": r.lives_alone,
        "empty_nest": r.empty_nest,
        "lost_only_child": r.lost_only_child,
        "health_notes": r.health_notes,
        "updated_at": datetime.now(UTC),
    }
    if with_id:
        row["id"] = r.id
    return row


async def _insert_children(conn: AsyncConnection, records: Sequence[ResidentRecord]) -> None:
    phones = [
        {"resident_id": r.id, "e164": p, "kind": kind, "position": i}
        for r in records
        for i, (p, kind) in enumerate(
            [(p, "landline") for p in r.landlines] + [(p, "mobile") for p in r.mobiles]
        )
    ]
    kin = [
        {
            "resident_id": r.id,
            "position": i,
            "name": k.name,
            "relation": k.relation,
            "phones": list(k.phones),
        }
        for r in records
        for i, k in enumerate(r.next_of_kin)
    ]
    if phones:
        await conn.execute(insert(ResidentPhone), phones)
    if kin:
        await conn.execute(insert(NextOfKin), kin)


async def _load_records(conn: AsyncConnection, ids: list[str]) -> dict[str, ResidentRecord]:
    """The records stored under `ids`, rebuilt so they compare equal to an unchanged input."""
    rows = (await conn.execute(select(Resident).where(Resident.id.in_(ids)))).all()
    if not rows:
        return {}
    found = [row.id for row in rows]
    landlines: dict[str, list[str]] = {}
    mobiles: dict[str, list[str]] = {}
    phone_rows = await conn.execute(
        select(ResidentPhone.resident_id, ResidentPhone.e164, ResidentPhone.kind)
        .where(ResidentPhone.resident_id.in_(found))
        .order_by(ResidentPhone.resident_id, ResidentPhone.position)
    )
    for rid, e164, kind in phone_rows:
        (landlines if kind == "landline" else mobiles).setdefault(rid, []).append(e164)
    kin: dict[str, list[KinRecord]] = {}
    kin_rows = await conn.execute(
        select(NextOfKin.resident_id, NextOfKin.name, NextOfKin.relation, NextOfKin.phones)
        .where(NextOfKin.resident_id.in_(found))
        .order_by(NextOfKin.resident_id, NextOfKin.position)
    )
    for rid, name, relation, kphones in kin_rows:
        kin.setdefault(rid, []).append(KinRecord(name, relation, tuple(kphones)))
    return {
        row.id: ResidentRecord(
            id=row.id,
            name=row.name,
            sex=row.sex,
            birth_date=row.birth_date,
            community=row.community,
            address=row.address,
            landlines=tuple(landlines.get(row.id, ())),
            mobiles=tuple(mobiles.get(row.id, ())),
            language=row.language,
            lives_alone=row.lives_alone,
            empty_nest=row.empty_nest,
            lost_only_child=row.lost_only_child,
            health_notes=row.health_notes,
            next_of_kin=tuple(kin.get(row.id, ())),
        )
        for row in rows
    }


async def recompute_households(conn: AsyncConnection) -> None:
    """Group residents who share a landline into a household; drop households left empty."""
    landline_rows = await conn.execute(
        select(ResidentPhone.e164, ResidentPhone.resident_id)
        .where(ResidentPhone.kind == "landline")
        .order_by(ResidentPhone.resident_id, ResidentPhone.position)
    )
    by_phone: dict[str, set[str]] = {}
    first_shared: dict[str, str] = {}
    order: list[tuple[str, str]] = [(e164, rid) for e164, rid in landline_rows]
    for e164, rid in order:
        by_phone.setdefault(e164, set()).add(rid)
    for e164, rid in order:
        if len(by_phone[e164]) > 1 and rid not in first_shared:
            first_shared[rid] = e164
    shared = set(first_shared.values())
    known = {p: h for p, h in await conn.execute(select(Household.phone, Household.id))}
    missing = sorted(shared - known.keys())
    if missing:
        await conn.execute(insert(Household), [{"phone": p} for p in missing])
        known = {p: h for p, h in await conn.execute(select(Household.phone, Household.id))}
    desired = {rid: known[phone] for rid, phone in first_shared.items()}
    with_household = select(Resident.id, Resident.household_id).where(
        Resident.household_id.is_not(None)
    )
    current = {rid: hid for rid, hid in await conn.execute(with_household)}
    changes = [
        {"rid": rid, "household_id": desired.get(rid)}
        for rid in sorted(desired.keys() | current.keys())
        if desired.get(rid) != current.get(rid)
    ]
    if changes:
        await conn.execute(update(Resident).where(Resident.id == bindparam("rid")), changes)
    stale = [hid for phone, hid in known.items() if phone not in shared]
    for chunk in _chunks(stale):
        await conn.execute(delete(Household).where(Household.id.in_(chunk)))


async def bump_version(conn: AsyncConnection) -> None:
    """Raise the registry version by one (inside the caller's transaction)."""
    await conn.execute(
        update(RegistryVersion)
        .where(RegistryVersion.id == 1)
        .values(version=RegistryVersion.version + 1)
    )


async def registry_version(engine: AsyncEngine) -> int:
    """The current registry version: cheap, one primary-key read."""
    async with engine.connect() as conn:
        value = await conn.scalar(select(RegistryVersion.version).where(RegistryVersion.id == 1))
    return int(value or 0)
