"""`cti audit --resident ID`: who saw a resident, when, and on which call — and whether it
was their call.

Every resident shown (pop, search, attach, health notes) writes a row of the privacy audit
(`locator.record_view`). This command reads those rows for one resident and puts each beside
the call log: a view by an agent the call did not ring, or long after the call's wrap-up, is
marked, so the privacy promise can be checked in one command.

Exit codes: 0 every view was on the viewer's own open call (or there were none); 1 at least
one view is marked; 2 bad arguments or settings.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from cti.db import create_engine
from cti.state import CallLog, CallLogEntry
from locator import View, views_of

# The pop is shown at ring time; the page keeps the card until the wrap-up is saved, and the
# audit row is written a moment after the view. Views this far outside the call still count
# as on it.
SLACK = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class AuditLine:
    """One view and what the call log says about it."""

    view: View
    call_agent: str | None  # who answered the call (None: not answered, or not logged)
    verdict: str  # "own call", or why not


def judge(view: View, call: CallLogEntry | None) -> AuditLine:
    """Whether `view` was on the viewer's own call, while it was open (ringing, talking, or
    its wrap-up not yet saved)."""
    if view.call_id is None:
        return AuditLine(view, None, "no call (looked up outside a call)")
    if call is None:
        return AuditLine(view, None, "call not in the call log (still open, or never logged)")
    rung = {ring.get("agent") for ring in _rings(call.rings)} | {call.agent}
    if view.viewer not in rung:
        return AuditLine(view, call.agent, "NOT THE VIEWER'S CALL")
    closed = call.wrapup_at or call.ended_at
    if _aware(view.viewed_at) < _aware(call.joined_at) - SLACK:
        return AuditLine(view, call.agent, "before the call")
    if closed is not None and _aware(view.viewed_at) > _aware(closed) + SLACK:
        return AuditLine(view, call.agent, "after the call and its wrap-up")
    return AuditLine(view, call.agent, "own call")


def _rings(raw: str | None) -> list[dict[str, Any]]:
    try:
        rings = json.loads(raw or "[]")
    except ValueError:
        return []
    return [r for r in rings if isinstance(r, dict)] if isinstance(rings, list) else []


def _aware(moment: datetime) -> datetime:
    # SQLite gives naive datetimes back; everything is written in UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


async def audit(engine: AsyncEngine, resident_id: str, since: datetime | None) -> list[AuditLine]:
    """Every audited view of the resident, each judged against the call log."""
    views = await views_of(engine, resident_id, since)
    log = CallLog(engine)
    calls: dict[str, CallLogEntry | None] = {}
    for call_id in {v.call_id for v in views if v.call_id}:
        calls[call_id] = await log.get(call_id)
    return [judge(v, calls.get(v.call_id) if v.call_id else None) for v in views]


def register(subparsers: Any) -> None:
    """Add `cti audit` to the `cti` parser."""
    cmd = subparsers.add_parser("audit", help="who saw a resident, when, on which call")
    cmd.add_argument("--resident", required=True, help="the resident's id, e.g. LS0001")
    cmd.add_argument("--since", type=datetime.fromisoformat, help="ISO date or time")
    cmd.add_argument("--format", choices=["text", "csv", "json"], default="text")
    cmd.add_argument("--url", help="database URL (default: settings' database_url)")
    cmd.set_defaults(func=_cmd_audit)


def _cmd_audit(args: argparse.Namespace) -> int:
    from cti.cli import settings_from_args

    url = args.url or settings_from_args(args).database_url
    lines = asyncio.run(_run(url, args.resident, args.since))
    _print(lines, args.resident, args.format)
    return 1 if any(line.verdict != "own call" for line in lines) else 0


async def _run(url: str, resident_id: str, since: datetime | None) -> list[AuditLine]:
    engine = create_engine(url)
    try:
        return await audit(engine, resident_id, since)
    finally:
        await engine.dispose()


FIELDS = ["viewed_at", "viewer", "what", "call_id", "call_agent", "verdict"]


def _row(line: AuditLine) -> dict[str, str]:
    return {
        "viewed_at": _aware(line.view.viewed_at).astimezone().isoformat(timespec="seconds"),
        "viewer": line.view.viewer,
        "what": line.view.what,
        "call_id": line.view.call_id or "",
        "call_agent": line.call_agent or "",
        "verdict": line.verdict,
    }


def _print(lines: list[AuditLine], resident_id: str, fmt: str) -> None:
    rows = [_row(line) for line in lines]
    if fmt == "json":
        print(json.dumps({"resident": resident_id, "views": rows}, ensure_ascii=False, indent=2))
        return
    if fmt == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
        return
    marked = sum(line.verdict != "own call" for line in lines)
    print(f"resident {resident_id}: {len(lines)} view(s), {marked} marked")
    for row in rows:
        print(
            f"{row['viewed_at']}  {row['viewer']:<12} {row['what']:<12} "
            f"call {row['call_id'] or '-':<20} answered by {row['call_agent'] or '-':<10} "
            f"{row['verdict']}"
        )
