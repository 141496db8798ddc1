"""Debian's sipp (sip-tester) playing a SIP seat phone or a trunk caller against the test
Asterisk, with the scenarios in `shared/asterisk/sipp/`."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

from cti.testbed import SIPP_DIR, free_udp_and_tcp_port

SIPP = shutil.which("sipp") or "/usr/bin/sipp"


class SippError(RuntimeError):
    """sipp is missing, or a scenario did not end the way it should."""


class Sipp:
    """One sipp process; `wait()` for its exit status, the log says what it saw."""

    def __init__(self, process: asyncio.subprocess.Process, log: Path, scenario: str) -> None:
        self.process = process
        self.log = log
        self.scenario = scenario

    async def wait(self, within_s: float = 60.0) -> int:
        """The exit status (0: every call of the scenario succeeded)."""
        async with asyncio.timeout(within_s):
            return await self.process.wait()

    async def stop(self) -> None:
        """Kill it if it still runs (a scenario cut short by the test)."""
        if self.process.returncode is None:
            self.process.kill()
            await self.process.wait()

    def output(self) -> str:
        """What sipp printed (its last screen and errors)."""
        return self.log.read_text(errors="replace") if self.log.exists() else ""


# shared/asterisk/sipp/uas_noanswer.xml keeps the whole CSeq match in `cs` and never uses it:
# sipp 3.6 (Debian's sip-tester) refuses to run such a scenario ("Variable $cs is referenced 1
# times!", exit 1), so the phone never listens. Take only the number instead.
_SCENARIO_FIXES = {
    'regexp="CSeq: ([0-9]+)" search_in="msg" check_it="true" assign_to="cs,csn"': (
        'regexp="[0-9]+" search_in="hdr" header="CSeq:" check_it="true" assign_to="csn"'
    ),
}


def _runnable(scenario: Path, workdir: Path) -> Path:
    """The scenario, or a copy in `workdir` with the fixes sipp 3.6 needs."""
    text = scenario.read_text(encoding="utf-8")
    fixed = text
    for old, new in _SCENARIO_FIXES.items():
        fixed = fixed.replace(old, new)
    if fixed == text:
        return scenario
    copy = workdir / scenario.name
    copy.write_text(fixed, encoding="utf-8")
    return copy


async def _start(args: list[str], log: Path, scenario: str) -> Sipp:
    if shutil.which(SIPP) is None:
        raise SippError("sipp is missing: scripts/test installs Debian's sip-tester")
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            SIPP, *args, stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=out, cwd=log.parent
        )
    return Sipp(process, log, scenario)


def _common(local_port: int, max_calls: int, timeout_s: int) -> list[str]:
    return [
        "-i", "127.0.0.1",
        "-p", str(local_port),
        "-mp", str(free_udp_and_tcp_port()),
        "-m", str(max_calls),
        "-default_behaviors", "pingreply",
        "-nostdin",
        "-timeout", f"{timeout_s}s",
        "-timeout_error",
        "-trace_err",
    ]  # fmt: skip


@contextlib.asynccontextmanager
async def seat_phone(
    port: int, workdir: Path, *, scenario: str = "uas_answer.xml", calls: int = 1
) -> AsyncIterator[Sipp]:
    """A seat phone on 127.0.0.1:`port` (the seat's contact in pjsip.conf) answering
    `calls` calls as `scenario` says; killed on exit if still running."""
    log = workdir / f"sipp-seat-{port}.log"
    path = _runnable(SIPP_DIR / scenario, workdir)
    sipp = await _start(["-sf", str(path), *_common(port, calls, 90)], log, scenario)
    try:
        yield sipp
    finally:
        await sipp.stop()


async def trunk_call(
    sip_port: int,
    workdir: Path,
    *,
    from_: str,
    header1: str = "X-Nothing: 1",
    header2: str = "X-Nothing-Either: 1",
    scenario: str = "uac_caller.xml",
) -> Sipp:
    """One call from the trunk to 89000 (→ Queue(q-zh)), From `from_` (display and URI,
    e.g. `"张先生" <sip:05356683318@127.0.0.1>`) with two extra header lines. Started, not
    awaited: `wait()` on the result."""
    csv = workdir / f"caller-{free_udp_and_tcp_port()}.csv"
    csv.write_text(f"SEQUENTIAL\n{from_};{header1};{header2}\n", encoding="utf-8")
    port = free_udp_and_tcp_port()
    log = workdir / f"sipp-trunk-{port}.log"
    args = [f"127.0.0.1:{sip_port}", "-sf", str(SIPP_DIR / scenario), "-inf", str(csv)]
    return await _start([*args, *_common(port, 1, 60)], log, scenario)


_REGISTER = """<?xml version="1.0" encoding="UTF-8" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<!-- A seat phone registering its contact with digest auth (401, then the credentials). -->
<scenario name="register">
  <send retrans="500"><![CDATA[
REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:{user}@[remote_ip]>;tag=[pid]SIPpTag00[call_number]
To: <sip:{user}@[remote_ip]>
Call-ID: [call_id]
CSeq: 1 REGISTER
Contact: <{contact}>
Max-Forwards: 70
Expires: 600
Content-Length: 0

]]></send>
  <recv response="401" auth="true"/>
  <send retrans="500"><![CDATA[
REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:{user}@[remote_ip]>;tag=[pid]SIPpTag00[call_number]
To: <sip:{user}@[remote_ip]>
Call-ID: [call_id]
CSeq: 2 REGISTER
Contact: <{contact}>
[authentication]
Max-Forwards: 70
Expires: 600
Content-Length: 0

]]></send>
  <recv response="200"/>
</scenario>
"""


async def register_seat(
    sip_port: int,
    workdir: Path,
    *,
    seat: str,
    password: str,
    contact: str,
    source_ip: str = "127.0.0.2",
) -> Sipp:
    """REGISTER `seat` (digest auth with `password`) with `contact` (where the seat phone
    listens), sent from `source_ip`: a loopback address other than the trunk's, so
    Asterisk identifies the seat by its user name and not as the trunk (`identify` matches
    127.0.0.1). Started, not awaited: `wait()` on the result (0: registered)."""
    scenario = workdir / f"register-{seat}.xml"
    scenario.write_text(_REGISTER.format(user=seat, contact=contact), encoding="utf-8")
    port = free_udp_and_tcp_port()
    log = workdir / f"sipp-register-{seat}.log"
    args = [f"127.0.0.1:{sip_port}", "-sf", str(scenario), "-au", seat, "-ap", password]
    common = _common(port, 1, 30)
    common[common.index("-i") + 1] = source_ip
    return await _start([*args, *common], log, "register")
