"""Why the IVR has its own AGI layer: pyst2 and panoramisk's FastAGI against the real sessions.

The design named pyst2 (classic AGI) and panoramisk (which has a FastAGI server). Replayed on
`11` and `12`, each loses a reply or worse; nothing of either survives into `ivr/`:
- pyst2: its FastAGI module is Python 2 (`import SocketServer`); its `AGI` is blocking file
  I/O (one thread per call), installs a process-wide SIGHUP handler, and raises ValueError on
  the unsolicited `HANGUP` line of 11.
- panoramisk: `Request.send_command` reads one line per command, so 11's `HANGUP` line shifts
  every later reply by one (the caller's number is lost), and it reads two lines of 12's
  three-line `520` reply, so the next command gets `520 End of proper usage.`; its
  `Application.handler` spins for ever when Asterisk closes before the environment ends.
  Neither refuses a newline in a command.
Our parser on the same bytes: `test_protocol.py`.
"""

from __future__ import annotations

import asyncio
import io
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.agi import AgiTrace, load_agi_trace, parse_chunks


def _trace(traces_dir: Path, name: str) -> AgiTrace:
    return load_agi_trace(traces_dir / f"{name}.agi")


# -- pyst2 -------------------------------------------------------------------------------


def test_pyst2_fastagi_does_not_import_on_python_3() -> None:
    with pytest.raises(ModuleNotFoundError, match="SocketServer"):
        import asterisk.fastagi  # noqa: F401


def _pyst2_agi(trace: AgiTrace) -> Any:
    from asterisk.agi import AGI

    before = signal.getsignal(signal.SIGHUP)
    try:
        agi = AGI(
            stdin=io.StringIO(trace.server_bytes.decode("utf-8")),
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
        # A library that takes the process's SIGHUP: not for a server with 52 calls in it.
        assert signal.getsignal(signal.SIGHUP) is not before
    finally:
        signal.signal(signal.SIGHUP, before)
    return agi


def test_pyst2_crashes_on_the_unsolicited_hangup_line_of_11(traces_dir: Path) -> None:
    from asterisk.agi import AGIAppError

    agi = _pyst2_agi(_trace(traces_dir, "11-fastagi-hangup"))
    agi.answer()
    with pytest.raises(AGIAppError):
        agi.wait_for_digit(5000)  # -1: fine, a hang-up
    with pytest.raises(ValueError, match="invalid literal for int"):
        agi.set_variable("LANGSEL", "zh")  # reads `HANGUP`


def test_pyst2_sends_a_newline_in_a_value_as_a_second_command() -> None:
    from asterisk.agi import AGI

    agi = AGI.__new__(AGI)
    agi.stdout = io.StringIO()
    agi.stderr = io.StringIO()
    agi.send_command("SET VARIABLE", '"X"', '"a\nHANGUP"')
    assert agi.stdout.getvalue().count("\n") == 2


# -- panoramisk ----------------------------------------------------------------------------


class _Writer:
    def __init__(self) -> None:
        self.sent = b""

    def write(self, data: bytes) -> None:
        self.sent += data

    async def drain(self) -> None:
        pass


async def _panoramisk_replay(trace: AgiTrace) -> list[dict[str, object]]:
    from panoramisk.fast_agi import Request

    reader = asyncio.StreamReader()
    reader.feed_data(b"".join(trace.asterisk[1:]))
    reader.feed_eof()
    request = Request(app=None, headers={}, reader=reader, writer=_Writer())
    return [await request.send_command(command) for command in trace.commands]


async def test_panoramisk_shifts_every_reply_after_the_hangup_line_of_11(
    traces_dir: Path,
) -> None:
    trace = _trace(traces_dir, "11-fastagi-hangup")
    results = await _panoramisk_replay(trace)
    assert trace.commands[-1] == "GET VARIABLE CALLERID(num)"
    # Asterisk answered `200 result=1 (13805356789)`; panoramisk hands over the reply before.
    assert results[-1]["result"] == ("1", "")
    # Our parser: one reply per command, the HANGUP line apart.
    ours = [e for e in parse_chunks(trace.server_bytes) if type(e).__name__ == "Reply"]
    assert getattr(ours[-1], "data", None) == "13805356789"


async def test_panoramisk_leaves_the_end_of_12s_520_reply_for_the_next_command(
    traces_dir: Path,
) -> None:
    trace = _trace(traces_dir, "12-fastagi-timeout")
    results = await _panoramisk_replay(trace)
    assert trace.commands[-1] == "GET FULL VARIABLE ${CALLERID(name)}"
    # Asterisk answered `200 result=1 (Margaret Brown)`.
    assert results[-1]["error"] == "AGIUsageError"
    assert "520 End of proper usage." in str(results[-1]["msg"])


def test_panoramisk_application_spins_when_asterisk_closes_before_the_environment_ends(
    tmp_path: Path,
) -> None:
    # Run apart: the handler's `while b'\n\n' not in buffer: buffer += await reader.read()`
    # never yields once the reader is at EOF, so it would freeze this test's event loop.
    script = tmp_path / "spin.py"
    script.write_text(
        "import asyncio\n"
        "from panoramisk.fast_agi import Application\n"
        "class W:\n"
        "    def get_extra_info(self, name): return None\n"
        "    def close(self): pass\n"
        "async def main():\n"
        "    reader = asyncio.StreamReader()\n"
        "    reader.feed_data(b'agi_network: yes\\n')\n"
        "    reader.feed_eof()\n"
        "    await Application().handler(reader, W())\n"
        "    print('returned')\n"
        "asyncio.run(main())\n"
    )
    with pytest.raises(subprocess.TimeoutExpired):
        subprocess.run([sys.executable, str(script)], capture_output=True, timeout=3)


async def test_panoramisk_sends_a_newline_in_a_command_as_a_second_command() -> None:
    from panoramisk.fast_agi import Request

    reader = asyncio.StreamReader()
    reader.feed_data(b"200 result=1\n")
    writer = _Writer()
    await Request(None, {}, reader, writer).send_command('SET VARIABLE X "a"\nHANGUP')
    assert writer.sent.count(b"\n") == 2
