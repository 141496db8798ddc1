"""`cti demo` makes a supervisor too: the welcome names the login, and it opens the wallboard."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from cti.demo import DEMO_PASSWORD, DEMO_SUPERVISOR, DemoOptions, _print_welcome, running_demo


def test_the_welcome_names_the_wallboard_and_its_supervisor_login(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _print_welcome(8080, 5038, 240.0)
    out = capsys.readouterr().out
    assert "http://127.0.0.1:8080/wallboard" in out
    assert f"{DEMO_SUPERVISOR.agent_id} / {DEMO_PASSWORD}" in out


async def test_the_demo_supervisor_opens_the_wallboard(tmp_path: Path) -> None:
    options = DemoOptions(rate=60, port=0, residents=50, dir=tmp_path)
    async with running_demo(options) as demo, aiohttp.ClientSession() as http:
        base = f"http://127.0.0.1:{demo.http_port}"
        login = {"agent": DEMO_SUPERVISOR.agent_id, "password": DEMO_PASSWORD}
        async with http.post(f"{base}/api/supervisor/login", json=login) as resp:
            assert resp.status == 200, await resp.text()
            body = await resp.json()
        assert body["supervisor"] == {"id": "super01", "name": DEMO_SUPERVISOR.name}
        headers = {"Authorization": f"Bearer {body['token']}"}
        async with http.get(f"{base}/api/wallboard", headers=headers) as resp:
            assert resp.status == 200, await resp.text()
            queues = {q["queue"] for q in (await resp.json())["queues"]}
        assert {"q-zh", "q-en", "q-ko"} <= queues
        # The wall-screen page itself is open; its data needs the token above.
        async with http.get(f"{base}/wallboard") as resp:
            assert resp.status == 200
