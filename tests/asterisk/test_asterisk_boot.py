"""The test Asterisk itself: the recording configuration, on this session's ports, boots
with a clean log (so a real error during a test stands out) and has the three queues."""

from __future__ import annotations

import pytest

from cti.testbed import Asterisk
from tests.asterisk.conftest import Pbx

pytestmark = pytest.mark.asterisk


def test_boots_with_no_error_or_warning_in_its_log(asterisk: Asterisk) -> None:
    boot = asterisk.log_file.read_text(errors="replace").split("Asterisk Ready.")[0]
    problems = [line for line in asterisk.log_problems() if line in boot]
    assert problems == []


async def test_listens_on_its_own_ports_with_the_recording_queues(
    asterisk: Asterisk, pbx: Pbx
) -> None:
    assert {asterisk.ports.ami, asterisk.ports.sip} & {5038, 5060} == set()
    queues = await pbx.cli("queue show")
    for queue in ("q-zh", "q-en", "q-ko"):
        assert f"{queue} has 0 calls" in queues
    transports = await pbx.cli("pjsip show transports")
    assert f"127.0.0.1:{asterisk.ports.sip}" in transports
