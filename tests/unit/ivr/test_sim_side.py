"""The simulator's side of FastAGI answers only with the recordings' shapes."""

from __future__ import annotations

from pathlib import Path

from cti.sim.agi import AgiCall, AsteriskSide, environment
from ivr.protocol import Environment
from tests.support.agi import load_agi_trace, parse_chunks


def test_environment_has_07s_keys_in_07s_order(traces_dir: Path) -> None:
    recorded = parse_chunks(load_agi_trace(traces_dir / "07-fastagi-language-menu.agi").asterisk[0])
    ours = parse_chunks(environment(AgiCall("13805356789", "1.2"), "127.0.0.1", 4573))
    assert isinstance(recorded[0], Environment) and isinstance(ours[0], Environment)
    assert [k for k, _ in ours[0].headers] == [k for k, _ in recorded[0].headers]
    assert ours[0].get("agi_request") == recorded[0].get("agi_request")


def test_replies_are_the_recorded_lines(traces_dir: Path) -> None:
    recorded = {
        line.decode() for line in (traces_dir / "12-fastagi-timeout.agi").read_bytes().splitlines()
    }
    recorded |= {
        line.decode()
        for line in (traces_dir / "07-fastagi-language-menu.agi").read_bytes().splitlines()
    }
    recorded |= {
        line.decode() for line in (traces_dir / "11-fastagi-hangup.agi").read_bytes().splitlines()
    }
    side = AsteriskSide(AgiCall("13805356789", "1.2", presses=("3", None, "hangup")))
    said = []
    for command in [
        'STREAM FILE hotline/menu-zh "1239"',
        "WAIT FOR DIGIT 5000",
        "WAIT FOR DIGIT 5000",
        'SET VARIABLE LANGSEL "ko"',
        "GET VARIABLE CALLERID(num)",
        "WAIT FOR DIGIT 5000",
        "SET VARIABLE QUEUE_PRIO 0",
        "BOGUS COMMAND",
    ]:
        said += side.answer(command)
    assert said == [
        "200 result=-1 endpos=0",
        "200 result=51",
        "200 result=0",
        "200 result=1",
        "200 result=1 (13805356789)",
        "200 result=-1",
        "HANGUP",
        "200 result=1",
        "510 Invalid or unknown command",
    ]
    assert set(said) <= recorded
    assert side.variables == {"LANGSEL": "ko", "QUEUE_PRIO": "0"}
