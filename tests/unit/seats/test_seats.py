"""Seat names from interfaces, the seat directory, accounts and password hashes."""

from __future__ import annotations

import pytest

from seats import (
    AccountError,
    MemoryAgentAccounts,
    SeatDirectory,
    hash_password,
    parse_languages,
    seat_of_interface,
    verify_password,
)


@pytest.mark.parametrize(
    "name",
    [
        "Local/seat07@agents/n",
        "Local/seat07@agents-00000001;1",
        "PJSIP/seat07",
        "PJSIP/seat07-0000000a",
        "Custom:seat07",
        "seat07",
        "SEAT07",
    ],
)
def test_every_recorded_member_shape_names_the_seat(name: str) -> None:
    assert seat_of_interface(name) == "seat07"


@pytest.mark.parametrize(
    "name", ["PJSIP/trunk-00000003", "Local/89000@inbound-00000000;1", "", None, "seat", "xseat07"]
)
def test_callers_and_trunks_are_not_seats(name: str | None) -> None:
    assert seat_of_interface(name) is None


def test_latest_login_at_a_seat_displaces_the_previous_agent() -> None:
    seats = SeatDirectory()
    assert seats.login("a07", "seat07").displaced_agent is None
    change = seats.login("a22", "seat07")
    assert change.displaced_agent == "a07"
    assert seats.agent_at("seat07") == "a22"
    assert seats.seat_of("a07") is None


def test_agent_moving_seats_frees_the_old_one() -> None:
    seats = SeatDirectory()
    seats.login("a07", "seat07")
    change = seats.login("a07", "seat08")
    assert change.previous_seat == "seat07"
    assert seats.agent_at("seat07") is None
    assert seats.occupied() == {"seat08": "a07"}
    assert seats.logout("a07") == "seat08"
    assert seats.occupied() == {}


def test_password_hash_is_argon2_and_verifies_only_the_right_password() -> None:
    hashed = hash_password("s3cret")
    assert hashed.startswith("$argon2id$")
    assert verify_password(hashed, "s3cret")
    assert not verify_password(hashed, "S3cret")
    assert not verify_password(None, "not-a-real-password")
    assert not verify_password("garbage", "s3cret")


def test_languages_are_checked_and_deduplicated() -> None:
    assert parse_languages("zh, EN,zh") == ("zh", "en")
    with pytest.raises(AccountError):
        parse_languages("zh,fr")
    with pytest.raises(AccountError):
        parse_languages("")


async def test_memory_accounts_authenticate_by_password() -> None:
    accounts = MemoryAgentAccounts()
    accounts.add("a07", "李娜", "zh", "pw")
    profile = await accounts.authenticate("a07", "pw")
    assert profile is not None and profile.name == "李娜"
    assert await accounts.authenticate("a07", "wrong") is None
    assert await accounts.authenticate("nobody", "pw") is None
    with pytest.raises(AccountError):
        accounts.add("bad id!", "x", "zh", "pw")
