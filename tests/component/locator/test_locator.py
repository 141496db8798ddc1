"""The Locator over a real database: households, every caller-ID form, staying in step, audit."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from cti.db import create_engine
from cti.settings import LocatorSettings
from locator import Locator, ResidentRecord, parse_file, registry_version, save_residents
from locator.models import ResidentView

SETTINGS = LocatorSettings()


async def load_sample(engine: AsyncEngine, registry_sample: Path) -> None:
    parsed = parse_file(registry_sample, SETTINGS)
    assert parsed.problems == []
    await save_residents(engine, parsed.records)


@pytest.fixture
async def locator(engine: AsyncEngine, registry_sample: Path) -> Locator:
    await load_sample(engine, registry_sample)
    return await Locator.open(engine, SETTINGS)


@pytest.mark.parametrize(
    "raw",
    ["05356683318", "6683318", "+865356683318", "00865356683318", "865356683318", "0535-668 3318"],
)
async def test_a_couple_on_one_landline_is_found_together_from_any_form(
    locator: Locator, raw: str
) -> None:
    match = locator.lookup(raw)
    assert [r.id for r in match.residents] == ["LS0001", "LS0002"]
    assert match.residents[0].household_id is not None
    assert match.residents[0].household_id == match.residents[1].household_id
    assert match.caller.normalized == "+865356683318"


async def test_a_mobile_matches_with_or_without_plus86(locator: Locator) -> None:
    assert [r.id for r in locator.lookup("13805356789").residents] == ["LS0003"]
    assert [r.id for r in locator.lookup("+8613805356789").residents] == ["LS0003"]


async def test_a_card_has_address_flags_and_kin_in_calling_order_but_no_health_notes(
    locator: Locator,
) -> None:
    (card,) = locator.lookup("6891234").residents
    assert card.address == "莱山区观海路56号1单元101室"
    assert card.flags == ("lives_alone", "empty_nest", "lost_only_child")
    assert [k.name for k in card.next_of_kin] == ["社区网格员赵强"]
    assert card.age is not None and card.age >= 88
    as_json = json.dumps(card.to_json(), ensure_ascii=False)
    assert "糖尿病" not in as_json
    assert not hasattr(card, "health_notes")


async def test_a_korean_resident_is_found_and_the_caller_marked_foreign(locator: Locator) -> None:
    match = locator.lookup("+821012345678")
    assert [r.name for r in match.residents] == ["金顺子"]
    assert match.caller.kind == "foreign"
    assert match.caller.suggested_language == "ko"


@pytest.mark.parametrize("raw", ["<unknown>", "Anonymous", "", "restricted", "13900000000"])
async def test_unknown_or_unlisted_callers_match_no_one(locator: Locator, raw: str) -> None:
    assert locator.lookup(raw).residents == []


async def test_a_save_in_this_process_refreshes_the_open_index(
    locator: Locator, engine: AsyncEngine
) -> None:
    assert locator.lookup("13700000001").residents == []
    parsed = parse_file_records(locator)
    moved = replace(parsed, mobiles=("+8613700000001",))
    await save_residents(engine, [moved])
    assert [r.id for r in locator.lookup("13700000001").residents] == [moved.id]
    assert locator.lookup("13805356789").residents == []


def parse_file_records(locator: Locator) -> ResidentRecord:
    from tests.conftest import REGISTRY_SAMPLE

    (record,) = [r for r in parse_file(REGISTRY_SAMPLE, SETTINGS).records if r.id == "LS0003"]
    return record


async def test_another_process_change_is_picked_up_by_the_version_poll(
    locator: Locator, engine: AsyncEngine, db_url: str
) -> None:
    other = create_engine(db_url)  # stands for another CTI node or the importer's process
    try:
        assert await locator.refresh_if_changed() is False
        before = await registry_version(other)
        record = parse_file_records(locator)
        # Unlisten so this process's in-process notification does not do the work.
        from locator.changes import unlisten

        unlisten(locator)
        await save_residents(other, [replace(record, mobiles=("+8613700000002",))])
        assert await registry_version(other) == before + 1
        assert locator.lookup("13700000002").residents == []
        assert await locator.refresh_if_changed() is True
        assert [r.id for r in locator.lookup("13700000002").residents] == ["LS0003"]
    finally:
        await other.dispose()


async def test_record_view_writes_who_when_and_which_call(
    locator: Locator, engine: AsyncEngine
) -> None:
    match = locator.lookup("05356683318")
    await locator.record_view([r.id for r in match.residents], "agent07", "1700000000.42")
    async with engine.connect() as conn:
        rows = (await conn.execute(select(ResidentView).order_by(ResidentView.resident_id))).all()
    assert [(r.resident_id, r.viewer, r.call_id, r.what) for r in rows] == [
        ("LS0001", "agent07", "1700000000.42", "card"),
        ("LS0002", "agent07", "1700000000.42", "card"),
    ]
    assert all(r.viewed_at is not None for r in rows)


async def test_health_notes_are_read_explicitly_and_audited(
    locator: Locator, engine: AsyncEngine
) -> None:
    assert await locator.health_notes("LS0001", "agent07", "c1") == "高血压，行动不便"
    assert await locator.health_notes("NOPE", "agent07", "c1") is None
    async with engine.connect() as conn:
        count = await conn.scalar(select(func.count()).where(ResidentView.what == "health_notes"))
    assert count == 1


async def test_an_empty_registry_gives_an_empty_index(engine: AsyncEngine) -> None:
    locator = await Locator.open(engine, SETTINGS)
    assert locator.resident_count == 0
    assert locator.lookup("05356683318").residents == []
    await locator.close()
