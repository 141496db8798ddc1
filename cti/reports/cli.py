"""`cti report --date D [--to D2] [--format csv|html] [--out FILE]`: the centre's report.

Days are local days of the server's time zone, `--to` included. Figures come from the call
log, the duty periods and the callbacks (see `cti.reports.figures`).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any

from cti.db.engine import create_engine
from cti.reports.csv_out import to_csv
from cti.reports.load import load_report


def register(subparsers: Any) -> None:
    """Add `report` to the `cti` parser."""
    cmd = subparsers.add_parser("report", help="calls, service level, pauses and callbacks")
    cmd.add_argument("--date", required=True, type=date.fromisoformat, help="first day")
    cmd.add_argument("--to", type=date.fromisoformat, help="last day (default: --date)")
    cmd.add_argument("--format", choices=("csv", "html"), default="csv")
    cmd.add_argument("--out", type=Path, help="write here (default: standard output)")
    cmd.add_argument("--url", help="database URL (default: settings' database_url)")
    cmd.set_defaults(func=_cmd_report)


def period(first: date, last: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """[first 00:00, the day after last 00:00) in `tz`."""
    start = datetime.combine(first, time.min, tzinfo=tz)
    end = datetime.combine(last + timedelta(days=1), time.min, tzinfo=tz)
    return start, end


async def render(url: str, first: date, last: date, fmt: str) -> str:
    """The report of the days `first`..`last` as CSV or HTML text."""
    tz = datetime.now().astimezone().tzinfo
    assert tz is not None
    start, end = period(first, last, tz)
    engine = create_engine(url)
    try:
        report = await load_report(engine, start, end, tz)
    finally:
        await engine.dispose()
    if fmt == "html":
        from cti.reports.html_out import to_html  # matplotlib only when drawing

        return to_html(report)
    return to_csv(report)


def _cmd_report(args: argparse.Namespace) -> int:
    from cti.cli import settings_from_args

    last = args.to or args.date
    if last < args.date:
        print("cti report: --to is before --date", file=sys.stderr)
        return 2
    url: str = args.url or settings_from_args(args).database_url
    text = asyncio.run(render(url, args.date, last, args.format))
    if args.out:
        args.out.write_text(text, encoding="utf-8")
        print(f"report written to {args.out}")
    else:
        sys.stdout.write(text)
    return 0
