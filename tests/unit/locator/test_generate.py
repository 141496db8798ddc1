"""The synthetic registry: deterministic, realistic in shape, and readable by the importer."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from cti.settings import LocatorSettings
from locator import normalize_caller_id
from locator.generate import generate_residents, write_registry
from locator.importer import parse_file
from locator.records import split_address


def test_the_same_seed_gives_the_same_residents() -> None:
    assert list(generate_residents(500, 42)) == list(generate_residents(500, 42))
    assert list(generate_residents(500, 42)) != list(generate_residents(500, 43))


def test_the_count_is_exact_and_ids_unique() -> None:
    records = list(generate_residents(1001, 1))
    assert len(records) == 1001
    assert len({r.id for r in records}) == 1001


def test_about_five_percent_are_couples_sharing_a_landline() -> None:
    records = list(generate_residents(20_000, 5))
    owners = Counter(p for r in records for p in r.landlines)
    sharing = sum(n for n in owners.values() if n > 1)
    assert 0.03 < sharing / len(records) < 0.07
    assert max(owners.values()) == 2
    mobiles = Counter(p for r in records for p in r.mobiles)
    assert max(mobiles.values()) == 1


def test_some_speak_korean_or_english_and_have_foreign_kin() -> None:
    records = list(generate_residents(5000, 9))
    languages = Counter(r.language for r in records)
    assert languages["ko"] > 30
    assert languages["en"] > 30
    kin_regions = {
        normalize_caller_id(k.phones[0], LocatorSettings()).region
        for r in records
        for k in r.next_of_kin
    }
    assert {"CN", "KR", "US"} <= kin_regions


def test_every_number_is_a_valid_home_or_foreign_number() -> None:
    settings = LocatorSettings()
    for record in generate_residents(3000, 3):
        assert record.next_of_kin
        for phone in (*record.landlines, *record.mobiles):
            assert normalize_caller_id(phone, settings).normalized == phone
        if record.landlines:
            assert record.landlines[0].startswith("+86535")


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_a_written_registry_reads_back_identical(tmp_path: Path, suffix: str) -> None:
    records = list(generate_residents(300, 11))
    path = tmp_path / f"registry{suffix}"
    write_registry(records, path)
    result = parse_file(path, LocatorSettings())
    assert result.problems == []
    assert result.records == records


@pytest.mark.parametrize(
    ("address", "parts"),
    [
        ("莱山区滨海中路17号3单元402室", ("莱山区", "滨海中路", "17号", "3单元", "402室")),
        ("莱山区迎春大街133号2号楼1203室", ("莱山区", "迎春大街", "133号2号楼", "", "1203室")),
        ("莱山区院格庄村126号", ("莱山区", "院格庄村", "126号", "", "")),
        ("不知道", ("", "不知道", "", "", "")),
    ],
)
def test_addresses_split_into_district_street_number_unit_room(
    address: str, parts: tuple[str, ...]
) -> None:
    p = split_address(address)
    assert (p.district, p.street, p.number, p.unit, p.room) == parts
