"""`cti serve`: the agent web server with the whole CTI stack behind it."""

from __future__ import annotations

import argparse
from typing import Any

from aiohttp import web


def register(subparsers: Any) -> None:
    """Add the `serve` command to the `cti` parser."""
    serve = subparsers.add_parser("serve", help="run the CTI server (agent page, WebSocket)")
    serve.add_argument("--host", help="listen address (default: settings' http.host)")
    serve.add_argument("--port", type=int, help="listen port (default: settings' http.port)")
    serve.set_defaults(func=_cmd_serve)


def _cmd_serve(args: argparse.Namespace) -> int:
    from cti.cli import settings_from_args
    from cti.logs import setup as setup_logging
    from cti.web import create_app
    from cti.web.access_log import AccessLogger

    settings = settings_from_args(args)
    setup_logging()  # one record, one line: a CR/LF in a logged value cannot forge a record
    host = args.host or settings.http.host
    port = args.port if args.port is not None else settings.http.port
    app = create_app(settings)
    app.on_startup.append(_settled)  # after every service has started (cleanup_ctx runs first)
    web.run_app(
        app,
        host=host,
        port=port,
        shutdown_timeout=5,
        access_log_class=AccessLogger,
    )
    return 0


async def _settled(app: web.Application) -> None:
    from cti.tasks import settle_heap

    settle_heap()
