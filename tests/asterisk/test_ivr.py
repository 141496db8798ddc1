"""The language menu against the real Asterisk 22.10.1: the test bed's `[ivr]` dialplan runs
`AGI(agi://127.0.0.1:<agi port>/language-menu)` on our FastAGI server, the caller's side sends
DTMF as the recording 07's script did (`caller-dtmf`: wait 1.5 s, SendDTMF), or hangs up."""

from __future__ import annotations

import logging
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cti.testbed import Asterisk
from ivr import CallerFacts, IvrServer, Learnt
from ivr.prompts import generate
from tests.asterisk.conftest import Pbx
from tests.support.waiting import eventually

pytestmark = pytest.mark.asterisk


@pytest.fixture
async def menu(asterisk: Asterisk) -> AsyncIterator[IvrServer]:
    registered = {"05356683318": CallerFacts(("LS0001", "LS0002"), "zh", "zh")}
    server = IvrServer(
        lambda number: registered.get(number or "", CallerFacts()),
        port=asterisk.ports.agi,
    )
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def _call_ivr(pbx: Pbx, caller: str, context: str, digits: str = "") -> None:
    await pbx.ami.wait_connected(15)
    fields = [
        ("Channel", "Local/89000@ivr/n"),
        ("CallerID", f'"" <{caller}>'),
        ("Context", context),
        ("Exten", "press" if context == "caller-dtmf" else "wait"),
        ("Priority", "1"),
        ("Async", "true"),
    ]
    if digits:
        fields.append(("Variable", f"DIGITS={digits}"))
    await pbx.ami.send("Originate", fields, idempotent=False)


async def _menu_end(menu: IvrServer) -> Learnt:
    def first() -> Learnt | None:
        return next((learnt for _, learnt in menu.notes.recent()), None)

    result: Learnt = await eventually(first, within_s=20, what="the menu's end")
    return result


async def test_digit_3_on_real_asterisk_sets_korean(pbx: Pbx, menu: IvrServer) -> None:
    await _call_ivr(pbx, "13805356789", "caller-dtmf", "3")
    learnt = await _menu_end(menu)
    assert (learnt.language, learnt.queue, learnt.how) == ("ko", "q-ko", "chosen")


async def test_registered_household_on_real_asterisk_is_recognised(
    pbx: Pbx, menu: IvrServer
) -> None:
    await _call_ivr(pbx, "05356683318", "caller-dtmf", "3")
    learnt = await _menu_end(menu)
    assert learnt.recognised and learnt.resident_ids == ("LS0001", "LS0002")


async def test_hang_up_in_the_menu_on_real_asterisk_ends_cleanly(
    pbx: Pbx, menu: IvrServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ivr")
    await _call_ivr(pbx, "13805356789", "caller-short")  # hangs up after 4 s, no key
    await eventually(lambda: menu.sessions_served >= 1, within_s=20, what="the session's end")
    assert len(menu.notes) == 0
    lines = [r for r in caplog.records if r.name.startswith("ivr") and "call=" in r.getMessage()]
    assert len(lines) == 1, [r.getMessage() for r in lines]
    assert not [r for r in caplog.records if r.exc_info]


async def test_with_the_prompts_a_key_during_a_prompt_stops_it_on_real_asterisk(
    pbx: Pbx, asterisk: Asterisk, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The generated prompts played by the real Asterisk: the caller presses 2 at 1.5 s, in
    the middle of the first prompt (`hotline/menu-zh`, 3 s): `STREAM FILE` stops there."""
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} not installed (scripts/test installs espeak-ng and sox)")
    generate(tmp_path / "sounds")
    caplog.set_level(logging.DEBUG, logger="ivr")
    server = IvrServer(port=asterisk.ports.agi, prompt_root=str(tmp_path / "sounds"))
    await server.start()
    try:
        await _call_ivr(pbx, "13805356789", "caller-dtmf", "2")
        learnt = await _menu_end(server)
    finally:
        await server.stop()
    assert (learnt.language, learnt.how) == ("en", "chosen")
    dialogue = [r.getMessage() for r in caplog.records if ">>> STREAM FILE" in r.getMessage()]
    assert len(dialogue) == 1, dialogue  # no further prompt, no digit wait
    assert "result='50'" in dialogue[0], dialogue[0]
