"""`cti serve`'s composition starts the FastAGI menu as an owned service, recognising callers
through the same locator as the pops, and stops it with the app."""

from __future__ import annotations

import socket
from pathlib import Path

from aiohttp.test_utils import TestServer

from cti.settings import AMISettings, IVRSettings, Settings
from cti.web import create_app
from cti.web.keys import IVR
from tests.support.agi import asterisk, keys


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_cti_serve_answers_the_language_menu_and_stops_it(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'cti.sqlite3'}",
        ami=AMISettings(port=_closed_port()),  # no Asterisk: the menu does not need one
        ivr=IVRSettings(port=0),
    )
    app = create_app(settings)
    server = TestServer(app)
    await server.start_server()
    try:
        ivr = app[IVR]
        assert ivr.listening
        commands, _ = await asterisk(ivr.port, keys("2"))
        assert 'SET VARIABLE QUEUE "q-en"' in commands
        assert ivr.notes.learnt("1795361860.17") is not None
    finally:
        await server.close()
    assert not ivr.listening
