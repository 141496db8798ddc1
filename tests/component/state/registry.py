"""The archive's sample CSV loaded into a real registry database for the state tests."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from cti.settings import LocatorSettings
from locator import KinRecord, ResidentRecord, normalize_caller_id, save_residents


def _e164(raw: str, settings: LocatorSettings) -> tuple[str, ...]:
    normalized = normalize_caller_id(raw, settings).normalized if raw else None
    return (normalized,) if normalized else ()


def sample_records(path: Path, settings: LocatorSettings) -> list[ResidentRecord]:
    """The sample rows as records (the archive's column layout, `是`/`否` flags)."""
    records = []
    with path.open(encoding="utf-8-sig", newline="") as f:
        for row in csv.DictReader(f):
            kin = []
            for n in (1, 2):
                name = row[f"紧急联系人{n}姓名"]
                if name:
                    phones = _e164(row[f"紧急联系人{n}电话"], settings)
                    kin.append(KinRecord(name, row[f"紧急联系人{n}关系"], phones))
            records.append(
                ResidentRecord(
                    id=row["编号"],
                    name=row["姓名"],
                    sex={"男": "M", "女": "F"}.get(row["性别"]),
                    birth_date=date.fromisoformat(row["出生日期"]) if row["出生日期"] else None,
                    community=row["社区"],
                    address=row["住址"],
                    landlines=_e164(row["固定电话"], settings),
                    mobiles=_e164(row["手机"], settings),
                    language=row["语言"] or "zh",
                    lives_alone=row["独居"] == "是",
                    empty_nest=row["空巢"] == "是",
                    lost_only_child=row["失独"] == "是",
                    health_notes=row["健康备注"],
                    next_of_kin=tuple(kin),
                )
            )
    return records


async def import_sample(engine: AsyncEngine, path: Path, settings: LocatorSettings) -> None:
    """Save the sample residents into the registry tables of `engine`."""
    await save_residents(engine, sample_records(path, settings))
