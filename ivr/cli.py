"""`cti ivr prompts --out DIR` (the menu's prompts as Asterisk plays them) and `cti ivr try`
(play Asterisk's side of one FastAGI session against a running menu, pressing given keys)."""

from __future__ import annotations

import argparse
import asyncio
import sys
import wave
from pathlib import Path
from typing import Any

from ivr.prompts import PromptToolMissing, generate


def register(sub: Any) -> None:
    """Add the `ivr` subcommands."""
    p = sub.add_parser("ivr", help="the FastAGI language menu")
    ivr_sub = p.add_subparsers(dest="ivr_command", required=True)
    prompts = ivr_sub.add_parser("prompts", help="generate the prompts (espeak-ng + sox)")
    prompts.add_argument("--out", type=Path, required=True, help="Asterisk's sounds directory")
    prompts.set_defaults(func=_cmd_prompts)
    try_ = ivr_sub.add_parser("try", help="one call through a running menu, as Asterisk")
    try_.add_argument("--host", default="127.0.0.1")
    try_.add_argument("--port", type=int, default=4573)
    try_.add_argument("--caller", default="13805356789", help="the caller ID Asterisk gives")
    try_.add_argument(
        "--keys", default="3", help="one key per digit wait; '-' lets it time out (e.g. '--')"
    )
    try_.set_defaults(func=_cmd_try)


def _cmd_prompts(args: argparse.Namespace) -> int:
    try:
        paths = generate(args.out)
    except PromptToolMissing as exc:
        print(f"cti ivr prompts: {exc}", file=sys.stderr)
        return 1
    for path in paths:
        with wave.open(str(path)) as w:
            seconds = w.getnframes() / w.getframerate()
        print(f"{path}  {w.getframerate()} Hz  {seconds:.1f} s")
    return 0


def _cmd_try(args: argparse.Namespace) -> int:
    from cti.sim.agi import AgiCall, call_menu

    presses = tuple(None if k == "-" else k for k in args.keys)
    call = AgiCall(caller_number=args.caller, uniqueid="1795361860.17", presses=presses)
    transcript = asyncio.run(call_menu(args.host, args.port, call))
    for command, replies in transcript.dialogue:
        print(f">>> {command}")
        for reply in replies:
            print(reply)
    print(f"variables: {transcript.variables}")
    return 0
