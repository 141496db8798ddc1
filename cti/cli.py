"""The `cti` console script. Each feature adds its subcommands through `register(sub)`."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from cti.settings import Settings, SettingsError, load_settings

# Modules that contribute subcommands: each has `register(subparsers) -> None` and sets
# `func` on its parsers (called with the parsed args, returning an exit code).
_COMMAND_MODULES = (
    "cti.sim.cli",
    "cti.demo",
    "cti.ami.cli",
    "cti.db.cli",
    "locator.cli",
    "seats.cli",
    "cti.web.cli",
    "ivr.cli",
    "cti.reports.cli",
    "cti.conf.cli",
    "cti.audit",
)

Handler = Callable[[argparse.Namespace], int]


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Load settings for a command, honouring `--config`; exits 2 naming a bad field."""
    config: Path | None = getattr(args, "config", None)
    try:
        return load_settings(config)
    except SettingsError as exc:
        print(f"cti: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every feature's subcommands."""
    parser = argparse.ArgumentParser(prog="cti", description="Hotline CTI server")
    parser.add_argument("--config", type=Path, help="TOML settings file")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in _COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `cti` console script."""
    args = build_parser().parse_args(argv)
    func: Handler = args.func
    try:
        return func(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`cti ami replay … | head`): not an error of ours. Point stdout
        # at /dev/null so the interpreter's final flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
