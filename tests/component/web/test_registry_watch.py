"""`cti serve`'s own wiring keeps the in-memory registry index in step with the database when
another process (`cti registry import`) changes it, within `locator.refresh_interval_s`."""

from __future__ import annotations

import asyncio
import socket
import sys
import time
from pathlib import Path
from typing import Any

from aiohttp import web

from cti.db import create_engine, upgrade
from cti.settings import load_settings
from cti.web import create_app
from cti.web.keys import LOCATOR

INTERVAL_S = 0.3
SAMPLE_LANDLINE = "0535-668 3318"  # 王桂兰's household in the sample


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def _import_in_another_process(sample: Path, url: str) -> None:
    cti = Path(sys.executable).parent / "cti"
    proc = await asyncio.create_subprocess_exec(
        str(cti),
        "registry",
        "import",
        str(sample),
        "--url",
        url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode == 0, (out + err).decode()


async def test_import_by_another_process_reaches_the_running_servers_lookup(
    tmp_path: Path, registry_sample: Path, aiohttp_server: Any
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cti.sqlite3'}"
    engine = create_engine(url)
    await upgrade(engine, "head")
    await engine.dispose()
    settings = load_settings(
        database_url=url,
        ami={"port": _free_port(), "backoff_min_s": 0.1, "backoff_max_s": 0.3},
        locator={"refresh_interval_s": INTERVAL_S},
    )
    app: web.Application = create_app(settings)  # the production cleanup context
    await aiohttp_server(app)
    locator = app[LOCATOR]
    assert locator.lookup(SAMPLE_LANDLINE).residents == []

    await _import_in_another_process(registry_sample, url)
    imported_at = time.monotonic()
    while not locator.lookup(SAMPLE_LANDLINE).residents:
        # One poll interval plus a rebuild of a handful of rows (slack for a loaded machine).
        assert time.monotonic() - imported_at < INTERVAL_S + 3.0, "index not refreshed in time"
        await asyncio.sleep(0.05)

    names = {card.name for card in locator.lookup(SAMPLE_LANDLINE).residents}
    assert "王桂兰" in names
