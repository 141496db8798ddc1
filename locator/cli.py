"""`cti registry import|generate|lookup`: the archive in, synthetic data out, a number checked.

Exit codes: 0 done; 1 the file had bad rows and nothing was written (or a lookup found no
one); 2 the file could not be read at all.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
from pathlib import Path
from typing import Any

from tqdm import tqdm

from cti.db import create_engine, upgrade
from cti.settings import Settings
from locator.generate import generate_residents, write_registry
from locator.importer import ImportFileError, parse_file
from locator.records import ResidentRecord
from locator.service import Locator
from locator.store import SaveResult, save_residents


def register(subparsers: Any) -> None:
    """Add the `registry` command group to the `cti` parser."""
    reg = subparsers.add_parser("registry", help="the elderly-resident registry")
    sub = reg.add_subparsers(dest="registry_command", required=True)

    imp = sub.add_parser("import", help="import the archive's CSV or XLSX (upsert by 编号)")
    imp.add_argument("file", type=Path)
    imp.add_argument("--dry-run", action="store_true", help="check every row, write nothing")
    imp.add_argument("--skip-bad", action="store_true", help="write the good rows anyway")
    imp.add_argument("--url", help="database URL (default: settings' database_url)")
    imp.set_defaults(func=_cmd_import)

    gen = sub.add_parser("generate", help="a deterministic synthetic registry")
    gen.add_argument("--count", type=int, required=True)
    gen.add_argument("--seed", type=int, default=1)
    gen.add_argument("--out", type=Path, help="write CSV/XLSX instead of the database")
    gen.add_argument("--url", help="database URL (default: settings' database_url)")
    gen.set_defaults(func=_cmd_generate)

    look = sub.add_parser("lookup", help="print the residents on a caller ID as JSON")
    look.add_argument("number")
    look.add_argument("--viewer", help="who looks (recorded in the audit); default: cli:$USER")
    look.add_argument("--call-id", help="the call this lookup is for, if any")
    look.add_argument("--url", help="database URL (default: settings' database_url)")
    look.set_defaults(func=_cmd_lookup)


def _settings(args: argparse.Namespace) -> Settings:
    from cti.cli import settings_from_args

    return settings_from_args(args)


def _progress(desc: str, total: int | None = None) -> tqdm[Any]:
    # A bar only for a person at a terminal; scripts and CI get clean output.
    return tqdm(total=total, desc=desc, unit="row", disable=not sys.stderr.isatty(), leave=False)


def _cmd_import(args: argparse.Namespace) -> int:
    settings = _settings(args)
    try:
        with _progress("reading") as bar:
            parsed = parse_file(args.file, settings.locator, bar.update)
    except (ImportFileError, OSError) as exc:
        print(f"cti registry import: {exc}", file=sys.stderr)
        return 2
    for problem in parsed.problems:
        print(f"{args.file.name}: {problem}", file=sys.stderr)
    bad = len(parsed.bad_rows)
    print(f"{parsed.rows} rows: {len(parsed.records)} good, {bad} bad")
    if bad and not args.skip_bad:
        print("nothing written: fix the rows above or use --skip-bad", file=sys.stderr)
        return 1
    if args.dry_run:
        print("dry run: nothing written")
        return 0
    result = asyncio.run(_save(args.url or settings.database_url, parsed.records))
    _print_saved(result)
    return 0


def _print_saved(result: SaveResult) -> None:
    print(f"inserted {result.inserted}, updated {result.updated}, unchanged {result.unchanged}")


async def _save(url: str, records: list[ResidentRecord]) -> SaveResult:
    engine = create_engine(url)
    try:
        await upgrade(engine)
        with _progress("saving", len(records)) as bar:
            return await save_residents(engine, records, bar.update)
    finally:
        await engine.dispose()


def _cmd_generate(args: argparse.Namespace) -> int:
    if args.count < 0:
        print("cti registry generate: --count must be >= 0", file=sys.stderr)
        return 2
    records = list(generate_residents(args.count, args.seed))
    if args.out is not None:
        write_registry(records, args.out)
        print(f"wrote {len(records)} residents to {args.out}")
        return 0
    settings = _settings(args)
    _print_saved(asyncio.run(_save(args.url or settings.database_url, records)))
    return 0


def _cmd_lookup(args: argparse.Namespace) -> int:
    settings = _settings(args)
    viewer = args.viewer or f"cli:{getpass.getuser()}"
    match = asyncio.run(
        _lookup(args.url or settings.database_url, settings, args.number, viewer, args.call_id)
    )
    print(json.dumps(match, ensure_ascii=False, indent=2))
    return 0 if match["residents"] else 1


async def _lookup(
    url: str, settings: Settings, number: str, viewer: str, call_id: str | None
) -> dict[str, Any]:
    engine = create_engine(url)
    try:
        await upgrade(engine)
        locator = await Locator.open(engine, settings.locator)
        match = locator.lookup(number)
        await locator.record_view([r.id for r in match.residents], viewer, call_id)
        await locator.close()
        return match.to_json()
    finally:
        await engine.dispose()
