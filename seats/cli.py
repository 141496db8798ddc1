"""`cti agent add ID --name … --languages zh,en [--seat seat07]`, password from stdin."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from datetime import date
from typing import Any

from cti.db import create_engine, upgrade
from seats.accounts import ROLES, AccountError
from seats.interfaces import seat_of_interface
from seats.store import SqlAgentAccounts


def register(subparsers: Any) -> None:
    """Add the `agent` command group to the `cti` parser."""
    agent = subparsers.add_parser("agent", help="agent accounts")
    agent_sub = agent.add_subparsers(dest="agent_command", required=True)
    add = agent_sub.add_parser("add", help="create or update an agent (password read from stdin)")
    add.add_argument("id", help="agent id, e.g. a07")
    add.add_argument("--name", required=True, help="the agent's name as shown on the page")
    add.add_argument(
        "--languages",
        required=True,
        help="comma list of zh,en,ko, each with an optional level: zh:native,en:basic "
        "(native/fluent/basic = queue penalty 0/1/2; default: first native, others fluent)",
    )
    add.add_argument("--seat", help="home seat (seat07), used when the login names none")
    add.add_argument(
        "--role",
        choices=ROLES,
        default="agent",
        help="agent (default), supervisor (the wallboard), group_leader, duty_officer, "
        "administrator (/admin), guest_expert",
    )
    add.add_argument(
        "--ends-on",
        type=date.fromisoformat,
        help="a guest_expert's last day on the line (YYYY-MM-DD, China time): after it the "
        "login is refused and the seat leaves its queues",
    )
    add.add_argument("--url", help="database URL (default: settings' database_url)")
    add.set_defaults(func=_cmd_add)


def _read_password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("password: ")
        if getpass.getpass("again: ") != first:
            raise AccountError("the passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def _cmd_add(args: argparse.Namespace) -> int:
    from cti.cli import settings_from_args

    url: str = args.url or settings_from_args(args).database_url
    seat = None
    if args.seat:
        seat = seat_of_interface(args.seat)
        if seat != args.seat.lower():
            print(
                f"cti agent add: --seat must look like seat07, got {args.seat!r}", file=sys.stderr
            )
            return 2
    try:
        password = _read_password()
        if len(password) < 6:
            raise AccountError("the password must have at least 6 characters")
        profile, created = asyncio.run(
            _add(url, args.id, args.name, args.languages, password, seat, args.role, args.ends_on)
        )
    except AccountError as exc:
        print(f"cti agent add: {exc}", file=sys.stderr)
        return 2
    verb = "created" if created else "updated"
    languages = ",".join(profile.languages)
    print(f"agent {profile.id} {verb}: {profile.name} ({languages}, {profile.role})")
    return 0


async def _add(
    url: str,
    agent_id: str,
    name: str,
    languages: str,
    password: str,
    seat: str | None,
    role: str = "agent",
    ends_on: date | None = None,
) -> Any:
    engine = create_engine(url)
    try:
        await upgrade(engine, "head")
        accounts = SqlAgentAccounts(engine)
        return await accounts.add(agent_id, name, languages, password, seat, role, ends_on)
    finally:
        await engine.dispose()
