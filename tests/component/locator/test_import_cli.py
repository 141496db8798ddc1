"""`cti registry import|generate|lookup` against a real database: all or nothing, idempotent."""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from cti.settings import LocatorSettings
from locator import Locator, registry_version
from locator import cli as registry_cli
from locator.generate import generate_residents, header
from locator.models import Household, NextOfKin, Resident, ResidentView


def run(*argv: str) -> int:
    """Run `cti registry ARGV` as the console script would (its own event loop)."""
    parser = argparse.ArgumentParser(prog="cti")
    parser.add_argument("--config", type=Path)
    registry_cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["registry", *argv])
    code: int = args.func(args)
    return code


async def run_async(*argv: str) -> int:
    """`run` from inside a test's event loop: the command's asyncio.run gets a thread."""
    return await asyncio.to_thread(run, *argv)


async def count(engine: AsyncEngine, table: type) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(table)) or 0)


def messy_file(path: Path, sample: Path, extra: list[list[str]]) -> Path:
    with sample.open(encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))[1:]
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header(2))
        writer.writerows(rows + extra)
    return path


def moved_off_shared_landline(sample: Path, path: Path) -> Path:
    """The sample with LS0002 on her own landline and a renamed first next of kin."""
    address = "LS0002,王桂兰,女,1944-09-30,黄海路街道滨海社区,莱山区滨海中路17号3单元402室"
    text = sample.read_text(encoding="utf-8-sig")
    text = text.replace("听力较弱,张明", "听力较弱,张亮")
    text = text.replace(f"{address},0535-6683318", f"{address},0535-6683319")
    path.write_text(text, encoding="utf-8")
    return path


BAD_ROWS = [
    ["LS0001", "重复", "男", "1940-01-01", "", "", "", "", "", "", "", "", ""],
    ["LS0100", "钱多多", "男", "1940-01-01", "", "", "", "1.38053E+10", "", "", "", "", ""],
]


async def test_a_file_with_bad_rows_writes_nothing(
    engine: AsyncEngine,
    db_url: str,
    registry_sample: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = messy_file(tmp_path / "bad.csv", registry_sample, BAD_ROWS)
    assert await run_async("import", str(path), "--url", db_url) == 1
    err = capsys.readouterr().err
    assert "row 10, 编号: duplicate id 'LS0001', first at row 2" in err
    assert "row 11, 手机:" in err
    assert "nothing written" in err
    assert await count(engine, Resident) == 0
    assert await registry_version(engine) == 0


async def test_skip_bad_writes_only_the_good_rows(
    engine: AsyncEngine, db_url: str, registry_sample: Path, tmp_path: Path
) -> None:
    path = messy_file(tmp_path / "bad.csv", registry_sample, BAD_ROWS)
    assert await run_async("import", str(path), "--skip-bad", "--url", db_url) == 0
    assert await count(engine, Resident) == 8
    async with engine.connect() as conn:
        name = await conn.scalar(select(Resident.name).where(Resident.id == "LS0001"))
    assert name == "张建国"


async def test_dry_run_checks_and_writes_nothing(
    engine: AsyncEngine, db_url: str, registry_sample: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await run_async("import", str(registry_sample), "--dry-run", "--url", db_url) == 0
    assert "8 rows: 8 good, 0 bad" in capsys.readouterr().out
    assert await count(engine, Resident) == 0


async def test_reimporting_the_same_file_changes_nothing(
    engine: AsyncEngine, db_url: str, registry_sample: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await run_async("import", str(registry_sample), "--url", db_url) == 0
    first = (await registry_version(engine), await count(engine, NextOfKin))
    assert await count(engine, Household) == 1
    assert await run_async("import", str(registry_sample), "--url", db_url) == 0
    assert "inserted 0, updated 0, unchanged 8" in capsys.readouterr().out
    assert (await registry_version(engine), await count(engine, NextOfKin)) == first


async def test_a_changed_row_is_updated_in_place(
    engine: AsyncEngine, db_url: str, registry_sample: Path, tmp_path: Path
) -> None:
    assert await run_async("import", str(registry_sample), "--url", db_url) == 0
    changed = moved_off_shared_landline(registry_sample, tmp_path / "changed.csv")
    assert await run_async("import", str(changed), "--url", db_url) == 0
    assert await count(engine, Resident) == 8
    assert await count(engine, Household) == 0
    locator = await Locator.open(engine, LocatorSettings())
    assert [r.id for r in locator.lookup("6683318").residents] == ["LS0001"]
    (card,) = locator.lookup("6683319").residents
    assert card.next_of_kin[0].name == "张亮"
    await locator.close()


async def test_generate_into_the_database_then_lookup_prints_json_and_audits(
    engine: AsyncEngine, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await run_async("generate", "--count", "200", "--seed", "4", "--url", db_url) == 0
    assert await count(engine, Resident) == 200
    capsys.readouterr()
    first = next(iter(generate_residents(200, 4)))
    phone = (*first.landlines, *first.mobiles)[0]
    assert await run_async("lookup", phone, "--viewer", "support1", "--url", db_url) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["caller"]["normalized"] == phone
    assert printed["residents"]
    async with engine.connect() as conn:
        viewers = set(await conn.scalars(select(ResidentView.viewer)))
    assert viewers == {"support1"}
    assert await run_async("lookup", "<unknown>", "--url", db_url) == 1


def test_generate_to_a_file_is_deterministic(tmp_path: Path) -> None:
    assert run("generate", "--count", "50", "--seed", "8", "--out", str(tmp_path / "a.csv")) == 0
    assert run("generate", "--count", "50", "--seed", "8", "--out", str(tmp_path / "b.csv")) == 0
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()


def test_an_unreadable_file_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("姓名\n张三\n", encoding="utf-8")
    assert run("import", str(path), "--url", f"sqlite+aiosqlite:///{tmp_path / 'x.db'}") == 2
