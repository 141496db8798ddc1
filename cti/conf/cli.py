"""`cti conf render --out DIR`, `cti conf check DIR`, `cti shifts show --date D [--at HH:MM]`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from cti.conf.check import check
from cti.conf.model import HotlineConfig
from cti.conf.render import RenderError, RenderOptions, render, write
from seats.shifts import CHINA, day_table, on_duty


def register(subparsers: Any) -> None:
    """Add the `conf` and `shifts` command groups to the `cti` parser."""
    conf = subparsers.add_parser("conf", help="Asterisk's configuration, rendered from the model")
    conf_sub = conf.add_subparsers(dest="conf_command", required=True)
    rend = conf_sub.add_parser("render", help="write pjsip/queues/extensions/manager/modules.conf")
    rend.add_argument("--out", type=Path, required=True, help="directory to write into")
    source = rend.add_mutually_exclusive_group()
    source.add_argument(
        "--model",
        type=Path,
        help="the model as JSON (default: the latest version applied, from the database)",
    )
    source.add_argument(
        "--builtin", action="store_true", help="the built-in model, not the database's version"
    )
    rend.add_argument(
        "--placeholder-secrets",
        action="store_true",
        help="write CHANGE-ME for every secret (a template, e.g. the committed asterisk-conf/)",
    )
    rend.set_defaults(func=_cmd_render)
    chk = conf_sub.add_parser("check", help="find dangling references and duplicates")
    chk.add_argument("dir", type=Path)
    chk.add_argument("--template", action="store_true", help="accept CHANGE-ME secrets")
    chk.set_defaults(func=_cmd_check)

    shifts = subparsers.add_parser("shifts", help="shift groups and who is on duty")
    shifts_sub = shifts.add_subparsers(dest="shifts_command", required=True)
    show = shifts_sub.add_parser(
        "show", help="each group's shift on a date, or who works at a time"
    )
    show.add_argument("--date", type=date.fromisoformat, required=True, help="YYYY-MM-DD")
    show.add_argument("--at", type=time.fromisoformat, help="HH:MM, China time")
    show.add_argument("--model", type=Path, help="the model as JSON (default: the built-in one)")
    show.set_defaults(func=_cmd_shifts_show)


def load_model(path: Path | None) -> HotlineConfig:
    """The model from a JSON file, or the built-in one; exits 2 naming a bad field."""
    if path is None:
        return HotlineConfig()
    try:
        return HotlineConfig.model_validate_json(path.read_bytes())
    except (OSError, ValidationError) as exc:
        print(f"cti: model {path}: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def _cmd_render(args: argparse.Namespace) -> int:
    from cti.cli import settings_from_args

    settings = settings_from_args(args)
    if args.model is not None or args.builtin:
        model = load_model(args.model)
    else:
        model = asyncio.run(_applied_model(settings.database_url))
    try:
        files = render(model, settings, RenderOptions(placeholders=args.placeholder_secrets))
    except RenderError as exc:
        print(f"cti conf render: {exc}", file=sys.stderr)
        return 2
    written = write(files, args.out)
    print(f"{len(files)} files in {args.out} ({len(written)} changed)")
    return 0


async def _applied_model(database_url: str) -> HotlineConfig:
    """The configuration of the latest version applied (`admin_version`), else the
    built-in model; says which on stderr."""
    from cti.admin.store import latest_version
    from cti.db import create_engine, sqlite_path

    db_file = sqlite_path(database_url)
    latest = None
    if db_file is None or db_file.exists():  # never create an empty SQLite file
        engine = create_engine(database_url)
        try:
            latest = await latest_version(engine)
        except (OSError, SQLAlchemyError) as exc:
            # Never the built-in model in place of what the administrators applied.
            print(
                f"cti conf render: the database is unreachable ({exc}); "
                "use --builtin or --model FILE",
                file=sys.stderr,
            )
            raise SystemExit(2) from None
        finally:
            await engine.dispose()
    if latest is None:
        print("cti conf render: no version applied yet: the built-in model", file=sys.stderr)
        return HotlineConfig()
    config, summary = latest
    print(
        f"cti conf render: version {summary.version} ({summary.author}, "
        f"{summary.at:%Y-%m-%d %H:%M}) from the database",
        file=sys.stderr,
    )
    return config


def _cmd_check(args: argparse.Namespace) -> int:
    problems = check(args.dir, template=args.template)
    for problem in problems:
        print(problem)
    print(f"{len(problems)} problem(s) in {args.dir}")
    return 1 if problems else 0


def _cmd_shifts_show(args: argparse.Namespace) -> int:
    plan = load_model(args.model).shifts
    if args.at is None:
        print(f"{args.date.isoformat()} ({args.date:%A}), China time")
        for group, duty in day_table(plan, args.date):
            members = next(g.members for g in plan.groups if g.name == group)
            print(f"  {group:<4} {duty:<10} {', '.join(members) or '-'}")
        return 0
    moment = datetime.combine(args.date, args.at, tzinfo=CHINA)
    working = on_duty(plan, moment)
    print(f"on duty at {moment:%Y-%m-%d %H:%M} China time:")
    for shift in working:
        span = f"{shift.starts:%m-%d %H:%M}–{shift.ends:%m-%d %H:%M}"
        print(f"  {shift.group:<4} {shift.duty:<10} {span}  {', '.join(shift.members) or '-'}")
    if not working:
        print("  nobody")
    return 0
