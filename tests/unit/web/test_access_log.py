"""The access log never writes the session token that the WebSocket URL carries."""

from __future__ import annotations

import asyncio
import logging

import aiohttp
import pytest
from aiohttp import web

from cti.web.access_log import AccessLogger


async def _ok(request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def test_access_log_omits_query_string(caplog: pytest.LogCaptureFixture) -> None:
    app = web.Application()
    app.router.add_get("/ws/agent", _ok)
    runner = web.AppRunner(app, access_log_class=AccessLogger, access_log=logging.getLogger("t"))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        with caplog.at_level(logging.INFO, logger="t"):
            async with aiohttp.ClientSession() as session:
                url = f"http://127.0.0.1:{port}/ws/agent?token=SECRET-TOKEN&last_seq=3"
                async with session.get(url) as resp:
                    assert await resp.text() == "ok"
            for _ in range(50):  # the line is written once the response is finished
                if any(r.name == "t" for r in caplog.records):
                    break
                await asyncio.sleep(0.01)
    finally:
        await runner.cleanup()
    lines = [r.getMessage() for r in caplog.records if r.name == "t"]
    assert any('"GET /ws/agent" 200' in line for line in lines), lines
    assert not any("SECRET-TOKEN" in line for line in lines)
