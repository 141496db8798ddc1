"""The shipped AMI user has exactly the classes the server needs and nothing dangerous."""

from __future__ import annotations

import configparser
from pathlib import Path

from cti.ami.client import ACTION_CLASS

CONF = Path(__file__).resolve().parents[2] / "asterisk-conf" / "manager.conf"
# What `cti serve` sends today: the resync, membership and pauses, and callbacks' Originate.
SENT = (
    "QueueStatus",
    "CoreShowChannels",
    "QueueAdd",
    "QueueRemove",
    "QueuePause",
    "QueuePenalty",
    "Originate",
)


def _user() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(
        inline_comment_prefixes=(";",), comment_prefixes=(";",), strict=False
    )
    parser.read(CONF, encoding="utf-8")
    return parser["cti"]


def _classes(value: str) -> set[str]:
    return {c.strip() for c in value.split(",") if c.strip()}


def test_the_cti_user_reads_only_call_and_agent_events() -> None:
    assert _classes(_user()["read"]) == {"call", "agent"}


def test_the_cti_user_can_send_every_action_the_server_sends_and_nothing_else() -> None:
    write = _classes(_user()["write"])
    needed = {ACTION_CLASS[a] for a in SENT if a in ACTION_CLASS}
    assert needed == write == {"agent", "reporting", "originate"}
    # Not `system`: without it Asterisk refuses an Originate of System()/Exec()-like apps.
    assert not write & {"command", "system", "config", "all"}


def test_the_cti_user_may_log_in_from_the_cti_host_only() -> None:
    user = _user()
    assert user["deny"] == "0.0.0.0/0.0.0.0"
    assert user["permit"].startswith("127.0.0.1/")
