"""`cti ami replay`: any recording printed as one JSON object per message."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cti.ami.protocol import Event
from cti.ami.watch import summary
from cti.cli import main


def replay(capsys: pytest.CaptureFixture[str], *argv: str) -> list[dict[str, object]]:
    assert main(["ami", "replay", *argv]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_replay_prints_every_message_as_json(
    traces_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records = replay(capsys, str(traces_dir / "01-status.ami"), "--format", "jsonl")
    assert records[0] == {"type": "greeting", "name": "11.0.0", "headers": []}
    assert records[1]["type"] == "response"
    assert records[1]["name"] == "Success"
    assert ["ActionID", "login-1"] in records[1]["headers"]  # type: ignore[operator]
    error = next(r for r in records if r["name"] == "Error")
    assert error["headers"][1] == ["ActionID", "bad-1"]  # type: ignore[index]
    event_lines = (traces_dir / "01-status.ami").read_bytes().count(b"\nEvent: ")
    assert sum(r["type"] == "event" for r in records) == event_lines == 12


def test_replay_in_7_byte_chunks_keeps_caller_names(
    traces_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = str(traces_dir / "03-call-answered.ami")
    whole = replay(capsys, path)
    chunked = replay(capsys, path, "--chunk", "7")
    assert chunked == whole
    join = next(r for r in chunked if r["name"] == "QueueCallerJoin")
    assert ["CallerIDName", "张先生"] in join["headers"]  # type: ignore[operator]


def test_watch_summary_names_queue_and_member_not_the_callers_number() -> None:
    event = Event(
        headers=(
            ("Event", "AgentCalled"),
            ("Queue", "q-zh"),
            ("MemberName", "seat07"),
            ("CallerIDNum", "05356683318"),
        ),
        name="AgentCalled",
    )
    line = summary(event)
    assert line == "AgentCalled Queue=q-zh MemberName=seat07"
