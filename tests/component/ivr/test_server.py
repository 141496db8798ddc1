"""The FastAGI server over real TCP: Asterisk's side scripted with the recordings' shapes,
written whole and in 1-byte writes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from ivr import CallerFacts, IvrServer
from ivr.protocol import split_command
from tests.support.agi import ENV_07, asterisk, keys
from tests.support.waiting import eventually

UNIQUEID_07 = "1795361860.17"


def variables(commands: list[str]) -> dict[str, str]:
    return {
        w[2]: w[3]
        for w in (split_command(c) for c in commands)
        if w[:2] == ("SET", "VARIABLE") and len(w) == 4
    }


@pytest.fixture
async def server() -> AsyncIterator[IvrServer]:
    facts = {"05356683318": CallerFacts(("R7", "R8"), "zh", "zh")}
    ivr = IvrServer(lambda number: facts.get(number or "", CallerFacts()), port=0)
    await ivr.start()
    yield ivr
    await ivr.stop()


@pytest.mark.parametrize("write_size", [0, 1])
async def test_digit_3_sets_korean_as_07_did(server: IvrServer, write_size: int) -> None:
    commands, closed = await asterisk(server.port, keys("3"), write_size=write_size)
    assert variables(commands) == {
        "LANGSEL": "ko",
        "QUEUE": "q-ko",
        "QUEUE_PRIO": "0",
        "CHANNEL(language)": "ko",
    }
    assert closed
    learnt = server.notes.learnt(UNIQUEID_07)
    assert learnt is not None and learnt.language == "ko" and learnt.how == "chosen"


@pytest.mark.parametrize("write_size", [0, 1])
async def test_registered_elderly_household_is_recognised(
    server: IvrServer, write_size: int
) -> None:
    env = ENV_07.replace(b"agi_callerid: 13805356789", b"agi_callerid: 05356683318")
    commands, _ = await asterisk(server.port, keys(), env=env, write_size=write_size)
    assert variables(commands)["RESIDENT_ID"] == "R7,R8"
    assert variables(commands)["QUEUE_PRIO"] == "10"
    learnt = server.notes.learnt(UNIQUEID_07)
    assert learnt is not None and learnt.recognised


@pytest.mark.parametrize(
    ("presses", "queue"),
    [
        (("1",), "q-zh"),
        (("2",), "q-en"),
        (("9",), "q-duty"),
        ((None, None), "q-zh"),
        (("5", "2"), "q-en"),
    ],
)
@pytest.mark.parametrize("write_size", [0, 1])
async def test_every_branch_whole_and_in_1_byte_writes(
    server: IvrServer, presses: tuple[str | None, ...], queue: str, write_size: int
) -> None:
    commands, _ = await asterisk(server.port, keys(*presses), write_size=write_size)
    assert variables(commands)["QUEUE"] == queue


async def test_korean_number_hears_korean_first(server: IvrServer) -> None:
    ko = IvrServer(lambda _: CallerFacts(suggested_language="ko"), port=0)
    await ko.start()
    try:
        commands, _ = await asterisk(ko.port, keys(None, None))
    finally:
        await ko.stop()
    assert commands[0] == 'STREAM FILE hotline/menu-ko "1239"'
    assert variables(commands)["LANGSEL"] == "zh"


@pytest.mark.parametrize("write_size", [0, 1])
async def test_hang_up_mid_menu_ends_cleanly_logged_once_no_traceback(
    server: IvrServer, write_size: int, caplog: pytest.LogCaptureFixture
) -> None:
    def answer(command: str) -> list[str]:
        if command.startswith("STREAM FILE hotline/menu-en"):
            return ["HANGUP", "200 result=-1 endpos=0"]  # 11: the line between replies
        return keys()(command)

    caplog.set_level(logging.INFO, logger="ivr")
    commands, closed = await asterisk(server.port, answer, write_size=write_size)
    assert closed and not any(c.startswith("SET VARIABLE") for c in commands)
    await _until(lambda: server.sessions_served == 1)
    lines = [r for r in caplog.records if r.name.startswith("ivr") and "call=" in r.getMessage()]
    assert len(lines) == 1 and "hung up" in lines[0].getMessage()
    assert lines[0].exc_info is None
    assert "13805356789" not in caplog.text  # numbers are masked in the log


async def test_asterisk_closing_the_socket_mid_menu_is_one_quiet_line(
    server: IvrServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ivr")
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(ENV_07)
    await reader.readline()
    writer.close()
    await _until(lambda: server.sessions_served == 1)
    assert "closed by Asterisk" in caplog.text
    assert not [r for r in caplog.records if r.exc_info]


async def test_garbage_instead_of_an_environment_is_a_protocol_warning(
    server: IvrServer, caplog: pytest.LogCaptureFixture
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"GET / HTTP/1.1\r\n\r\n")
    assert await reader.read() == b""  # closed by the server
    writer.close()
    assert "protocol error" in caplog.text


async def test_unknown_script_is_refused(server: IvrServer) -> None:
    env = ENV_07.replace(b"agi_network_script: language-menu", b"agi_network_script: other")
    commands, closed = await asterisk(server.port, keys(), env=env)
    assert commands == [] and closed


async def test_200_concurrent_sessions(server: IvrServer) -> None:
    results = await asyncio.gather(*(asterisk(server.port, keys("2")) for _ in range(200)))
    assert all(variables(c)["QUEUE"] == "q-en" for c, _ in results)


async def test_stop_ends_sessions_in_progress(tmp_path: Path) -> None:
    ivr = IvrServer(port=0)
    await ivr.start()
    reader, writer = await asyncio.open_connection("127.0.0.1", ivr.port)
    writer.write(ENV_07)
    await reader.readline()  # the first prompt: now the server waits for our reply
    async with asyncio.timeout(5):
        await ivr.stop()
    assert await reader.read() == b""
    writer.close()


async def test_a_taken_port_is_retried_not_fatal() -> None:
    first = IvrServer(port=0)
    await first.start()
    port = first.port
    second = IvrServer(port=port)
    task = asyncio.create_task(second.serve(retry_s=0.05))
    await asyncio.sleep(0.2)
    assert not task.done()
    await first.stop()
    await _until(lambda: second.listening)
    assert second.port == port
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def _until(condition: Callable[[], bool]) -> None:
    await eventually(condition, within_s=5.0, interval_s=0.01)


async def test_a_session_that_never_ends_is_cut_at_the_session_timeout(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ivr = IvrServer(port=0, session_timeout_s=0.3)
    await ivr.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", ivr.port)
        writer.write(ENV_07)
        await reader.readline()  # the first prompt, never answered
        async with asyncio.timeout(5):
            assert await reader.read() == b""
        writer.close()
    finally:
        await ivr.stop()
    assert "session not over within" in caplog.text
