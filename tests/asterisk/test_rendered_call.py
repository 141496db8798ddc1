"""Issue 16's case on the rendered configuration: `cti conf render`'s files loaded into the
real Asterisk 22.10.1 carry a call the whole way — a caller from a sipp trunk → `[inbound]`
→ `[hotline]` → our FastAGI language menu (`cti serve`'s own IVR server) → `[hotline-queue]`
→ Queue(q-zh) → a PJSIP seat that registered with its HMAC-derived password and is answered
by sipp → the pop on the agent's socket, and the call log."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from cti.conf import HotlineConfig, RenderOptions, check, render, write
from cti.settings import Settings, load_settings
from cti.testbed import Asterisk, AsteriskError, Ports, free_port, free_udp_and_tcp_port
from cti.web import create_app
from tests.asterisk.conftest import Cti
from tests.asterisk.test_local_seats import on_queue
from tests.support.sipp import register_seat, seat_phone, trunk_call

pytestmark = pytest.mark.asterisk
SECRET = "rendered-call-ami-secret"


@dataclass
class RenderedPbx:
    asterisk: Asterisk
    ports: Ports
    files: dict[str, str]

    def seat_password(self, seat: str) -> str:
        """The seat's SIP password as rendered into pjsip.conf (derived, never committed)."""
        section = re.search(rf"(?ms)^\[{seat}-auth\]\n(.*?)(?:\n\n|\Z)", self.files["pjsip.conf"])
        assert section is not None, f"no [{seat}-auth] in the rendered pjsip.conf"
        found = re.search(r"(?m)^password = (\S+)$", section.group(1))
        assert found is not None
        return found.group(1)

    def settings(self, database: Path) -> Settings:
        """`cti serve`'s settings for this Asterisk (what the configuration was rendered
        from, plus the test's database and SIP seats as members)."""
        return _settings(self.ports, database)


def _settings(ports: Ports, database: Path | None = None) -> Settings:
    values: dict[str, Any] = {
        "ami": {"port": ports.ami, "username": "cti", "secret": SECRET},
        "ivr": {"port": ports.agi},
        "members": {"interface": "PJSIP/{seat}"},
        "conf": {"sip_bind": f"127.0.0.1:{ports.sip}", "seat_secret_key": "test-key"},
    }
    if database is not None:
        values["database_url"] = f"sqlite+aiosqlite:///{database}"
    return load_settings(**values)


@pytest.fixture(scope="module")
def rendered_pbx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RenderedPbx]:
    """A second Asterisk, on its own free ports, running only the rendered configuration."""
    base = tmp_path_factory.mktemp("rendered-call")
    ports = Ports(ami=free_port(), sip=free_udp_and_tcp_port(), agi=free_port(), trunk=0)
    files = render(HotlineConfig(), _settings(ports), RenderOptions())
    write(files, base / "conf")
    assert check(base / "conf") == []
    pbx = Asterisk(base / "run", base / "conf", ports)
    try:
        pbx.start()
    except AsteriskError as exc:
        pbx.stop()
        pytest.fail(f"the rendered configuration did not boot: {exc}", pytrace=False)
    try:
        yield RenderedPbx(pbx, ports, files)
    finally:
        pbx.stop()


@pytest.fixture
async def cti_rendered(
    rendered_pbx: RenderedPbx, database: Path, aiohttp_client: Any
) -> AsyncIterator[Cti]:
    """`cti serve`'s app (no injected services) against the rendered Asterisk."""
    settings = rendered_pbx.settings(database)
    client: TestClient[Any, Any] = await aiohttp_client(create_app(settings))
    server = Cti(client, settings)
    try:
        yield server
    finally:
        for console in server.consoles:
            await console.close()


async def test_trunk_call_through_the_ivr_and_queue_pops_at_a_registered_sip_seat(
    rendered_pbx: RenderedPbx, cti_rendered: Cti, tmp_path: Path
) -> None:
    pbx = rendered_pbx.asterisk
    phone_port = free_udp_and_tcp_port()
    async with seat_phone(phone_port, tmp_path) as phone:
        registering = await register_seat(
            rendered_pbx.ports.sip,
            tmp_path,
            seat="seat07",
            password=rendered_pbx.seat_password("seat07"),
            contact=f"sip:seat07@127.0.0.1:{phone_port}",
        )
        assert await registering.wait(30) == 0, registering.output()
        contacts = pbx.cli("pjsip show contacts")
        assert f"seat07/sip:seat07@127.0.0.1:{phone_port}" in contacts, contacts

        agent = await cti_rendered.login("a07", "seat07")
        await on_queue(agent, "q-zh")
        assert "PJSIP/seat07" in pbx.cli("queue show q-zh")

        caller = await trunk_call(
            rendered_pbx.ports.sip,
            tmp_path,
            from_='"张先生" <sip:05356683318@127.0.0.1>',
        )
        # The registered household is recognised by the menu (no key to press): q-zh at
        # the elderly priority, then the seat rings.
        pop = await agent.pop("05356683318", within_s=30)
        assert pop["queue"] == "q-zh"
        assert pop["seat"] == "seat07"
        assert pop["caller"]["name"] == "张先生"
        assert [r["id"] for r in pop["residents"]] == ["LS0001", "LS0002"]
        assert pop["ivr"]["how"] == "recognised", pop["ivr"]
        call_id = pop["call_id"]
        await agent.next(
            lambda m: m["type"] == "completed" and m["call_id"] == call_id, within_s=30
        )
        assert agent.types_of_call(call_id) == ["pop", "answered", "completed"]
        assert await phone.wait(30) == 0, phone.output()
        assert await caller.wait(30) == 0, caller.output()

    row = await cti_rendered.logged(call_id)
    assert (row["outcome"], row["agent"], row["seat"]) == ("answered", "a07", "seat07")
    assert row["resident_ids"] == "LS0001 LS0002"
    # Nothing at WARNING or ERROR but the prompts this Asterisk has no files for (the test
    # Asterisk has no sounds installed; `cti ivr prompts` writes them in production).
    missing = [p for p in pbx.log_problems() if "hotline/" in p]
    assert [p for p in pbx.log_problems() if p not in missing] == []
    assert all("File hotline/" in p and "does not exist" in p for p in missing), missing
